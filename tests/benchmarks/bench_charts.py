"""Benchmark what ``--charts`` adds to ``plan`` and ``render`` (not a pytest test).

    .venv/bin/python tests/benchmarks/bench_charts.py [SITE.yaml] [--charts DIR]

Plans the site once (default: the 100,000-GPU ``eu-gigafactory``; the plan's own time is printed
for reference), then times, each with ``time.perf_counter``:

- charts: ``render_charts`` — loading every chart of the folder (default ``../shared/charts``),
  two Helm passes (the second offers the CRDs charts ship as templates), the re-render that marks
  generated values, and parsing every rendered object;
- contracts: building the rendered state and running every contract over it;
- files: ``render_files`` with the charts' objects, against ``render_files`` without them.

Wall time on a shared machine depends on its load; the CPU time of the chart rendering (this
process, Helm's Go threads included) is printed beside it.

The target: charts + contracts + the extra files under 10 s on top of the plan. A chart that
refuses the site's values is reported (as the command would) and the contracts run without charts.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET_SECONDS = 10.0


def main() -> int:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests"))
    from kube_schemas import default_charts_dir

    from infra.config.loader import load_site
    from infra.engine.charts.render import ChartRenderErrors, render_charts
    from infra.engine.charts.source import ChartFolder
    from infra.engine.contracts.registry import run_contracts
    from infra.engine.contracts.state import build_state
    from infra.engine.planner import plan_site
    from infra.engine.render import render_files

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", nargs="?", default=str(ROOT / "site-configs" / "eu-gigafactory.yaml"))
    parser.add_argument("--charts", type=Path, default=default_charts_dir())
    args = parser.parse_args()

    config = load_site(args.site)
    started = time.perf_counter()
    plan = plan_site(config, source=Path(args.site))
    plan_s = time.perf_counter() - started
    print(f"plan {config.site.name}: {len(plan.resources):,} resources in {plan_s:.1f} s")

    started, cpu = time.perf_counter(), time.process_time()
    try:
        charts = render_charts(plan, ChartFolder(args.charts))
    except ChartRenderErrors as error:
        charts = None
        print(f"charts refused the site's values (the command stops here):\n{error}")
    charts_s, charts_cpu = time.perf_counter() - started, time.process_time() - cpu
    if charts is not None:
        cpu_s = charts_cpu
        print(
            f"charts: {len(charts.rendered)} releases, {len(charts.objects):,} objects in {charts_s:.2f} s "
            f"({cpu_s:.2f} s of CPU)"
        )

    started, cpu = time.perf_counter(), time.process_time()
    report = run_contracts(build_state(plan, charts))
    contracts_s, contracts_cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"contracts: {len(report.checked)} checked, {len(report.violations)} violations in {contracts_s:.2f} s")

    started, cpu = time.perf_counter(), time.process_time()
    plain = render_files(plan)
    plain_s, plain_cpu = time.perf_counter() - started, time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    with_charts = render_files(plan, charts=charts)
    files_s, files_cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"render files: {len(plain):,} in {plain_s:.2f} s ({plain_cpu:.2f} s CPU) without charts, "
        f"{len(with_charts):,} in {files_s:.2f} s ({files_cpu:.2f} s CPU) with"
    )

    added = charts_s + contracts_s + max(0.0, files_s - plain_s)
    added_cpu = charts_cpu + contracts_cpu + max(0.0, files_cpu - plain_cpu)
    verdict = "within" if added < TARGET_SECONDS else "OVER"
    print(
        f"--charts adds {added:.1f} s wall ({added_cpu:.1f} s CPU) to the plan's {plan_s:.1f} s "
        f"({verdict} the {TARGET_SECONDS:.0f} s target on wall time)"
    )
    return 0 if added < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
