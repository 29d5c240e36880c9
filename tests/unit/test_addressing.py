"""AddressPlan: one NV-IPAM pool per rail, a block of one address per GPU for every node on it."""

from __future__ import annotations

import re
from ipaddress import IPv4Network

import pytest
from plan_sites import bundled

from components.network.naming import ippool_name
from infra.plan.addressing import AddressingError, plan_addressing


def test_pilot_rails_give_each_node_one_address_per_gpu() -> None:
    plan = plan_addressing(bundled("eu-pilot"))
    assert [r.ippool for r in plan.rails] == [ippool_name(n) for n in range(8)]
    rail = plan.rail(5)
    assert rail.subnet == IPv4Network("10.100.40.0/21")
    assert (rail.nodes, rail.usable, rail.per_node_block, rail.spare) == (128, 2046, 8, 1022)
    assert rail.pools == ("h100-train", "h100-clinical")
    assert plan.storage_subnet == IPv4Network("10.101.0.0/23")


def test_rails_beyond_a_pool_s_hcas_leave_it_out() -> None:
    plan = plan_addressing(bundled("eu-gigafactory"))
    # GB200 trays have 4 compute HCAs: rails 4-7 serve only the B200 pools.
    assert "gb200-train" in plan.rail(3).pools
    assert "gb200-train" not in plan.rail(4).pools
    assert plan.rail(4).nodes == 13_896 - 2_592
    assert all(r.per_node_block * r.nodes <= r.usable for r in plan.rails)
    # GB200 trays have 4 GPUs, B200 nodes 8: a rail's block fits the largest node on it.
    assert {r.per_node_block for r in plan.rails} == {8}


def test_block_follows_the_gpus_not_the_node_count() -> None:
    config = bundled("eu-pilot")
    fewer = config.model_copy(
        update={"node_pools": (config.node_pools[0].model_copy(update={"nodes": 64}), *config.node_pools[1:])}
    )
    before, after = plan_addressing(config), plan_addressing(fewer)
    # NV-IPAM resets every allocation when perNodeBlockSize changes: a resize must not change it.
    assert [r.per_node_block for r in before.rails] == [r.per_node_block for r in after.rails] == [8] * 8
    assert after.rail(0).nodes == 96


def test_a_rail_too_small_for_its_nodes_is_an_error() -> None:
    config = bundled("eu-pilot")
    compute = config.fabrics.compute
    tiny = compute.ipoib_subnets[0].model_copy(update={"subnet": IPv4Network("10.100.0.0/28")})
    fabric = compute.model_copy(update={"ipoib_subnets": (tiny, *compute.ipoib_subnets[1:])})
    broken = config.model_copy(update={"fabrics": config.fabrics.model_copy(update={"compute": fabric})})
    expected = "rail 0: 10.100.0.0/28 has 14 host addresses for 128 nodes x 8 pod addresses"
    with pytest.raises(AddressingError, match=re.escape(expected)):
        plan_addressing(broken)
