"""``Scheduling``: Kueue's view of the site: its fabric topology, tenants' queues and priorities."""

from dataclasses import dataclass
from typing import Any

import pulumi
from typing_extensions import NotRequired, TypedDict

from components.args import plain_args
from components.kube import CustomObject, child_options, component_options, component_type, custom_resource, meta
from components.labels import TENANT_LABEL
from components.scheduling.quotas import COVERED_RESOURCES, FlavorResources, quota_resources

KUEUE_API = "kueue.x-k8s.io/v1beta2"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
DEFAULT_TOPOLOGY = "gigafactory-fabric"
# The token sites were deployed with before the component package (an alias keeps their URNs).
FORMER_TYPE = "gigafactory:scheduling:Scheduling"


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


def granted_priority_classes(kind: str) -> list[str]:
    """The WorkloadPriorityClasses a tenant of ``kind`` may name: all for regulated tenants, else all but critical."""
    if kind == "regulated":
        return [p.name for p in PRIORITY_CLASSES]
    return [p.name for p in PRIORITY_CLASSES if p.name not in CLINICAL_PRIORITY_CLASSES]


class TenantGpuQuota(TypedDict):
    """A tenant's GPUs in one pool, as its ClusterQueue's quota of that pool's flavor."""

    pool: str
    """The pool (its Kueue ResourceFlavor) the quota is in; one of ``SchedulingArgs.pools``."""

    gpus: int
    """Nominal quota, physical GPUs."""

    borrowing_limit: NotRequired[int | None]
    """Physical GPUs it may borrow from its cohort beyond ``gpus``; default none: no limit (set only in a cohort)."""

    lending_limit: NotRequired[int | None]
    """Physical GPUs of ``gpus`` its cohort may borrow; default none: all of them (set only in a cohort)."""


class TenantQueue(TypedDict):
    """A tenant as Kueue queues it: its GPU quotas and the cohort it shares them in."""

    name: str
    """Tenant name: its ClusterQueue's name, and the one namespace the queue admits."""

    gpu_quotas: NotRequired[list[TenantGpuQuota]]
    """Its GPU quotas, one per pool; default none: the tenant gets no ClusterQueue."""

    cohort: NotRequired[str | None]
    """Kueue cohort it borrows and lends in; default none: it neither borrows nor lends."""


class SchedulingArgs(TypedDict):
    """What ``Scheduling`` needs: the tenants' quotas, the pools they are in, and the fabric's topology levels."""

    tenants: list[TenantQueue]
    """Every tenant with its GPU quotas and cohort."""

    pools: list[FlavorResources]
    """The node pools tenants hold quota in: each is the Kueue ResourceFlavor of the same name
    (``GpuNodePool`` creates it), with what one node holds."""

    topology_levels: list[str]
    """Node labels of the fabric topology, widest first, hostname last."""

    topology_name: NotRequired[str]
    """Name of the Kueue Topology the pools' flavors refer to; default ``gigafactory-fabric``."""


def cluster_queue_name(tenant: str) -> str:
    """The ClusterQueue of a tenant: the tenant's name."""
    return tenant


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
    """Name of the Kueue Topology of the fabric."""

    cluster_queues: pulumi.Output[dict[str, str]]
    """Each tenant with GPU quota -> its ClusterQueue."""

    cohorts: pulumi.Output[list[str]]
    """The Kueue Cohorts tenants share, sorted."""

    priority_classes: pulumi.Output[list[str]]
    """The WorkloadPriorityClasses, highest first."""

    def __init__(self, name: str, args: SchedulingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(component_type(Scheduling), name, None, component_options(opts, FORMER_TYPE))
        args = plain_args(args, SchedulingArgs)
        topology_name = args.get("topology_name", DEFAULT_TOPOLOGY)
        # Everything here is a Kueue object: it waits for what the component was told to (Kueue's CRDs).
        crd_opts = child_options(self, opts)
        custom_resource(
            f"{name}-topology",
            KUEUE_API,
            "Topology",
            meta(topology_name),
            {"levels": [{"nodeLabel": level} for level in args["topology_levels"]]},
            crd_opts,
        )
        tenants = args["tenants"]
        cohorts = sorted({cohort for t in tenants if (cohort := t.get("cohort"))})
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
        pools = {p["name"]: p for p in args["pools"]}
        queues: dict[str, str] = {}
        queue_opts = child_options(self, opts, *cohort_resources)
        for tenant in tenants:
            if not tenant.get("gpu_quotas"):
                continue
            queue = cluster_queue_name(tenant["name"])
            queues[tenant["name"]] = queue
            custom_resource(
                f"{name}-cq-{tenant['name']}",
                KUEUE_API,
                "ClusterQueue",
                meta(queue, labels={TENANT_LABEL: tenant["name"]}),
                _cluster_queue_spec(tenant, pools),
                queue_opts,
            )

        self.topology_name = pulumi.Output.from_input(topology_name)
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


def _cluster_queue_spec(tenant: TenantQueue, pools: dict[str, FlavorResources]) -> dict[str, Any]:
    cohort = tenant.get("cohort")
    flavors = []
    for quota in tenant.get("gpu_quotas", []):
        pool = pools.get(quota["pool"])
        if pool is None:
            raise ValueError(
                f"tenant {tenant['name']} has a GPU quota in pool {quota['pool']}, which is not in pools; "
                "add the pool to SchedulingArgs.pools"
            )
        borrowing_limit = quota.get("borrowing_limit")
        lending_limit = quota.get("lending_limit")
        nominal = quota_resources(pool, quota["gpus"])
        borrowing = quota_resources(pool, borrowing_limit) if borrowing_limit is not None else None
        lending = quota_resources(pool, lending_limit) if lending_limit is not None else None
        resources = []
        for resource in COVERED_RESOURCES:
            entry: dict[str, Any] = {"name": resource, "nominalQuota": nominal[resource]}
            # Kueue accepts limits only in a cohort (ClusterQueue validation rules).
            if borrowing is not None and cohort:
                entry["borrowingLimit"] = borrowing[resource]
            if lending is not None and cohort:
                entry["lendingLimit"] = lending[resource]
            resources.append(entry)
        flavors.append({"name": pool["name"], "resources": resources})
    spec: dict[str, Any] = {
        "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: tenant["name"]}},
        "queueingStrategy": "BestEffortFIFO",
        "resourceGroups": [{"coveredResources": list(COVERED_RESOURCES), "flavors": flavors}],
        "preemption": {
            # A tenant always gets its nominal quota back from borrowers, and orders its own queue by priority.
            "reclaimWithinCohort": "Any",
            "withinClusterQueue": "LowerPriority",
        },
    }
    if cohort:
        spec["cohortName"] = cohort
    return spec
