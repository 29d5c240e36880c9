"""A site as several Pulumi stacks, split by how often each part changes.

Stack names (site names are DNS-1123 labels, so they never hold a dot):

- ``<site>``: the cluster operators (NFD, GPU and Network Operators, Kueue, cert-manager,
  monitoring) and the NodeFeature binding policy: the foundation, changed with operator upgrades.
  It keeps the name of the single stack a site had before the split, so splitting moves
  everything else out of it and leaves the operators in place;
- ``<site>.fabric``: the InfiniBand fabric and networking (NicClusterPolicy, IP pools, networks);
- ``<site>.pool-<pool>``: one per node pool (its NodeFeatureRules, NVIDIADriver, Kueue flavor):
  nodes added, drained or relabelled change only this stack;
- ``<site>.tenants``: scheduling (Kueue Topology, cohorts, ClusterQueues) and the tenants;
- ``<site>.storage``: the storage systems and tenants' shares.

Each stack is deployed alone, in the order ``site_stacks`` gives; a stack reads the stacks it
needs through ``pulumi.StackReference``s (its resources wait on them), so it refuses to deploy
before they exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.config.model import SiteConfig

OPERATORS = "operators"
FABRIC = "fabric"
TENANTS = "tenants"
STORAGE = "storage"
POOL_PREFIX = "pool-"
SEPARATOR = "."


@dataclass(frozen=True)
class StackPart:
    """One stack of a site: its part key, its Pulumi stack name, and the parts it reads."""

    part: str
    """``operators``, ``fabric``, ``pool-<pool>``, ``tenants`` or ``storage``."""

    stack: str
    """The Pulumi stack name (``<site>`` for the operators, else ``<site>.<part>``)."""

    needs: tuple[str, ...]
    """Parts deployed before this one whose stacks it references."""

    @property
    def pool(self) -> str | None:
        """The node pool of a pool stack, else None."""
        return self.part[len(POOL_PREFIX) :] if self.part.startswith(POOL_PREFIX) else None


def stack_name(site: str, part: str) -> str:
    """The Pulumi stack name of ``part`` of ``site``."""
    return site if part == OPERATORS else f"{site}{SEPARATOR}{part}"


def split_stack_name(stack: str) -> tuple[str, str]:
    """``(site, part)`` for a stack name: ``eu-pilot`` -> operators, ``eu-pilot.tenants`` -> tenants."""
    site, _, part = stack.partition(SEPARATOR)
    return site, part or OPERATORS


def site_stacks(config: SiteConfig) -> list[StackPart]:
    """Every stack of the site, in deployment order."""
    site = config.site.name
    pools = [f"{POOL_PREFIX}{p.name}" for p in config.node_pools]
    parts: list[tuple[str, tuple[str, ...]]] = [
        (OPERATORS, ()),
        (FABRIC, (OPERATORS,)),
        *((pool, (OPERATORS,)) for pool in pools),
        (TENANTS, (OPERATORS, FABRIC)),
        (STORAGE, (TENANTS,)),
    ]
    return [StackPart(part, stack_name(site, part), needs) for part, needs in parts]


def stack_part(config: SiteConfig, part: str) -> StackPart | None:
    """The site's stack for ``part``, None when the site has no such part (a pool it lacks)."""
    return next((s for s in site_stacks(config) if s.part == part), None)
