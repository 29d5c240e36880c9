"""SitePlan: fabric, capacity and addressing together; topology from the fabric plan."""

from __future__ import annotations

from plan_sites import bundled

from infra.plan.site_plan import build_site_plan
from infra.plan.topology import POD_LABEL


def test_pilot_plan_has_two_tier_topology() -> None:
    plan = build_site_plan(bundled("eu-pilot"))
    assert plan.fabric.tiers == 2
    assert plan.topology_levels[-1] == "kubernetes.io/hostname"
    pool = plan.config.pool("h100-train")
    assert pool is not None
    node = plan.node_topology(pool, 40)
    assert (node.hostname, node.block, node.pod) == ("pilot-gpu-041", "h100-train-su001", None)
    assert plan.capacity.total_gpus == 1024
    assert len(plan.addressing.rails) == 8


def test_gigafactory_nodes_carry_their_pod() -> None:
    plan = build_site_plan(bundled("eu-gigafactory"))
    assert plan.topology_levels[0] == POD_LABEL
    pool = plan.config.pool("gb200-train")
    assert pool is not None
    assert plan.node_topology(pool, 0).pod is not None
