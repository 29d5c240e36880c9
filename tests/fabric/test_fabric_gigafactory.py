"""The 100,800-GPU site: beyond any simulator, so its plan is held to the count invariants, fast."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from fabric_sites import GIGAFACTORY

import infra.commands.fabric as fabric_command
from infra.cli import main
from infra.config.loader import load_site
from infra.plan.fabric import plan_fabric
from infra.plan.fabric.artifacts import NET_FILE
from infra.plan.fabric.invariants import check_hca, check_invariants

pytestmark = pytest.mark.slow


def test_plan_bom_and_invariants_hold() -> None:
    # Every one of the 650,000 port ends walked and checked from both sides; timings are in
    # tests/benchmarks/bench_fabric.py, not here.
    plan = plan_fabric(load_site(GIGAFACTORY))
    problems = check_invariants(plan)
    assert problems == [], problems
    assert plan.endpoints == 100_800


def test_every_hca_on_its_own_rail_and_leaf() -> None:
    plan = plan_fabric(load_site(GIGAFACTORY))
    count = 0
    for hca in plan.hcas():
        problems = check_hca(plan, hca)
        assert problems == [], problems
        count += 1
    assert count == plan.endpoints == 100_800


def test_fabric_command_streams_the_cabling_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command hands fabric.net to the writer as chunks of a few hundred records, never as one text;
    its peak memory, the figure this guards, is measured by tests/benchmarks/bench_fabric.py."""
    largest: dict[str, int] = {}
    real_write = fabric_command.write_tree_atomic

    def measured(chunks: Iterator[str], name: str) -> Iterator[str]:
        for chunk in chunks:
            largest[name] = max(largest.get(name, 0), len(chunk))
            yield chunk

    def spy(directory: Path, files: Mapping[str, str | bytes | Iterator[str]], *, owner: str) -> None:
        assert not isinstance(files[NET_FILE], (str, bytes)), "fabric.net must reach the writer as chunks"
        chunked = {n: c if isinstance(c, (str, bytes)) else measured(c, n) for n, c in files.items()}
        real_write(directory, chunked, owner=owner)

    monkeypatch.setattr(fabric_command, "write_tree_atomic", spy)
    out = tmp_path / "gigafactory"
    assert main(["fabric", str(GIGAFACTORY), "-o", str(out)]) == 0
    size = (out / NET_FILE).stat().st_size
    assert size > 50_000_000
    assert 0 < largest[NET_FILE] * 10 < size, f"a fabric.net chunk of {largest[NET_FILE]:,} of {size:,} bytes"
    with (out / NET_FILE).open() as handle:
        records = sum(1 for line in handle if line.startswith(("Switch\t", "Ca\t")))
    assert records == 3992 + 100_800
