"""cables.csv: every link a row with a unique label, an assembly, two placed ends, a length and a media."""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict

from fabric_sites import SiteFactory, pool

from infra.config.catalog import GPU_SYSTEMS
from infra.config.model import SiteConfig
from infra.plan.fabric import plan_fabric
from infra.plan.fabric.cabling import (
    ACC_STRAIGHT_M,
    CABLE_COLUMNS,
    DAC_SPLITTER_M,
    DAC_STRAIGHT_M,
    FIBRE_M,
    CablePlan,
)
from infra.plan.fabric.labels import cable_label
from infra.plan.floor import plan_floor

SOLD = {"DAC": DAC_SPLITTER_M + DAC_STRAIGHT_M, "ACC": ACC_STRAIGHT_M, "MMF": FIBRE_M, "SMF": FIBRE_M}


def cable_rows(config: SiteConfig) -> tuple[CablePlan, list[dict[str, str]]]:
    plan = plan_fabric(config)
    cabling = CablePlan(plan, plan_floor(config, plan))
    text = "".join(cabling.csv_chunks())
    assert text.splitlines()[0] == ",".join(CABLE_COLUMNS)
    return cabling, list(csv.DictReader(io.StringIO(text)))


def check_complete(config: SiteConfig) -> list[dict[str, str]]:
    cabling, rows = cable_rows(config)
    plan = cabling.plan
    assert len(rows) == plan.cables.total
    assert sorted(row["label"] for row in rows) == sorted(cable_label(plan, link) for link in plan.links())
    per_assembly: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        assert all(row[f"{end}_{field}"] for end in "ab" for field in ("device", "rack", "u", "port")), row
        assert row["media"] in SOLD and float(row["length_m"]) in SOLD[row["media"]], row
        assert row["part_class"] and row["assembly"].startswith(f"{row['a_device']}:cage{row['a_cage']}")
        assert int(row["a_cage"]) == (int(row["a_port"]) + 1) // 2 and row["a_cage_port"] == str(
            2 - int(row["a_port"]) % 2
        )
        per_assembly[row["assembly"]].append(row)
    # A twin-port cage carries at most two links; both rows name it, with one media and one part.
    assert all(len(group) <= 2 for group in per_assembly.values())
    assert all(
        len({(r["media"], r["part_class"].split(";")[0]) for r in group}) == 1 for group in per_assembly.values()
    )
    return rows


def test_pilot_cables_are_complete(pilot: SiteConfig) -> None:
    rows = check_complete(pilot)
    first = next(row for row in rows if row["label"] == "NL-000001")
    assert (first["a_device"], first["a_port"], first["a_cage"], first["a_cage_port"]) == (
        "h100-train-su000-leaf-r0",
        "1",
        "1",
        "1",
    )
    # The HCA end is named as ibnetdiscover and node acceptance name it.
    assert (first["b_device"], first["b_port"], first["b_rack"], first["b_u"]) == (
        "pilot-gpu-001",
        "mlx5_0",
        "r000-00",
        "1",
    )
    devices = GPU_SYSTEMS[pilot.node_pools[0].gpu_model].compute_hca_devices
    assert {row["b_port"] for row in rows if row["tier"] == "node-leaf"} == set(devices)
    assert Counter(row["media"] for row in rows) == {"MMF": 2048}
    assert len({row["assembly"] for row in rows if row["tier"] == "node-leaf"}) == 512


def test_short_runs_are_copper(make_site: SiteFactory) -> None:
    """Racks of two DGX beside their leaf rack in 20U racks: node links fit DAC splitters; the lone
    spine's cages take both links of a leaf cage, so leaf-spine runs are straight copper."""
    config = make_site(
        [pool("h100", 4, su=4, rack=2)], floor={"rack_units": 20, "tray_height_m": 0.0, "cable_slack_m": 0.0}
    )
    rows = check_complete(config)
    kinds = Counter((row["tier"], row["media"], row["part_class"]) for row in rows)
    assert kinds == {
        ("node-leaf", "DAC", "DAC splitter twin-port OSFP to 2x OSFP 400G"): 32,
        ("leaf-spine", "ACC", "LACC straight twin-port OSFP 2x400G"): 32,
    }
