"""``gigafactory report SITE.yaml -o site.html``: the site as one self-contained HTML file."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

from infra.atomic_write import is_stdout, write_output
from infra.commands import exit_codes
from infra.commands.plan import load_config, make_plan
from infra.commands.rendered_state import add_charts_argument, render_chart_objects
from infra.engine.progress import add_progress_option
from infra.engine.recording import PlanFileError, RecordedPlan
from infra.errors import PlanningError
from infra.plan.site_plan import build_site_plan
from infra.report.build import AcceptanceFileError, ReportInputs, build_report, read_acceptance


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``report`` sub-command."""
    parser = subparsers.add_parser(
        "report",
        help="draw the site as one self-contained HTML file: fabric, racks, power, tenants, BOM",
        description=(
            "Write the site's report: the fat tree (aggregated per scalable unit and spine group), racks with kW, "
            "power and capacity against the envelope, tenants with quotas, partitions and isolation, the bill "
            "of materials and operator versions. One HTML file with inline SVG and CSS: no network, the same "
            "bytes for the same inputs, readable printed on A3."
        ),
    )
    parser.add_argument("site", metavar="SITE.yaml", help="site config file")
    parser.add_argument("-o", "--output", required=True, metavar="FILE", help="the HTML file (- for stdout)")
    parser.add_argument(
        "--acceptance", type=Path, metavar="RESULTS.json", help="colour nodes by a `gigafactory verify` result"
    )
    parser.add_argument(
        "--diff", type=Path, metavar="OLD.plan.json", help="show what the site changes against an older plan"
    )
    add_progress_option(parser)
    add_charts_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the report; the exit-code contract of ``exit_codes``."""
    site, code = load_config(args.site)
    if site is None:
        return code
    config = site.config
    try:
        site_plan = build_site_plan(config)
    except PlanningError as error:
        for problem in site.planning_errors(error):
            print(problem, file=sys.stderr)
        return exit_codes.REJECTED
    inputs = ReportInputs(config=config, plan=site_plan)
    if args.acceptance is not None:
        try:
            inputs = ReportInputs(config=config, plan=site_plan, acceptance=read_acceptance(args.acceptance))
        except AcceptanceFileError as error:
            print(error, file=sys.stderr)
            return exit_codes.BAD_INPUT
    if args.diff is not None or args.charts is not None:
        # The Kubernetes objects (a diff compares them; charts render from the releases' values).
        engine_plan = make_plan(site, args.site, args=args)
        if engine_plan is None:
            return exit_codes.REJECTED
        if args.diff is not None:
            changed = _diff_inputs(config_plan=engine_plan, old_path=args.diff)
            if isinstance(changed, int):
                return changed
            inputs = replace(inputs, diff_lines=changed[0], danger_lines=changed[1], changed_pools=changed[2])
        if args.charts is not None:
            charts, code = render_chart_objects(engine_plan, args.charts, args.site)
            if charts is None:
                return code
            counts = Counter(f"{o.release.namespace}/{o.release.name}" for o in charts.objects)
            for release, why in charts.not_rendered:
                counts[f"{release.namespace}/{release.name} (not rendered: {why})"] = 0
            inputs = replace(inputs, chart_objects=dict(sorted(counts.items())))
    html = build_report(inputs)
    try:
        write_output(args.output, html)
    except OSError as error:
        print(f"{args.output}: cannot write the report: {error.strerror or error}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    if not is_stdout(args.output):
        print(f"wrote {args.output}: report of {config.site.name} ({len(html.encode()):,} bytes)", file=sys.stderr)
    return exit_codes.OK


def _diff_inputs(*, config_plan: RecordedPlan, old_path: Path) -> tuple[list[str], list[str], frozenset[str]] | int:
    """The diff's text, its danger lines and the pools its findings name; or an exit status."""
    from infra.engine.report import diff_plans, to_text

    try:
        old = RecordedPlan.read(old_path)
    except PlanFileError as error:
        print(error, file=sys.stderr)
        return exit_codes.BAD_INPUT
    diff = diff_plans(old, config_plan)
    dangers = [f"{d.kind}: {d.subject}: {d.message}" for d in diff.dangers]
    pools = set(config_plan.facts.pools) | set(old.facts.pools)
    # Findings about a pool name it as their subject ("pool h100-train").
    subjects = {f.subject.removeprefix("pool ") for f in (*diff.dangers, *diff.intents)}
    changed = frozenset(subjects & pools)
    return to_text(diff).splitlines(), dangers, changed
