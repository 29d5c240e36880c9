"""The site's own admission policies (``ValidatingAdmissionPolicy``, CEL) as they apply to a job and its pods.

The API server admits the job, and later each pod the Job controller creates from its template;
a policy applies to a request when its ``matchConstraints`` select the resource and operation and
a binding of it selects the namespace (k8s.io/apiserver ``pkg/admission/plugin/policy/validating``;
Kubernetes docs, "Validating Admission Policy"). Then, in order: every ``matchCondition`` must hold,
``variables`` are computed, and each validation that is false denies the request with its
``message`` when the binding's ``validationActions`` include ``Deny``. An expression that fails to
evaluate denies under ``failurePolicy: Fail`` (the default).

The CEL runs in Google's cel-cpp (``cel-expr-python``, with the strings extension Kubernetes
enables), an optional dependency: without it, or for a policy that takes parameters or asks the
authorizer, the verdict lists the policy as not evaluated.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from infra.config.yamldoc import ConfigPath
from infra.jobcheck.context import Context, Reason
from infra.jobcheck.reader import PodSet
from infra.jobcheck.selectors import matches_label_selector

try:  # optional: `pip install 'gigafactory[cel]'` (the test extra has it)
    from cel_expr_python import cel as cel_api
    from cel_expr_python.ext import ext_strings
except ImportError:  # pragma: no cover - exercised where the engine is not installed
    cel_api = None

# The variables Kubernetes declares for admission policy expressions.
CEL_VARIABLES = ("object", "oldObject", "request", "params", "namespaceObject", "variables", "authorizer")
# Pods of a Job are created by the Job controller's service account (kube-controller-manager with
# --use-service-account-credentials, the default of kubeadm clusters).
JOB_CONTROLLER = "system:serviceaccount:kube-system:job-controller"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


class _NotEvaluated(Exception):
    """A policy this installation cannot evaluate (no engine, parameters, the authorizer)."""


@cache
def _compiled(expression: str) -> Any:
    if cel_api is None:
        raise _NotEvaluated("no CEL engine installed")
    if "authorizer" in expression:
        raise _NotEvaluated("it asks the authorizer")
    env = cel_api.NewEnv(
        variables={name: cel_api.Type.DYN for name in CEL_VARIABLES}, extensions=[ext_strings.ExtStrings()]
    )
    return env.compile(expression)


def _evaluate(expression: str, data: Mapping[str, Any]) -> Any:
    value = _compiled(expression).eval(data=dict(data))
    plain = value.plain_value()
    if value.type() == cel_api.Type.ERROR or isinstance(plain, Exception):
        raise RuntimeError(str(value.value()))
    return plain


def _rule_matches(policy: Mapping[str, Any], group: str, resource: str) -> bool:
    constraints = (policy.get("spec") or {}).get("matchConstraints") or {}
    for rule in constraints.get("resourceRules") or []:
        groups, resources = rule.get("apiGroups") or [], rule.get("resources") or []
        operations = rule.get("operations") or []
        if (
            ("*" in groups or group in groups)
            and ("*" in resources or resource in resources)
            and ("*" in operations or "CREATE" in operations)
        ):
            return True
    return False


def _requests(ctx: Context) -> list[tuple[str, str, dict[str, Any], ConfigPath, str]]:
    """``(group, resource, object, path, user)`` of the job's own request and each pod set's pods."""
    job = ctx.job
    group = job.api_version.rsplit("/", 1)[0] if "/" in job.api_version else ""
    document = {**job.data, "metadata": {**(job.data.get("metadata") or {}), "namespace": ctx.namespace}}
    found: list[tuple[str, str, dict[str, Any], ConfigPath, str]] = [
        (group, f"{job.kind.lower()}s", document, ("kind",), "")
    ]
    found.extend(("", "pods", _pod(ctx, pod_set), pod_set.path, JOB_CONTROLLER) for pod_set in job.pod_sets)
    return found


def _pod(ctx: Context, pod_set: PodSet) -> dict[str, Any]:
    metadata = dict(pod_set.template.get("metadata") or {})
    metadata["namespace"] = ctx.namespace
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": pod_set.spec}


def _groups(ctx: Context) -> list[str]:
    """The groups RoleBindings of the namespace grant: who may create jobs there."""
    groups = {
        str(subject.get("name"))
        for binding in ctx.site.all("RoleBinding", str(ctx.namespace))
        for subject in binding.get("subjects") or []
        if subject.get("kind") == "Group"
    }
    return [*sorted(groups), "system:authenticated"]


def admission_policy_reasons(ctx: Context) -> list[Reason]:
    """Reasons the site's admission policies deny the job or its pods; policies not evaluated are assumed."""
    policies = {str((p.get("metadata") or {}).get("name")): p for p in ctx.site.all("ValidatingAdmissionPolicy")}
    if not policies:
        return []
    namespace = ctx.site.get("Namespace", str(ctx.namespace)) or {}
    ns_labels = {**((namespace.get("metadata") or {}).get("labels") or {}), NAMESPACE_NAME_LABEL: str(ctx.namespace)}
    groups = _groups(ctx)
    reasons: list[Reason] = []
    for binding in ctx.site.all("ValidatingAdmissionPolicyBinding"):
        spec = binding.get("spec") or {}
        policy = policies.get(str(spec.get("policyName")))
        selector = (spec.get("matchResources") or {}).get("namespaceSelector")
        if policy is None or "Deny" not in (spec.get("validationActions") or ["Deny"]):
            continue
        policy_selector = ((policy.get("spec") or {}).get("matchConstraints") or {}).get("namespaceSelector")
        if not all(matches_label_selector(s or {}, ns_labels) for s in (selector, policy_selector)):
            continue
        name = str(policy["metadata"]["name"])
        for group, resource, obj, path, user in _requests(ctx):
            if not _rule_matches(policy, group, resource):
                continue
            request = {
                "operation": "CREATE",
                "namespace": ctx.namespace,
                "name": (obj.get("metadata") or {}).get("name", ""),
                "kind": {"group": group, "kind": obj.get("kind")},
                "resource": {"group": group, "resource": resource},
                "userInfo": {"username": user or "tenant-user", "groups": [] if user else groups},
            }
            data = {"object": obj, "oldObject": None, "request": request, "namespaceObject": namespace}
            try:
                reasons.extend(_validate(ctx, policy, binding, data, path, resource))
            except _NotEvaluated as why:
                ctx.assume(f"admission policy {name} not evaluated ({why}): taken to allow the job")
    return reasons


def _validate(
    ctx: Context,
    policy: Mapping[str, Any],
    binding: Mapping[str, Any],
    data: dict[str, Any],
    path: ConfigPath,
    what: str,
) -> list[Reason]:
    spec = policy.get("spec") or {}
    name = str(policy["metadata"]["name"])
    decided = f"ValidatingAdmissionPolicy {name} (binding {binding['metadata']['name']})"
    if spec.get("paramKind"):
        raise _NotEvaluated("it takes parameters")
    subject = "the job" if what != "pods" else "the job's pods"
    try:
        for condition in spec.get("matchConditions") or []:
            if _evaluate(str(condition["expression"]), {**data, "variables": {}}) is not True:
                return []
        variables: dict[str, Any] = {}
        for variable in spec.get("variables") or []:
            variables[str(variable["name"])] = _evaluate(str(variable["expression"]), {**data, "variables": variables})
        for validation in spec.get("validations") or []:
            if _evaluate(str(validation["expression"]), {**data, "variables": variables}) is not True:
                message = validation.get("message") or f"failed expression: {validation['expression']}"
                return [
                    ctx.reason(
                        path, f"{subject}: {message}", decided, f"meet the policy's rule: {validation['expression']}"
                    )
                ]
    except RuntimeError as error:
        if spec.get("failurePolicy", "Fail") == "Ignore":
            return []
        return [
            ctx.reason(
                path,
                f"{subject}: the policy fails to evaluate ({error}) and its failurePolicy is Fail",
                decided,
                "ask the site: the policy denies what it cannot evaluate",
            )
        ]
    return []
