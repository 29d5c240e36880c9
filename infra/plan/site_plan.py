"""``SitePlan``: everything planned from a site config before a single resource is composed.

SitePlan = FabricPlan (fat tree, topology labels) + CapacityPlan (GPUs, power, storage) +
AddressPlan (IPoIB rails, storage subnet). Pure Python, no Pulumi and no I/O: the composition in
``infra/site.py`` reads it, and so do the engine's reports. What cannot be planned is raised as a
``PlanningError`` whose problems name config paths; the loaded site file
(``infra.config.loader.SiteFile.planning_errors``) places them in its files.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.topology import PoolRack
from infra.config.model import SiteConfig
from infra.config.schema import NodePool
from infra.plan.addressing import AddressPlan, plan_addressing
from infra.plan.capacity import CapacityPlan, plan_capacity
from infra.plan.fabric import FabricPlan, plan_fabric
from infra.plan.topology import NodeTopology


@dataclass(frozen=True)
class SitePlan:
    """The plan of one site, derived from its validated config."""

    config: SiteConfig
    capacity: CapacityPlan
    addressing: AddressPlan
    fabric: FabricPlan

    @property
    def topology_levels(self) -> tuple[str, ...]:
        """Kueue Topology levels, widest first (with a pod level where the fabric has a core tier)."""
        return self.fabric.topology_levels

    def node_topology(self, pool: NodePool, position: int) -> NodeTopology:
        """Topology labels of node ``position`` (0-based) of ``pool``, as the fabric plan places it."""
        return self.fabric.node_topology(pool.name, position)

    def pool_racks(self, pool: NodePool) -> list[PoolRack]:
        """Every node of ``pool`` by its place in the fabric, consecutive nodes with one place grouped."""
        return self.fabric.pool_racks(pool.name)


def build_site_plan(config: SiteConfig) -> SitePlan:
    """Plan ``config``: fabric, capacity and addressing. Raises ``PlanningError`` (its problems name the fields)."""
    return SitePlan(
        config=config,
        capacity=plan_capacity(config),
        addressing=plan_addressing(config),
        fabric=plan_fabric(config),
    )
