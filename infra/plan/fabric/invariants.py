"""Checks that hold for every correct fabric plan, streamed port by port (no link list is built).

For fabrics too large for the simulator these are the proof: every port number within the
switch, every cable the same seen from both ends, each tier joining the right kinds of device,
leaves with their full uplinks, and the counts per tier equal to what the plan reports.
"""

from __future__ import annotations

from collections import Counter

from infra.plan.fabric.devices import Device, Hca, Role, Switch, Tier
from infra.plan.fabric.plan import FabricPlan

# Which tier a cable belongs to, from the kinds of device at its ends (None: an HCA), lower first.
_TIER_OF: dict[tuple[Role | None, Role | None], Tier] = {
    (None, Role.LEAF): Tier.NODE_LEAF,
    (Role.LEAF, Role.SPINE): Tier.LEAF_SPINE,
    (Role.SPINE, Role.CORE): Tier.SPINE_CORE,
}
_RANK: dict[Role | None, int] = {None: 0, Role.LEAF: 1, Role.SPINE: 2, Role.CORE: 3}


def _kind(device: Device) -> Role | None:
    return None if isinstance(device, Hca) else device.role


def _label(kind: Role | None) -> str:
    return "HCA" if kind is None else kind.value


def check_invariants(plan: FabricPlan, *, limit: int = 20) -> list[str]:
    """Every violated invariant, one line each (at most ``limit`` listed); empty when the plan is sound.

    Walks every switch port once (each cable is counted at its upper end) and checks the far end
    answers back; HCAs are covered through the leaves plus the endpoint count.
    """
    problems: list[str] = []

    def problem(text: str) -> None:
        if len(problems) < limit:
            problems.append(text)

    cables: Counter[Tier] = Counter()
    radix = plan.radix
    down, up = plan.leaf_ratio
    for switch in plan.switches():
        used = 0
        uplinks = 0
        role = switch.role
        rank = _RANK[role]
        for port, peer in plan.ports(switch):
            used += 1
            if not 1 <= port <= radix:
                problem(f"{switch.name}: port {port} outside 1..{radix}")
            if not 1 <= peer.port <= peer.device.ports:
                problem(f"{switch.name} port {port} -> {peer.device.name} port {peer.port}, which it does not have")
            back = plan.peer(peer.device, peer.port)
            if back is None or back.device != switch or back.port != port:
                problem(f"{switch.name} port {port} -> {peer.device.name} port {peer.port}, which does not lead back")
            other = _kind(peer.device)
            if _RANK[other] < rank:
                tier = _TIER_OF.get((other, role))
                if tier is not None:
                    cables[tier] += 1
                    continue
            elif _TIER_OF.get((role, other)) is not None:
                uplinks += 1
                continue
            problem(f"{switch.name} port {port}: a {role.value} switch cabled to a {_label(other)}")
        if used > radix:
            problem(f"{switch.name}: {used} ports cabled, more than its {radix}")
        expected_up = {Role.LEAF: up, Role.SPINE: plan.shape.spine_uplinks, Role.CORE: 0}[role]
        if uplinks != expected_up:
            problem(f"{switch.name}: {uplinks} uplinks cabled, planned {expected_up}")
        if role is Role.LEAF and used - uplinks > down:
            problem(f"{switch.name}: {used - uplinks} node ports cabled, more than the {down} reserved")
    for tier, planned in plan.cables.by_tier().items():
        if cables[tier] != planned:
            problem(f"{tier.value}: {cables[tier]:,} cables found, plan counts {planned:,}")
    hcas = sum(layout.pool.nodes * layout.rails for layout in plan.layouts)
    if cables[Tier.NODE_LEAF] != hcas or plan.endpoints != hcas:
        problem(f"endpoints: {cables[Tier.NODE_LEAF]:,} HCA ports cabled, {hcas:,} on the nodes")
    counts = plan.counts
    shape = plan.shape
    if (counts.leaves, counts.spines, counts.cores) != (shape.leaves, shape.spines, shape.cores):
        problem(f"switch counts {counts} differ from the shape {shape.leaves}/{shape.spines}/{shape.cores}")
    return problems


def check_hca(plan: FabricPlan, hca: Hca) -> list[str]:
    """The HCA is cabled to a leaf of its own rail, and that leaf port leads back to it."""
    problems = []
    peer = plan.peer(hca, 1)
    if peer is None or not isinstance(peer.device, Switch) or peer.device.role is not Role.LEAF:
        return [f"{hca.name}: not cabled to a leaf"]
    if not peer.device.name.endswith(f"-r{hca.rail}"):
        problems.append(f"{hca.name}: cabled to {peer.device.name}, a leaf of another rail")
    back = plan.peer(peer.device, peer.port)
    if back is None or back.device != hca:
        problems.append(f"{hca.name}: {peer.device.name} port {peer.port} does not lead back")
    return problems
