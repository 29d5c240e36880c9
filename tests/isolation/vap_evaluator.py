"""ValidatingAdmissionPolicies evaluated as the API server does: CEL by a real engine, matching by an evaluator.

The CEL of every policy runs in Google's cel-cpp (``cel-expr-python``) with the strings extension,
which Kubernetes also enables. What is an evaluator here (small, tested in test_evaluators.py):
which requests a policy and its binding select (``matchConstraints.resourceRules``, the
binding's ``matchResources.namespaceSelector``, label selectors), the order matchConditions ->
variables -> validations, and ``failurePolicy: Fail`` turning an evaluation error into a denial
(Kubernetes docs, "Validating Admission Policy"; k8s.io/apiserver pkg/admission/plugin/policy/validating).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from cel_expr_python import cel as cel_api
from cel_expr_python.ext import ext_strings

# The variables Kubernetes declares for admission policy expressions.
VARIABLES = ("object", "oldObject", "request", "params", "namespaceObject", "variables", "authorizer")


@cache
def _env() -> Any:
    return cel_api.NewEnv(
        variables={name: cel_api.Type.DYN for name in VARIABLES}, extensions=[ext_strings.ExtStrings()]
    )


@cache
def compile_cel(expression: str) -> Any:
    """The compiled expression (raises ``RuntimeError`` with the engine's message if it does not compile)."""
    return _env().compile(expression)


def evaluate(expression: str, data: Mapping[str, Any]) -> Any:
    """The plain Python value of ``expression`` over ``data`` (raises on an evaluation error)."""
    value = compile_cel(expression).eval(data=dict(data))
    plain = value.plain_value()
    if value.type() == cel_api.Type.ERROR or isinstance(plain, Exception):
        raise RuntimeError(f"CEL error in {expression!r}: {value.value()}")
    return plain


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A Kubernetes label selector (``matchLabels``, ``matchExpressions``) against ``labels``; None matches all."""
    if selector is None:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


@dataclass(frozen=True)
class Request:
    """One admission request: who, what operation, which object."""

    operation: str
    kind: str
    resource: str
    group: str = ""
    namespace: str = ""
    name: str = ""
    object: dict[str, Any] | None = None
    old_object: dict[str, Any] | None = None
    username: str = "user"
    groups: tuple[str, ...] = ()
    subresource: str = ""

    def cel_request(self) -> dict[str, Any]:
        """``request`` as admission expressions see it."""
        return {
            "operation": self.operation,
            "namespace": self.namespace,
            "name": self.name,
            "kind": {"group": self.group, "version": "v1", "kind": self.kind},
            "resource": {"group": self.group, "version": "v1", "resource": self.resource},
            "subResource": self.subresource,
            "userInfo": {"username": self.username, "groups": list(self.groups)},
        }


@dataclass(frozen=True)
class Denial:
    """A request denied by one policy's validation (or by its failure policy)."""

    policy: str
    binding: str
    message: str


@dataclass
class PolicySet:
    """The ValidatingAdmissionPolicies and bindings of a rendered site."""

    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    bindings: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, objects: Sequence[Mapping[str, Any]]) -> PolicySet:
        """The policies and bindings among ``objects`` (manifests)."""
        made = cls()
        for obj in objects:
            if obj.get("kind") == "ValidatingAdmissionPolicy":
                made.policies[obj["metadata"]["name"]] = obj["spec"]
            elif obj.get("kind") == "ValidatingAdmissionPolicyBinding":
                made.bindings[obj["metadata"]["name"]] = obj["spec"]
        return made

    def admit(self, request: Request, namespace_labels: Mapping[str, str]) -> list[Denial]:
        """Every denial of ``request`` (empty: admitted); ``namespace_labels`` are its namespace's labels."""
        denials: list[Denial] = []
        for binding_name, binding in sorted(self.bindings.items()):
            policy = self.policies.get(binding["policyName"])
            if policy is None or "Deny" not in binding.get("validationActions", []):
                continue
            if not _rules_match(policy["matchConstraints"], request):
                continue
            selector = (binding.get("matchResources") or {}).get("namespaceSelector")
            if request.namespace and not selector_matches(selector, namespace_labels):
                continue
            denials += _validate(binding["policyName"], binding_name, policy, request)
        return denials


def _rules_match(constraints: Mapping[str, Any], request: Request) -> bool:
    for rule in constraints.get("resourceRules", []):
        if not _any(rule.get("operations", []), request.operation):
            continue
        if not _any(rule.get("apiGroups", []), request.group):
            continue
        resource = f"{request.resource}/{request.subresource}" if request.subresource else request.resource
        if _any(rule.get("resources", []), resource):
            return True
    return False


def _any(allowed: Sequence[str], value: str) -> bool:
    return "*" in allowed or value in allowed


def _validate(name: str, binding: str, policy: Mapping[str, Any], request: Request) -> list[Denial]:
    data: dict[str, Any] = {
        "object": request.object,
        "oldObject": request.old_object,
        "request": request.cel_request(),
        "params": None,
        "variables": {},
    }
    fail = policy.get("failurePolicy", "Fail") == "Fail"
    try:
        for condition in policy.get("matchConditions", []):
            if evaluate(condition["expression"], data) is not True:
                return []
        # In order: a variable sees only those before it, as the API server evaluates them
        # (admissionregistration.k8s.io/v1 ValidatingAdmissionPolicySpec.variables).
        for variable in policy.get("variables", []):
            data["variables"] = {**data["variables"], variable["name"]: evaluate(variable["expression"], data)}
    except RuntimeError as error:
        return [Denial(name, binding, f"evaluation error: {error}")] if fail else []
    denials = []
    for validation in policy.get("validations", []):
        try:
            ok = evaluate(validation["expression"], data) is True
            message = validation.get("message", "")
        except RuntimeError as error:
            ok, message = not fail, f"evaluation error: {error}"
        if not ok:
            denials.append(Denial(name, binding, message))
    return denials
