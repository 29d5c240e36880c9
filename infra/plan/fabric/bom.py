"""The fabric's orderable bill of materials: switches, cable assemblies, fibres and transceivers.

Built from the cable plan (``cabling.py``): copper assemblies (DAC or LACC, one per populated
twin-port cage) by part and length, fibres by type and length (one per optical link), twin-port
OSFP transceivers (one per optical switch cage) and single-port ones (one per optical HCA link).
Spares (``floor.spares_percent``) are added, rounded up, to every field-replaceable part (cables,
fibres, transceivers); switches are ordered as counted. The compute HCA ports per pool close the
list for reference (they come with the nodes).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from infra.plan.fabric.cabling import CablePlan
    from infra.plan.fabric.plan import FabricPlan

BOM_COLUMNS = ("category", "item", "length_m", "quantity", "spares", "order_quantity", "detail")
_CATEGORY_ORDER = {"switch": 0, "cable": 1, "fibre": 2, "transceiver": 3, "hca": 4}


@dataclass(frozen=True)
class BomRow:
    """One line of the bill of materials; ``length_m`` is 0 for parts without a length."""

    category: str
    item: str
    length_m: float
    quantity: int
    spares: int
    detail: str

    @property
    def order_quantity(self) -> int:
        """What to order: the quantity plus the spares."""
        return self.quantity + self.spares


def spares(quantity: int, percent: float) -> int:
    """Spares for ``quantity`` parts at ``percent``, rounded up (1.5 spares are 2)."""
    return math.ceil(round(quantity * percent / 100, 9))


def bom_rows(plan: FabricPlan, cabling: CablePlan, spares_percent: float) -> tuple[BomRow, ...]:
    """Switches per tier, then cables, fibres and transceivers by part and length, then HCA ports per pool."""
    port = f"{plan.generation.value} {plan.link_gbps} Gb/s"
    switch = f"{plan.switch_model.value}, {plan.radix} x {port} ports"
    counts = plan.counts
    rows = [BomRow("switch", f"{plan.switch_model.value} leaf", 0, counts.leaves, 0, switch)]
    rows.append(BomRow("switch", f"{plan.switch_model.value} spine", 0, counts.spines, 0, switch))
    if counts.cores:
        rows.append(BomRow("switch", f"{plan.switch_model.value} core", 0, counts.cores, 0, switch))
    parts = sorted(cabling.bom_counts().items(), key=lambda item: (_CATEGORY_ORDER[item[0][0]], item[0][1], item[0][2]))
    for (category, item, length), quantity in parts:
        detail = {
            "cable": "carries the two links of one switch cage",
            "fibre": "one per optical link",
            "transceiver": "one per optical switch cage" if "twin-port" in item else "one per optical HCA link",
        }[category]
        rows.append(BomRow(category, item, length, quantity, spares(quantity, spares_percent), detail))
    for layout in plan.layouts:
        pool = layout.pool
        rows.append(
            BomRow(
                "hca",
                pool.name,
                0,
                pool.nodes * layout.rails,
                0,
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
        length = f"{row.length_m:g}" if row.length_m else ""
        writer.writerow((row.category, row.item, length, row.quantity, row.spares, row.order_quantity, row.detail))
    return out.getvalue()
