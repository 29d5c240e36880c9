"""The 100,800-GPU site: beyond any simulator, so its plan is held to the count invariants, fast."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fabric_sites import GIGAFACTORY, REPO

from infra.config.loader import load_site
from infra.plan.fabric import plan_fabric
from infra.plan.fabric.invariants import check_hca, check_invariants

pytestmark = pytest.mark.slow


def test_plan_bom_and_invariants_hold() -> None:
    # Every one of the 650,000 port ends walked and checked from both sides; timings are in
    # tests/benchmarks/bench_fabric.py, not here.
    plan = plan_fabric(load_site(GIGAFACTORY))
    rows = plan.bom_rows()
    problems = check_invariants(plan)
    assert problems == [], problems
    assert sum(row.quantity for row in rows if row.category == "hca") == 100_800


def test_every_hca_on_its_own_rail_and_leaf() -> None:
    plan = plan_fabric(load_site(GIGAFACTORY))
    count = 0
    for hca in plan.hcas():
        problems = check_hca(plan, hca)
        assert problems == [], problems
        count += 1
    assert count == plan.endpoints == 100_800


MEASURE = """
import json, sys
from infra.cli import main
code = main(["fabric", sys.argv[1], "-o", sys.argv[2]])
# VmHWM is this process's own peak; ru_maxrss would include the peak of the forking pytest.
peak_kib = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"code": code, "rss_mib": peak_kib / 1024}))
"""


def test_artifacts_are_streamed_with_bounded_memory(tmp_path: Path) -> None:
    out = tmp_path / "gigafactory"
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(GIGAFACTORY), str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    measured = json.loads(done.stdout.splitlines()[-1])
    assert measured["code"] == 0
    net = out / "fabric.net"
    # 56 MB of cabling plan written without holding it: peak memory stays near the interpreter's own.
    assert net.stat().st_size > 50_000_000
    assert measured["rss_mib"] < 150, measured
    with net.open() as handle:
        records = sum(1 for line in handle if line.startswith(("Switch\t", "Ca\t")))
    assert records == 3992 + 100_800
