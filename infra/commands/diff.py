"""``gigafactory diff OLD.json NEW.json`` or ``gigafactory diff --against REF SITE.yaml...``.

What a site change does, dangers first. With ``--against REF`` each site is planned as it is at git
ref REF (a temporary worktree of that commit: its site files, bases and code) and as it is now,
then compared: what a reviewer runs locally before pushing.

Exit codes (the contract of ``infra.commands.exit_codes``): 0 no danger (or danger without
``--fail-on-danger``); 1 a site that is invalid or cannot be planned; 2 a malformed command line, an
input that is not what diff reads (not a plan, an unknown ref) or a report that cannot be written;
3 dangerous changes found with ``--fail-on-danger``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from infra.atomic_write import is_stdout, write_output
from infra.commands import exit_codes
from infra.engine.migration import UrnMap, UrnMapError
from infra.engine.progress import add_progress_option
from infra.engine.recording import PlanFileError, RecordedPlan
from infra.engine.report import PlanDiff, diff_plans, to_json, to_markdown, to_text

EXIT_INVALID, EXIT_USAGE, EXIT_DANGER = exit_codes.REJECTED, exit_codes.BAD_INPUT, exit_codes.DANGER
FORMATS = {"markdown": to_markdown, "text": to_text, "json": to_json}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``diff`` sub-command."""
    parser = subparsers.add_parser(
        "diff",
        help="compare two plans (or a site with itself at a git ref): dangers, intent, changes per component",
        description=(
            "Compare two plans written by `gigafactory plan -o`, or with --against REF the site files as they "
            "are at git ref REF (planned in a temporary worktree with that commit's code) and as they are now. "
            f"Exit codes: 0 no dangerous change (or --fail-on-danger not given), {EXIT_INVALID} a site that "
            f"cannot be planned, {EXIT_USAGE} bad command line or not a plan, {EXIT_DANGER} dangerous changes "
            "with --fail-on-danger."
        ),
    )
    parser.add_argument(
        "paths", nargs="+", type=Path, metavar="FILE", help="OLD.json NEW.json, or with --against: SITE.yaml..."
    )
    parser.add_argument("--against", metavar="REF", help="plan the site files at this git ref and now, and diff")
    parser.add_argument(
        "--urn-map",
        type=Path,
        metavar="FILE",
        help="the old->new URN map `gigafactory migrate` writes (urn-map.json): its moves read as moves, not as "
        "delete plus create (default: plans of different stack layouts are matched as migrate would)",
    )
    parser.add_argument("--format", choices=sorted(FORMATS), default="text", help="output format (default: text)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the report here instead of stdout (- is stdout)")
    parser.add_argument(
        "--fail-on-danger", action="store_true", help=f"exit {EXIT_DANGER} when a dangerous change is found"
    )
    add_progress_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print (or write) the diff; see the module docstring for exit codes."""
    try:
        args.moved = UrnMap.read(args.urn_map).moves if args.urn_map is not None else None
    except UrnMapError as error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    if args.against is not None:
        return _run_against(args)
    if len(args.paths) != 2:
        print("gigafactory diff: give OLD.json NEW.json (or --against REF SITE.yaml...)", file=sys.stderr)
        return EXIT_USAGE
    plans = []
    for path in args.paths:
        try:
            plans.append(RecordedPlan.read(path))
        except PlanFileError as error:
            print(error, file=sys.stderr)
            return EXIT_USAGE
    try:
        diff = diff_plans(plans[0], plans[1], args.moved)
    except PlanFileError as error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    return _report(args, [FORMATS[args.format](diff)], [diff])


def _report(args: argparse.Namespace, reports: list[str], diffs: list[PlanDiff]) -> int:
    text = "\n".join(reports)
    if args.output is not None and not is_stdout(args.output):
        try:
            write_output(args.output, text)
        except OSError as error:
            print(f"{args.output}: cannot write the report: {error.strerror or error}", file=sys.stderr)
            return EXIT_USAGE
    else:
        sys.stdout.write(text)
    count = sum(len(diff.dangers) for diff in diffs)
    if count:
        print(f"{count} dangerous change{'s' if count != 1 else ''}", file=sys.stderr)
        if args.fail_on_danger:
            return EXIT_DANGER
    return exit_codes.OK


def _run_against(args: argparse.Namespace) -> int:
    from infra.commands.history import HistoryError, plan_in_tree, repository_of, worktree_at
    from infra.commands.plan import load_config, make_plan

    sites: list[Path] = args.paths
    missing = [str(site) for site in sites if not site.is_file()]
    if missing:
        print(f"{', '.join(missing)}: no such site file", file=sys.stderr)
        return EXIT_USAGE
    reports: list[str] = []
    diffs: list[PlanDiff] = []
    try:
        root, relatives = repository_of(sites)
        with worktree_at(root, args.against) as tree, tempfile.TemporaryDirectory() as scratch:
            for index, (site, relative) in enumerate(zip(sites, relatives, strict=True)):
                before = plan_in_tree(tree, site, relative, Path(scratch) / f"{index}.plan.json")
                if before.missing:
                    reports.append(f"{site}: new since {args.against} (no plan of it there to compare with)\n")
                    continue
                if before.plan is None:
                    print(f"{site}: cannot be planned as it is at {args.against}:\n{before.log}", file=sys.stderr)
                    return EXIT_INVALID
                loaded, status = load_config(str(site))
                if loaded is None:
                    return status
                now = make_plan(loaded, str(site), args=args)
                if now is None:
                    return EXIT_INVALID
                diff = diff_plans(RecordedPlan.read(before.plan), now, args.moved)
                diffs.append(diff)
                reports.append(FORMATS[args.format](diff))
    except HistoryError as error:
        print(f"gigafactory diff --against {args.against}: {error}", file=sys.stderr)
        return EXIT_USAGE
    except PlanFileError as error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    return _report(args, reports, diffs)
