"""Where a node sits in the fabric, as node labels: the contract between the components and the planners.

``GpuNodePool`` writes these labels on every node; the Kueue ``Topology`` (``Scheduling``) names
them as its levels, widest first, with ``kubernetes.io/hostname`` last as Kueue requires. The
planners (``infra/plan/topology.py``) compute each node's values and import the names from here.
The pod label exists only where the fabric has a core tier: there scalable units are grouped into
pods whose traffic stays below the core, so the pod is the widest level.
"""

from typing import TypedDict

from typing_extensions import NotRequired

BLOCK_LABEL = "gigafactory.eu/fabric-block"
RACK_LABEL = "gigafactory.eu/rack"
LEAF_GROUP_LABEL = "gigafactory.eu/leaf-group"
HOSTNAME_LABEL = "kubernetes.io/hostname"
POD_LABEL = "gigafactory.eu/fabric-pod"
# The labels a node's place writes, widest first (the kubelet sets the hostname).
TOPOLOGY_LABELS = (POD_LABEL, BLOCK_LABEL, RACK_LABEL, LEAF_GROUP_LABEL)


class PoolRack(TypedDict):
    """Nodes of a pool that sit in one place of the fabric: one rack, in one block and leaf group."""

    rack: str
    """The rack (``gigafactory.eu/rack``), e.g. ``b200-train-r0000``."""

    block: str
    """The fabric block, i.e. scalable unit (``gigafactory.eu/fabric-block``), e.g. ``b200-train-su000``."""

    leaf_group: str
    """The leaves the rack's nodes are cabled to (``gigafactory.eu/leaf-group``)."""

    pod: NotRequired[str]
    """The fabric pod (``gigafactory.eu/fabric-pod``) where the fabric has a core tier; absent otherwise."""

    nodes: list[str]
    """Names of the nodes (their ``kubernetes.io/hostname``), in the pool's order."""


def rack_labels(rack: PoolRack) -> dict[str, str]:
    """The labels placing ``rack``'s nodes in the fabric, widest first."""
    pod = {POD_LABEL: rack["pod"]} if "pod" in rack else {}
    return {**pod, BLOCK_LABEL: rack["block"], RACK_LABEL: rack["rack"], LEAF_GROUP_LABEL: rack["leaf_group"]}
