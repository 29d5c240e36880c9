"""``gigafactory validate SITE.yaml...``: check site configs and print every error."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from infra.commands import errors_status, exit_codes, print_errors
from infra.commands.json_output import add_format_option, print_json, problem_json
from infra.config.loader import check_site
from infra.config.model import SiteConfig
from infra.config.siblings import node_name_collisions

VALIDATE_FORMAT = "gigafactory-validate/1"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``validate`` sub-command."""
    parser = subparsers.add_parser(
        "validate",
        help="check site configs; print ok or every error",
        description="Check site configs. Exit 0 when every file is valid, 1 when one has errors, 2 when one "
        "cannot be read as a site config (missing, not UTF-8, not YAML).",
    )
    parser.add_argument("sites", nargs="+", metavar="SITE.yaml", help="site config files")
    add_format_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate each file; the worst status over them (0 all valid, 1 errors, 2 unreadable)."""
    codes = []
    reports = []
    for path in args.sites:
        config, errors = check_site(path)
        if config is not None:
            errors = node_name_collisions(Path(path), config)
        if args.format == "json":
            codes.append(errors_status(errors) if errors else exit_codes.OK)
            reports.append(_site_json(path, config if not errors else None, errors))
            continue
        if config is not None and not errors:
            print(
                f"ok  {path}: site {config.site.name}, {config.total_gpus:,} GPUs on {config.total_nodes:,} nodes, "
                f"{len(config.node_pools)} pools, {len(config.tenants)} tenants"
            )
            codes.append(exit_codes.OK)
            continue
        codes.append(print_errors(path, errors))
    if args.format == "json":
        print_json({"format": VALIDATE_FORMAT, "sites": reports})
    return exit_codes.worst(codes)


def _site_json(path: str, config: SiteConfig | None, errors: Sequence[object]) -> dict[str, Any]:
    if config is None:
        return {"path": path, "valid": False, "errors": [problem_json(e) for e in errors]}
    return {
        "path": path,
        "valid": True,
        "site": config.site.name,
        "gpus": config.total_gpus,
        "nodes": config.total_nodes,
        "pools": len(config.node_pools),
        "tenants": len(config.tenants),
        "errors": [],
    }
