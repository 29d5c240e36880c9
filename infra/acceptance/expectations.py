"""What every node of a pool must show, derived from the site config alone.

One ``PoolExpectations`` per node pool: GPUs, driver, NVLink service, GPUDirect RDMA, compute HCAs
with their rate, partitions and IPoIB MTU, parallel filesystem mounts, host services, sysctls and
hugepages. Each value keeps the config path it came from, so a failed check can say what to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from components.network.naming import PKEY_MASK, format_pkey
from components.storage.drivers import driver_for
from infra.acceptance.hardware import (
    IPOIB_HEADER_BYTES,
    NODE_SERVICES,
)
from infra.config.catalog import LINK_RATE_GBPS, LINK_RATE_TEXT
from infra.config.model import SiteConfig
from infra.config.schema import NodePool
from infra.plan.capacity import tenants_on_pool


@dataclass(frozen=True)
class HcaExpectation:
    """One compute-rail HCA: its RDMA device, rail and the rate its port must run at."""

    device: str
    rail: int
    rate_text: str
    rate_gbps: int


@dataclass(frozen=True)
class PartitionExpectation:
    """An InfiniBand partition a pool's ports must (or must not) be members of."""

    pkey: int
    tenant: str

    @property
    def partition(self) -> int:
        """The partition the key names (its low 15 bits; the top bit only marks full membership)."""
        return self.pkey & PKEY_MASK

    @property
    def text(self) -> str:
        """The key as OpenSM writes it, e.g. ``0x8101``."""
        return format_pkey(self.pkey)


@dataclass(frozen=True)
class MountExpectation:
    """A parallel filesystem every node of the pool mounts."""

    path: str
    storage: str
    kind: str
    filesystems: tuple[str, ...]
    endpoint: str
    tenants: tuple[str, ...]


@dataclass(frozen=True)
class PoolExpectations:
    """Everything a healthy node of one pool shows."""

    pool: str
    gpu_model: str
    gpu_count: int
    gpu_product: str
    driver_version: str
    nvlink_service: str
    nvlink_daemon: str
    persistence_mode: str
    gpudirect_rdma: bool
    hcas: tuple[HcaExpectation, ...]
    partitions: tuple[PartitionExpectation, ...]
    foreign_partitions: tuple[PartitionExpectation, ...]
    isolated_for: str | None
    """The tenant whose own partition is the only one these ports share with other ports (a pool
    dedicated to a tenant with ``own_partition``); None: the ports share the default (before
    discovery) or shared (after) partition with every other pool's."""

    ipoib_partition_mtu: int
    ipoib_netdev_mtu: int
    mounts: tuple[MountExpectation, ...]
    services: tuple[str, ...]
    sysctls: tuple[tuple[str, str], ...]
    hugepages_1gi: int


def _mounts(site: SiteConfig, tenants: list[str]) -> tuple[MountExpectation, ...]:
    mounts = []
    for system in site.storage:
        users = tuple(t for t in tenants if t in system.tenants)
        if system.interface != "filesystem" or system.mount_path is None or not users:
            continue
        mounts.append(
            MountExpectation(
                path=system.mount_path,
                storage=system.name,
                kind=system.kind,
                filesystems=driver_for(system.kind).filesystem_types,
                endpoint=system.endpoint,
                tenants=users,
            )
        )
    return tuple(mounts)


def pool_expectations(site: SiteConfig, pool: NodePool, hca_devices: tuple[str, ...] | None = None) -> PoolExpectations:
    """Expectations for the nodes of ``pool``; ``hca_devices`` overrides the vendor's rail names."""
    compute = site.fabrics.compute
    devices = hca_devices or pool.system.rail_devices(pool.hcas.compute)
    hcas = tuple(
        HcaExpectation(device, rail, LINK_RATE_TEXT[compute.generation], LINK_RATE_GBPS[compute.generation])
        for rail, device in enumerate(devices)
    )
    tenants = tenants_on_pool(site, pool.name)
    members = tuple(PartitionExpectation(t.pkey, t.name) for t in site.tenants if t.name in tenants)
    # A tenant that asked for its own partition must not find it on nodes it has no quota on.
    foreign = tuple(
        PartitionExpectation(t.pkey, t.name)
        for t in site.tenants
        if t.isolation.own_partition and t.name not in tenants
    )
    # As the partition plan fences them (infra/plan/fabric/partitions.py plan_partitions).
    isolating = {t.name for t in site.tenants if t.isolation.own_partition}
    gpu_operator = site.operators.gpu_operator
    service = pool.system.nvlink_service
    return PoolExpectations(
        pool=pool.name,
        gpu_model=pool.gpu_model.value,
        gpu_count=pool.gpus_per_node,
        gpu_product=pool.system.product_name,
        driver_version=gpu_operator.driver_version,
        nvlink_service=service,
        nvlink_daemon=pool.system.nvlink_daemon,
        persistence_mode="Enabled",
        gpudirect_rdma=gpu_operator.rdma,
        hcas=hcas,
        partitions=members,
        foreign_partitions=foreign,
        isolated_for=pool.dedicated_to if pool.dedicated_to in isolating else None,
        ipoib_partition_mtu=compute.ipoib_mtu,
        ipoib_netdev_mtu=compute.ipoib_mtu - IPOIB_HEADER_BYTES,
        mounts=_mounts(site, tenants),
        services=NODE_SERVICES,
        sysctls=tuple(sorted(pool.sysctls.items())),
        hugepages_1gi=pool.hugepages_1gi,
    )


def site_expectations(
    site: SiteConfig, hca_devices: Mapping[str, tuple[str, ...]] | None = None
) -> dict[str, PoolExpectations]:
    """Expectations of every pool of the site, by pool name, in config order."""
    overrides = hca_devices or {}
    return {pool.name: pool_expectations(site, pool, overrides.get(pool.name)) for pool in site.node_pools}
