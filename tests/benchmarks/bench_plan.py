"""Benchmark ``gigafactory plan`` against the floor the Pulumi SDK sets (not a pytest test).

    .venv/bin/python tests/benchmarks/bench_plan.py [SITE.yaml ...] [--profile]

For each site (default: both bundled sites) it runs, each in a fresh subprocess so peak memory is
that run's own:

- plan: load the config, compose the site on the mock runtime (``plan_site``) and serialise the
  plan JSON, as ``gigafactory plan -o`` does;
- floor: a bare program registering the same number of trivial resources through the same
  recorder (``record_program``), so the same SDK, mock monitor and recording run underneath, in
  two flavours: ``k8s`` registers pulumi-kubernetes ConfigMaps holding only a name, behind one
  explicit provider (the per-resource cost every Kubernetes resource pays in the typed SDK: input
  types, property translation, provider reference); ``bare`` registers ``pulumi.CustomResource``
  objects of a made-up type with one integer input (the core SDK alone). The target ratio is
  taken against the ``k8s`` floor; both are printed.

Wall time is ``time.perf_counter`` around the planning (imports and config loading excluded for
both). Peak memory is the process's peak resident set size, ``resource.getrusage(RUSAGE_SELF)
.ru_maxrss`` (KiB on Linux), which includes the interpreter and imported modules.
Each stack's program is timed too (CPU seconds) and set against the ``k8s`` floor's CPU time per
resource, so a reader sees which stacks cost more than the floor and by how much (the site facts and
the plan's assembly are the rest). ``--profile`` writes a cProfile of each site's plan to
``out/bench/<site>.prof`` and prints the top functions by cumulative time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SITES = ("site-configs/eu-pilot.yaml", "site-configs/eu-gigafactory.yaml")
TARGET_SECONDS = 60.0
TARGET_RSS_MB = 300.0
TARGET_RATIO = 1.3
TARGET_RESOURCES = 1_500  # in all, over every stack of the site (issue: a few hundred resources)
TARGET_STACK_RESOURCES = 500
TARGET_SITE = "eu-gigafactory"  # the target is set for the 100,000-GPU site; small sites are fixed-cost


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _import_sdk_modules() -> None:
    """Import every pulumi-kubernetes module the components use, before the clock starts.

    pulumi-kubernetes loads ``k8s.<group>.<version>`` lazily on first use: without this the
    composition's first resource of each group pays an import (about 3 s in all), a fixed cost the
    floor, which uses one module, mostly does not pay. Found from the components' source, so a
    new group is covered without editing this list.
    """
    import importlib
    import re

    used = set()
    for source in [*ROOT.joinpath("components").rglob("*.py"), *ROOT.joinpath("infra").rglob("*.py")]:
        used |= set(re.findall(r"\bk8s\.([a-z]+(?:\.v[0-9a-z]+)?)\.[A-Z]", source.read_text(encoding="utf-8")))
    for module in sorted(used):
        importlib.import_module(f"pulumi_kubernetes.{module}")


def child_plan(site: str, profile: Path | None) -> dict[str, Any]:
    """Plan one site in this process; timing starts after the config is loaded."""
    sys.path.insert(0, str(ROOT))
    from infra.config.loader import load_site
    from infra.engine.planner import plan_site

    config = load_site(site)
    import infra.site  # noqa: F401  (imports before the clock starts, as for the floor)

    _import_sdk_modules()

    # Each stack's program, timed where the planner runs it (CPU seconds and resources per stack).
    import infra.engine.planner as planner

    stacks: list[dict[str, Any]] = []
    record = planner.record_program

    def timed(*args: Any, **kwargs: Any) -> Any:
        cpu = time.process_time()
        found = record(*args, **kwargs)
        stacks.append({"stack": kwargs["stack"], "resources": len(found), "cpu_s": time.process_time() - cpu})
        return found

    planner.record_program = timed

    profiler = None
    if profile is not None:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started, cpu = time.perf_counter(), time.process_time()
    plan = plan_site(config)
    recorded, cpu_s = time.perf_counter(), time.process_time() - cpu
    text = plan.to_json()
    finished = time.perf_counter()
    if profiler is not None and profile is not None:
        profiler.disable()
        profile.parent.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(str(profile))
    from infra.engine.stackplan import by_stack

    return {
        "resources": len(plan.resources),
        "stacks": len(plan.stacks),
        "largest_stack": max((len(found) for found in by_stack(plan).values()), default=0),
        "plan_s": recorded - started,
        "cpu_s": cpu_s,
        "json_s": finished - recorded,
        "json_mb": len(text.encode()) / 2**20,
        "peak_rss_mb": _peak_rss_mb(),
        "per_stack": stacks,
    }


def child_floor(count: int, flavour: str) -> dict[str, Any]:
    """Register ``count`` trivial resources (``k8s`` or ``bare``, see the module doc) on the same recorder."""
    sys.path.insert(0, str(ROOT))
    import pulumi
    import pulumi_kubernetes as k8s

    from infra.engine.runtime import record_program

    class Trivial(pulumi.CustomResource):
        def __init__(self, name: str, index: int) -> None:
            super().__init__("gigafactory:bench:Trivial", name, {"index": index})

    def program() -> None:
        if flavour == "bare":
            for index in range(count):
                Trivial(f"trivial-{index}", index)
            return
        provider = k8s.Provider("floor-kubernetes", context="floor")
        opts = pulumi.ResourceOptions(provider=provider)
        for index in range(count - 1):
            k8s.core.v1.ConfigMap(f"trivial-{index}", metadata={"name": f"trivial-{index}"}, opts=opts)

    if flavour == "k8s":
        _ = k8s.core.v1.ConfigMap  # its module loads lazily: before the clock, as for the plan
    started, cpu = time.perf_counter(), time.process_time()
    records = record_program(program, project="gigafactory", stack="floor")
    elapsed, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    return {"resources": len(records), "plan_s": elapsed, "cpu_s": cpu_s, "peak_rss_mb": _peak_rss_mb()}


def _spawn(*args: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, __file__, *args], cwd=ROOT, capture_output=True, text=True, env={**os.environ}
    )
    if result.returncode != 0:
        raise SystemExit(f"benchmark run {' '.join(args)} failed:\n{result.stderr}")
    parsed: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


def _top(profile: Path, lines: int = 25) -> None:
    import pstats

    stats = pstats.Stats(str(profile))
    stats.sort_stats("cumulative").print_stats(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sites", nargs="*", default=list(SITES), metavar="SITE.yaml")
    parser.add_argument("--profile", action="store_true", help="profile each plan (cProfile) and print the top")
    parser.add_argument("--child-plan", metavar="SITE.yaml", help=argparse.SUPPRESS)
    parser.add_argument("--child-floor", type=int, metavar="N", help=argparse.SUPPRESS)
    parser.add_argument("--flavour", choices=("k8s", "bare"), default="k8s", help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_plan:
        print(json.dumps(child_plan(args.child_plan, args.profile_to)))
        return 0
    if args.child_floor is not None:
        print(json.dumps(child_floor(args.child_floor, args.flavour)))
        return 0

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; peak memory = ru_maxrss of each run's process")
    header = f"{'run':<28}{'resources':>10}{'wall s':>9}{'CPU s':>9}{'peak MB':>9}{'res/s':>9}"
    print(header)
    print("-" * len(header))
    verdicts = []
    for site in args.sites:
        name = Path(site).stem
        profile = ROOT / "out" / "bench" / f"{name}.prof" if args.profile else None
        plan = _spawn("--child-plan", site, *(["--profile-to", str(profile)] if profile else []))
        floor = _spawn("--child-floor", str(plan["resources"]), "--flavour", "k8s")
        bare = _spawn("--child-floor", str(plan["resources"]), "--flavour", "bare")
        for label, run in ((f"plan {name}", plan), ("  floor k8s", floor), ("  floor bare", bare)):
            rate = run["resources"] / run["plan_s"] if run["plan_s"] else 0.0
            print(
                f"{label:<28}{run['resources']:>10,}{run['plan_s']:>9.1f}{run['cpu_s']:>9.1f}"
                f"{run['peak_rss_mb']:>9.0f}{rate:>9,.0f}"
            )
        # The verdict takes CPU time: on a shared machine wall time measures the other processes too.
        ratio = plan["cpu_s"] / floor["cpu_s"] if floor["cpu_s"] else float("inf")
        bare_ratio = plan["cpu_s"] / bare["cpu_s"] if bare["cpu_s"] else float("inf")
        wall_ratio = plan["plan_s"] / floor["plan_s"] if floor["plan_s"] else float("inf")
        print(
            f"{'':<4}plan/floor CPU time: {ratio:.2f}x k8s, {bare_ratio:.2f}x bare (wall {wall_ratio:.2f}x k8s); "
            f"plan JSON {plan['json_mb']:.1f} MB serialised in {plan['json_s']:.1f} s"
        )
        # Where the plan's time goes: each stack against the floor's CPU time per resource.
        per_resource = floor["cpu_s"] / floor["resources"] if floor["resources"] else 0.0
        for stack in plan["per_stack"]:
            share = stack["cpu_s"] / (stack["resources"] * per_resource) if stack["resources"] and per_resource else 0.0
            print(
                f"{'':<4}{stack['stack']:<36}{stack['resources']:>6,}{stack['cpu_s']:>8.2f} s CPU  {share:.1f}x floor"
            )
        verdicts.append((name, plan, ratio))
        if profile is not None:
            _top(profile)
    print()
    for name, plan, ratio in verdicts:
        if name != TARGET_SITE:
            continue
        ok = (
            plan["plan_s"] < TARGET_SECONDS
            and plan["peak_rss_mb"] < TARGET_RSS_MB
            and ratio <= TARGET_RATIO
            and plan["resources"] <= TARGET_RESOURCES
            and plan["largest_stack"] <= TARGET_STACK_RESOURCES
        )
        print(
            f"{name}: {'meets' if ok else 'MISSES'} the target (<= {TARGET_RESOURCES:,} resources, no stack over "
            f"{TARGET_STACK_RESOURCES}, < {TARGET_SECONDS:.0f} s, < {TARGET_RSS_MB:.0f} MB, <= {TARGET_RATIO}x the "
            f"k8s floor): {plan['resources']:,} resources in {plan['stacks']} stacks (largest "
            f"{plan['largest_stack']}), {plan['plan_s']:.1f} s, {plan['peak_rss_mb']:.0f} MB, {ratio:.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
