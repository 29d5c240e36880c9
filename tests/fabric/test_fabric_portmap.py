"""The port map: which leaf port each HCA is cabled to, which spine port each uplink reaches."""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Iterator

import pytest
from fabric_sites import GIGAFACTORY, SiteFactory, pool

from infra.config.loader import load_site
from infra.config.model import SiteConfig
from infra.plan.fabric import End, FabricPlan, Hca, Link, Role, Tier, plan_fabric
from infra.plan.fabric.devices import HCA_GUID_BASE, SWITCH_GUID_BASE
from infra.plan.fabric.invariants import check_hca, check_invariants


def test_hca_ports_on_the_pilot(pilot: SiteConfig) -> None:
    plan = plan_fabric(pilot)
    first = plan.hca_port("h100-train", 0, 0)
    assert (first.device.name, first.port) == ("h100-train-su000-leaf-r0", 1)
    node = plan.hca_port("h100-train", 33, 5)
    assert (node.device.name, node.port) == ("h100-train-su001-leaf-r5", 2), "node 33 is slot 1 of SU 1"
    clinical = plan.hca_port("h100-clinical", 31, 7)
    assert (clinical.device.name, clinical.port) == ("h100-clinical-su000-leaf-r7", 32)
    assert plan.hca("h100-train", 33, 5).hostname == "pilot-gpu-034"


def test_leaf_uplinks_spread_over_every_spine(pilot: SiteConfig) -> None:
    plan = plan_fabric(pilot)
    leaf = plan.leaves[3]
    reached = [plan.uplink(leaf, u) for u in range(32)]
    assert [(e.device.name, e.port) for e in reached[:2]] == [("spine-000", 7), ("spine-001", 7)]
    assert (reached[16].device.name, reached[16].port) == ("spine-000", 8), "second link to spine 0"
    assert sorted({e.device.index for e in reached}) == list(range(16))
    assert [port for port, _ in plan.ports(leaf)][-32:] == list(range(33, 65)), "uplinks on ports 33-64"
    with pytest.raises(IndexError):
        plan.uplink(leaf, 32)


def test_every_port_leads_back(make_site: SiteFactory) -> None:
    for config, radix in (
        (make_site([pool("odd", 100), pool("gb200", 27, su=18, model="GB200-NVL72")]), None),
        (make_site([pool("h100", 76, su=8), pool("extra", 8, su=8)], name="three.yaml"), 16),
    ):
        plan = plan_fabric(config, radix=radix)
        for device in plan.devices():
            for port, peer in plan.ports(device):
                assert 1 <= port <= device.ports, f"{device.name} port {port}"
                assert plan.peer(peer.device, peer.port) == End(device, port), f"{device.name} port {port}"
        assert check_invariants(plan) == []


def test_links_per_tier_match_the_counts(pilot: SiteConfig) -> None:
    plan = plan_fabric(pilot)
    by_tier = {tier: list(plan.links(tier)) for tier in Tier}
    assert {tier: len(links) for tier, links in by_tier.items()} == plan.cables.by_tier()
    for link in by_tier[Tier.NODE_LEAF]:
        assert isinstance(link.lower.device, Hca)
        assert link.upper.device.role is Role.LEAF  # type: ignore[union-attr]
        assert check_hca(plan, link.lower.device) == []
    ends = [(link.lower.device, link.lower.port) for link in plan.links()]
    ends += [(link.upper.device, link.upper.port) for link in plan.links()]
    assert len(ends) == len(set(ends)), "no port carries two cables"
    assert sum(1 for _ in plan.links()) == plan.cables.total


def test_links_are_produced_lazily() -> None:
    plan = plan_fabric(load_site(GIGAFACTORY))
    links: Iterator[Link] = plan.links()
    assert inspect.isgenerator(links), "links() must stream, not build all 326,016 links first"
    first = list(itertools.islice(links, 1000))
    assert first[0].tier is Tier.NODE_LEAF and first[0].lower.device.name == "gf-b200-00001 mlx5_0"
    spine_core = next(plan.links(Tier.SPINE_CORE))
    assert spine_core.lower.device.name == "spine-p00-r0-000" and spine_core.upper.device.name == "core-g000-00"


def test_guids_are_unique_and_locally_administered(pilot: SiteConfig) -> None:
    plan = plan_fabric(pilot)
    guids = [s.guid for s in plan.switches()] + [g for h in plan.hcas() for g in (h.guid, h.port_guid)]
    assert len(guids) == len(set(guids)) == plan.switches_total + 2 * plan.endpoints
    assert all(g >> 56 == 0x02 for g in guids), "locally administered (0x02...) placeholders"
    assert plan.spines[0].guid == SWITCH_GUID_BASE | 2 << 24
    assert plan.hca("h100-train", 0, 1).guid == HCA_GUID_BASE + 2


def test_three_tier_ports_stay_in_their_halves(make_site: SiteFactory) -> None:
    plan = plan_fabric(make_site([pool("h100", 76, su=8), pool("extra", 8, su=8)]), radix=16)
    for spine in plan.spines:
        for port, peer in plan.ports(spine):
            role = peer.device.role  # type: ignore[union-attr]
            assert (role is Role.LEAF) == (port <= 8), f"{spine.name} port {port}: leaves below, cores above"
    for core in plan.cores:
        assert all(peer.device.role is Role.SPINE for _, peer in plan.ports(core))  # type: ignore[union-attr]
        assert len(list(plan.ports(core))) == 16, f"{core.name}: one link from each of 16 spine groups"


def test_unknown_pool_or_node(pilot: SiteConfig) -> None:
    plan: FabricPlan = plan_fabric(pilot)
    with pytest.raises(KeyError, match="no node pool is called 'nope'"):
        plan.hca_port("nope", 0, 0)
    with pytest.raises(IndexError):
        plan.hca("h100-clinical", 32, 0)
    with pytest.raises(IndexError):
        plan.hca("h100-clinical", 0, 8)
    assert plan.peer(plan.leaves[0], 0) is None and plan.peer(plan.leaves[0], 65) is None
