"""An evaluator of Kubernetes RBAC: which bindings grant a user a verb on a resource.

Semantics (Kubernetes docs, "Using RBAC Authorization"; k8s.io/kubernetes
pkg/registry/rbac/validation/rule.go): access is denied unless some rule allows it; a RoleBinding
grants its role's rules in the binding's namespace only, a ClusterRoleBinding everywhere; a rule
matches when its apiGroups, resources (``resource/subresource``) and verbs contain the request's
or ``*``, and its resourceNames (if any) contain the object's name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Access:
    """One request to the authorizer."""

    user: str
    groups: tuple[str, ...]
    verb: str
    group: str
    resource: str
    namespace: str = ""
    name: str = ""


def _subject_matches(subject: Mapping[str, Any], access: Access) -> bool:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return name == access.user
    if kind == "Group":
        return name in access.groups
    if kind == "ServiceAccount":
        return access.user == f"system:serviceaccount:{subject.get('namespace')}:{name}"
    return False


def _rule_allows(rule: Mapping[str, Any], access: Access) -> bool:
    def has(values: Iterable[str], value: str) -> bool:
        values = list(values)
        return "*" in values or value in values

    if not has(rule.get("verbs", []), access.verb):
        return False
    if not has(rule.get("apiGroups", []), access.group):
        return False
    if not has(rule.get("resources", []), access.resource):
        return False
    names = rule.get("resourceNames") or []
    return not names or access.name in names


def granting_bindings(objects: Iterable[Mapping[str, Any]], access: Access) -> list[tuple[str, str, str]]:
    """(kind, namespace, name) of every binding that grants ``access``; empty means denied."""
    objects = list(objects)
    roles = {
        (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o.get("rules") or []
        for o in objects
        if o.get("kind") in ("Role", "ClusterRole")
    }
    granting = []
    for binding in objects:
        kind = binding.get("kind")
        if kind not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        namespace = binding["metadata"].get("namespace", "")
        if kind == "RoleBinding" and namespace != access.namespace:
            continue
        if not any(_subject_matches(s, access) for s in binding.get("subjects") or []):
            continue
        ref = binding["roleRef"]
        role_ns = namespace if ref["kind"] == "Role" else ""
        rules = roles.get((ref["kind"], role_ns, ref["name"]), [])
        if any(_rule_allows(rule, access) for rule in rules):
            granting.append((kind, namespace, binding["metadata"]["name"]))
    return granting
