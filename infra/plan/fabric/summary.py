"""The fabric plan in a few lines a person reads: tiers, switches and cables per tier, oversubscription."""

from __future__ import annotations

from math import gcd
from typing import TYPE_CHECKING

from infra.config.catalog import SWITCHES

if TYPE_CHECKING:
    from infra.plan.fabric.plan import FabricPlan


def _ratio(down: int, up: int) -> str:
    divisor = gcd(down, up)
    return f"{down // divisor}:{up // divisor}" if down % up else f"{down // up}:1"


def summary_lines(plan: FabricPlan) -> list[str]:
    """One line per fact, no trailing spaces, numbers with thousands separators."""
    shape = plan.shape
    counts = plan.counts
    cables = plan.cables
    down, up = plan.leaf_ratio
    pools = "; ".join(
        f"{layout.pool.name} {layout.pool.scalable_units} x {layout.pool.scalable_unit_nodes}"
        + (
            f" (last SU {layout.pool.nodes % layout.pool.scalable_unit_nodes})"
            if layout.pool.nodes % layout.pool.scalable_unit_nodes
            else ""
        )
        + f", {layout.rails} rails"
        for layout in plan.layouts
    )
    lines = [
        f"compute fabric of {plan.site}: rail-optimized fat tree, {plan.tiers} tiers",
        f"switch: {plan.switch_model.value}, {plan.radix} ports of {plan.generation.value} {plan.link_gbps} Gb/s"
        + ("" if plan.radix == SWITCHES[plan.switch_model].radix else " (what-if radix, not the model's)"),
        f"endpoints: {plan.endpoints:,} HCA ports on {plan.nodes:,} nodes, {plan.rails} rails",
        f"scalable units: {plan.scalable_units:,} ({pools})",
        f"leaf: {counts.leaves:,} switches, {down} node ports + {up} uplinks each "
        f"(oversubscription {_ratio(down, up)}, configured {plan.configured_oversubscription:g})",
    ]
    if plan.tiers == 2:
        lines.append(
            f"spine: {counts.spines:,} switches, every leaf to every spine with {shape.leaf_spine_links} "
            f"link{'s' if shape.leaf_spine_links != 1 else ''}"
        )
        lines.append("core: none (two tiers reach every endpoint)")
    else:
        lines.append(
            f"spine: {counts.spines:,} switches in {len(shape.spine_groups)} groups of {shape.spines_per_group} "
            f"(one group per rail per pod; {plan.pods} pod{'s' if plan.pods != 1 else ''} of up to "
            f"{shape.sus_per_pod} SUs), {shape.spine_down_ports} down + {shape.spine_uplinks} up"
        )
        lines.append(
            f"core: {counts.cores:,} switches in {shape.spines_per_group} groups of {shape.cores_per_group}, "
            f"{shape.spine_core_links} link{'s' if shape.spine_core_links != 1 else ''} from each spine"
        )
    lines.append(f"switches: {counts.switches:,}")
    cable_parts = ", ".join(f"{tier.value} {count:,}" for tier, count in cables.by_tier().items() if count)
    lines.append(f"cables: {cable_parts}; total {cables.total:,}")
    return lines
