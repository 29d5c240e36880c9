"""Stage 1, admission: what the API server and Kueue's webhooks decide when the job is created.

The kind must be served (its CRD and controller installed), the namespace must exist and its Pod
Security level must allow the pod templates, the site's admission policies must accept the job,
and the queue and priority class it names must exist.
"""

from __future__ import annotations

from infra.jobcheck.context import PRIORITY_LABEL, QUEUE_LABEL, Context, Reason
from infra.jobcheck.podsecurity import ENFORCE_LABEL, violations
from infra.jobcheck.policies import admission_policy_reasons
from infra.jobcheck.reader import JOB, JOBSET, TRAINJOB

# The Helm chart that installs each kind's CRD and controller; the plan holds a release of it or not.
CONTROLLER_CHARTS = {JOBSET[1]: ("jobset", "JobSet v0.12.0"), TRAINJOB[1]: ("trainer", "Kubeflow Trainer v2.3.0")}


def check(ctx: Context) -> list[Reason]:
    """Reasons the API server or Kueue's webhooks would refuse the job; empty when they accept it."""
    job = ctx.job
    if job.kind != JOB[1]:
        chart, product = CONTROLLER_CHARTS[job.kind]
        if ctx.site.release(chart) is None:
            return [
                ctx.reason(
                    ("kind",),
                    f"the site runs no {job.kind} controller (no {chart} release in the plan): the API server "
                    f"does not serve {job.api_version} {job.kind}",
                    "the site's cluster operators (no CustomResourceDefinition or controller for the kind)",
                    f"submit the pods as a batch/v1 Job (one Job, parallelism = nodes, completionMode: Indexed), "
                    f"or ask the site to install {product}",
                )
            ]
    if ctx.namespace is None:
        return [
            ctx.reason(
                ("metadata",),
                "the job names no namespace (kubectl would create it in `default`, which is no tenant's)",
                "the job",
                "set metadata.namespace to your tenant, or pass --tenant NAME",
            )
        ]
    namespace = ctx.site.get("Namespace", ctx.namespace)
    if namespace is None:
        tenants = ", ".join(sorted(ctx.site.plan.site.get("tenants") or {})) or "none"
        return [
            ctx.reason(
                ("metadata", "namespace"),
                f"namespace {ctx.namespace} does not exist on the site",
                "the plan's Namespaces",
                f"use your tenant's namespace (tenants: {tenants})",
            )
        ]
    reasons = _pod_security(ctx, namespace.get("metadata", {}).get("labels") or {})
    if reasons:
        return reasons
    reasons = admission_policy_reasons(ctx)
    if reasons:
        return reasons
    return _queue(ctx)


def _pod_security(ctx: Context, labels: dict[str, str]) -> list[Reason]:
    # Without the label a namespace is `privileged` (the API server's default AdmissionConfiguration).
    level = str(labels.get(ENFORCE_LABEL, "privileged"))
    reasons: list[Reason] = []
    for pod_set in ctx.job.pod_sets:
        for violation in violations(pod_set.spec, (*pod_set.path, "spec"), level):
            reasons.append(
                ctx.reason(
                    violation.path,
                    f"{violation.message} under Pod Security `{level}`",
                    f"Namespace {ctx.namespace} ({ENFORCE_LABEL}: {level})",
                    violation.fix,
                )
            )
    return reasons


def _queue(ctx: Context) -> list[Reason]:
    labels = ctx.job.labels
    queue = labels.get(QUEUE_LABEL)
    namespace = str(ctx.namespace)
    queues = ctx.site.names("LocalQueue", namespace)
    if queue is None:
        # Kueue v0.19.2 gives a job without the label the namespace's LocalQueue named `default`
        # (pkg/controller/jobframework/defaults.go, ApplyDefaultLocalQueue).
        if "default" in queues:
            ctx.queue = "default"
            ctx.placement["queue_defaulted"] = True
            return []
        manage = bool(ctx.site.kueue_config().get("manageJobsWithoutQueueName", False))
        outcome = (
            "Kueue keeps it suspended (manageJobsWithoutQueueName: true)"
            if manage
            else "Kueue does not manage it, so it would bypass the tenant's queue, quota and topology placement"
        )
        return [
            ctx.reason(
                ("metadata", "labels") if "labels" in (ctx.job.data.get("metadata") or {}) else ("metadata",),
                f"the job names no queue ({QUEUE_LABEL}) and namespace {namespace} has no LocalQueue `default`: "
                f"{outcome}",
                f"Kueue configuration and the LocalQueues of {namespace}",
                f"add the label {QUEUE_LABEL}: <queue> (queues here: {', '.join(queues) or 'none'})",
            )
        ]
    if str(queue) not in queues:
        return [
            ctx.reason(
                ("metadata", "labels", QUEUE_LABEL),
                f"LocalQueue {queue} does not exist in namespace {namespace}: Kueue leaves the job suspended",
                f"the LocalQueues of {namespace}",
                f"use one of: {', '.join(queues)}"
                if queues
                else f"namespace {namespace} has no LocalQueue: ask the site",
            )
        ]
    ctx.queue = str(queue)
    priority = labels.get(PRIORITY_LABEL)
    classes = ctx.site.names("WorkloadPriorityClass")
    if priority is not None and str(priority) not in classes:
        # Kueue cannot build the job's Workload without its priority class, so it stays suspended
        # (Kueue v0.19.2 pkg/controller/jobframework/reconciler.go: GetPriorityFromWorkloadPriorityClass).
        return [
            ctx.reason(
                ("metadata", "labels", PRIORITY_LABEL),
                f"WorkloadPriorityClass {priority} does not exist",
                "the site's WorkloadPriorityClasses",
                f"use one of: {', '.join(classes)}" if classes else f"remove {PRIORITY_LABEL}",
            )
        ]
    if priority is not None:
        ctx.placement["priority_class"] = str(priority)
    return []
