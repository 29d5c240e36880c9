"""What the site holds and who booked it: GPUs per pool, power against the envelope, storage shares.

Pure Python over a validated ``SiteConfig``; the composition reads the schedulable units of each
pool from here (how many ``nvidia.com/gpu`` a shared GPU turns into) and the engine's summary
prints the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from infra.config.model import SiteConfig
from infra.config.schema import NodePool, StorageSystem

# MIG profile names read "<compute slices>g.<memory>gb".
_MIG_PROFILE = re.compile(r"^(?P<slices>\d+)g\.(?P<memory>\d+)gb$")
# Instances of one profile a GPU holds, by compute slices (NVIDIA MIG User Guide, "Supported MIG
# Profiles": 7x 1g, 3x 2g, 2x 3g, 1x 4g, 1x 7g). The 1g profiles with twice the memory of the
# smallest (1g.20gb on H100, 1g.45gb on B200) fit only 4 times.
_INSTANCES_BY_SLICES = {1: 7, 2: 3, 3: 2, 4: 1, 7: 1}
_DOUBLE_MEMORY_1G_INSTANCES = 4


def mig_instances_per_gpu(profiles: tuple[str, ...], profile: str) -> int:
    """How many MIG devices of ``profile`` one GPU is split into; ``profiles`` are the GPU's own."""
    match = _MIG_PROFILE.match(profile)
    if match is None or profile not in profiles:
        raise ValueError(f"{profile!r} is not one of the MIG profiles {', '.join(profiles)}")
    slices = int(match["slices"])
    if slices == 1:
        smallest = min(int(m["memory"]) for p in profiles if (m := _MIG_PROFILE.match(p)) and m["slices"] == "1")
        if int(match["memory"]) > smallest:
            return _DOUBLE_MEMORY_1G_INSTANCES
    return _INSTANCES_BY_SLICES[slices]


def gpu_units_per_gpu(pool: NodePool) -> int:
    """``nvidia.com/gpu`` the device plugin advertises per physical GPU of ``pool``.

    With MIG under the ``single`` strategy every MIG device is one ``nvidia.com/gpu``; with
    time-slicing every GPU is advertised ``replicas`` times (GPU Operator, "GPU sharing").
    """
    sharing = pool.gpu_sharing
    if sharing.mode == "mig" and sharing.mig_profile:
        return mig_instances_per_gpu(pool.system.mig_profiles, sharing.mig_profile)
    if sharing.mode == "time-slicing" and sharing.replicas:
        return sharing.replicas
    return 1


@dataclass(frozen=True)
class PoolCapacity:
    """One node pool's size, power and bookings."""

    name: str
    gpu_model: str
    nodes: int
    gpus: int
    scalable_units: int
    units_per_gpu: int
    booked_gpus: int
    it_load_kw: float

    @property
    def gpu_units(self) -> int:
        """Schedulable ``nvidia.com/gpu`` of the pool (GPUs x units per GPU)."""
        return self.gpus * self.units_per_gpu

    @property
    def unbooked_gpus(self) -> int:
        """GPUs no tenant holds a nominal quota on."""
        return self.gpus - self.booked_gpus


@dataclass(frozen=True)
class StorageCapacity:
    """One storage system's size, bandwidth and bookings."""

    name: str
    kind: str
    capacity_tb: float
    booked_tb: float
    read_gb_per_s: float
    write_gb_per_s: float
    nodes: int
    """GPU nodes that use the system: those of the pools its tenants hold GPU quota on."""
    read_gb_per_s_per_node: float
    """Read bandwidth each of those nodes gets when all of them read at once (0 when none use it)."""


@dataclass(frozen=True)
class CapacityPlan:
    """GPUs, power and storage of the whole site."""

    pools: tuple[PoolCapacity, ...]
    storage: tuple[StorageCapacity, ...]
    total_gpus: int
    """GPUs across every pool."""
    total_nodes: int
    """Nodes across every pool."""
    it_load_kw: float
    """GPU-node power at full load, before PUE."""
    envelope_kw: float
    """The site's power envelope."""
    pue: float
    """Power usage effectiveness: facility power per unit of IT power."""

    @property
    def facility_kw(self) -> float:
        """GPU-node power at full load times PUE."""
        return self.it_load_kw * self.pue

    @property
    def headroom_kw(self) -> float:
        """Envelope left after the GPU nodes at full load (negative: over the envelope)."""
        return self.envelope_kw - self.facility_kw

    def pool(self, name: str) -> PoolCapacity:
        """The capacity of pool ``name``."""
        return next(p for p in self.pools if p.name == name)


def tenants_on_pool(config: SiteConfig, pool: str) -> list[str]:
    """Tenants that hold GPU quota on ``pool``, in config order: the ones whose jobs run on its nodes."""
    return [t.name for t in config.tenants if any(q.pool == pool and q.gpus > 0 for q in t.gpu_quotas)]


def nodes_using(config: SiteConfig, system: StorageSystem) -> int:
    """GPU nodes that use storage ``system``: every node of a pool one of its tenants runs on."""
    users = set(system.tenants)
    return sum(p.nodes for p in config.node_pools if users.intersection(tenants_on_pool(config, p.name)))


def plan_capacity(config: SiteConfig) -> CapacityPlan:
    """Size, power and bookings of ``config``'s pools and storage."""
    booked: dict[str, int] = {}
    for tenant in config.tenants:
        for quota in tenant.gpu_quotas:
            booked[quota.pool] = booked.get(quota.pool, 0) + quota.gpus
    pools = tuple(
        PoolCapacity(
            name=p.name,
            gpu_model=p.gpu_model.value,
            nodes=p.nodes,
            gpus=p.gpus,
            scalable_units=p.scalable_units,
            units_per_gpu=gpu_units_per_gpu(p),
            booked_gpus=booked.get(p.name, 0),
            it_load_kw=p.nodes * p.system.node_kw,
        )
        for p in config.node_pools
    )
    booked_tb: dict[str, float] = {}
    for tenant in config.tenants:
        for share in tenant.storage:
            booked_tb[share.system] = booked_tb.get(share.system, 0.0) + share.quota_tb
    storage = []
    for system in config.storage:
        # Only the nodes that mount (or reach) the system share its bandwidth, not the whole site's.
        users = nodes_using(config, system)
        storage.append(
            StorageCapacity(
                name=system.name,
                kind=system.kind,
                capacity_tb=system.capacity_tb,
                booked_tb=booked_tb.get(system.name, 0.0),
                read_gb_per_s=system.read_gb_per_s,
                write_gb_per_s=system.write_gb_per_s,
                nodes=users,
                read_gb_per_s_per_node=system.read_gb_per_s / users if users else 0.0,
            )
        )
    return CapacityPlan(
        pools,
        tuple(storage),
        total_gpus=config.total_gpus,
        total_nodes=config.total_nodes,
        it_load_kw=config.it_load_kw,
        envelope_kw=config.site.power_envelope_mw * 1000,
        pue=config.site.pue,
    )
