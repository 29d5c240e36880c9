"""The compute fabric plan: a rail-optimized fat tree from the site config, and what to build it from.

Entry point: ``plan_fabric(config) -> FabricPlan`` (see ``plan.py``); the shape rules are in
``shape.py``; ``artifacts.py`` renders what the network team installs.
"""

from infra.plan.fabric.bom import BomRow
from infra.plan.fabric.devices import Device, End, Hca, Link, Role, Switch, Tier
from infra.plan.fabric.errors import FabricPlanError
from infra.plan.fabric.plan import CableCounts, FabricPlan, PoolLayout, TierCounts, plan_fabric

__all__ = [
    "BomRow",
    "CableCounts",
    "Device",
    "End",
    "FabricPlan",
    "FabricPlanError",
    "Hca",
    "Link",
    "PoolLayout",
    "Role",
    "Switch",
    "Tier",
    "TierCounts",
    "plan_fabric",
]
