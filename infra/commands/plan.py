"""``gigafactory plan SITE.yaml [-o plan.json]``: plan a site offline and print what it holds."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from infra.atomic_write import is_stdout, write_file_atomic, write_output
from infra.commands import exit_codes, print_errors
from infra.commands.json_output import add_format_option, print_json
from infra.commands.rendered_state import add_charts_argument, chart_summary, rendered_state
from infra.config.loader import SiteFile, read_site
from infra.engine.isolation import summary_lines as isolation_summary_lines
from infra.engine.progress import add_progress_option, command_progress
from infra.engine.recording import PlanFileError, RecordedPlan
from infra.engine.runtime import DuplicateResourceError
from infra.engine.stackplan import cost_lines, touched_stacks
from infra.engine.summary import summary_json, summary_lines


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``plan`` sub-command."""
    parser = subparsers.add_parser(
        "plan",
        help="run the site's Pulumi program on the mock runtime; print a summary, write the plan",
        description=(
            "Compose the site exactly as `pulumi up` would, in-process on Pulumi's mock runtime (no cluster, "
            "no Pulumi CLI), record every resource and print a summary. With -o, write the plan as "
            "deterministic JSON (the input of `gigafactory diff` and `gigafactory render`)."
        ),
    )
    parser.add_argument("site", metavar="SITE.yaml", help="site config file")
    parser.add_argument(
        "-o", "--output", metavar="PLAN.json", help="write the plan here (atomically); - writes it to stdout"
    )
    parser.add_argument(
        "--single-stack",
        action="store_true",
        help="plan the whole site as one stack, as sites were deployed before the split (for `migrate`)",
    )
    parser.add_argument(
        "--stats",
        action="store_true",
        help="print the modelled cost of a real `pulumi up` per stack (steps, checkpoint bytes written)",
    )
    parser.add_argument(
        "--against",
        type=Path,
        metavar="OLD.plan.json",
        help="say which stacks differ from this earlier plan (the ones a change must preview)",
    )
    add_progress_option(parser)
    add_format_option(parser)
    parser.add_argument(
        "--touched",
        type=Path,
        metavar="FILE",
        help="with --against: write the touched stacks there, one per line (for CI)",
    )
    add_charts_argument(parser)
    parser.set_defaults(func=run)


def load_config(path: str) -> tuple[SiteFile | None, int]:
    """The site file at ``path``, or None and the exit status after printing every error to stderr."""
    site, errors = read_site(path)
    if site is None:
        return None, print_errors(path, errors, "nothing planned")
    return site, exit_codes.OK


def make_plan(
    site: SiteFile, path: str, *, args: argparse.Namespace, single_stack: bool = False
) -> RecordedPlan | None:
    """Plan ``site`` (read from ``path``) with progress on standard error (a terminal, or ``args.progress``);
    None after printing why not.

    A valid config can still be impossible to build (a fabric beyond three tiers, a rail subnet too
    small for the address blocks): the planners raise before any resource exists, naming the field.
    """
    from infra.engine.planner import plan_site
    from infra.errors import PlanningError

    config = site.config
    progress = command_progress(args, f"planning {config.site.name}")

    def on_stack(number: int, total: int) -> None:
        progress.stage("stack", number, total)

    try:
        return plan_site(config, on_register=progress, on_stack=on_stack, source=Path(path), single_stack=single_stack)
    except PlanningError as error:
        problems: list[object] = list(site.planning_errors(error))
        reason = "the site cannot be planned"
    except DuplicateResourceError as error:
        problems = [f"{config.site.name}: {error}"]
        reason = "two resources share a URN"
    finally:
        progress.close()
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{path}: {reason}; nothing planned", file=sys.stderr)
    return None


def run(args: argparse.Namespace) -> int:
    """Plan one site: 0 on success, 1 when the config is invalid or cannot be planned, 2 on unreadable input
    (``--against`` not a plan), a malformed command line (``--touched`` without ``--against``) or an output
    that cannot be written."""
    if args.touched is not None and args.against is None:
        print("plan: --touched needs --against OLD.plan.json", file=sys.stderr)
        return exit_codes.BAD_INPUT
    if args.format == "json" and (is_stdout(args.output) or args.stats):
        print(
            "plan: --format json prints the summary on stdout; it cannot share it with -o - or --stats", file=sys.stderr
        )
        return exit_codes.BAD_INPUT
    before = None
    if args.against is not None:
        try:
            before = RecordedPlan.read(args.against)
        except PlanFileError as error:
            print(error, file=sys.stderr)
            return exit_codes.BAD_INPUT
    site, code = load_config(args.site)
    if site is None:
        return code
    config = site.config
    started = time.monotonic()
    plan = make_plan(site, args.site, single_stack=args.single_stack, args=args)
    if plan is None:
        return exit_codes.REJECTED
    charts, contracts, code = rendered_state(plan, args.charts, args.site, config)
    if contracts is None:
        return code
    elapsed = time.monotonic() - started
    # With -o - the plan is standard output; the summary goes to stderr so the JSON stays whole.
    summary = sys.stderr if is_stdout(args.output) else sys.stdout
    touched = touched_stacks(before, plan) if before is not None else None
    if args.output is not None:
        try:
            write_output(args.output, plan.to_json())
        except OSError as error:
            print(f"{args.output}: cannot write the plan: {error.strerror or error}", file=sys.stderr)
            return exit_codes.BAD_INPUT
    if args.touched is not None and touched is not None:
        # Only stacks the new plan has can be previewed; a removed pool's stack is destroyed by hand.
        live = [name for name in touched if name in plan.stacks or not plan.stacks]
        try:
            write_file_atomic(args.touched, "".join(f"{name}\n" for name in live))
        except OSError as error:
            print(f"{args.touched}: cannot write the touched stacks: {error.strerror or error}", file=sys.stderr)
            return exit_codes.BAD_INPUT
    if args.format == "json":
        report = summary_json(plan)
        if touched is not None:
            report["touched_stacks"] = list(touched)
        # Isolation and contracts are reported as the lines the text summary prints (not yet as data).
        report["isolation"] = [line.strip() for line in isolation_summary_lines(config) if line.strip()]
        report["contracts"] = [line.strip() for line in [chart_summary(charts), *contracts] if line.strip()]
        print_json(report)
        return exit_codes.OK
    for line in summary_lines(plan):
        print(line, file=summary)
    isolation = isolation_summary_lines(config)
    if isolation:
        for line in ["", "Isolation of regulated tenants", *isolation]:
            print(line, file=summary)
    if args.stats:
        print("\nCost of a real `pulumi up` per stack (self-managed backend, modelled)", file=summary)
        for line in cost_lines(plan):
            print(line, file=summary)
    if touched is not None:
        listed = ", ".join(n if n in plan.stacks or not plan.stacks else f"{n} (gone: destroy it)" for n in touched)
        listed = listed or "none"
        print(f"\nstacks this change touches ({len(touched)} of {len(plan.stacks) or 1}): {listed}", file=summary)
    print(chart_summary(charts), file=summary)
    for line in contracts:
        print(line, file=summary)
    written = f"; written to {args.output}" if args.output is not None else " (write it with -o plan.json)"
    count = len(plan.stacks) or 1
    stacks = f"{count} stack{'s' if count != 1 else ''}"
    print(f"\nplanned {len(plan.resources):,} resources in {stacks} in {elapsed:.1f} s{written}", file=summary)
    return exit_codes.OK
