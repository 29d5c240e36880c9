"""The orderable bill of materials: switches, cable assemblies, fibres and transceivers with spares."""

from __future__ import annotations

import csv
import io

from fabric_sites import GIGAFACTORY

from infra.config.loader import load_site
from infra.config.model import SiteConfig
from infra.plan.fabric import plan_fabric
from infra.plan.fabric.bom import BomRow, bom_rows, render_bom_csv, spares
from infra.plan.fabric.cabling import CablePlan
from infra.plan.floor import plan_floor


def rows_of(config: SiteConfig, percent: float | None = None) -> tuple[BomRow, ...]:
    plan = plan_fabric(config)
    cabling = CablePlan(plan, plan_floor(config, plan))
    return bom_rows(plan, cabling, config.floor.spares_percent if percent is None else percent)


def test_pilot_bom_is_orderable(pilot: SiteConfig) -> None:
    rows = rows_of(pilot)
    switch = "QM9700, 64 x NDR 400 Gb/s ports"
    assert rows[:2] == (
        BomRow("switch", "QM9700 leaf", 0, 32, 0, switch),
        BomRow("switch", "QM9700 spine", 0, 16, 0, switch),
    )
    by_item = {(row.category, row.item, row.length_m): row for row in rows}
    # Pilot racks are 12 m and more from their leaves: every link is optical, multimode within 50 m.
    fibres = [row for row in rows if row.category == "fibre"]
    assert {row.item for row in fibres} == {"fibre OM4 MPO-12/APC"}
    assert sum(row.quantity for row in fibres) == 2048
    assert all(row.length_m in (7, 10, 12, 15, 20) for row in fibres)
    twin = by_item[("transceiver", "transceiver twin-port OSFP 2xSR4 (multimode)", 0)]
    single = by_item[("transceiver", "transceiver OSFP SR4", 0)]
    # One twin-port per populated cage: 32 leaves x (16 node + 16 uplink cages) + 16 spines x 32 cages.
    assert twin.quantity == 32 * 32 + 16 * 32 and single.quantity == 1024
    assert (twin.spares, twin.order_quantity) == (31, 1567) and (single.spares, single.order_quantity) == (21, 1045)
    assert [row.item for row in rows if row.category == "hca"] == ["h100-train", "h100-clinical"]


def test_spares_round_up() -> None:
    assert (spares(100, 2), spares(101, 2), spares(0, 5), spares(1536, 0)) == (2, 3, 0, 0)


def test_gigafactory_bom_adds_up() -> None:
    config = load_site(GIGAFACTORY)
    plan = plan_fabric(config)
    rows = rows_of(config, 0)
    quantity = {(row.category, row.item): row.quantity for row in rows if row.category in ("switch", "hca")}
    assert quantity[("switch", "Q3400 core")] == 864
    assert sum(q for (category, _), q in quantity.items() if category == "switch") == plan.switches_total == 3992
    assert sum(q for (category, _), q in quantity.items() if category == "hca") == plan.endpoints == 100_800
    # XDR has no copper or multimode in this plan: every link is one single-mode fibre.
    assert sum(row.quantity for row in rows if row.category == "fibre") == plan.cables.total == 326_016
    assert not [row for row in rows if row.category == "cable"]
    assert all(row.spares == 0 for row in rows)


def test_csv(pilot: SiteConfig) -> None:
    text = render_bom_csv(rows_of(pilot))
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == "category,item,length_m,quantity,spares,order_quantity,detail"
    assert parsed[0] == {
        "category": "switch",
        "item": "QM9700 leaf",
        "length_m": "",
        "quantity": "32",
        "spares": "0",
        "order_quantity": "32",
        "detail": "QM9700, 64 x NDR 400 Gb/s ports",
    }
    assert all(int(row["order_quantity"]) == int(row["quantity"]) + int(row["spares"]) for row in parsed)
    assert text.endswith("\n") and "\r" not in text
