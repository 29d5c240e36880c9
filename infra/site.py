"""The one place a site is composed: ``SiteConfig`` + ``SitePlan`` -> ``GigafactorySite``.

``build_site`` plans the site, creates its single ``kubernetes.Provider`` and composes every
component with that provider passed in through ``opts``. The real engine (``pulumi up`` with
``infra/__main__.py``) and the embedded one (``gigafactory plan``) both run exactly this.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.compute.gpu_node_pool import GpuNodePool, GpuNodePoolArgs
from components.compute.node_identity import PoolIdentity
from components.isolation.admission import TenantAdmission, TenantAdmissionArgs
from components.isolation.policies import DedicatedPool, IsolationRules, node_name_pattern
from components.labels import Taint, tolerations_for
from components.network.infiniband_fabric import (
    UFM_FIELDS,
    FabricRail,
    InfiniBandFabric,
    InfiniBandFabricArgs,
    rdma_resource,
    uses_rdma_cni,
)
from components.operators.cluster_operators import (
    ClusterOperators,
    ClusterOperatorsArgs,
    GpuSharingLayout,
    OperatorVersions,
    PrometheusSizing,
    operator_namespaces,
    operator_versions,
)
from components.scheduling.quotas import FlavorResources
from components.scheduling.scheduling import (
    Scheduling,
    SchedulingArgs,
    TenantGpuQuota,
    TenantQueue,
    cluster_queue_name,
    granted_priority_classes,
)
from components.storage.driver import (
    KMS_FIELDS,
    StorageServer,
    StorageSpec,
    quantity_tb,
    storage_class_name,
)
from components.storage.drivers import driver_for
from components.storage.storage_system import StorageSystem, StorageSystemArgs, TenantShare
from components.tenancy.tenant import Tenant, TenantArgs
from components.topology import PoolRack
from infra.config.model import SiteConfig
from infra.config.schema import DriverUpgrade, GpuOperator, NodePool, Operators
from infra.config.schema import StorageSystem as StorageConfig
from infra.config.schema import Tenant as TenantConfig
from infra.plan.addressing import AddressPlan
from infra.plan.capacity import gpu_units_per_gpu, mig_instances_per_gpu
from infra.plan.site_plan import SitePlan, build_site_plan
from infra.plan.topology import pool_racks
from infra.stacks import FABRIC, OPERATORS, POOL_PREFIX, STORAGE, TENANTS, StackPart, stack_name

SITE_TYPE = "gigafactory:site:GigafactorySite"


class GigafactorySite(pulumi.ComponentResource):
    """A whole gigafactory site: operators, node pools, fabric, scheduling, tenants and storage.

    Children, in dependency order: ``ClusterOperators``; a ``GpuNodePool`` per node pool; the
    ``InfiniBandFabric``; ``Scheduling``; a ``Tenant`` per tenant; a ``StorageSystem`` per storage
    kind. The plan and the components are attributes (``plan``, ``operators``, ``pools``,
    ``fabric``, ``scheduling``, ``tenants``, ``storage``). With ``part`` (``infra.stacks``) only
    that stack's components are composed; what they wait on in earlier stacks is a
    ``StackReference`` to each of those stacks (``references``).

    Outputs: ``site``, ``gpus``, ``nodes``, ``pool_names``, ``tenant_names``, ``storage_classes``,
    ``operator_versions``.
    """

    site: pulumi.Output[str]
    gpus: pulumi.Output[int]
    nodes: pulumi.Output[int]
    pool_names: pulumi.Output[list[str]]
    tenant_names: pulumi.Output[list[str]]
    storage_classes: pulumi.Output[dict[str, str]]
    operator_versions: pulumi.Output[dict[str, str]]

    def __init__(
        self,
        name: str,
        plan: SitePlan,
        opts: pulumi.ResourceOptions | None = None,
        *,
        part: StackPart | None = None,
    ) -> None:
        super().__init__(SITE_TYPE, name, None, opts)
        config = plan.config
        self.plan = plan
        self.part = part
        self.references: dict[str, pulumi.StackReference] = {}
        child = pulumi.ResourceOptions(parent=self)
        taints = [t.as_args() for p in config.node_pools for t in p.taints]
        tolerations = tuple(tolerations_for(taints))
        gpu = config.operators.gpu_operator
        namespaces = operator_namespaces()
        # Cluster-wide driver settings (GPU Operator defaults, DOCA-OFED) follow the strictest pool.
        upgrade = strictest_upgrade(p.driver_upgrade for p in config.node_pools)
        self.operators: ClusterOperators | None = None
        self.pools: dict[str, GpuNodePool] = {}
        self.fabric: InfiniBandFabric | None = None
        self.scheduling: Scheduling | None = None
        self.tenants: dict[str, Tenant] = {}
        self.admission: TenantAdmission | None = None
        self.storage: dict[str, StorageSystem] = {}

        if self._composes(OPERATORS):
            self.operators = ClusterOperators(
                f"{name}-operators",
                cluster_operators_args(config, upgrade=upgrade, tolerations=tolerations),
                child,
            )
        ops = self.operators
        topology_name = f"{config.site.name}-fabric"
        for pool in config.node_pools:
            if not self._composes(f"{POOL_PREFIX}{pool.name}"):
                continue
            self.pools[pool.name] = GpuNodePool(
                f"{name}-pool-{pool.name}",
                gpu_node_pool_args(pool, gpu, plan.pool_racks(pool), topology_name=topology_name),
                pulumi.ResourceOptions(
                    parent=self,
                    depends_on=[ops.gpu_operator, ops.kueue, ops.node_feature_discovery]
                    if ops
                    else list(self._upstream(OPERATORS)),
                ),
            )
        if self._composes(FABRIC):
            self.fabric = InfiniBandFabric(
                f"{name}-fabric",
                infiniband_fabric_args(
                    config,
                    plan.addressing,
                    namespace=namespaces["network_operator"],
                    upgrade=upgrade,
                    tolerations=tolerations,
                ),
                pulumi.ResourceOptions(
                    parent=self, depends_on=[ops.network_operator] if ops else list(self._upstream(OPERATORS))
                ),
            )
        if self._composes(TENANTS):
            kueue = (ops.kueue,) if ops else self._upstream(OPERATORS)
            self.scheduling = Scheduling(
                f"{name}-scheduling",
                scheduling_args(plan, topology_name=topology_name),
                # Not the pools: ClusterQueues name flavors; Kueue tolerates them arriving later.
                pulumi.ResourceOptions(parent=self, depends_on=list(kueue)),
            )
            fabric = (self.fabric,) if self.fabric else self._upstream(FABRIC)
            for tenant in config.tenants:
                self.tenants[tenant.name] = Tenant(
                    f"{name}-tenant-{tenant.name}",
                    tenant_args(config, tenant),
                    # Not Scheduling: a LocalQueue may arrive before its ClusterQueue. Kueue marks it
                    # inactive ("ClusterQueueDoesNotExist") and reconciles it again when the
                    # ClusterQueue is created (kueue v0.19.2 pkg/controller/core/
                    # localqueue_controller.go: Reconcile, qCQHandler.Create). Waiting on every
                    # ClusterQueue, Cohort and flavor would add each of them to each tenant object's
                    # dependencies (23 each on eu-gigafactory) for an order nothing needs.
                    pulumi.ResourceOptions(parent=self, depends_on=[*kueue, *fabric]),
                )
            self.admission = TenantAdmission(f"{name}-admission", tenant_admission_args(config), child)
        if self._composes(STORAGE):
            for kind in sorted({s.kind for s in config.storage}):
                self.storage[kind] = StorageSystem(
                    f"{name}-storage-{kind}",
                    storage_system_args(config, kind, taints),
                    # The tenants' claims wait for their namespaces.
                    pulumi.ResourceOptions(parent=self, depends_on=self._share_namespaces(config, kind)),
                )

        self.site = pulumi.Output.from_input(config.site.name)
        self.gpus = pulumi.Output.from_input(config.total_gpus)
        self.nodes = pulumi.Output.from_input(config.total_nodes)
        self.pool_names = pulumi.Output.from_input([p.name for p in config.node_pools])
        self.tenant_names = pulumi.Output.from_input([t.name for t in config.tenants])
        self.storage_classes = pulumi.Output.from_input({s.name: storage_class_name(s.name) for s in config.storage})
        self.operator_versions = pulumi.Output.from_input(operator_versions(pinned_versions(config.operators)))
        self.register_outputs(
            {
                "site": self.site,
                "gpus": self.gpus,
                "nodes": self.nodes,
                "pool_names": self.pool_names,
                "tenant_names": self.tenant_names,
                "storage_classes": self.storage_classes,
                "operator_versions": self.operator_versions,
            }
        )

    def _composes(self, part: str) -> bool:
        return self.part is None or self.part.part == part

    def _upstream(self, part: str) -> tuple[pulumi.Resource, ...]:
        """The stack reference to ``part``'s stack (one per stack), for resources to wait on."""
        if part not in self.references:
            stack = stack_name(self.plan.config.site.name, part)
            self.references[part] = pulumi.StackReference(
                f"{pulumi.get_organization()}/{pulumi.get_project()}/{stack}",
                opts=pulumi.ResourceOptions(parent=self),
            )
        return (self.references[part],)

    def _share_namespaces(self, config: SiteConfig, kind: str) -> list[pulumi.Resource]:
        """The namespaces of the tenants with a claim on a ``kind`` filesystem, each once."""
        filesystems = {s.name for s in config.storage if s.kind == kind and s.interface == "filesystem"}
        found: dict[int, pulumi.Resource] = {}
        for tenant in config.tenants:
            if any(share.system in filesystems for share in tenant.storage):
                component = self.tenants.get(tenant.name)
                # In its own stack, storage waits on the tenants' stack, which holds the namespaces.
                namespace = component.namespace_resource if component is not None else self._upstream(TENANTS)[0]
                found.setdefault(id(namespace), namespace)
        return list(found.values())


def storage_system_args(config: SiteConfig, kind: str, node_taints: list[Taint]) -> StorageSystemArgs:
    """The site's storage systems of ``kind`` as ``StorageSystem`` takes them.

    ``shares``: the tenants' shares of each system (a claim each on a filesystem); ``node_taints``:
    the pools' taints, which the driver's node plugin tolerates.
    """
    systems = [s for s in config.storage if s.kind == kind]
    servers = storage_servers(config)
    return {
        "kind": kind,
        "systems": [storage_spec(s, servers) for s in systems],
        "shares": {s.name: storage_shares(config, s.name) for s in systems},
        "node_taints": node_taints,
    }


def storage_shares(config: SiteConfig, system: str) -> list[TenantShare]:
    """Every tenant's share of ``system``, in the site's tenant order."""
    return [
        {"tenant": tenant.name, "namespace": tenant.name, "quota_tb": share.quota_tb}
        for tenant in config.tenants
        for share in tenant.storage
        if share.system == system
    ]


def storage_servers(config: SiteConfig) -> list[StorageServer]:
    """The site's storage nodes as storage servers: hostname, the disks Ceph may take, rack."""
    return [
        {"name": pool.node_name(i), "devices": list(pool.devices), "rack": pool.rack(i)}
        for pool in config.storage_nodes
        for i in range(pool.nodes)
    ]


def storage_spec(system: StorageConfig, servers: Sequence[StorageServer] = ()) -> StorageSpec:
    """What a storage driver needs of a site's storage system (``servers``: where self-hosted kinds run)."""
    spec: StorageSpec = {
        "name": system.name,
        "kind": system.kind,
        "endpoint": system.endpoint,
        "interface": system.interface,
        "reclaim_policy": system.reclaim_policy,
        "encrypted": system.encrypted,
        # Regulated tenants use only encrypted systems (a config rule): those are encrypted in transit too.
        "in_transit_encryption": system.encrypted,
    }
    if system.mount_path is not None:
        spec["mount_path"] = system.mount_path
    if system.kms is not None:
        spec["kms"] = {"provider": system.kms.provider, "address": system.kms.address, "secret": system.kms.secret}
    if system.credentials_secret is not None:
        spec["credentials_secret"] = system.credentials_secret
    if system.view_policy is not None:
        spec["view_policy"] = system.view_policy
    if system.vip_pool is not None:
        spec["vip_pool"] = system.vip_pool
    if system.kind == "rook-ceph":
        spec["servers"] = list(servers)
    return spec


# One Prometheus shard per this many nodes: a GPU node exposes roughly 3,000 series (DCGM's per-GPU
# fields for 8 GPUs, node-exporter, kubelet and cAdvisor), so a shard holds about 3 million active
# series, within what one Prometheus serves comfortably (Prometheus docs, "Storage": memory grows
# with active series; kube-prometheus-stack shards split targets by hash).
NODES_PER_PROMETHEUS_SHARD = 1000


def prometheus_shards(config: SiteConfig) -> int:
    """Prometheus shards: the site's choice, else one per ``NODES_PER_PROMETHEUS_SHARD`` nodes."""
    chosen = config.operators.monitoring.shards
    return chosen if chosen is not None else max(1, -(-config.total_nodes // NODES_PER_PROMETHEUS_SHARD))


def ofed_parallel_upgrades(config: SiteConfig) -> int:
    """DOCA-OFED upgrades in parallel: the site's choice, else what the pools allow together.

    The Network Operator has one cluster-wide ``ofedDriver.upgradePolicy.maxParallelUpgrades``
    (NicClusterPolicy CRD, network-operator v26.4.1). The strictest pool's value (1 for a clinical
    pool) would roll DOCA-OFED through 13,896 nodes one at a time; the sum of each pool's own
    allowance (a pool with 0 counts all its nodes) upgrades as fast as the GPU driver does.
    """
    chosen = config.operators.network_operator.ofed_max_parallel_upgrades
    if chosen is not None:
        return chosen
    return sum(p.driver_upgrade.max_parallel_upgrades or p.nodes for p in config.node_pools)


def pool_identity(pool: NodePool) -> PoolIdentity:
    """What ``pool``'s nodes are, as their common labels take it (``node_identity.pool_labels``)."""
    return PoolIdentity(
        pool=pool.name,
        gpu_model=pool.gpu_model.value,
        purpose=pool.purpose,
        dedicated_to=pool.dedicated_to,
        gpu_sharing=pool.gpu_sharing.mode,
        labels=dict(pool.labels),
    )


def gpu_node_pool_args(
    pool: NodePool,
    gpu: GpuOperator,
    racks: list[PoolRack] | None = None,
    *,
    topology_name: str | None = None,
) -> GpuNodePoolArgs:
    """``pool`` as ``GpuNodePool`` takes it: its nodes in ``racks`` (the fabric plan's ``pool_racks``;
    None: placed by the pool's own arithmetic, without pods), the GPU driver ``gpu`` pins."""
    return GpuNodePoolArgs(
        **pool_identity(pool),
        taints=[t.as_args() for t in pool.taints],
        racks=pool_racks(pool) if racks is None else racks,
        gpu_units=pool.gpus * gpu_units_per_gpu(pool),
        driver_version=gpu.driver_version,
        driver_upgrade=pool.driver_upgrade.as_args(),
        kernel_module_type=gpu.kernel_module_type,
        rdma=gpu.rdma,
        topology_name=topology_name,
    )


def cluster_operators_args(
    config: SiteConfig, *, upgrade: DriverUpgrade, tolerations: Iterable[dict[str, str]]
) -> ClusterOperatorsArgs:
    """The site's operators as ``ClusterOperators`` takes them.

    ``upgrade`` is the cluster-wide driver policy (``strictest_upgrade``); ``tolerations`` reach the
    pools' taints; Prometheus gets ``prometheus_shards`` shards.
    """
    gpu, monitoring = config.operators.gpu_operator, config.operators.monitoring
    prometheus = PrometheusSizing(
        retention=monitoring.retention, storage_gi=monitoring.storage_gi, shards=prometheus_shards(config)
    )
    if monitoring.storage_class is not None:
        prometheus["storage_class"] = monitoring.storage_class
    sharing = {p.name: layout for p in config.node_pools if (layout := gpu_sharing_layout(p)) is not None}
    return ClusterOperatorsArgs(
        versions=pinned_versions(config.operators),
        kernel_module_type=gpu.kernel_module_type,
        rdma=gpu.rdma,
        driver_upgrade=upgrade.as_args(),
        prometheus=prometheus,
        gpu_sharing=sharing,
        tolerations=list(tolerations),
    )


def pinned_versions(operators: Operators) -> OperatorVersions:
    """The version the site pins for each operator and driver."""
    return OperatorVersions(
        cert_manager=operators.cert_manager.version,
        monitoring=operators.monitoring.version,
        node_feature_discovery=operators.node_feature_discovery.version,
        gpu_operator=operators.gpu_operator.version,
        gpu_driver=operators.gpu_operator.driver_version,
        network_operator=operators.network_operator.version,
        doca_ofed=operators.network_operator.doca_ofed_version,
        kueue=operators.kueue.version,
    )


def gpu_sharing_layout(pool: NodePool) -> GpuSharingLayout | None:
    """How ``pool`` shares its GPUs (MIG devices per GPU, or time-slicing replicas); None: whole GPUs."""
    sharing = pool.gpu_sharing
    if sharing.mode == "mig" and sharing.mig_profile:
        count = mig_instances_per_gpu(pool.system.mig_profiles, sharing.mig_profile)
        return GpuSharingLayout(mig_devices={sharing.mig_profile: count})
    if sharing.mode == "time-slicing" and sharing.replicas:
        return GpuSharingLayout(time_slicing_replicas=sharing.replicas)
    return None


def infiniband_fabric_args(
    config: SiteConfig,
    addressing: AddressPlan,
    *,
    namespace: str,
    upgrade: DriverUpgrade,
    tolerations: Iterable[dict[str, str]],
) -> InfiniBandFabricArgs:
    """The site's compute fabric as ``InfiniBandFabric`` takes it: its rails from the plan's ``addressing``.

    ``upgrade`` is the cluster-wide driver policy (``strictest_upgrade``); DOCA-OFED rolls as many
    nodes in parallel as ``ofed_parallel_upgrades`` allows. ``tolerations`` reach the pools' taints.
    """
    fabric = config.fabrics.compute
    gpus = {p.name: p.gpus_per_node for p in config.node_pools}
    rails = [
        FabricRail(
            rail=rail.rail,
            subnet=str(rail.subnet),
            ippool=rail.ippool,
            pools=list(rail.pools),
            per_node_block=rail.per_node_block,
            # One VF per GPU on every node of the rail: the largest node sets the count.
            vfs_per_node=max(gpus[p] for p in rail.pools),
        )
        for rail in addressing.rails
    ]
    network_operator = config.operators.network_operator
    return InfiniBandFabricArgs(
        rails=rails,
        doca_ofed_version=network_operator.doca_ofed_version,
        network_operator_version=network_operator.version,
        ofed_upgrade=upgrade.model_copy(update={"max_parallel_upgrades": ofed_parallel_upgrades(config)}).as_args(),
        rdma_mode=fabric.rdma_mode,
        ufm_credentials_secret=fabric.ufm_credentials_secret if fabric.subnet_manager == "ufm" else None,
        namespace=namespace,
        tolerations=list(tolerations),
    )


def strictest_upgrade(policies: Iterable[DriverUpgrade]) -> DriverUpgrade:
    """One upgrade policy no looser than any of ``policies``: for settings that apply cluster-wide.

    Fewest parallel upgrades (0, meaning all at once, only if every policy says so), the smallest
    absolute max-unavailable (a count beats a percentage), drain if any drains, the longest drain.
    """
    items = list(policies) or [DriverUpgrade()]
    parallel = [p.max_parallel_upgrades for p in items if p.max_parallel_upgrades > 0]
    counts = [p.max_unavailable for p in items if isinstance(p.max_unavailable, int)]
    percents = [int(str(p.max_unavailable).rstrip("%")) for p in items if isinstance(p.max_unavailable, str)]
    unavailable: int | str = min(counts) if counts else f"{min(percents)}%"
    return DriverUpgrade(
        max_unavailable=unavailable,
        max_parallel_upgrades=min(parallel) if parallel else 0,
        drain=any(p.drain for p in items),
        drain_timeout_seconds=max(p.drain_timeout_seconds for p in items),
    )


def flavor_resources(pool: NodePool) -> FlavorResources:
    """A node pool as Kueue counts it: one node's GPUs, CPUs and memory (the catalog's), GPU units per GPU."""
    return FlavorResources(
        name=pool.name,
        gpus_per_node=pool.gpus_per_node,
        cpus_per_node=pool.system.cpus,
        memory_gib_per_node=pool.system.memory_gib,
        gpu_units_per_gpu=gpu_units_per_gpu(pool),
    )


def tenant_queue(tenant: TenantConfig) -> TenantQueue:
    """A tenant's GPU quotas and cohort as ``Scheduling`` takes them."""
    return TenantQueue(
        name=tenant.name,
        cohort=tenant.cohort,
        gpu_quotas=[
            TenantGpuQuota(pool=q.pool, gpus=q.gpus, borrowing_limit=q.borrowing_limit, lending_limit=q.lending_limit)
            for q in tenant.gpu_quotas
        ],
    )


def scheduling_args(plan: SitePlan, *, topology_name: str | None = None) -> SchedulingArgs:
    """What the site's ``Scheduling`` needs: every tenant's quotas, every pool's resources, the fabric's levels."""
    config = plan.config
    args = SchedulingArgs(
        tenants=[tenant_queue(t) for t in config.tenants],
        pools=[flavor_resources(p) for p in config.node_pools],
        topology_levels=list(plan.topology_levels),
    )
    if topology_name is not None:
        args["topology_name"] = topology_name
    return args


def tenant_args(config: SiteConfig, tenant: TenantConfig) -> TenantArgs:
    """Everything a tenant's ``Tenant`` component needs, derived from the site config."""
    pools = {p.name: p for p in config.node_pools}
    quota_pools = [pools[q.pool] for q in tenant.gpu_quotas if q.pool in pools]
    rails = max((p.hcas.compute for p in quota_pools), default=0)
    shares = {s.system: s.quota_tb for s in tenant.storage}
    systems = {s.name: s for s in config.storage}
    claimable = [s for s in config.storage if s.interface != "object"]
    return TenantArgs(
        name=tenant.name,
        kind=tenant.kind,
        group=tenant.group,
        pkey=tenant.pkey,
        allow_internet=tenant.isolation.egress == "allow",
        pod_security_version=f"v{config.site.kubernetes_version}",
        cluster_queue=cluster_queue_name(tenant.name) if tenant.gpu_quotas else None,
        rails=list(range(rails)),
        pkey_management=config.fabrics.compute.subnet_manager == "ufm",
        rdma_cni=uses_rdma_cni(config.fabrics.compute.rdma_mode),
        # Without GPU quota a tenant holds no GPUs: 0, not unlimited, or its plain pods (no Kueue
        # queue) could take GPUs on any untainted pool from the tenants that hold quota there.
        gpu_limit=gpu_limit(config, tenant),
        storage_quotas={
            storage_class_name(name): quantity_tb(tb)
            for name, tb in shares.items()
            if name in systems and systems[name].interface != "object"
        },
        denied_storage_classes=[storage_class_name(s.name) for s in claimable if s.name not in shares],
        object_storage=any(systems[n].interface == "object" for n in shares if n in systems),
        denied_resources=[rdma_resource(r.rail) for r in config.fabrics.compute.ipoib_subnets]
        if tenant.isolation.own_partition and config.fabrics.compute.rdma_mode == "shared"
        else [],
    )


def isolation_rules(config: SiteConfig) -> IsolationRules:
    """What the tenant admission policies encode: dedicated pools with their owners and taints, priorities."""
    return IsolationRules(
        dedicated=[
            DedicatedPool(
                pool=p.name,
                tenant=p.dedicated_to,
                taints=[t.as_args() for t in p.taints],
                node_names=node_name_pattern(p.node_name_pattern),
            )
            for p in config.node_pools
            if p.dedicated_to is not None
        ],
        granted_priorities={t.name: granted_priority_classes(t.kind) for t in config.tenants},
    )


def tenant_admission_args(config: SiteConfig) -> TenantAdmissionArgs:
    """What the site's ``TenantAdmission`` needs: its isolation rules."""
    return TenantAdmissionArgs(rules=isolation_rules(config))


def gpu_limit(config: SiteConfig, tenant: TenantConfig) -> int:
    """Most ``nvidia.com/gpu`` a tenant can hold at once: nominal quota plus what it may borrow."""
    total = 0
    for quota in tenant.gpu_quotas:
        pool = config.pool(quota.pool)
        if pool is None:
            continue
        if tenant.cohort is None:
            borrow = 0
        elif quota.borrowing_limit is not None:
            borrow = quota.borrowing_limit
        else:
            borrow = pool.gpus - quota.gpus
        total += min(pool.gpus, quota.gpus + borrow) * gpu_units_per_gpu(pool)
    return total


def secret_names(config: SiteConfig) -> list[str]:
    """Every Pulumi config secret the site's components read (``pulumi.Config().require_secret``)."""
    return sorted(_secret_fields(config))


def planning_secret_values(config: SiteConfig) -> dict[str, str]:
    """A stand-in for every secret, shaped as its consumer expects (fields filled with placeholders).

    For planning without the real credentials: the values are never recorded (secret inputs are
    ``[secret]``), only their shape lets the composition run without warnings.
    """
    return {
        name: json.dumps({field: f"planned-without-secret:{name}.{field}" for field in fields}, sort_keys=True)
        for name, fields in sorted(_secret_fields(config).items())
    }


def _secret_fields(config: SiteConfig) -> dict[str, tuple[str, ...]]:
    fields: dict[str, tuple[str, ...]] = {}
    compute = config.fabrics.compute
    if compute.subnet_manager == "ufm" and compute.ufm_credentials_secret is not None:
        fields[compute.ufm_credentials_secret] = UFM_FIELDS
    for system in config.storage:
        if system.credentials_secret is not None:
            fields[system.credentials_secret] = driver_for(system.kind).credential_fields
        if system.kms is not None:
            fields[system.kms.secret] = KMS_FIELDS[system.kms.provider]
    return fields


def build_site(
    config: SiteConfig,
    *,
    kube_context: str | None = None,
    part: StackPart | None = None,
    plan: SitePlan | None = None,
) -> GigafactorySite:
    """Plan ``config`` and compose its ``GigafactorySite`` behind one Kubernetes provider.

    ``part`` composes one stack of the site (``infra.stacks``; None: the whole site in one stack);
    ``plan`` reuses a SitePlan already built for ``config``. ``kube_context`` overrides the site
    file's ``site.kube_context``. Server-side apply is on (pulumi-kubernetes' default since v4).
    """
    site_plan = plan if plan is not None else build_site_plan(config)
    provider = k8s.Provider(
        f"{config.site.name}-kubernetes",
        context=kube_context or config.site.kube_context,
        enable_server_side_apply=True,
    )
    return GigafactorySite(config.site.name, site_plan, pulumi.ResourceOptions(provider=provider), part=part)


def site_summary(site: GigafactorySite) -> dict[str, Any]:
    """The stack outputs ``__main__`` exports."""
    return {
        "site": site.site,
        "gpus": site.gpus,
        "nodes": site.nodes,
        "pools": site.pool_names,
        "tenants": site.tenant_names,
        "storage_classes": site.storage_classes,
        "operator_versions": site.operator_versions,
    }
