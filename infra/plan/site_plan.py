"""``SitePlan``: everything planned from a site config before a single resource is composed.

SitePlan = FabricPlan (fat tree, topology labels) + CapacityPlan (GPUs, power, storage) +
AddressPlan (IPoIB rails, storage subnet). Pure Python, no Pulumi: the composition in
``infra/site.py`` reads it, and so do the engine's reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from infra.config.model import SiteConfig
from infra.config.schema import NodePool
from infra.plan.addressing import AddressingError, AddressPlan, plan_addressing
from infra.plan.capacity import CapacityPlan, plan_capacity
from infra.plan.topology import TOPOLOGY_LEVELS, NodeTopology, node_topology

if TYPE_CHECKING:
    from infra.plan.fabric import FabricPlan


@dataclass(frozen=True)
class SitePlan:
    """The plan of one site, derived from its validated config."""

    config: SiteConfig
    capacity: CapacityPlan
    addressing: AddressPlan
    fabric: FabricPlan | None

    @property
    def topology_levels(self) -> tuple[str, ...]:
        """Kueue Topology levels, widest first (the fabric's, with a pod level on three tiers)."""
        return self.fabric.topology_levels if self.fabric is not None else TOPOLOGY_LEVELS

    def node_topology(self, pool: NodePool, position: int) -> NodeTopology:
        """Topology labels of node ``position`` (0-based) of ``pool``."""
        if self.fabric is not None:
            return self.fabric.node_topology(pool.name, position)
        return node_topology(pool, position)


def planning_errors() -> tuple[type[Exception], ...]:
    """The exceptions planning raises for a valid config that still cannot be built (each names fields)."""
    errors: list[type[Exception]] = [AddressingError]
    try:
        from infra.plan.fabric import FabricPlanError
    except ImportError:
        pass
    else:
        errors.append(FabricPlanError)
    return tuple(errors)


def _plan_fabric(config: SiteConfig) -> FabricPlan | None:
    try:
        from infra.plan.fabric import plan_fabric
    except ImportError:
        # The fabric planner is optional to the composition: without it every node still gets
        # its scalable unit, rack and leaf group from ``infra.plan.topology``.
        return None
    return plan_fabric(config)


def build_site_plan(config: SiteConfig) -> SitePlan:
    """Plan ``config``: fabric, capacity and addressing. Raises the planners' errors unchanged."""
    return SitePlan(
        config=config,
        capacity=plan_capacity(config),
        addressing=plan_addressing(config),
        fabric=_plan_fabric(config),
    )
