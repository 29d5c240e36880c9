"""What ``plan`` and ``render`` share beyond planning: the charts' objects (``--charts``) and the contracts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from infra.commands import exit_codes, print_errors
from infra.config.model import SiteConfig
from infra.engine.charts.render import ChartRendering
from infra.engine.recording import RecordedPlan

CHARTS_NOT_RENDERED = (
    "chart contents not rendered: pass --charts DIR, a folder of the charts pulled with `helm pull` "
    '(README, "Rendering the charts")'
)


def add_charts_argument(parser: argparse.ArgumentParser) -> None:
    """The ``--charts DIR`` option of ``plan`` and ``render``."""
    parser.add_argument(
        "--charts",
        type=Path,
        metavar="DIR",
        help="render every Helm release with real Helm from the charts in DIR (chart folders or .tgz files)",
    )


def render_chart_objects(plan: RecordedPlan, charts: Path, source: str) -> tuple[ChartRendering | None, int]:
    """Render the plan's releases from ``charts``: (the rendering, 0), or (None, exit status) after saying why.

    A folder that is not one, lacks a chart or misses the ``charts`` extra is exit status 2 (not
    what the command reads); a chart that refuses the site's values is 1, located at the config
    field behind the values.
    """
    try:
        import helm_python  # noqa: F401
        import kubernetes_validate  # noqa: F401
    except ImportError:
        print("--charts needs Helm's SDK: pip install 'gigafactory[charts]' (helm-python-sdk)", file=sys.stderr)
        return None, exit_codes.BAD_INPUT
    from infra.engine.charts.provenance import chart_errors
    from infra.engine.charts.render import ChartRenderErrors, render_charts
    from infra.engine.charts.source import ChartFolder, ChartFolderError

    try:
        return render_charts(plan, ChartFolder(charts)), exit_codes.OK
    except ChartFolderError as error:
        print(error, file=sys.stderr)
        return None, exit_codes.BAD_INPUT
    except ChartRenderErrors as error:
        errors = chart_errors(error.errors, plan.facts, source)
        return None, print_errors(source, errors, "a chart refused its values; nothing written")


def chart_summary(charts: ChartRendering | None) -> str:
    """One line on what the charts create, or why they were not rendered."""
    if charts is None:
        return CHARTS_NOT_RENDERED
    line = f"charts: {len(charts.rendered)} releases rendered by Helm, {len(charts.objects):,} objects"
    for release, why in charts.not_rendered:
        line += f"; not rendered: {release.namespace}/{release.name} ({why})"
    return line


def check_contracts(
    plan: RecordedPlan, charts: ChartRendering | None, source: str, config: SiteConfig | None
) -> tuple[list[str] | None, int]:
    """Run every contract over the rendered state: (its summary lines, 0), or (None, 1) after printing each violation.

    With the site's config, pkeys are checked against the ``partitions.conf`` its fabric plan writes;
    from a plan file, against the tenants' keys the plan records (what that file is rendered from).
    """
    from infra.engine.contracts.registry import contract_errors, contract_summary, run_contracts
    from infra.engine.contracts.state import build_state

    partitions = None
    if config is not None:
        from infra.plan.fabric import plan_fabric
        from infra.plan.fabric.opensm import render_partitions

        partitions = render_partitions(config, plan_fabric(config))
    report = run_contracts(build_state(plan, charts, partitions))
    if report.violations:
        errors = contract_errors(report, plan.facts, source)
        return None, print_errors(source, errors, "the site breaks a contract with its operators; nothing written")
    return contract_summary(report), exit_codes.OK


def rendered_state(
    plan: RecordedPlan, charts_dir: Path | None, source: str, config: SiteConfig | None
) -> tuple[ChartRendering | None, list[str] | None, int]:
    """What ``plan`` and ``render`` check before writing: the charts' objects (with ``charts_dir``),
    then every contract over them. (charts, contract summary lines, 0), or (None, None, exit status)
    after printing why."""
    charts = None
    if charts_dir is not None:
        charts, code = render_chart_objects(plan, charts_dir, source)
        if charts is None:
            return None, None, code
    contracts, code = check_contracts(plan, charts, source, config)
    return charts, contracts, code
