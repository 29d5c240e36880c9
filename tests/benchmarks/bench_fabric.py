"""Benchmark the fabric planner and the node inventory on the bundled sites (not a pytest test).

    .venv/bin/python tests/benchmarks/bench_fabric.py [SITE.yaml ...]

For each site (default: both bundled sites), in a fresh subprocess each so peak memory is that
run's own (``VmHWM`` from /proc/self/status, which includes the interpreter and its imports):

- plan: ``plan_fabric`` plus the bill of materials;
- invariants: the walk over every port end (endpoints, radix, symmetric links);
- fabric command: ``gigafactory fabric SITE -o DIR`` end to end, cabling plan streamed to disk;
- inventory: rendering the Ansible inventory of every node.
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
    rows = plan.bom_rows()
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
    for site in args.sites:
        for what in ("plan", "invariants", "fabric", "inventory"):
            figures = _measure(site, what)
            details = ", ".join(f"{k}={v:,}" for k, v in figures.items() if k not in ("seconds", "peak_mib"))
            print(f"{site:<36} {what:<11} {figures['seconds']:>8.2f} {figures['peak_mib']:>9.1f}  {details}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
