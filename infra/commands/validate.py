"""``gigafactory validate SITE.yaml...``: check site configs and print every error."""

from __future__ import annotations

import argparse
from pathlib import Path

from infra.commands import exit_codes, print_errors
from infra.config.loader import check_site
from infra.config.siblings import node_name_collisions


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``validate`` sub-command."""
    parser = subparsers.add_parser(
        "validate",
        help="check site configs; print ok or every error",
        description="Check site configs. Exit 0 when every file is valid, 1 when one has errors, 2 when one "
        "cannot be read as a site config (missing, not UTF-8, not YAML).",
    )
    parser.add_argument("sites", nargs="+", metavar="SITE.yaml", help="site config files")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate each file; the worst status over them (0 all valid, 1 errors, 2 unreadable)."""
    codes = []
    for path in args.sites:
        config, errors = check_site(path)
        if config is not None:
            errors = node_name_collisions(Path(path), config)
        if config is not None and not errors:
            print(
                f"ok  {path}: site {config.site.name}, {config.total_gpus:,} GPUs on {config.total_nodes:,} nodes, "
                f"{len(config.node_pools)} pools, {len(config.tenants)} tenants"
            )
            codes.append(exit_codes.OK)
            continue
        codes.append(print_errors(path, errors))
    return exit_codes.worst(codes)
