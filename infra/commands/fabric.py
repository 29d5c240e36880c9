"""``gigafactory fabric SITE.yaml -o DIR``: plan the compute fabric and write what the network team installs.

DIR receives, all at once or not at all: ``fabric.net`` (cabling plan, ibnetdiscover format),
``cables.csv`` (every link with its label, assembly, ends in rack and U, length and media),
``partitions.conf`` and ``ufm-partitions.json`` (the same partitions as UFM REST calls), ``opensm.conf``
and ``root-guids.conf`` (OpenSM), ``bom.csv`` and ``summary.txt``, with the manifest
``.gigafactory-fabric.sha256``. DIR must be new, empty, or a previous output of this command that
nobody edited since (``infra.atomic_write``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

from infra.atomic_write import OutputRefused, ownership_problem, write_tree_atomic
from infra.commands import exit_codes, print_errors
from infra.commands.json_output import add_format_option, print_json
from infra.config.loader import display_path, read_site
from infra.config.model import SiteConfig
from infra.engine.progress import Progress, add_progress_option, command_progress
from infra.inputs import InputError, read_text_bounded
from infra.plan.fabric.artifacts import CABLES_FILE, FABRIC_FILES, fabric_artifacts, summary_json
from infra.plan.fabric.errors import FabricPlanError
from infra.plan.fabric.partitions import GuidMapError, PartitionPlan, plan_partitions, read_guid_map
from infra.plan.fabric.plan import FabricPlan, plan_fabric
from infra.plan.floor import plan_floor

OWNER = "fabric"


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
    parser.add_argument(
        "--guid-map",
        metavar="FILE",
        help="port GUIDs of the discovered fabric (fabric verify --write-guids JSON, or CSV name,port_guid): "
        "partitions list exact port members, isolating tenants' dedicated ports",
    )
    add_progress_option(parser)
    add_format_option(parser)
    parser.set_defaults(func=run)


def _partitions(args: argparse.Namespace, config: SiteConfig, plan: FabricPlan) -> tuple[PartitionPlan | None, int]:
    """The partition model, with the GUID map if one was given; (None, exit status) after printing a problem."""
    if args.guid_map is None:
        return plan_partitions(config, plan), exit_codes.OK
    path = Path(args.guid_map)
    from infra.commands.fabric_verify import GUID_NAMES_LIMIT

    try:
        guids = read_guid_map(read_text_bounded(path, GUID_NAMES_LIMIT, "a GUID map", display_path(path)))
    except InputError as exc:
        print(exc, file=sys.stderr)
        return None, exit_codes.BAD_INPUT
    except GuidMapError as exc:
        print(f"{display_path(path)}: {exc}\n  hint: pass the file fabric verify --write-guids wrote", file=sys.stderr)
        return None, exit_codes.BAD_INPUT
    partitions = plan_partitions(config, plan, guids)
    if partitions.missing:
        shown = ", ".join(partitions.missing[:3]) + (", ..." if len(partitions.missing) > 3 else "")
        print(
            f"{display_path(path)}: {len(partitions.missing)} compute ports of the plan are not in the GUID map "
            f"({shown}); they would lose the shared partition; nothing written\n"
            "  hint: discover the whole fabric (fabric verify --write-guids) before writing exact partitions",
            file=sys.stderr,
        )
        return None, exit_codes.REJECTED
    return partitions, exit_codes.OK


def run(args: argparse.Namespace) -> int:
    """Plan and write; 0 on success, 1 on an invalid or unplannable site, 2 on unreadable input or a refused
    or unwritable output (writing nothing)."""
    path = Path(args.site)
    output = Path(args.output)
    problem = ownership_problem(output, OWNER)
    if problem is not None:
        print(problem, file=sys.stderr)
        return exit_codes.BAD_INPUT
    site, errors = read_site(path)
    if site is None:
        return print_errors(args.site, errors, "nothing written")
    config = site.config
    try:
        plan = plan_fabric(config)
    except FabricPlanError as exc:
        return print_errors(args.site, site.planning_errors(exc), "nothing written")
    partitions, status = _partitions(args, config, plan)
    if partitions is None:
        return status
    try:
        floor = plan_floor(config, plan)
        files = fabric_artifacts(config, plan, partitions, floor)
        progress = command_progress(args, "fabric")
        files[CABLES_FILE] = _counted(files[CABLES_FILE], progress, plan.cables.total)
    except FabricPlanError as exc:
        return print_errors(args.site, site.planning_errors(exc), "nothing written")
    try:
        write_tree_atomic(output, files, owner=OWNER)
        progress.close()
    except OutputRefused as refused:
        print(refused, file=sys.stderr)
        return exit_codes.BAD_INPUT
    except OSError as exc:
        reason = exc.strerror or str(exc)
        where = display_path(Path(exc.filename)) if exc.filename else display_path(output)
        print(f"{where}: cannot write: {reason}; nothing written", file=sys.stderr)
        return exit_codes.BAD_INPUT
    if args.format == "json":
        report = {**summary_json(plan, floor), "written": {"folder": display_path(output), "files": list(FABRIC_FILES)}}
        print_json(report)
    else:
        print(files["summary.txt"], end="")
    if partitions.pending:
        print(
            f"partitions: {len(partitions.pending)} ports of dedicated pools with their own partition stay in the "
            "default partition until the fabric is discovered: rerun with --guid-map (fabric verify --write-guids)",
            file=sys.stderr,
        )
    if args.format != "json":
        print(f"wrote {display_path(output)}: {', '.join(FABRIC_FILES)}")
    return exit_codes.OK


def _counted(chunks: str | Iterator[str], progress: Progress, total: int) -> Iterator[str]:
    """``cables.csv``'s chunks as written, reporting the cables written so far (rows after the header)."""
    rows = -1
    for chunk in [chunks] if isinstance(chunks, str) else chunks:
        rows += chunk.count("\n")
        progress.count("cables", max(rows, 0), total)
        yield chunk
