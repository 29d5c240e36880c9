"""The invariant checker finds what is wrong with a plan, so a clean result on a big site means something."""

from __future__ import annotations

from infra.config.model import SiteConfig
from infra.plan.fabric import End, FabricPlan, plan_fabric
from infra.plan.fabric.devices import Device
from infra.plan.fabric.invariants import check_invariants


class Faulty(FabricPlan):
    """The pilot's plan with one port answering wrongly."""

    fault: dict[tuple[str, int], End | None] = {}

    def peer(self, device: Device, port: int) -> End | None:
        key = (device.name, port)
        return self.fault[key] if key in self.fault else super().peer(device, port)


def faulty(pilot: SiteConfig, fault: dict[tuple[str, int], End | None]) -> Faulty:
    plan = plan_fabric(pilot)
    broken = Faulty(pilot, plan.shape, plan.layouts)
    broken.fault = fault
    return broken


def test_pilot_is_clean(pilot: SiteConfig) -> None:
    assert check_invariants(plan_fabric(pilot)) == []


def test_cable_seen_differently_from_its_two_ends(pilot: SiteConfig) -> None:
    plan = plan_fabric(pilot)
    problems = check_invariants(faulty(pilot, {("spine-003", 5): End(plan.leaves[9], 40)}))
    assert any("spine-003 port 5" in p and "does not lead back" in p for p in problems), problems


def test_hca_on_a_spine(pilot: SiteConfig) -> None:
    plan = plan_fabric(pilot)
    problems = check_invariants(faulty(pilot, {("spine-000", 1): End(plan.hca("h100-train", 0, 0), 1)}))
    assert any("spine-000 port 1: a spine switch cabled to a HCA" in p for p in problems), problems


def test_port_beyond_the_radix_and_missing_uplink(pilot: SiteConfig) -> None:
    plan = plan_fabric(pilot)
    problems = check_invariants(faulty(pilot, {("h100-train-su000-leaf-r0", 40): End(plan.spines[0], 65)}))
    assert any("spine-000 port 65, which it does not have" in p for p in problems), problems
    problems = check_invariants(faulty(pilot, {("h100-train-su000-leaf-r0", 40): None}))
    assert any("h100-train-su000-leaf-r0: 31 uplinks cabled, planned 32" in p for p in problems), problems
    assert any("spine-007 port 1 -> h100-train-su000-leaf-r0 port 40, which does not lead back" in p for p in problems)


def test_lost_node_port(pilot: SiteConfig) -> None:
    problems = check_invariants(faulty(pilot, {("h100-train-su001-leaf-r2", 7): None}))
    assert any("node-leaf: 1,023 cables found" in p for p in problems), problems
    assert any("endpoints: 1,023 HCA ports cabled, 1,024 on the nodes" in p for p in problems), problems
