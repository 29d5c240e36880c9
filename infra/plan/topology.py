"""Where a node sits in the site: pod, scalable unit (fabric block), rack and leaf group.

These labels go on every node (GpuNodePool) and name the levels of the Kueue Topology
(Scheduling), widest first, with ``kubernetes.io/hostname`` last as Kueue requires. Their names are
the components' (``components/topology.py``). The pod label exists only where the fabric has a core
tier (``FabricPlan.node_topology`` sets it): there SUs are grouped into pods whose traffic stays
below the core, so the pod is the widest level.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from components.topology import BLOCK_LABEL, HOSTNAME_LABEL, LEAF_GROUP_LABEL, POD_LABEL, RACK_LABEL, PoolRack
from infra.config.schema import NodePool

__all__ = [
    "BLOCK_LABEL",
    "HOSTNAME_LABEL",
    "LEAF_GROUP_LABEL",
    "POD_LABEL",
    "POD_TOPOLOGY_LEVELS",
    "RACK_LABEL",
    "TOPOLOGY_LEVELS",
    "NodeTopology",
    "node_topology",
    "pool_racks",
]

# Kueue Topology levels, widest first (Kueue v1beta2 Topology: hostname only as the last level).
TOPOLOGY_LEVELS: tuple[str, ...] = (BLOCK_LABEL, RACK_LABEL, HOSTNAME_LABEL)
# The same, for a three-tier fabric: SUs in one pod share spines, pods meet only at the core.
POD_TOPOLOGY_LEVELS: tuple[str, ...] = (POD_LABEL, *TOPOLOGY_LEVELS)


@dataclass(frozen=True)
class NodeTopology:
    """The topology of one node, as label values."""

    hostname: str
    block: str
    rack: str
    leaf_group: str
    pod: str | None = None

    def labels(self) -> dict[str, str]:
        """The node labels that place this node in the fabric (the pod only when it has one)."""
        pod = {POD_LABEL: self.pod} if self.pod is not None else {}
        return {
            **pod,
            BLOCK_LABEL: self.block,
            RACK_LABEL: self.rack,
            LEAF_GROUP_LABEL: self.leaf_group,
            HOSTNAME_LABEL: self.hostname,
        }


def node_topology(pool: NodePool, position: int, *, pod: str | None = None) -> NodeTopology:
    """Topology of the node at 0-based ``position`` in ``pool``; ``pod`` as the fabric plan places it.

    In a rail-optimized fat tree a scalable unit is one leaf per rail, so its nodes share a leaf
    group and form one block: traffic inside it crosses a single leaf on every rail.
    """
    su = position // pool.scalable_unit_nodes
    rack = position // pool.nodes_per_rack
    return NodeTopology(
        hostname=pool.node_name(position),
        block=_block(pool, su),
        rack=_rack(pool, rack),
        leaf_group=_leaf_group(pool, su),
        pod=pod,
    )


def pool_racks(pool: NodePool, *, pod_of_su: Callable[[int], str] | None = None) -> list[PoolRack]:
    """Every node of ``pool`` by its place in the fabric, in order; ``pod_of_su``: the fabric's pod of an SU.

    Consecutive nodes with the same place (rack, block, leaf group and pod) share one entry, each
    the place ``node_topology`` gives its nodes. A place changes only where the rack or the SU does
    (a pod is a group of SUs), so the names are made once per entry, not once per node:
    eu-gigafactory has 13,896 nodes in about 3,000 entries.
    """
    racks: list[PoolRack] = []
    per_su, per_rack = pool.scalable_unit_nodes, pool.nodes_per_rack
    start = 0
    while start < pool.nodes:
        su, rack = start // per_su, start // per_rack
        # The next place starts at the next rack or SU boundary, whichever comes first.
        end = min(pool.nodes, (su + 1) * per_su, (rack + 1) * per_rack)
        entry = PoolRack(
            rack=_rack(pool, rack),
            block=_block(pool, su),
            leaf_group=_leaf_group(pool, su),
            nodes=pool.node_names(start, end),
        )
        if pod_of_su is not None:
            entry["pod"] = pod_of_su(su)
        racks.append(entry)
        start = end
    return racks


def _block(pool: NodePool, su: int) -> str:
    return f"{pool.name}-su{su:03d}"


def _rack(pool: NodePool, rack: int) -> str:
    return f"{pool.name}-r{rack:04d}"


def _leaf_group(pool: NodePool, su: int) -> str:
    return f"{_block(pool, su)}-leaves"
