"""Storage node pools: servers without GPUs that run the site's own storage daemons (Ceph).

Ceph belongs on storage nodes, not on GPU nodes: its OSDs take whole disks, and its
PodDisruptionBudgets would hold up the GPU nodes' driver-upgrade drains. A storage pool says which
nodes these are, which block devices each gives to Ceph, and how they sit in racks (Ceph's failure
domain). They are not on the compute InfiniBand fabric (storage has its own fabric), hold no
GPUs, and are not in the GPU nodes' inventory or acceptance.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator

from infra.config.modelbase import Model
from infra.config.types import DnsLabel, Integer, PositiveInt


class StorageNodePool(Model):
    """Nodes that serve storage only: Ceph's monitors, managers, metadata servers, gateways and OSDs."""

    name: DnsLabel = Field(description="Pool name.")
    nodes: PositiveInt = Field(le=10_000, description="Number of storage nodes.")
    node_name_pattern: str = Field(description="Hostname pattern with an {index} field, e.g. ceph-{index:03d}.")
    first_index: Integer = Field(1, ge=0, description="Index of the first node.")
    nodes_per_rack: PositiveInt = Field(2, description="Storage nodes per rack; racks are Ceph's failure domain.")
    devices: tuple[str, ...] = Field(
        min_length=1,
        description="Block devices of each node that Ceph may take as OSDs (kernel names, e.g. nvme0n1); no others.",
    )

    RENAMED: ClassVar[dict[str, str]] = {"node_count": "nodes", "disks": "devices"}

    @field_validator("node_name_pattern")
    @classmethod
    def _pattern_formats(cls, value: str) -> str:
        from infra.config.schema import NodePool

        return NodePool._pattern_formats(value)

    @field_validator("devices")
    @classmethod
    def _device_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for device in value:
            if not device or "/" in device or device != device.strip():
                raise ValueError(f"must be kernel device names such as nvme0n1, without /dev/ (got {device!r})")
        return value

    def node_name(self, position: int) -> str:
        """Hostname of the node at 0-based ``position``."""
        return self.node_name_pattern.format(index=self.first_index + position)

    def node_names(self) -> list[str]:
        """Hostnames of every node, in order."""
        return [self.node_name(i) for i in range(self.nodes)]

    def rack(self, position: int) -> str:
        """The rack of the node at ``position`` (Ceph's CRUSH rack bucket)."""
        return f"{self.name}-rack{position // self.nodes_per_rack:02d}"
