"""``gigafactory inventory SITE.yaml [-o FILE|-]``: the Ansible inventory of a site's GPU nodes."""

from __future__ import annotations

import argparse
import sys

import yaml

from infra.acceptance.inventory import render_inventory
from infra.atomic_write import is_stdout, write_output
from infra.commands import exit_codes, print_errors
from infra.commands.json_output import json_text
from infra.config.loader import check_site


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``inventory`` sub-command."""
    parser = subparsers.add_parser(
        "inventory",
        help="write the Ansible inventory of a site's GPU nodes (groups per pool and scalable unit)",
        description="Write the Ansible inventory (YAML) of every GPU node of a site: group all, one group "
        "per pool (pool_<pool>) and one per scalable unit (su_<pool>_<NNN>), with the pool, scalable "
        "unit and rack of each host as host variables. Exit 0 when written, 1 on an invalid site config, "
        "2 when the site file cannot be read or the output cannot be written.",
    )
    parser.add_argument("site", metavar="SITE.yaml", help="site config file")
    parser.add_argument("-o", "--output", metavar="FILE", help="write here (atomically) instead of stdout; - is stdout")
    parser.add_argument(
        "--format",
        choices=("yaml", "json"),
        default="yaml",
        help="yaml (default) or json: the same inventory; Ansible's yaml plugin reads both",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the inventory; see the contract in ``exit_codes``."""
    site, errors = check_site(args.site)
    if site is None:
        return print_errors(args.site, errors)
    text = render_inventory(site)
    if args.format == "json":
        text = json_text(yaml.safe_load(text))
    if args.output is None or is_stdout(args.output):
        write_output("-", text)
        return exit_codes.OK
    try:
        write_output(args.output, text)
    except OSError as exc:
        print(f"{args.output}: cannot write the inventory: {exc.strerror or exc}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    print(f"wrote {args.output}: {site.total_nodes:,} hosts of site {site.site.name} in {len(site.node_pools)} pools")
    return exit_codes.OK
