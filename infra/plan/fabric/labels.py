"""Cable labels: one unique, stable label per planned link, computed from the link alone.

A label is the tier's prefix and the link's 1-based number within the tier, in the order
``FabricPlan.links`` yields them: ``NL-000001`` (node to leaf: the site-wide HCA index),
``LS-000001`` (leaf to spine: leaf by leaf, uplink by uplink), ``SC-000001`` (spine to core).
The same plan always gives the same labels, so a label printed on a cable tag, in ``cables.csv``
and in a ``fabric verify`` finding names the same cable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from infra.plan.fabric.devices import End, Hca, Link, Role, Tier

if TYPE_CHECKING:
    from infra.plan.fabric.plan import FabricPlan

TIER_PREFIX = {Tier.NODE_LEAF: "NL", Tier.LEAF_SPINE: "LS", Tier.SPINE_CORE: "SC"}


def link_number(plan: FabricPlan, link: Link) -> int:
    """The 0-based position of ``link`` within its tier."""
    lower = link.lower
    shape = plan.shape
    if link.tier is Tier.NODE_LEAF:
        return lower.device.index
    if link.tier is Tier.LEAF_SPINE:
        return lower.device.index * shape.leaf_uplinks + lower.port - shape.leaf_down_ports - 1
    return lower.device.index * shape.spine_uplinks + lower.port - shape.spine_down_ports - 1


def cable_label(plan: FabricPlan, link: Link) -> str:
    """The label of ``link``, e.g. ``NL-000017``."""
    return f"{TIER_PREFIX[link.tier]}-{link_number(plan, link) + 1:06d}"


def link_at(plan: FabricPlan, end: End) -> Link | None:
    """The planned link with ``end`` as one of its ends, lower end first; ``None`` for a free port."""
    peer = plan.peer(end.device, end.port)
    if peer is None:
        return None
    device = end.device
    if isinstance(device, Hca):
        return Link(Tier.NODE_LEAF, end, peer)
    other = peer.device
    if isinstance(other, Hca):
        return Link(Tier.NODE_LEAF, peer, end)
    order = {Role.LEAF: 0, Role.SPINE: 1, Role.CORE: 2}
    below = min(device.role, other.role, key=order.__getitem__)
    tier = Tier.LEAF_SPINE if below is Role.LEAF else Tier.SPINE_CORE
    return Link(tier, end, peer) if device.role is below else Link(tier, peer, end)
