"""The bill of materials: switches and cables per tier, HCA ports per pool, as rows and CSV."""

from __future__ import annotations

import csv
import io

from fabric_sites import GIGAFACTORY

from infra.config.loader import load_site
from infra.config.model import SiteConfig
from infra.plan.fabric import BomRow, plan_fabric
from infra.plan.fabric.bom import render_bom_csv


def test_pilot_bom(pilot: SiteConfig) -> None:
    rows = plan_fabric(pilot).bom_rows()
    switch = "QM9700, 64 x NDR 400 Gb/s ports"
    assert rows == (
        BomRow("switch", "leaf", 32, switch),
        BomRow("switch", "spine", 16, switch),
        BomRow("cable", "node-leaf", 1024, "NDR 400 Gb/s link"),
        BomRow("cable", "leaf-spine", 1024, "NDR 400 Gb/s link"),
        BomRow("hca", "h100-train", 768, "96 x NVIDIA H100 80GB HBM3 nodes x 8 compute ports, NDR 400 Gb/s"),
        BomRow("hca", "h100-clinical", 256, "32 x NVIDIA H100 80GB HBM3 nodes x 8 compute ports, NDR 400 Gb/s"),
    )


def test_gigafactory_bom_adds_up() -> None:
    plan = plan_fabric(load_site(GIGAFACTORY))
    rows = plan.bom_rows()
    quantity = {(row.category, row.item): row.quantity for row in rows}
    assert quantity[("switch", "core")] == 864
    assert sum(q for (category, _), q in quantity.items() if category == "switch") == plan.switches_total == 3992
    assert sum(q for (category, _), q in quantity.items() if category == "cable") == plan.cables.total == 326_016
    assert sum(q for (category, _), q in quantity.items() if category == "hca") == plan.endpoints == 100_800
    assert quantity[("hca", "gb200-train")] == 2592 * 4


def test_csv(pilot: SiteConfig) -> None:
    text = render_bom_csv(plan_fabric(pilot).bom_rows())
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == "category,item,quantity,detail"
    assert parsed[0] == {
        "category": "switch",
        "item": "leaf",
        "quantity": "32",
        "detail": "QM9700, 64 x NDR 400 Gb/s ports",
    }
    assert len(parsed) == 6 and text.endswith("\n") and "\r" not in text
