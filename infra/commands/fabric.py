"""``gigafactory fabric SITE.yaml -o DIR``: plan the compute fabric and write what the network team installs.

DIR receives, all at once or not at all: ``fabric.net`` (cabling plan, ibnetdiscover format),
``partitions.conf``, ``opensm.conf`` and ``root-guids.conf`` (OpenSM), ``bom.csv`` and
``summary.txt``. DIR must be new, empty, or a previous output of this command.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from infra.commands import print_errors
from infra.config.loader import check_site, display_path
from infra.outputs import write_tree_atomic
from infra.plan.fabric.artifacts import FABRIC_FILES, fabric_artifacts
from infra.plan.fabric.errors import FabricPlanError
from infra.plan.fabric.plan import plan_fabric
from infra.plan.site_plan import planning_errors


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``fabric`` sub-command."""
    parser = subparsers.add_parser(
        "fabric",
        help="plan the compute fabric: cabling plan, OpenSM partitions and routing, bill of materials",
    )
    parser.add_argument("site", metavar="SITE.yaml", help="the site config")
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="DIR",
        help=f"folder to write ({', '.join(FABRIC_FILES)}); replaced whole",
    )
    parser.set_defaults(func=run)


def _output_problem(directory: Path) -> str | None:
    """Why ``directory`` must not be replaced, if it must not: it holds something this command did not write."""
    if not directory.exists():
        return None
    shown = display_path(directory)
    if not directory.is_dir():
        return f"{shown}: exists and is not a folder\n  hint: name a new folder with -o"
    foreign = sorted(entry.name for entry in directory.iterdir() if entry.name not in FABRIC_FILES)
    if foreign:
        listed = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        return (
            f"{shown}: holds files this command did not write ({listed}); it replaces the whole folder\n"
            "  hint: name a new or empty folder with -o"
        )
    return None


def run(args: argparse.Namespace) -> int:
    """Plan and write; 0 on success, 1 (writing nothing) on any problem."""
    path = Path(args.site)
    config, errors = check_site(path)
    if config is None:
        return print_errors(args.site, errors, "nothing written")
    try:
        plan = plan_fabric(config)
    except FabricPlanError as exc:
        return print_errors(args.site, planning_errors(path, exc), "nothing written")
    output = Path(args.output)
    problem = _output_problem(output)
    if problem is not None:
        return print_errors(args.site, [problem], "nothing written")
    try:
        write_tree_atomic(output, fabric_artifacts(config, plan))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        where = display_path(Path(exc.filename)) if exc.filename else display_path(output)
        print(f"{where}: cannot write: {reason}; nothing written", file=sys.stderr)
        return 1
    for line in plan.summary_lines():
        print(line)
    print(f"wrote {display_path(output)}: {', '.join(FABRIC_FILES)}")
    return 0
