"""The site's own admission policies (``ValidatingAdmissionPolicy``, CEL) as they apply to a job.

A policy binds to requests by its ``matchConstraints`` and its bindings' ``matchResources``; its
validations are CEL expressions over ``object``. Evaluating them needs a CEL engine; where the plan
holds policies that match the job and none is installed, the verdict says they were not evaluated.
"""

from __future__ import annotations

from typing import Any

from infra.jobcheck.context import Context, Reason


def _matches(policy: dict[str, Any], api_group: str, resource: str) -> bool:
    rules = ((policy.get("spec") or {}).get("matchConstraints") or {}).get("resourceRules") or []
    for rule in rules:
        groups = rule.get("apiGroups") or []
        resources = rule.get("resources") or []
        if ("*" in groups or api_group in groups) and ("*" in resources or resource in resources):
            return True
    return False


def admission_policy_reasons(ctx: Context) -> list[Reason]:
    """Reasons the site's admission policies refuse the job (none evaluated without a CEL engine)."""
    group = ctx.job.api_version.rsplit("/", 1)[0] if "/" in ctx.job.api_version else ""
    resource = f"{ctx.job.kind.lower()}s"
    matching = [
        str((p.get("metadata") or {}).get("name"))
        for p in ctx.site.all("ValidatingAdmissionPolicy")
        if _matches(p, group, resource) or _matches(p, "", "pods")
    ]
    if matching:
        ctx.assume(
            f"admission policies not evaluated (no CEL engine in this installation): {', '.join(sorted(matching))}"
        )
    return []
