"""The fabric's bill of materials: switches and cables per tier, compute HCA ports per pool.

Cables are counted as links (one per pair of connected ports), the way the DGX SuperPOD table
counts them ("cables per tier equal the GPU count"). Transceivers and twin-port OSFP cages are
not modelled: how many links share a cage or a cable depends on the optics bought.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from infra.plan.fabric.devices import Tier

if TYPE_CHECKING:
    from infra.plan.fabric.plan import FabricPlan

BOM_COLUMNS = ("category", "item", "quantity", "detail")


@dataclass(frozen=True)
class BomRow:
    """One line of the bill of materials."""

    category: str
    item: str
    quantity: int
    detail: str


def bom_rows(plan: FabricPlan) -> tuple[BomRow, ...]:
    """Switches per tier, links per tier, then HCA ports per pool (tiers a fabric lacks are left out)."""
    port = f"{plan.generation.value} {plan.link_gbps} Gb/s"
    switch = f"{plan.switch_model.value}, {plan.radix} x {port} ports"
    counts = plan.counts
    rows = [
        BomRow("switch", "leaf", counts.leaves, switch),
        BomRow("switch", "spine", counts.spines, switch),
    ]
    if counts.cores:
        rows.append(BomRow("switch", "core", counts.cores, switch))
    for tier, quantity in plan.cables.by_tier().items():
        if quantity or tier is not Tier.SPINE_CORE:
            rows.append(BomRow("cable", tier.value, quantity, f"{port} link"))
    for layout in plan.layouts:
        pool = layout.pool
        rows.append(
            BomRow(
                "hca",
                pool.name,
                pool.nodes * layout.rails,
                f"{pool.nodes} x {pool.system.product_name} nodes x {layout.rails} compute ports, {port}",
            )
        )
    return tuple(rows)


def render_bom_csv(rows: tuple[BomRow, ...]) -> str:
    """The rows as CSV with a header line, ``\\n`` line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(BOM_COLUMNS)
    for row in rows:
        writer.writerow((row.category, row.item, row.quantity, row.detail))
    return out.getvalue()
