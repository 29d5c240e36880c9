"""Site facts recorded in a plan: what a reviewer reasons about, from the site config and its SitePlan.

The plan diff's intent summary and danger rules read these typed facts (GPUs per pool and who
booked them, what every node of a pool must be, quotas, partition keys, driver version and drain
policy, storage) instead of reverse-engineering them from Kubernetes objects, whose shape belongs
to the components and may change. Switch and cable counts come from the fabric planner, power and
bookings from the capacity planner, node facts from node acceptance's expectations (the same
values `gigafactory verify` checks on the nodes).

``locations`` maps a fact's path (``pools.h100-train.sysctls.vm.max_map_count``) to the
``file:line:col`` where its value was written, in the site file or the base it extends.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.engine.factjson import Facts

# Reading a plan needs only the fact classes; building facts needs the site model, node acceptance
# and the components' label tables, imported where the facts are built (`check-job --plan` on the
# 100,000-GPU site's plan would spend most of its time importing them).
if TYPE_CHECKING:
    from infra.acceptance.expectations import PoolExpectations
    from infra.config.loader import LayeredConfig
    from infra.config.model import SiteConfig
    from infra.config.schema import NodePool, StorageSystem
    from infra.config.tenants import Tenant
    from infra.errors import ConfigPath
    from infra.plan.capacity import PoolCapacity, StorageCapacity
    from infra.plan.site_plan import SitePlan


@dataclass(frozen=True)
class PowerFacts(Facts):
    """Power at full load against the envelope."""

    envelope_kw: float
    pue: float
    it_load_kw: float
    facility_kw: float


@dataclass(frozen=True)
class NodeFacts(Facts):
    """What every node of a pool must be: node acceptance's expectations, as facts."""

    gpu_count: int
    gpu_product: str
    driver_version: str
    doca_ofed_version: str
    nvlink_service: str
    gpudirect_rdma: bool
    hcas: tuple[str, ...]
    """Compute HCAs as ``device rail N at RATE``."""
    partitions: tuple[str, ...]
    """Partition keys the nodes' ports are members of, as ``0x8101 (tenant)``."""
    ipoib_mtu: int
    mounts: tuple[str, ...]
    """Parallel filesystems mounted on every node, as ``/path (system)``."""
    sysctls: Mapping[str, str]
    hugepages_1gi: int
    allocatable: Mapping[str, Any] = field(default_factory=dict)
    """What one node offers pods: ``cpu``, ``memory``, ``nvidia.com/gpu``, ``hugepages-1Gi``, ``pods``."""
    topology: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    """Per topology label: how many domains the pool's nodes form, the largest and smallest in nodes."""


@dataclass(frozen=True)
class IdentityFacts(Facts):
    """Which labels and taints a pool's nodes carry and what writes them (``node_identity.py``)."""

    labels: Mapping[str, str]
    """Labels every node of the pool carries."""
    topology_labels: tuple[str, ...]
    """Label keys whose value is each node's own place in the fabric (the Kueue topology levels)."""
    taints: tuple[str, ...]
    """``key=value:Effect``."""
    first_node: str
    last_node: str
    labels_written_by: str
    taints_written_by: tuple[str, ...]


@dataclass(frozen=True)
class PoolFacts(Facts):
    """A GPU node pool: size, bookings, sharing, driver upgrade policy and its nodes' facts."""

    gpu_model: str
    product: str
    nodes: int
    gpus_per_node: int
    gpus: int
    gpu_units: int
    booked_gpus: int
    scalable_units: int
    purpose: str
    dedicated_to: str | None
    node_kw: float
    gpu_sharing: Mapping[str, Any]
    driver_upgrade: Mapping[str, Any]
    node: NodeFacts | None = None
    """None in plans written before node facts were recorded (``gigafactory-plan/1``)."""
    identity: IdentityFacts | None = None
    """None in plans written before node identity was recorded."""


@dataclass(frozen=True)
class FabricFacts(Facts):
    """The compute fabric's settings and its switch and cable counts."""

    generation: str
    switch_model: str
    radix: int
    oversubscription: float
    rails: int
    subnet_manager: str
    tiers: int = 0
    switches: Mapping[str, int] = field(default_factory=dict)
    cables: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class StorageFacts(Facts):
    """A storage system: size, bookings, bandwidth and who uses it."""

    kind: str
    interface: str
    capacity_tb: float
    booked_tb: float
    read_gb_per_s: float
    write_gb_per_s: float
    read_gb_per_s_per_node: float
    reclaim_policy: str
    encrypted: bool
    tenants: tuple[str, ...]
    nodes: int | None = None
    """GPU nodes that use the system (the per-node figure divides by these); None in a plan written
    before they were recorded (``gigafactory-plan/1``), so an older plan is not read as 0 nodes."""


@dataclass(frozen=True)
class QuotaFacts(Facts):
    """A tenant's nominal GPU quota on one pool."""

    gpus: int
    borrowing_limit: int | None = None
    lending_limit: int | None = None


@dataclass(frozen=True)
class TenantFacts(Facts):
    """A tenant: kind, partition key, cohort, quotas and isolation settings."""

    kind: str
    pkey: str
    cohort: str | None
    gpu_quotas: Mapping[str, QuotaFacts]
    storage_quotas_tb: Mapping[str, float]
    isolation: Mapping[str, Any]


@dataclass(frozen=True)
class SiteFacts(Facts):
    """Everything the diff reasons about for one site."""

    name: str
    region: str
    country: str
    description: str
    kubernetes_version: str
    gpus: int
    nodes: int
    power: PowerFacts
    pools: Mapping[str, PoolFacts]
    fabric: FabricFacts
    storage: Mapping[str, StorageFacts]
    operators: Mapping[str, Mapping[str, Any]]
    tenants: Mapping[str, TenantFacts]
    locations: Mapping[str, str] = field(default_factory=dict)

    def gpu_driver(self) -> str:
        """``595.91.07 (open)``: the GPU driver and its kernel modules."""
        gpu = self.operators.get("gpu_operator") or {}
        return f"{gpu.get('driver_version')} ({gpu.get('kernel_module_type')})"

    def where(self, path: str) -> str:
        """Where the fact at ``path`` (or its nearest recorded parent) was written; '' if unknown."""
        return self.located(path)[0]

    def located(self, path: str) -> tuple[str, str]:
        """``(file:line:col, recorded path)`` of ``path`` or its nearest recorded parent; ('', '') if none."""
        while path:
            found = self.locations.get(path)
            if found:
                return found, path
            path = path.rsplit(".", 1)[0] if "." in path else ""
        return "", ""


def site_facts(plan: SitePlan, source: Path | None = None) -> SiteFacts:
    """Typed facts of a planned site; with ``source`` (its file) each fact knows where it was written."""
    from infra.acceptance.expectations import pool_expectations

    config = plan.config
    capacity = plan.capacity
    site = config.site
    return SiteFacts(
        name=site.name,
        region=site.region,
        country=site.country,
        description=site.description,
        kubernetes_version=site.kubernetes_version,
        gpus=capacity.total_gpus,
        nodes=capacity.total_nodes,
        power=PowerFacts(
            envelope_kw=round(capacity.envelope_kw, 3),
            pue=capacity.pue,
            it_load_kw=round(capacity.it_load_kw, 3),
            facility_kw=round(capacity.facility_kw, 3),
        ),
        pools={
            pool.name: _pool(plan, pool, capacity.pool(pool.name), pool_expectations(config, pool))
            for pool in config.node_pools
        },
        fabric=_fabric(plan),
        storage={
            system.name: _storage(system, usage) for system, usage in zip(config.storage, capacity.storage, strict=True)
        },
        operators=config.operators.model_dump(mode="json"),
        tenants={tenant.name: _tenant(tenant) for tenant in config.tenants},
        locations=fact_locations(config, source) if source is not None else {},
    )


def _node(plan: SitePlan, pool: NodePool, expected: PoolExpectations) -> NodeFacts:
    from infra.engine.node_facts import scheduling_facts

    config = plan.config
    return NodeFacts(
        gpu_count=expected.gpu_count,
        gpu_product=expected.gpu_product,
        driver_version=expected.driver_version,
        doca_ofed_version=config.operators.network_operator.doca_ofed_version,
        nvlink_service=expected.nvlink_service,
        gpudirect_rdma=expected.gpudirect_rdma,
        hcas=tuple(f"{h.device} rail {h.rail} at {h.rate_text}" for h in expected.hcas),
        partitions=tuple(f"{p.text} ({p.tenant})" for p in expected.partitions),
        ipoib_mtu=expected.ipoib_partition_mtu,
        mounts=tuple(f"{m.path} ({m.storage})" for m in expected.mounts),
        sysctls=dict(expected.sysctls),
        hugepages_1gi=expected.hugepages_1gi,
        **scheduling_facts(plan, pool),
    )


def _identity(plan: SitePlan, pool: NodePool) -> IdentityFacts:
    from components.compute.node_identity import WRITER_KUBELET, WRITER_NFD, pool_labels
    from components.topology import POD_LABEL, TOPOLOGY_LABELS
    from infra.site import pool_identity

    topology = plan.node_topology(pool, 0)
    taints = tuple(f"{t.key}={t.value}:{t.effect}" for t in pool.taints)
    return IdentityFacts(
        labels=pool_labels(pool_identity(pool)),
        topology_labels=tuple(key for key in TOPOLOGY_LABELS if key != POD_LABEL or topology.pod is not None),
        taints=taints,
        first_node=pool.node_name(0),
        last_node=pool.node_name(pool.nodes - 1),
        labels_written_by=WRITER_NFD,
        taints_written_by=(WRITER_KUBELET, WRITER_NFD) if taints else (),
    )


def _pool(plan: SitePlan, pool: NodePool, capacity: PoolCapacity, expected: PoolExpectations) -> PoolFacts:
    return PoolFacts(
        gpu_model=pool.gpu_model.value,
        product=pool.system.product_name,
        nodes=pool.nodes,
        gpus_per_node=pool.gpus_per_node,
        gpus=pool.gpus,
        gpu_units=capacity.gpu_units,
        booked_gpus=capacity.booked_gpus,
        scalable_units=pool.scalable_units,
        purpose=pool.purpose,
        dedicated_to=pool.dedicated_to,
        node_kw=pool.system.node_kw,
        gpu_sharing=pool.gpu_sharing.model_dump(mode="json"),
        driver_upgrade=pool.driver_upgrade.model_dump(mode="json"),
        node=_node(plan, pool, expected),
        identity=_identity(plan, pool),
    )


def _storage(system: StorageSystem, usage: StorageCapacity) -> StorageFacts:
    return StorageFacts(
        kind=system.kind,
        interface=system.interface,
        capacity_tb=system.capacity_tb,
        booked_tb=usage.booked_tb,
        read_gb_per_s=system.read_gb_per_s,
        write_gb_per_s=system.write_gb_per_s,
        nodes=usage.nodes,
        read_gb_per_s_per_node=round(usage.read_gb_per_s_per_node, 3),
        reclaim_policy=system.reclaim_policy,
        encrypted=system.encrypted,
        tenants=tuple(sorted(system.tenants)),
    )


def _tenant(tenant: Tenant) -> TenantFacts:
    from components.network.naming import format_pkey

    return TenantFacts(
        kind=tenant.kind,
        pkey=format_pkey(tenant.pkey),
        cohort=tenant.cohort,
        gpu_quotas={
            quota.pool: QuotaFacts(
                gpus=quota.gpus, borrowing_limit=quota.borrowing_limit, lending_limit=quota.lending_limit
            )
            for quota in tenant.gpu_quotas
        },
        storage_quotas_tb={share.system: share.quota_tb for share in tenant.storage},
        isolation=tenant.isolation.model_dump(mode="json"),
    )


def _fabric(plan: SitePlan) -> FabricFacts:
    """The compute fabric's settings and its switch and cable counts."""
    config = plan.config
    compute = config.fabrics.compute
    counts, cables = plan.fabric.counts, plan.fabric.cables
    return FabricFacts(
        generation=compute.generation.value,
        switch_model=compute.switch_model.value,
        radix=compute.radix,
        oversubscription=compute.oversubscription,
        rails=config.rails,
        subnet_manager=compute.subnet_manager,
        tiers=plan.fabric.tiers,
        switches={"leaf": counts.leaves, "spine": counts.spines, "core": counts.cores, "total": counts.switches},
        cables={
            "node-leaf": cables.node_leaf,
            "leaf-spine": cables.leaf_spine,
            "spine-core": cables.spine_core,
            "total": cables.total,
        },
    )


def _fact_roots(config: SiteConfig) -> Iterator[tuple[str, ConfigPath]]:
    """``(fact path, config path)`` of each fact subtree that mirrors a part of the site file."""
    yield "site", ("site",)
    yield "power", ("site", "power_envelope_mw")
    yield "fabric", ("fabrics", "compute")
    yield "operators", ("operators",)
    for i, pool in enumerate(config.node_pools):
        yield f"pools.{pool.name}", ("node_pools", i)
    for i, system in enumerate(config.storage):
        yield f"storage.{system.name}", ("storage", i)
    for i, tenant in enumerate(config.tenants):
        yield f"tenants.{tenant.name}", ("tenants", i)
        for j, quota in enumerate(tenant.gpu_quotas):
            yield f"tenants.{tenant.name}.gpu_quotas.{quota.pool}", ("tenants", i, "gpu_quotas", j)
        for j, share in enumerate(tenant.storage):
            yield f"tenants.{tenant.name}.storage_quotas_tb.{share.system}", ("tenants", i, "storage", j)


def fact_locations(config: SiteConfig, source: Path) -> dict[str, str]:
    """Fact path -> ``file:line:col`` of every value written under a fact subtree (site file or base)."""
    from infra.config.loader import load_layers

    layers, _ = load_layers(source)
    if layers is None:
        return {}
    found: dict[str, str] = {}
    for fact, root in _fact_roots(config):
        found[fact] = str(layers.location(root))
        for path, where in _under(layers, root):
            rest = ".".join(str(part) for part in path[len(root) :])
            found.setdefault(f"{fact}.{rest}", str(where))
    return dict(sorted(found.items()))


def _under(layers: LayeredConfig, root: ConfigPath) -> Iterator[tuple[ConfigPath, Any]]:
    for path, where in layers.value_locations.items():
        if (
            len(path) > len(root)
            and path[: len(root)] == root
            and not any(isinstance(p, int) for p in path[len(root) :])
        ):
            yield path, where
