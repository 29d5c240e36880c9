"""Node topology labels and Kueue Topology levels from the fabric plan."""

from __future__ import annotations

from fabric_sites import GIGAFACTORY

from infra.config.loader import load_site
from infra.config.model import SiteConfig
from infra.plan.fabric import plan_fabric
from infra.plan.topology import (
    BLOCK_LABEL,
    HOSTNAME_LABEL,
    LEAF_GROUP_LABEL,
    POD_LABEL,
    POD_TOPOLOGY_LEVELS,
    RACK_LABEL,
    TOPOLOGY_LEVELS,
    node_topology,
)


def test_two_tier_labels_have_no_pod(pilot: SiteConfig) -> None:
    plan = plan_fabric(pilot)
    labels = plan.node_topology("h100-train", 37).labels()
    assert labels == {
        BLOCK_LABEL: "h100-train-su001",
        RACK_LABEL: "h100-train-r0009",
        LEAF_GROUP_LABEL: "h100-train-su001-leaves",
        HOSTNAME_LABEL: "pilot-gpu-038",
    }
    assert plan.topology_levels == TOPOLOGY_LEVELS
    assert plan.topology_levels[-1] == HOSTNAME_LABEL, "Kueue: hostname only as the last level"


def test_labels_agree_with_the_cabling(pilot: SiteConfig) -> None:
    """Nodes with one block label share their leaves; nodes of different blocks share none."""
    plan = plan_fabric(pilot)
    leaves_of: dict[str, set[str]] = {}
    for layout in plan.layouts:
        for position in range(layout.pool.nodes):
            block = plan.node_topology(layout.pool.name, position).block
            leaves = {plan.hca_port(layout.pool.name, position, rail).device.name for rail in range(layout.rails)}
            leaves_of.setdefault(block, leaves)
            assert leaves_of[block] == leaves, f"{layout.pool.name} node {position} in {block}"
    all_leaves = [leaf for leaves in leaves_of.values() for leaf in leaves]
    assert len(all_leaves) == len(set(all_leaves)) == plan.counts.leaves


def test_three_tier_labels_carry_the_pod() -> None:
    plan = plan_fabric(load_site(GIGAFACTORY))
    assert plan.topology_levels == POD_TOPOLOGY_LEVELS == (POD_LABEL, *TOPOLOGY_LEVELS)
    first = plan.node_topology("b200-train", 0).labels()
    assert first[POD_LABEL] == "pod00" and next(iter(first)) == POD_LABEL
    # 72 SUs of 72 nodes per pod: node 5,183 closes pod 0, node 5,184 opens pod 1.
    assert plan.node_topology("b200-train", 72 * 72 - 1).pod == "pod00"
    assert plan.node_topology("b200-train", 72 * 72).pod == "pod01"
    assert plan.node_topology("b200-genomics", 0).pod == "pod02"
    assert plan.node_topology("gb200-train", 0).rack == "gb200-train-r0000"


def test_pod_is_the_spine_group_of_every_rail() -> None:
    plan = plan_fabric(load_site(GIGAFACTORY))
    for pool, position in (("b200-train", 0), ("b200-train", 6000), ("gb200-train", 100), ("b200-infer", 5)):
        pod = plan.pod_of(pool, position)
        layout = plan.layout(pool)
        for rail in range(layout.rails):
            leaf = plan.hca_port(pool, position, rail).device
            spine = plan.uplink(leaf, 0).device  # type: ignore[arg-type]
            assert spine.name.startswith(f"spine-p{pod:02d}-r{rail}-"), f"{pool} node {position} rail {rail}"


def test_legacy_api_is_unchanged(pilot: SiteConfig) -> None:
    pool = pilot.node_pools[0]
    topology = node_topology(pool, 0)
    assert topology.pod is None and POD_LABEL not in topology.labels()
    assert list(topology.labels()) == [BLOCK_LABEL, RACK_LABEL, LEAF_GROUP_LABEL, HOSTNAME_LABEL]
