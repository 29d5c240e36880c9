"""Stage 3, scheduling: do the flavor's nodes take the pods (node selectors, affinity, taints, capacity)?

Kueue injects the flavor's node labels and tolerations into the pods it admits (Kueue v0.19.2
``pkg/podset/podset.go``, Merge); kube-scheduler then filters nodes by node selector and required
affinity (``NodeAffinity``), taints (``TaintToleration``: NoSchedule and NoExecute) and resources
(``NodeResourcesFit``). Nodes are taken empty: what already runs on them is live state.
"""

from __future__ import annotations

from typing import Any

from infra.jobcheck.context import Context, PodRequests, Reason
from infra.jobcheck.reader import PodSet
from infra.jobcheck.scheduling_math import missing, offer, pods_per_node
from infra.jobcheck.selectors import matches_node_selector_terms, taint_text, untolerated
from infra.jobcheck.site import Pool


def check(ctx: Context) -> list[Reason]:
    """Reasons no node of the flavor's pools would take the pods; empty (and the placement recorded) otherwise."""
    flavor_spec = (ctx.flavor or {}).get("spec") or {}
    pools = ctx.pools or list(ctx.site.pools.values())
    if not pools:
        return [
            ctx.reason(
                ("spec",),
                "no node pool carries the flavor's node labels",
                f"ResourceFlavor {ctx.placement.get('flavor')}",
                "ask the site: the flavor has no nodes",
            )
        ]
    placements: list[dict[str, Any]] = []
    for pod_set, requests in zip(ctx.job.pod_sets, ctx.requests, strict=True):
        first_refusal: list[Reason] | None = None
        for pool in pools:
            refusal = _refusal(ctx, pool, pod_set, requests, flavor_spec)
            if not refusal:
                per_node = pods_per_node(pool, requests.amounts)
                nodes = -(-pod_set.count // per_node)
                placements.append(
                    {
                        "pod_set": pod_set.name,
                        "pool": pool.name,
                        "pods": pod_set.count,
                        "pods_per_node": per_node,
                        "nodes": nodes,
                    }
                )
                break
            first_refusal = first_refusal or refusal
        else:
            return first_refusal or []
    ctx.placement["pools"] = placements
    return []


def _refusal(
    ctx: Context, pool: Pool, pod_set: PodSet, requests: PodRequests, flavor_spec: dict[str, Any]
) -> list[Reason]:
    spec = pod_set.spec
    base = (*pod_set.path, "spec")
    decided = f"node pool {pool.name} (labels, taints and resources of its nodes in the plan's facts)"
    for key, value in (spec.get("nodeSelector") or {}).items():
        if pool.labels.get(str(key)) != str(value):
            have = pool.labels.get(str(key))
            return [
                ctx.reason(
                    (*base, "nodeSelector", str(key)),
                    f"no node of pool {pool.name} has {key}={value}" + (f" (they have {key}={have})" if have else ""),
                    decided,
                    "remove the node selector or select a label these nodes carry",
                )
            ]
    terms = (
        ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution")
        or {}
    ).get("nodeSelectorTerms") or []
    if terms and not matches_node_selector_terms(terms, pool.labels):
        return [
            ctx.reason(
                (*base, "affinity", "nodeAffinity"),
                f"the required node affinity matches no node of pool {pool.name}",
                decided,
                "relax the affinity to labels the pool's nodes carry: "
                + ", ".join(f"{k}={v}" for k, v in sorted(pool.labels.items())),
            )
        ]
    tolerations = [*(spec.get("tolerations") or []), *(flavor_spec.get("tolerations") or [])]
    blocking = untolerated(tolerations, pool.taints)
    if blocking:
        return [
            ctx.reason(
                (*base, "tolerations"),
                f"the nodes of pool {pool.name} are tainted {taint_text(blocking[0])}",
                decided,
                "these nodes are dedicated to another tenant: submit through your own tenant's queue",
            )
        ]
    short = missing(pool, requests.amounts)
    if short:
        resource = short[0]
        offered = pool.allocatable.get(resource)
        what = f"offers {offered.normalize():f}" if offered is not None else "does not offer it"
        return [
            ctx.reason(
                requests.where.get(resource, base),
                f"one pod requests {requests.amounts[resource].normalize():f} of {resource}; a node of pool "
                f"{pool.name} {what}",
                decided,
                f"request at most what one node offers ({offer(pool)}), and spread the work over more pods",
            )
        ]
    per_node = pods_per_node(pool, requests.amounts)
    nodes = -(-pod_set.count // max(per_node, 1))
    if nodes > pool.nodes:
        return [
            ctx.reason(
                (*pod_set.path,),
                f"{pod_set.count} pods need {nodes} nodes; pool {pool.name} has {pool.nodes}",
                decided,
                f"run at most {pool.nodes * per_node} pods",
            )
        ]
    return []
