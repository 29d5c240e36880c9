"""Benchmark the fabric planner and the node inventory on the bundled sites (not a pytest test).

    .venv/bin/python tests/benchmarks/bench_fabric.py [SITE.yaml ...]

For each site (default: both bundled sites), in a fresh subprocess each so peak memory is that
run's own (``VmHWM`` from /proc/self/status, which includes the interpreter and its imports):

- plan: ``plan_fabric`` plus the bill of materials;
- invariants: the walk over every port end (endpoints, radix, symmetric links);
- fabric command: ``gigafactory fabric SITE -o DIR`` end to end, cabling plan streamed to disk;
- inventory: rendering the Ansible inventory of every node.

Targets, for the 100,000-GPU site (issue: "plans in a few seconds and without materialising more
than it needs"): the plan within ``TARGET_PLAN_SECONDS``, and the whole ``fabric`` command, with its
56 MB cabling plan, within ``TARGET_FABRIC_PEAK_MIB`` of peak memory (the interpreter and its
imports alone take about 35 MiB; the cabling plan held as one text would add its 56 MB).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SITES = ("site-configs/eu-pilot.yaml", "site-configs/eu-gigafactory.yaml")
TARGET_SITE = "eu-gigafactory"
TARGET_PLAN_SECONDS = 5.0
TARGET_FABRIC_PEAK_MIB = 150.0

_CHILD = """
import json, sys, time
from pathlib import Path
from infra.config.loader import load_site
from infra.plan.fabric import plan_fabric
from infra.plan.fabric.invariants import check_invariants
from infra.acceptance.inventory import render_inventory
from infra.cli import main

def peak_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0

site, what, out = sys.argv[1], sys.argv[2], sys.argv[3]
config = load_site(site)
started = time.perf_counter()
extra = {}
if what == "plan":
    plan = plan_fabric(config)
    extra = {"switches": plan.switches_total, "cables": plan.cables.total, "endpoints": plan.endpoints}
elif what == "invariants":
    problems = check_invariants(plan_fabric(config))
    extra = {"problems": len(problems)}
elif what == "fabric":
    extra = {"exit": main(["fabric", site, "-o", out])}
    extra["bytes"] = sum(p.stat().st_size for p in Path(out).iterdir())
elif what == "inventory":
    extra = {"bytes": len(render_inventory(config))}
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "peak_mib": peak_mib(), **extra}))
"""


def _measure(site: str, what: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, site, what, str(Path(scratch) / "fabric")],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
    if done.returncode != 0:
        raise SystemExit(f"{what} on {site} failed:\n{done.stderr}")
    result: dict[str, float] = json.loads(done.stdout.splitlines()[-1])
    return result


def main() -> int:
    """Print one line per site and step."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sites", nargs="*", default=list(SITES))
    args = parser.parse_args()
    print(f"{'site':<36} {'step':<11} {'seconds':>8} {'peak MiB':>9}  details")
    measured: dict[tuple[str, str], dict[str, float]] = {}
    for site in args.sites:
        for what in ("plan", "invariants", "fabric", "inventory"):
            figures = measured[(Path(site).stem, what)] = _measure(site, what)
            details = ", ".join(f"{k}={v:,}" for k, v in figures.items() if k not in ("seconds", "peak_mib"))
            print(f"{site:<36} {what:<11} {figures['seconds']:>8.2f} {figures['peak_mib']:>9.1f}  {details}")
    if (TARGET_SITE, "plan") in measured:
        plan_s = measured[(TARGET_SITE, "plan")]["seconds"]
        fabric_mib = measured[(TARGET_SITE, "fabric")]["peak_mib"]
        ok = plan_s < TARGET_PLAN_SECONDS and fabric_mib < TARGET_FABRIC_PEAK_MIB
        print(
            f"{TARGET_SITE}: {'meets' if ok else 'MISSES'} the target (plan < {TARGET_PLAN_SECONDS:.0f} s, "
            f"fabric command < {TARGET_FABRIC_PEAK_MIB:.0f} MiB peak): {plan_s:.2f} s, {fabric_mib:.0f} MiB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
