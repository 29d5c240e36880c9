"""``gigafactory inventory SITE.yaml [-o FILE]``: the Ansible inventory of a site's GPU nodes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from infra.acceptance.inventory import render_inventory
from infra.commands import print_errors
from infra.config.loader import check_site
from infra.outputs import write_file_atomic


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``inventory`` sub-command."""
    parser = subparsers.add_parser(
        "inventory",
        help="write the Ansible inventory of a site's GPU nodes (groups per pool and scalable unit)",
        description="Write the Ansible inventory (YAML) of every GPU node of a site: group all, one group "
        "per pool (pool_<pool>) and one per scalable unit (su_<pool>_<NNN>), with the pool, scalable "
        "unit and rack of each host as host variables. Exit 0 when written, 1 on a bad site config.",
    )
    parser.add_argument("site", metavar="SITE.yaml", help="site config file")
    parser.add_argument("-o", "--output", metavar="FILE", help="write here (atomically) instead of stdout")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the inventory; 0 on success, 1 when the site config has errors or the file cannot be written."""
    site, errors = check_site(args.site)
    if site is None:
        return print_errors(args.site, errors)
    text = render_inventory(site)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        write_file_atomic(Path(args.output), text)
    except OSError as exc:
        print(f"{args.output}: cannot write the inventory: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"wrote {args.output}: {site.total_nodes:,} hosts of site {site.site.name} in {len(site.node_pools)} pools")
    return 0
