"""Stage 2, Kueue: LocalQueue to ClusterQueue, covered resources, a flavor whose quota holds the job, topology.

Encodes Kueue v0.19.2's flavor assigner (``pkg/scheduler/flavorassigner/flavorassigner.go``):
a requested resource no resource group covers is "unavailable in ClusterQueue"; flavors are tried
in order, each refused for an untolerated taint, for node affinity its node labels do not meet, or
for quota (``fitsResourceQuota``: the request against ``PotentialAvailable``, the most the queue
could ever use with all it may borrow: ``pkg/cache/scheduler/resource_node.go``,
``potentialAvailable``). Topology-aware placement follows ``pkg/cache/scheduler/tas_flavor_snapshot.go``:
a required level needs one domain that holds every pod of the pod set.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from infra.jobcheck.context import Context, Reason
from infra.jobcheck.quantity import format_quantity, parse_quantity
from infra.jobcheck.scheduling_math import missing, offer, pods_per_node
from infra.jobcheck.selectors import matches_label_selector, matches_node_selector_terms, taint_text, untolerated

REQUIRED_TOPOLOGY = "kueue.x-k8s.io/podset-required-topology"  # apis/kueue/v1beta2/topology_types.go
PREFERRED_TOPOLOGY = "kueue.x-k8s.io/podset-preferred-topology"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every Namespace
LIVE_STATE = "no other workload holds quota or nodes: what other tenants run is live state, not in the plan"


def check(ctx: Context) -> list[Reason]:
    """Reasons Kueue would never admit the job; empty when a flavor and (if asked) a topology domain fit."""
    site, namespace = ctx.site, str(ctx.namespace)
    local_queue = site.get("LocalQueue", str(ctx.queue), namespace)
    assert local_queue is not None  # admission checked it
    cq_name = str((local_queue.get("spec") or {}).get("clusterQueue", ""))
    queue_path = ("metadata", "labels", "kueue.x-k8s.io/queue-name")
    cluster_queue = site.get("ClusterQueue", cq_name)
    if cluster_queue is None:
        return [
            ctx.reason(
                queue_path,
                f"LocalQueue {namespace}/{ctx.queue} points at ClusterQueue {cq_name}, which does not exist",
                f"LocalQueue {namespace}/{ctx.queue}",
                "ask the site to fix the LocalQueue; no job in it can be admitted",
            )
        ]
    ctx.cluster_queue = cluster_queue
    ctx.placement["local_queue"] = f"{namespace}/{ctx.queue}"
    ctx.placement["cluster_queue"] = cq_name
    spec = cluster_queue.get("spec") or {}
    ns_object = site.get("Namespace", namespace) or {}
    ns_labels = {**((ns_object.get("metadata") or {}).get("labels") or {}), NAMESPACE_NAME_LABEL: namespace}
    if not matches_label_selector(spec.get("namespaceSelector") or {}, ns_labels):
        # pkg/workload/resources.go: ErrNamespaceMismatch
        return [
            ctx.reason(
                queue_path,
                f"ClusterQueue {cq_name} does not select namespace {namespace}",
                f"ClusterQueue {cq_name} (namespaceSelector)",
                "use a LocalQueue of a ClusterQueue that serves your namespace",
            )
        ]
    groups = spec.get("resourceGroups") or []
    excluded = tuple(
        str(p) for p in (ctx.site.kueue_config().get("resources") or {}).get("excludeResourcePrefixes") or ()
    )
    reasons: list[Reason] = []
    wanted = [r for r in ctx.requested() if not r.startswith(excluded)]
    for resource in wanted:
        if not any(resource in (g.get("coveredResources") or []) for g in groups):
            covered = sorted({str(r) for g in groups for r in g.get("coveredResources") or []})
            reasons.append(
                ctx.reason(
                    ctx.request_path(resource),
                    f"resource {resource} unavailable in ClusterQueue {cq_name}",
                    f"ClusterQueue {cq_name} (covers {', '.join(covered)})",
                    f"remove the request for {resource}, or ask the site to cover it in ClusterQueue {cq_name}",
                )
            )
    if reasons:
        return reasons
    ctx.assume(LIVE_STATE)
    for group in groups:
        covered = [r for r in wanted if r in (group.get("coveredResources") or [])]
        if covered:
            reasons = _assign_flavor(ctx, cluster_queue, group, covered)
            if reasons:
                return reasons
    return _topology(ctx)


def _assign_flavor(ctx: Context, cq: dict[str, Any], group: dict[str, Any], covered: list[str]) -> list[Reason]:
    cq_name = str(cq["metadata"]["name"])
    refusals: list[Reason] = []
    for flavor_quotas in group.get("flavors") or []:
        name = str(flavor_quotas.get("name"))
        flavor = ctx.site.get("ResourceFlavor", name)
        if flavor is None:
            refusals.append(
                ctx.reason(
                    ("spec",),
                    f"ResourceFlavor {name} does not exist",
                    f"ClusterQueue {cq_name}",
                    "ask the site to create the flavor or remove it from the queue",
                )
            )
            continue
        refusal = _flavor_refusal(ctx, cq, flavor, flavor_quotas, covered)
        if refusal is None:
            ctx.flavor = flavor
            ctx.placement["flavor"] = name
            labels = (flavor.get("spec") or {}).get("nodeLabels") or {}
            ctx.pools = [p for p in ctx.site.pools.values() if all(p.labels.get(k) == v for k, v in labels.items())]
            return []
        refusals.append(refusal)
    return refusals


def _flavor_refusal(
    ctx: Context, cq: dict[str, Any], flavor: dict[str, Any], quotas: dict[str, Any], covered: list[str]
) -> Reason | None:
    name = str(flavor["metadata"]["name"])
    spec = flavor.get("spec") or {}
    for pod_set in ctx.job.pod_sets:
        pod_spec = pod_set.spec
        wants_topology = REQUIRED_TOPOLOGY in pod_set.annotations or PREFERRED_TOPOLOGY in pod_set.annotations
        if wants_topology and not spec.get("topologyName"):
            return ctx.reason(
                (*pod_set.path, "metadata", "annotations"),
                f"flavor {name} supports no topology-aware placement, but the pod set asks for a topology",
                f"ResourceFlavor {name} (no topologyName)",
                "remove the topology annotation, or use a queue whose flavor has a Topology",
            )
        tolerations = [*(pod_spec.get("tolerations") or []), *(spec.get("tolerations") or [])]
        blocking = untolerated(tolerations, spec.get("nodeTaints") or [])
        if blocking:
            return ctx.reason(
                (*pod_set.path, "spec", "tolerations"),
                f"untolerated taint {taint_text(blocking[0])} in flavor {name}",
                f"ResourceFlavor {name} (nodeTaints)",
                f"this flavor's nodes belong to someone else: submit to your own tenant's queue, not {name}",
            )
        # Sorted: the recorded inputs' map order is not stable from run to run.
        node_labels = {str(k): str(v) for k, v in sorted((spec.get("nodeLabels") or {}).items())}
        if not _selector_fits(pod_spec, node_labels):
            return ctx.reason(
                (*pod_set.path, "spec", "nodeSelector" if "nodeSelector" in pod_spec else "affinity"),
                f"flavor {name} doesn't match node affinity",
                f"ResourceFlavor {name} (nodeLabels {', '.join(f'{k}={v}' for k, v in node_labels.items())})",
                "select nodes of the flavor your queue offers, or drop the node selector",
            )
    # Devices first: a GPU shortfall is the one a user acts on, cpu and memory follow from it.
    for resource in sorted(covered, key=lambda r: (r in ("cpu", "memory"), r)):
        entry = next((r for r in quotas.get("resources") or [] if r.get("name") == resource), None)
        if entry is None:
            continue
        limit = _potential_available(ctx, cq, name, resource, entry)
        need = ctx.total(resource)
        if need > limit:
            nominal = entry.get("nominalQuota")
            return ctx.reason(
                ctx.request_path(resource),
                f"insufficient quota for {resource} in flavor {name}: the job requests "
                f"{format_quantity(need, nominal)}, the most ClusterQueue {cq['metadata']['name']} can ever use is "
                f"{format_quantity(limit, nominal)} (nominal {nominal} plus what it may borrow)",
                f"ClusterQueue {cq['metadata']['name']} (flavor {name})",
                f"ask for at most {format_quantity(limit, nominal)} of {resource} in all (fewer pods or less per pod)",
            )
    return None


def _selector_fits(pod_spec: dict[str, Any], flavor_labels: dict[str, str]) -> bool:
    """The pod's node selector and required affinity, on the flavor's label keys only (flavorSelector)."""
    keys = set(flavor_labels)
    selector = {k: v for k, v in (pod_spec.get("nodeSelector") or {}).items() if k in keys}
    if any(flavor_labels.get(k) != str(v) for k, v in selector.items()):
        return False
    terms = (
        ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        )
        or {}
    ).get("nodeSelectorTerms") or []
    scoped = [{"matchExpressions": [e for e in t.get("matchExpressions") or [] if e.get("key") in keys]} for t in terms]
    return not scoped or matches_node_selector_terms(scoped, flavor_labels)


def _amount(entry: dict[str, Any], key: str) -> Decimal | None:
    return parse_quantity(entry[key]) if entry.get(key) is not None else None


def _potential_available(
    ctx: Context, cq: dict[str, Any], flavor: str, resource: str, entry: dict[str, Any]
) -> Decimal:
    """Kueue's potentialAvailable for one flavor and resource, in a one-level cohort.

    Without a cohort: the nominal quota. In a cohort: what the queue keeps (nominal less its lending
    limit) plus what the cohort holds (its own quota and what every member lends), capped at nominal
    plus the borrowing limit.
    """
    nominal = _amount(entry, "nominalQuota") or Decimal(0)
    cohort = (cq.get("spec") or {}).get("cohortName")
    if not cohort:
        return nominal
    lending = _amount(entry, "lendingLimit")
    local = nominal - lending if lending is not None else nominal
    pool = Decimal(0)
    for member in ctx.site.all("ClusterQueue"):
        if (member.get("spec") or {}).get("cohortName") != cohort:
            continue
        for quota in _quota_entries(member.get("spec") or {}, flavor, resource):
            lend = _amount(quota, "lendingLimit")
            pool += lend if lend is not None else (_amount(quota, "nominalQuota") or Decimal(0))
    cohort_object = ctx.site.get("Cohort", str(cohort))
    for quota in _quota_entries((cohort_object or {}).get("spec") or {}, flavor, resource):
        pool += _amount(quota, "nominalQuota") or Decimal(0)
    if (cohort_object or {}).get("spec", {}).get("parentName"):
        ctx.assume(f"cohort {cohort}'s parent cohorts lend nothing beyond {cohort} itself")
    available = local + pool
    borrowing = _amount(entry, "borrowingLimit")
    return min(available, nominal + borrowing) if borrowing is not None else available


def _quota_entries(spec: dict[str, Any], flavor: str, resource: str) -> list[dict[str, Any]]:
    return [
        r
        for g in spec.get("resourceGroups") or []
        for f in g.get("flavors") or []
        if f.get("name") == flavor
        for r in f.get("resources") or []
        if r.get("name") == resource
    ]


def _topology(ctx: Context) -> list[Reason]:
    flavor_spec = (ctx.flavor or {}).get("spec") or {}
    topology_name = flavor_spec.get("topologyName")
    for pod_set, requests in zip(ctx.job.pod_sets, ctx.requests, strict=True):
        annotations = pod_set.annotations
        required = annotations.get(REQUIRED_TOPOLOGY)
        level = required or annotations.get(PREFERRED_TOPOLOGY)
        if not level or not topology_name:
            continue
        key = REQUIRED_TOPOLOGY if required else PREFERRED_TOPOLOGY
        path = (*pod_set.path, "metadata", "annotations", key)
        topology = ctx.site.get("Topology", str(topology_name)) or {}
        levels = [str(entry.get("nodeLabel")) for entry in (topology.get("spec") or {}).get("levels") or []]
        if str(level) not in levels:
            return [
                ctx.reason(
                    path,
                    f"no requested topology level: {level} is not a level of Topology {topology_name}",
                    f"Topology {topology_name}",
                    f"use one of its levels: {', '.join(levels)}",
                )
            ]
        fits, largest, per_node = 0, 0, 0
        for pool in ctx.pools:
            per_node = pods_per_node(pool, requests.amounts)
            domain = int((pool.topology.get(str(level)) or {}).get("largest", 0))
            if domain * per_node > fits:
                fits, largest = domain * per_node, domain
        ctx.placement.setdefault("topology", []).append(
            {
                "pod_set": pod_set.name,
                "level": str(level),
                "mode": "required" if required else "preferred",
                "domain_nodes": largest,
            }
        )
        if required and fits < pod_set.count:
            if fits == 0:
                # Kueue excludes nodes that lack a resource ("excluded: resource ..."); the scheduling
                # stage names which and by how much.
                short = sorted({r for pool in ctx.pools for r in missing(pool, requests.amounts)})
                return [
                    ctx.reason(
                        requests.where.get(short[0], path) if short else path,
                        f'topology "{topology_name}" doesn\'t allow to fit any of {pod_set.count} pod(s): no node of '
                        f"flavor {ctx.placement.get('flavor')} holds one pod"
                        + (f" (excluded: resource {', '.join(short)})" if short else ""),
                        f"Topology {topology_name} and the nodes of flavor {ctx.placement.get('flavor')}",
                        "request per pod at most what one node offers: "
                        + "; ".join(f"pool {p.name}: {offer(p)}" for p in ctx.pools),
                    )
                ]
            wider = list(levels[: levels.index(str(level))])
            return [
                ctx.reason(
                    path,
                    f'topology "{topology_name}" allows to fit only {fits} out of {pod_set.count} pod(s): the largest '
                    f"{level} domain holds {largest} node(s), {per_node} pod(s) each",
                    f"Topology {topology_name} and the nodes of flavor {ctx.placement.get('flavor')}",
                    f"ask for at most {fits} pods in one {level}, or require a wider level"
                    + (f" ({', '.join(reversed(wider))})" if wider else "")
                    + f", or use {PREFERRED_TOPOLOGY}",
                )
            ]
    return []
