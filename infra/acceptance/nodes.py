"""Which pool, scalable unit and rack a node name belongs to, by the pools' node name patterns."""

from __future__ import annotations

from dataclasses import dataclass

from infra.config.model import SiteConfig
from infra.plan.topology import node_topology


@dataclass(frozen=True)
class NodePlace:
    """Where one node sits in the site."""

    node: str
    pool: str
    position: int
    scalable_unit: str
    rack: str


class NodeIndex:
    """Every node name of a site, mapped to its pool and position (built once, O(nodes))."""

    def __init__(self, site: SiteConfig) -> None:
        self._site = site
        self._by_name: dict[str, tuple[int, int]] = {}
        for p, pool in enumerate(site.node_pools):
            for position, name in enumerate(pool.node_names()):
                self._by_name.setdefault(name, (p, position))

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __len__(self) -> int:
        return len(self._by_name)

    def place(self, name: str) -> NodePlace | None:
        """Where node ``name`` sits, or None when no pool's pattern produces it."""
        found = self._by_name.get(name)
        if found is None:
            return None
        pool = self._site.node_pools[found[0]]
        topology = node_topology(pool, found[1])
        return NodePlace(name, pool.name, found[1], topology.block, topology.rack)

    def order(self, name: str) -> tuple[int, int]:
        """Sort key: pool order in the config, then position in the pool."""
        return self._by_name[name]

    def examples(self) -> str:
        """A short description of the node names the site has, for error messages."""
        parts = []
        for pool in self._site.node_pools:
            parts.append(f"{pool.node_name(0)}..{pool.node_name(pool.nodes - 1)} (pool {pool.name})")
        return ", ".join(parts)
