"""``Scheduling``: Kueue's view of the site: its fabric topology, tenants' queues and priorities."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.kube import CustomObject, custom_resource, meta
from components.labels import TENANT_LABEL
from components.scheduling.quotas import COVERED_RESOURCES, quota_resources
from infra.config.schema import NodePool, Tenant

KUEUE_API = "kueue.x-k8s.io/v1beta2"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class PriorityClass:
    """A Kueue WorkloadPriorityClass."""

    name: str
    value: int
    description: str


PRIORITY_CLASSES: tuple[PriorityClass, ...] = (
    PriorityClass("gigafactory-critical", 10000, "Clinical and production inference work; preempts lower priorities."),
    PriorityClass("gigafactory-high", 1000, "Deadline-bound training runs."),
    PriorityClass("gigafactory-standard", 100, "Default for training and research jobs."),
    PriorityClass("gigafactory-preemptible", 10, "Opportunistic work on borrowed capacity; first to be preempted."),
)

# Preempts everything below it: clinical work only, granted to regulated tenants alone (the
# `gigafactory-priority-classes` admission policy denies it to the others).
CLINICAL_PRIORITY_CLASSES = ("gigafactory-critical",)


def granted_priority_classes(tenant: Tenant) -> tuple[str, ...]:
    """The WorkloadPriorityClasses ``tenant``'s workloads may name: all for regulated tenants, else all but critical."""
    if tenant.kind == "regulated":
        return tuple(p.name for p in PRIORITY_CLASSES)
    return tuple(p.name for p in PRIORITY_CLASSES if p.name not in CLINICAL_PRIORITY_CLASSES)


@dataclass(frozen=True)
class SchedulingArgs:
    """What ``Scheduling`` needs."""

    tenants: tuple[Tenant, ...]
    """Tenants from the site config: their GPU quotas, cohorts and limits."""

    pools: tuple[NodePool, ...]
    """Node pools: each is a Kueue ResourceFlavor of the same name (``GpuNodePool``)."""

    topology_levels: tuple[str, ...]
    """Node labels of the fabric topology, widest first, hostname last (the site plan's)."""

    topology_name: str = "gigafactory-fabric"
    """Name of the Kueue Topology the pools' flavors refer to."""

    requires: tuple[pulumi.Resource, ...] = ()
    """Releases (Kueue) and components (the pools' flavors) that must exist first."""


def cluster_queue_name(tenant: Tenant) -> str:
    """The ClusterQueue of a tenant: the tenant's name."""
    return tenant.name


class Scheduling(pulumi.ComponentResource):
    """Kueue objects of the site.

    Creates the ``Topology`` of the fabric (levels from the fabric plan: pod where there is a core
    tier, scalable unit, rack, hostname); one ``Cohort`` per cohort tenants share; the
    ``WorkloadPriorityClass`` ladder; one ``ClusterQueue`` per tenant with GPU quotas: nominal
    quota per flavor (pool) of ``nvidia.com/gpu`` (in the pool's schedulable units: MIG devices
    or time-slices), with the CPU and memory that come with those GPUs, borrowing and lending
    limits, its cohort, and a namespace selector admitting only the tenant's namespace.
    Tenants' LocalQueues live in their namespaces (``Tenant``).

    Outputs: ``topology_name``, ``cluster_queues`` (tenant -> queue), ``cohorts``,
    ``priority_classes``.
    """

    topology_name: pulumi.Output[str]
    cluster_queues: pulumi.Output[dict[str, str]]
    cohorts: pulumi.Output[list[str]]
    priority_classes: pulumi.Output[list[str]]

    def __init__(self, name: str, args: SchedulingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gigafactory:scheduling:Scheduling", name, None, opts)
        crd_opts = pulumi.ResourceOptions(parent=self, depends_on=list(args.requires))
        custom_resource(
            f"{name}-topology",
            KUEUE_API,
            "Topology",
            meta(args.topology_name),
            {"levels": [{"nodeLabel": level} for level in args.topology_levels]},
            crd_opts,
        )
        cohorts = sorted({t.cohort for t in args.tenants if t.cohort})
        cohort_resources = [
            custom_resource(f"{name}-cohort-{cohort}", KUEUE_API, "Cohort", meta(cohort), {}, crd_opts)
            for cohort in cohorts
        ]
        for priority in PRIORITY_CLASSES:
            CustomObject(
                f"{name}-priority-{priority.name}",
                KUEUE_API,
                "WorkloadPriorityClass",
                meta(priority.name),
                {"value": priority.value, "description": priority.description},
                crd_opts,
            )
        pools = {p.name: p for p in args.pools}
        queues: dict[str, str] = {}
        queue_opts = pulumi.ResourceOptions(parent=self, depends_on=[*args.requires, *cohort_resources])
        for tenant in args.tenants:
            if not tenant.gpu_quotas:
                continue
            queues[tenant.name] = cluster_queue_name(tenant)
            custom_resource(
                f"{name}-cq-{tenant.name}",
                KUEUE_API,
                "ClusterQueue",
                meta(cluster_queue_name(tenant), labels={TENANT_LABEL: tenant.name}),
                _cluster_queue_spec(tenant, pools),
                queue_opts,
            )

        self.topology_name = pulumi.Output.from_input(args.topology_name)
        self.cluster_queues = pulumi.Output.from_input(queues)
        self.cohorts = pulumi.Output.from_input(cohorts)
        self.priority_classes = pulumi.Output.from_input([p.name for p in PRIORITY_CLASSES])
        self.register_outputs(
            {
                "topology_name": self.topology_name,
                "cluster_queues": self.cluster_queues,
                "cohorts": self.cohorts,
                "priority_classes": self.priority_classes,
            }
        )


def _cluster_queue_spec(tenant: Tenant, pools: dict[str, NodePool]) -> dict[str, Any]:
    flavors = []
    for quota in tenant.gpu_quotas:
        pool = pools[quota.pool]
        nominal = quota_resources(pool, quota.gpus)
        borrowing = quota_resources(pool, quota.borrowing_limit) if quota.borrowing_limit is not None else None
        lending = quota_resources(pool, quota.lending_limit) if quota.lending_limit is not None else None
        resources = []
        for resource in COVERED_RESOURCES:
            entry: dict[str, Any] = {"name": resource, "nominalQuota": nominal[resource]}
            # Kueue accepts limits only in a cohort (ClusterQueue validation rules).
            if borrowing is not None and tenant.cohort:
                entry["borrowingLimit"] = borrowing[resource]
            if lending is not None and tenant.cohort:
                entry["lendingLimit"] = lending[resource]
            resources.append(entry)
        flavors.append({"name": pool.name, "resources": resources})
    spec: dict[str, Any] = {
        "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: tenant.name}},
        "queueingStrategy": "BestEffortFIFO",
        "resourceGroups": [{"coveredResources": list(COVERED_RESOURCES), "flavors": flavors}],
        "preemption": {
            # A tenant always gets its nominal quota back from borrowers, and orders its own queue by priority.
            "reclaimWithinCohort": "Any",
            "withinClusterQueue": "LowerPriority",
        },
    }
    if tenant.cohort:
        spec["cohortName"] = tenant.cohort
    return spec
