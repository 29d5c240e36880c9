"""SitePlan: fabric, capacity and addressing together; topology from the fabric plan."""

from __future__ import annotations

from itertools import pairwise

import pytest
from plan_sites import bundled

from components.topology import HOSTNAME_LABEL, rack_labels
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


@pytest.mark.parametrize("site", ["eu-pilot", "eu-gigafactory"])
def test_pool_racks_place_every_node_as_node_topology_does(site: str) -> None:
    # pool_racks names each place once per rack or SU boundary, not per node: expanded again, every
    # node must sit exactly where node_topology puts it, pod included, in the pool's order.
    plan = build_site_plan(bundled(site))
    for pool in plan.config.node_pools:
        expanded = [(name, rack) for rack in plan.pool_racks(pool) for name in rack["nodes"]]
        assert len(expanded) == pool.nodes
        for position, (name, rack) in enumerate(expanded):
            node = plan.node_topology(pool, position)
            assert {**rack_labels(rack), HOSTNAME_LABEL: name} == node.labels(), (pool.name, position)


def test_pool_racks_group_only_consecutive_nodes_in_one_place() -> None:
    plan = build_site_plan(bundled("eu-gigafactory"))
    for pool in plan.config.node_pools:
        racks = plan.pool_racks(pool)
        places = [rack_labels(rack) for rack in racks]
        assert all(a != b for a, b in pairwise(places)), pool.name
        assert all(len(rack["nodes"]) <= pool.nodes_per_rack for rack in racks)
