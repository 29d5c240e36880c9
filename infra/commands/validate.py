"""``gigafactory validate SITE.yaml...``: check site configs and print every error."""

from __future__ import annotations

import argparse
from pathlib import Path

from infra.commands import print_errors
from infra.config.loader import check_site
from infra.config.siblings import node_name_collisions


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``validate`` sub-command."""
    parser = subparsers.add_parser("validate", help="check site configs; print ok or every error")
    parser.add_argument("sites", nargs="+", metavar="SITE.yaml", help="site config files")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate each file; 0 when all are valid, 1 otherwise."""
    failed = 0
    for path in args.sites:
        config, errors = check_site(path)
        if config is not None:
            errors = node_name_collisions(Path(path), config)
        if config is not None and not errors:
            print(
                f"ok  {path}: site {config.site.name}, {config.total_gpus:,} GPUs on {config.total_nodes:,} nodes, "
                f"{len(config.node_pools)} pools, {len(config.tenants)} tenants"
            )
            continue
        failed += print_errors(path, errors)
    return 1 if failed else 0
