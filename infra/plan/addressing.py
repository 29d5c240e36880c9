"""IP addressing of the fabrics: one NV-IPAM pool per compute rail, the storage subnet.

Pure Python over a validated ``SiteConfig``. NV-IPAM hands every node a block of
``perNodeBlockSize`` addresses from the rail's subnet and each pod on that rail one address
from its node's block (nvidia-k8s-ipam README, "IPPool"). The block is one address per SR-IOV
virtual function, and a node has one per GPU (``SiteConfig.rail_addresses_per_node``): it must
not follow the node count, since NV-IPAM resets every allocation when the block size changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network

from components.network.naming import ippool_name
from infra.config.model import SiteConfig
from infra.errors import PlanningError


class AddressingError(PlanningError, ValueError):
    """A rail's subnet cannot give every node on it an address block."""


@dataclass(frozen=True)
class RailAddressing:
    """Addressing of one compute rail."""

    rail: int
    subnet: IPv4Network
    ippool: str
    pools: tuple[str, ...]
    nodes: int
    per_node_block: int

    @property
    def usable(self) -> int:
        """Host addresses of the subnet (network and broadcast addresses excluded)."""
        return self.subnet.num_addresses - 2

    @property
    def spare(self) -> int:
        """Addresses no node block takes."""
        return self.usable - self.per_node_block * self.nodes


@dataclass(frozen=True)
class AddressPlan:
    """The site's IPoIB rails and storage subnet."""

    rails: tuple[RailAddressing, ...]
    storage_subnet: IPv4Network

    def rail(self, number: int) -> RailAddressing:
        """The addressing of rail ``number``."""
        return self.rails[number]


def plan_addressing(config: SiteConfig) -> AddressPlan:
    """Address blocks for every rail of ``config``'s compute fabric."""
    rails = []
    for rail in config.fabrics.compute.ipoib_subnets:
        pools = config.rail_pools(rail.rail)
        nodes = sum(p.nodes for p in pools)
        block = config.rail_addresses_per_node(rail.rail)
        usable = rail.subnet.num_addresses - 2
        if nodes == 0 or usable < nodes * block:
            raise AddressingError(
                f"rail {rail.rail}: {rail.subnet} has {usable} host addresses for {nodes} nodes x {block} "
                "pod addresses (fabrics.compute.ipoib_subnets)"
            )
        rails.append(
            RailAddressing(
                rail=rail.rail,
                subnet=rail.subnet,
                ippool=ippool_name(rail.rail),
                pools=tuple(p.name for p in pools),
                nodes=nodes,
                per_node_block=block,
            )
        )
    return AddressPlan(rails=tuple(rails), storage_subnet=config.fabrics.storage.subnet)
