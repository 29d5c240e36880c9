"""The things a fabric plan cables: switches, HCA ports, link ends and links, with their GUIDs.

GUIDs are deterministic placeholders until the fabric is discovered: every one has the locally
administered bit of its first octet set (0x02..., IEEE EUI-64), so none can be mistaken for a
vendor's burned-in GUID. Switch node GUID = 0x02 | role << 24 | index; an HCA's node GUID is
``HCA_GUID_BASE + 2 * index`` and its port 1 GUID the next one, the layout ibsim gives a
one-port CA (node GUID, then one GUID per port).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from enum import Enum

from infra.config.catalog import GPU_SYSTEMS, GpuModel
from infra.config.schema import NodePool

SWITCH_GUID_BASE = 0x0200_0000_0000_0000
HCA_GUID_BASE = 0x0200_0001_0000_0000

# An InfiniBand NodeDescription is 64 bytes (IBTA spec, NodeDescription attribute).
NODE_DESCRIPTION_BYTES = 64


class Role(str, Enum):
    """A switch's tier."""

    LEAF = "leaf"
    SPINE = "spine"
    CORE = "core"


_ROLE_CODE = {Role.LEAF: 1, Role.SPINE: 2, Role.CORE: 3}


class Tier(str, Enum):
    """A cabling tier: which two kinds of device its links join."""

    NODE_LEAF = "node-leaf"
    LEAF_SPINE = "leaf-spine"
    SPINE_CORE = "spine-core"


@dataclass(frozen=True, slots=True)
class Switch:
    """One switch: its tier, index within the tier, name (NodeDescription) and port count."""

    role: Role
    index: int
    name: str
    ports: int

    @property
    def guid(self) -> int:
        """Node GUID (also every port's GUID, as on any switch)."""
        return SWITCH_GUID_BASE | _ROLE_CODE[self.role] << 24 | self.index

    @property
    def nodeid(self) -> str:
        """The node id ibnetdiscover prints: ``S-`` and the GUID."""
        return f"S-{self.guid:016x}"


@dataclass(frozen=True, slots=True)
class Hca:
    """One compute HCA port of one node: the node's pool, position and rail; ``index`` counts HCAs site-wide."""

    pool: str
    position: int
    rail: int
    index: int
    source: NodePool = field(compare=False, repr=False)

    ports = 1

    @property
    def hostname(self) -> str:
        """The node's hostname."""
        return self.source.node_name(self.position)

    @property
    def device(self) -> str:
        """The RDMA device of this rail on the node, e.g. ``mlx5_3`` (node acceptance's per-system table)."""
        return hca_device(self.source, self.rail)

    @property
    def name(self) -> str:
        """NodeDescription as ``ibnetdiscover`` reports it: ``<hostname> <device>``, e.g. ``pilot-gpu-001 mlx5_0``.

        rdma-ndd sets every HCA's node description to the host name and the device name
        (rdma-core ``rdma-ndd/rdma-ndd.c``, default format ``%h %d``).
        """
        return f"{self.hostname} {self.device}"

    @property
    def guid(self) -> int:
        """Node GUID."""
        return HCA_GUID_BASE + 2 * self.index

    @property
    def port_guid(self) -> int:
        """GUID of its one port: the partition member id."""
        return self.guid + 1

    @property
    def nodeid(self) -> str:
        """The node id ibnetdiscover prints: ``H-`` and the GUID."""
        return f"H-{self.guid:016x}"


def hca_device(pool: NodePool, rail: int) -> str:
    """The RDMA device name of ``rail`` on the nodes of ``pool``: the table node acceptance checks."""
    return _devices(pool.gpu_model, pool.hcas.compute)[rail]


@functools.cache
def _devices(model: GpuModel, count: int) -> tuple[str, ...]:
    # Asked once per HCA of a 100,000-GPU plan: the table's answer is the same for every node of a pool.
    return GPU_SYSTEMS[model].rail_devices(count)


Device = Switch | Hca


@dataclass(frozen=True, slots=True)
class End:
    """One end of a link: a device and its port number (1-based)."""

    device: Device
    port: int


@dataclass(frozen=True, slots=True)
class Link:
    """One cable: its tier and its two ends, the lower tier first."""

    tier: Tier
    lower: End
    upper: End
