"""Everything ``gigafactory fabric`` writes, as file name -> content (text, or text chunks)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from infra.config.model import SiteConfig
from infra.plan.fabric.bom import bom_rows, render_bom_csv
from infra.plan.fabric.cabling import CablePlan
from infra.plan.fabric.netfile import net_chunks
from infra.plan.fabric.opensm import MTU_CODES, ROOT_GUID_FILE, render_opensm_conf, render_partitions, render_root_guids
from infra.plan.fabric.partitions import PartitionPlan, plan_partitions, ufm_partitions
from infra.plan.fabric.plan import FabricPlan
from infra.plan.floor import FloorPlan, plan_floor

NET_FILE = "fabric.net"
CABLES_FILE = "cables.csv"
UFM_FILE = "ufm-partitions.json"
FABRIC_FILES = (
    NET_FILE,
    CABLES_FILE,
    "partitions.conf",
    UFM_FILE,
    "opensm.conf",
    ROOT_GUID_FILE,
    "bom.csv",
    "summary.txt",
)


def link_speed(plan: FabricPlan) -> str:
    """Width and generation as ibnetdiscover prints them, e.g. ``4xNDR``."""
    return f"4x{plan.generation.value}"


def net_preamble(plan: FabricPlan) -> list[str]:
    """The comment lines at the top of ``fabric.net``."""
    counts = plan.counts
    return [
        f"Cabling plan of the {plan.site} compute fabric, in ibnetdiscover format (gigafactory fabric).",
        f"{plan.tiers}-tier rail-optimized fat tree of {plan.switch_model.value}: {counts.leaves:,} leaves, "
        f"{counts.spines:,} spines, {counts.cores:,} cores, {plan.endpoints:,} HCA ports.",
        "Every link is listed from both ends. GUIDs are planned placeholders (locally administered,",
        "0x02...) until the fabric is discovered; LIDs are 0, unassigned until the subnet manager runs.",
    ]


def summary_lines(plan: FabricPlan, floor: FloorPlan) -> list[str]:
    """What the command prints and ``summary.txt`` holds: the fabric, then the floor."""
    return plan.summary_lines() + floor.summary_lines()


FABRIC_SUMMARY_FORMAT = "gigafactory-fabric-summary/1"


def summary_json(plan: FabricPlan, floor: FloorPlan) -> dict[str, Any]:
    """The summary as ``gigafactory-fabric-summary/1``: what ``summary.txt`` says, as data."""
    counts, cables, shape = plan.counts, plan.cables, plan.shape
    down, up = plan.leaf_ratio
    top = max(range(len(floor.racks)), key=lambda i: (floor.rack_kw[i], -i))
    return {
        "format": FABRIC_SUMMARY_FORMAT,
        "site": plan.site,
        "tiers": plan.tiers,
        "switch_model": plan.switch_model.value,
        "generation": plan.generation.value,
        "radix": plan.radix,
        "link_gbps": plan.link_gbps,
        "endpoints": plan.endpoints,
        "nodes": plan.nodes,
        "rails": plan.rails,
        "scalable_units": plan.scalable_units,
        "pools": [
            {
                "name": layout.pool.name,
                "nodes": layout.pool.nodes,
                "scalable_units": layout.pool.scalable_units,
                "scalable_unit_nodes": layout.pool.scalable_unit_nodes,
                "rails": layout.rails,
            }
            for layout in plan.layouts
        ],
        "leaf": {"node_ports": down, "uplinks": up, "configured_oversubscription": plan.configured_oversubscription},
        "spine_groups": len(shape.spine_groups),
        "switches": {"leaf": counts.leaves, "spine": counts.spines, "core": counts.cores, "total": counts.switches},
        "cables": {**{tier.value: count for tier, count in cables.by_tier().items()}, "total": cables.total},
        "floor": {
            "racks": len(floor.racks),
            "gpu_racks": sum(rack.kind == "gpu" for rack in floor.racks),
            "network_racks": sum(rack.kind == "network" for rack in floor.racks),
            "rows": floor.rows,
            "rack_units": floor.floor.rack_units,
            "rack_power_limit_kw": floor.floor.rack_power_kw,
            "highest_rack": {"name": floor.racks[top].name, "kw": round(floor.rack_kw[top], 1)},
        },
    }


def fabric_artifacts(
    config: SiteConfig, plan: FabricPlan, partitions: PartitionPlan | None = None, floor: FloorPlan | None = None
) -> dict[str, str | Iterator[str]]:
    """The files of one run; ``fabric.net`` and ``cables.csv`` are produced lazily, chunk by chunk, as written.

    ``partitions`` (from ``plan_partitions`` with a GUID map) gives exact port membership; without
    it the partitions are those known before discovery. Raises ``FabricPlanError`` when a cable would
    be longer than any media reaches on this floor.
    """
    floor = plan_floor(config, plan) if floor is None else floor
    cabling = CablePlan(plan, floor)
    model = partitions if partitions is not None else plan_partitions(config, plan)
    ufm = ufm_partitions(model, MTU_CODES[config.fabrics.compute.ipoib_mtu])
    return {
        NET_FILE: net_chunks(plan, link_speed(plan), net_preamble(plan)),
        CABLES_FILE: cabling.csv_chunks(),
        "partitions.conf": render_partitions(config, plan, model),
        UFM_FILE: json.dumps(ufm, indent=1, sort_keys=True) + "\n",
        "opensm.conf": render_opensm_conf(plan),
        ROOT_GUID_FILE: render_root_guids(plan),
        "bom.csv": render_bom_csv(bom_rows(plan, cabling, config.floor.spares_percent)),
        "summary.txt": "\n".join(summary_lines(plan, floor)) + "\n",
    }
