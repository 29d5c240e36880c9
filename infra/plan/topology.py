"""Where a node sits in the site: pod, scalable unit (fabric block), rack and leaf group.

These labels go on every node (GpuNodePool) and name the levels of the Kueue Topology
(Scheduling), widest first, with ``kubernetes.io/hostname`` last as Kueue requires. Their names are
the components' (``components/topology.py``). The pod label exists only where the fabric has a core
tier (``FabricPlan.node_topology`` sets it): there SUs are grouped into pods whose traffic stays
below the core, so the pod is the widest level.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.topology import BLOCK_LABEL, HOSTNAME_LABEL, LEAF_GROUP_LABEL, POD_LABEL, RACK_LABEL
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
    block = f"{pool.name}-su{su:03d}"
    return NodeTopology(
        hostname=pool.node_name(position),
        block=block,
        rack=f"{pool.name}-r{rack:04d}",
        leaf_group=f"{block}-leaves",
        pod=pod,
    )
