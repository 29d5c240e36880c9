"""The floor plan: every node and switch in a rack and a U, racks in rows, kW per rack within the limit."""

from __future__ import annotations

import itertools
from collections import defaultdict
from pathlib import Path

import pytest
from fabric_sites import SiteFactory, pool, write_site

from infra.cli import main
from infra.config.catalog import GPU_SYSTEMS, SWITCH_CHASSIS
from infra.config.model import SiteConfig
from infra.plan.fabric import plan_fabric
from infra.plan.floor import FloorPlan, Place, plan_floor


def placed(config: SiteConfig) -> tuple[FloorPlan, dict[str, Place]]:
    plan = plan_fabric(config)
    floor = plan_floor(config, plan)
    places = {switch.name: floor.switch(switch) for switch in plan.switches()}
    for layout in plan.layouts:
        for position in range(layout.pool.nodes):
            places[layout.pool.node_name(position)] = floor.node(layout.pool.name, position)
    return floor, places


def check_floor(config: SiteConfig) -> FloorPlan:
    """Every device placed once, inside its rack, without overlap; kW per rack adds up and stays in the limit."""
    floor, places = placed(config)
    by_rack: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    for name, place in places.items():
        assert place.u >= 1 and place.u + place.height - 1 <= config.floor.rack_units, name
        by_rack[place.rack.index].append((place.u, place.u + place.height - 1, name))
    for index, spans in by_rack.items():
        spans.sort()
        for (_, top, below), (bottom, _, above) in itertools.pairwise(spans):
            assert top < bottom, f"{below} and {above} overlap in {floor.racks[index].name}"
        # What the rack reports holding is what was placed in it.
        assert sorted(name for name, _ in floor.contents(floor.racks[index])) == sorted(n for _, _, n in spans)
    switch_kw = SWITCH_CHASSIS[config.fabrics.compute.switch_model].max_kw
    node_kw = {p.name: GPU_SYSTEMS[p.gpu_model].node_kw for p in config.node_pools}
    for rack, kw in zip(floor.racks, floor.rack_kw, strict=True):
        expected = sum(
            node_kw[next(p.name for p in config.node_pools if name in p.node_names())]
            if rack.kind == "gpu"
            else switch_kw
            for _, _, name in by_rack[rack.index]
        )
        assert abs(kw - expected) < 1e-6, rack.name
        assert kw <= config.floor.rack_power_kw, f"{rack.name}: {kw} kW"
        assert 0 <= rack.slot < config.floor.racks_per_row
    return floor


def test_pilot_floor(pilot: SiteConfig) -> None:
    floor = check_floor(pilot)
    assert [r.name for r in floor.racks[:9]] == [f"r000-{s:02d}" for s in range(9)]
    assert [r.kind for r in floor.racks[:9]] == ["gpu"] * 8 + ["network"]
    # Each SU is 8 GPU racks and its leaf rack: two fit a row of 20, the third starts row 1.
    rows = {floor.racks[i].purpose: floor.racks[i].row for i in range(len(floor.racks))}
    assert rows["h100-train SU 0"] == 0 and rows["h100-train SU 2"] == 1
    node = floor.node("h100-train", 5)
    assert (node.rack.name, node.u, node.height) == ("r000-01", 9, 8)
    assert floor.summary_lines()[0].startswith("floor: 37 racks in 2 rows of up to 20 (32 GPU, 5 network)")


def test_partial_sus_and_three_tiers_fill_racks_in_rows(make_site: SiteFactory) -> None:
    config = make_site([pool("a", 70, su=8), pool("b", 13, su=8, model="B200")], floor={"racks_per_row": 7})
    floor = check_floor(config)
    assert plan_fabric(config).tiers == 3
    # An SU (2 GPU racks and its leaf rack) never straddles two rows: 2 SUs per row of 7.
    rows_of_su: dict[str, set[int]] = defaultdict(set)
    for rack in floor.racks:
        rows_of_su[rack.purpose.removeprefix("leaves of ")].add(rack.row)
    assert all(len(rows) == 1 for purpose, rows in rows_of_su.items() if " SU " in purpose)
    assert max(rack.slot for rack in floor.racks) <= 6
    # A B200 rack: 4 nodes of 10U from U1.
    assert [floor.node("b", i).u for i in range(4)] == [1, 11, 21, 31]


def test_a_floor_too_spread_for_any_cable_is_a_located_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path, [pool("p", 256, rack=1)], floor={"racks_per_row": 1, "row_pitch_m": 20.0})
    out = tmp_path / "out"
    assert main(["fabric", str(site), "-o", str(out)]) == 1
    first = capsys.readouterr().err.splitlines()[0]
    line = next(n for n, text in enumerate(site.read_text().splitlines(), 1) if "racks_per_row" in text)
    assert first.startswith(f"{site}:{line}:") and "floor.racks_per_row: a leaf-spine cable needs" in first, first
    assert not out.exists()
