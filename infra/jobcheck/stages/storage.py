"""Stage 5, storage: every claim exists in the tenant's namespace, its StorageClass exists, the quota holds it.

A pod's ``persistentVolumeClaim`` must name a claim of its own namespace (the pod stays Pending
otherwise); a generic ephemeral volume creates one claim per pod from its template, which the
namespace's ResourceQuota admits against ``<class>.storageclass.storage.k8s.io/requests.storage``
and ``.../persistentvolumeclaims`` (kubernetes ``pkg/quota/v1/evaluator/core/persistent_volume_claims.go``),
counting the claims the site already holds there.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from infra.jobcheck.context import Context, Reason
from infra.jobcheck.quantity import format_quantity, parse_quantity

CLASS_QUOTA = "{}.storageclass.storage.k8s.io/requests.storage"
CLASS_COUNT = "{}.storageclass.storage.k8s.io/persistentvolumeclaims"


def check(ctx: Context) -> list[Reason]:
    """Reasons a pod's volumes would not bind; empty when every claim is the tenant's and fits its quota."""
    namespace = str(ctx.namespace)
    claims = ctx.site.names("PersistentVolumeClaim", namespace)
    for pod_set in ctx.job.pod_sets:
        for index, volume in enumerate(pod_set.spec.get("volumes") or []):
            if not isinstance(volume, dict):
                continue
            path = (*pod_set.path, "spec", "volumes", index)
            claim_name = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if claim_name is not None:
                claim = ctx.site.get("PersistentVolumeClaim", str(claim_name), namespace)
                if claim is None:
                    return [
                        ctx.reason(
                            (*path, "persistentVolumeClaim", "claimName"),
                            f"claim {claim_name} does not exist in namespace {namespace}",
                            f"the PersistentVolumeClaims of {namespace}",
                            f"use one of the tenant's claims: {', '.join(claims) or 'none'}",
                        )
                    ]
                ctx.placement.setdefault("storage", []).append(
                    f"{claim_name} ({(claim.get('spec') or {}).get('storageClassName')})"
                )
                continue
            template = ((volume.get("ephemeral") or {}).get("volumeClaimTemplate") or {}).get("spec")
            if isinstance(template, dict):
                reasons = _ephemeral(ctx, template, (*path, "ephemeral", "volumeClaimTemplate", "spec"), pod_set.count)
                if reasons:
                    return reasons
    return []


def _ephemeral(ctx: Context, spec: dict[str, Any], path: tuple[str | int, ...], pods: int) -> list[Reason]:
    namespace = str(ctx.namespace)
    class_name = spec.get("storageClassName")
    classes = ctx.site.names("StorageClass")
    if class_name is None or ctx.site.get("StorageClass", str(class_name)) is None:
        what = (
            f"StorageClass {class_name} does not exist"
            if class_name
            else "the claim names no StorageClass and the site has no default"
        )
        return [
            ctx.reason(
                (*path, "storageClassName"), what, "the site's StorageClasses", f"use one of: {', '.join(classes)}"
            )
        ]
    request = parse_quantity(((spec.get("resources") or {}).get("requests") or {}).get("storage")) or Decimal(0)
    hard: dict[str, Any] = {}
    for quota in ctx.site.all("ResourceQuota", namespace):
        hard.update((quota.get("spec") or {}).get("hard") or {})
    used = sum(
        (
            _claimed(c)
            for c in ctx.site.all("PersistentVolumeClaim", namespace)
            if (c.get("spec") or {}).get("storageClassName") == class_name
        ),
        Decimal(0),
    )
    limit_text = hard.get(CLASS_QUOTA.format(class_name))
    limit = parse_quantity(limit_text) if limit_text is not None else None
    count_limit = (
        parse_quantity(hard.get(CLASS_COUNT.format(class_name))) if CLASS_COUNT.format(class_name) in hard else None
    )
    decided = f"ResourceQuota of {namespace} ({CLASS_QUOTA.format(class_name)}: {limit_text})"
    if limit == 0 or count_limit == 0:
        granted = sorted(
            k.split(".storageclass")[0]
            for k, v in hard.items()
            if k.endswith("storageclass.storage.k8s.io/requests.storage") and parse_quantity(v)
        )
        return [
            ctx.reason(
                (*path, "storageClassName"),
                f"tenant {namespace} is not granted StorageClass {class_name}",
                decided,
                f"use a class the tenant is granted: {', '.join(granted) or 'none'}",
            )
        ]
    if limit is not None and used + request * pods > limit:
        return [
            ctx.reason(
                (*path, "resources", "requests", "storage"),
                f"{pods} claim(s) of {format_quantity(request, limit_text)} on {class_name} exceed the tenant's "
                f"quota: {format_quantity(used, limit_text)} of {limit_text} is already claimed",
                decided,
                f"claim at most {format_quantity(max(limit - used, Decimal(0)), limit_text)} in all, or mount "
                "the tenant's existing claim",
            )
        ]
    ctx.placement.setdefault("storage", []).append(f"{pods} ephemeral claim(s) on {class_name}")
    return []


def _claimed(claim: dict[str, Any]) -> Decimal:
    """The storage a claim requests (0 when it names none)."""
    requests = ((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}
    return parse_quantity(requests.get("storage")) or Decimal(0)
