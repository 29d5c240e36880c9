"""``SitePlan``: everything planned from a site config before a single resource is composed.

SitePlan = FabricPlan (fat tree, topology labels) + CapacityPlan (GPUs, power, storage) +
AddressPlan (IPoIB rails, storage subnet). Pure Python, no Pulumi: the composition in
``infra/site.py`` reads it, and so do the engine's reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from infra.config.errors import ConfigError, Location, dotted_path, sorted_errors
from infra.config.loader import display_path, load_layers
from infra.config.model import SiteConfig
from infra.config.schema import NodePool
from infra.errors import PlanningError
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


def build_site_plan(config: SiteConfig) -> SitePlan:
    """Plan ``config``: fabric, capacity and addressing. Raises ``PlanningError`` (its problems name the fields)."""
    return SitePlan(
        config=config,
        capacity=plan_capacity(config),
        addressing=plan_addressing(config),
        fabric=plan_fabric(config),
    )


def planning_errors(path: Path, error: PlanningError) -> list[ConfigError]:
    """Why the site at ``path`` cannot be planned, one error per problem, each at the config line it names.

    The error's problems are placed at the line and column the value was written on (in whichever
    layer of ``extends:`` wrote it). An error without problems names its fields in its message and
    is reported against the file.
    """
    if not error.problems:
        return [ConfigError(Location(display_path(path)), "", str(error))]
    layers, _ = load_layers(path)
    errors = []
    for problem in error.problems:
        where = layers.location(problem.path) if layers is not None else Location(display_path(path))
        errors.append(ConfigError(where, dotted_path(problem.path), problem.message, problem.hint))
    return sorted_errors(errors)
