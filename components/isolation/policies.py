"""The ValidatingAdmissionPolicies that keep tenants apart, as data (``admissionregistration.k8s.io/v1``).

Every expression is CEL written within what both Kubernetes' CEL environment and the test suite's
engine (Google's cel-cpp through ``cel-expr-python``) support: the standard macros and functions
(``has``, ``exists``, ``all``, ``filter``, ``map``, ``in``, ``matches`` with RE2 syntax,
``startsWith``, ``contains``) and the strings extension (``lowerAscii``, ``replace``). None of
Kubernetes' own libraries (``quantity()``, ``isURL()``, ...) is used: the tests evaluate the very
expressions written here. Facts about the site (who owns which pool, which taints, which priority
classes) are CEL literals in ``variables``, so a policy needs no parameter objects.
"""

import json
import re
import string
from dataclasses import dataclass
from typing import Any

from typing_extensions import NotRequired, TypedDict

from components.labels import PLACEMENT_LABELS, TENANT_NAMESPACES, Taint
from components.scheduling.scheduling import PRIORITY_CLASSES

NODE_USER_PREFIX = "system:node:"
# Kueue reads a workload's priority class from this label (kueue v0.19.2 pkg/constants, WorkloadPriorityClassLabel).
KUEUE_PRIORITY_LABEL = "kueue.x-k8s.io/priority-class"
# Multus reads the networks of a pod from these annotations, in either of two forms: a JSON list of
# network selection elements, or comma-separated `[namespace/]name[@interface]`; it parses JSON
# whenever the text holds `[`, `{` or `"` (multus-cni pkg/k8sclient/k8sclient.go, parsePodNetworkAnnotation).
NETWORK_ANNOTATIONS = ("k8s.v1.cni.cncf.io/networks", "v1.multus-cni.io/default-network")
# The PersistentVolume controller binds claims by setting spec.volumeName.
PV_BINDER = "system:serviceaccount:kube-system:persistent-volume-binder"
WORKLOAD_RESOURCES = (
    ("", "pods"),
    ("batch", "jobs"),
    ("apps", "deployments"),
    ("apps", "statefulsets"),
    ("jobset.x-k8s.io", "jobsets"),
    ("trainer.kubeflow.org", "trainjobs"),
)


class DedicatedPool(TypedDict):
    """A node pool that belongs to one tenant."""

    pool: str
    """Pool name (the value of the pool labels)."""

    tenant: str
    """The tenant that owns every node of the pool (its namespace)."""

    taints: list[Taint]
    """The pool's taints: only the owner's pods may tolerate them, and its nodes must register with them."""

    node_names: str
    """RE2 pattern every node name of the pool matches in full (``node_name_pattern`` gives it)."""


class IsolationRules(TypedDict):
    """What the admission policies need to know about the site: who owns which pool, who may use which priority."""

    dedicated: NotRequired[list[DedicatedPool]]
    """Pools dedicated to a tenant; default none."""

    granted_priorities: NotRequired[dict[str, list[str]]]
    """Tenant (namespace) -> the Kueue WorkloadPriorityClasses it may use; a tenant not listed may use none.
    No tenant may name a Pod PriorityClass. Default none."""

    priority_classes: NotRequired[list[str]]
    """Every WorkloadPriorityClass of the site (a name outside it is Kueue's to refuse: it does not exist);
    default the ladder ``Scheduling`` creates."""


@dataclass(frozen=True)
class Validation:
    """One CEL rule of a policy: the request is denied where ``expression`` is false."""

    expression: str
    message: str


@dataclass(frozen=True)
class Policy:
    """A ValidatingAdmissionPolicy and how its binding selects requests."""

    name: str
    resources: tuple[tuple[str, str], ...]
    """(API group, resource) pairs it matches."""

    operations: tuple[str, ...]
    variables: tuple[tuple[str, str], ...]
    validations: tuple[Validation, ...]
    match_conditions: tuple[tuple[str, str], ...] = ()
    namespace_selector: dict[str, Any] | None = None
    """The binding's namespace selector; None matches every namespace (and cluster-scoped objects)."""

    guards: str = ""
    """What the policy guarantees, one sentence (for the isolation summary and the README)."""

    def policy(self) -> dict[str, Any]:
        """The ValidatingAdmissionPolicy's ``spec``."""
        groups: dict[str, list[str]] = {}
        for group, resource in self.resources:
            groups.setdefault(group, []).append(resource)
        spec: dict[str, Any] = {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {"apiGroups": [g], "apiVersions": ["*"], "operations": list(self.operations), "resources": r}
                    for g, r in groups.items()
                ]
            },
            "variables": [{"name": n, "expression": e} for n, e in self.variables],
            "validations": [
                {"expression": v.expression, "message": v.message, "reason": "Forbidden"} for v in self.validations
            ],
        }
        if self.match_conditions:
            spec["matchConditions"] = [{"name": n, "expression": e} for n, e in self.match_conditions]
        return spec

    def binding(self) -> dict[str, Any]:
        """The ValidatingAdmissionPolicyBinding's ``spec``: deny what fails."""
        spec: dict[str, Any] = {"policyName": self.name, "validationActions": ["Deny"]}
        if self.namespace_selector is not None:
            spec["matchResources"] = {"namespaceSelector": self.namespace_selector}
        return spec


def cel(value: Any) -> str:
    """``value`` (strings, numbers, lists, maps) as a CEL literal; JSON's syntax is CEL's for these."""
    return json.dumps(value, sort_keys=True)


def node_name_pattern(pattern: str) -> str:
    """An RE2 pattern matching every name a ``node_name_pattern`` such as ``gpu-{index:05d}`` gives."""
    out: list[str] = []
    for literal, field_name, spec, _ in string.Formatter().parse(pattern):
        out.append(re.escape(literal))
        if field_name is not None:
            width = re.fullmatch(r"0?(\d*)d", spec or "d")
            digits = int(width.group(1)) if width and width.group(1) else 1
            out.append(f"[0-9]{{{digits},}}")
    return "^" + "".join(out) + "$"


def _owner_variables(rules: IsolationRules) -> tuple[tuple[str, str], ...]:
    dedicated = rules.get("dedicated", [])
    owners = {d["pool"]: d["tenant"] for d in dedicated}
    taints = [
        {"key": t["key"], "value": t["value"], "effect": t["effect"], "tenant": d["tenant"]}
        for d in dedicated
        for t in d["taints"]
    ]
    return (
        ("ownerOf", cel(owners)),
        ("placementKeys", cel(list(PLACEMENT_LABELS))),
        # A variable may use the ones before it, not those after (admissionregistration.k8s.io/v1
        # ValidatingAdmissionPolicySpec.variables: "sorted by the order of first appearance and acyclic").
        ("foreignPools", "variables.ownerOf.filter(p, variables.ownerOf[p] != request.namespace)"),
        ("foreignValues", "variables.foreignPools + variables.foreignPools.map(p, variables.ownerOf[p])"),
        ("foreignTaints", f"{cel(taints)}.filter(x, x.tenant != request.namespace)"),
    )


_TOLERATES = (
    "((has(t.key) ? t.key : '') == '' || t.key == x.key) && "
    "((has(t.operator) && t.operator == 'Exists') || (has(t.value) ? t.value : '') == x.value) && "
    "((has(t.effect) ? t.effect : '') == '' || t.effect == x.effect)"
)
_TERM_OK = (
    "!has({term}.matchFields) && (!has({term}.matchExpressions) || {term}.matchExpressions.all(e, "
    "!(e.key in variables.placementKeys) || "
    "(e.operator == 'In' && has(e.values) && !e.values.exists(v, v in variables.foreignValues))))"
)
_NODE_AFFINITY = "object.spec.affinity.nodeAffinity"
_REQUIRED = f"{_NODE_AFFINITY}.requiredDuringSchedulingIgnoredDuringExecution"
_PREFERRED = f"{_NODE_AFFINITY}.preferredDuringSchedulingIgnoredDuringExecution"


def dedicated_nodes(rules: IsolationRules) -> Policy:
    """No tenant's pod tolerates, selects or names the nodes of a pool dedicated to another tenant."""
    return Policy(
        name="gigafactory-dedicated-nodes",
        resources=(("", "pods"),),
        operations=("CREATE", "UPDATE"),
        variables=_owner_variables(rules),
        validations=(
            Validation(
                "!has(object.spec.tolerations) || !object.spec.tolerations.exists(t, "
                f"variables.foreignTaints.exists(x, {_TOLERATES}))",
                "a toleration matches the taint of a node pool dedicated to another tenant",
            ),
            Validation(
                "!has(object.spec.nodeSelector) || !variables.placementKeys.exists(k, "
                "k in object.spec.nodeSelector && object.spec.nodeSelector[k] in variables.foreignValues)",
                "spec.nodeSelector selects a node pool dedicated to another tenant",
            ),
            Validation(
                "!has(object.spec.affinity) || !has(object.spec.affinity.nodeAffinity) || ("
                f"(!has({_REQUIRED}) || {_REQUIRED}.nodeSelectorTerms.all(term, {_TERM_OK.format(term='term')})) && "
                f"(!has({_PREFERRED}) || {_PREFERRED}.all(p, {_TERM_OK.format(term='p.preference')})))",
                "node affinity may select pool and tenant labels only with operator In and the tenant's own or "
                "shared pools, and may not use matchFields",
            ),
            Validation(
                "request.operation != 'CREATE' || !has(object.spec.nodeName) || object.spec.nodeName == ''",
                "spec.nodeName bypasses the scheduler and the nodes' taints; let the scheduler place the pod",
            ),
        ),
        namespace_selector=TENANT_NAMESPACES,
        guards="no other tenant's pod can tolerate, select or name its dedicated nodes",
    )


def _network_rule(annotation: str) -> Validation:
    value = f"object.metadata.annotations['{annotation}']"
    entry = r"(' + request.namespace + r'/)?[^,/\s@]+(@[^,/\s]+)?\s*"
    text_form = rf"{value}.matches(r'^\s*{entry}(,\s*{entry})*$')"
    stripped = (
        f"{value}.lowerAscii().replace('\"namespace\":\"' + request.namespace + '\"', '')"
        f".replace('\"namespace\": \"' + request.namespace + '\"', '')"
    )
    # JSON form: Go's encoding/json matches keys case-insensitively with Unicode folding and decodes
    # escapes, so only plain ASCII without backslashes is read the way this rule reads it.
    json_form = rf"{value}.matches(r'^[\t\n\r -\[\]-~]*$') && !{stripped}.contains('\"namespace\"')"
    return Validation(
        f"!has(object.metadata.annotations) || !('{annotation}' in object.metadata.annotations) || "
        rf"({value}.matches(r'[\[{{\"]') ? ({json_form}) : {text_form})",
        f"{annotation} may name only networks in the pod's own namespace "
        '(write `name`, `<namespace>/name`, or JSON `"namespace": "<namespace>"`, plain ASCII)',
    )


def tenant_networks(rules: IsolationRules) -> Policy:
    """A pod names only networks of its own namespace (so never another tenant's partition)."""
    del rules
    return Policy(
        name="gigafactory-tenant-networks",
        resources=(("", "pods"),),
        operations=("CREATE", "UPDATE"),
        variables=(),
        validations=tuple(_network_rule(a) for a in NETWORK_ANNOTATIONS),
        namespace_selector=TENANT_NAMESPACES,
        guards="no other tenant's pod can attach to its InfiniBand partition networks",
    )


def no_external_ips(rules: IsolationRules) -> Policy:
    """No Service anywhere sets ``externalIPs`` (CVE-2020-8554: intercepting any address's traffic)."""
    del rules
    return Policy(
        name="gigafactory-no-external-ips",
        resources=(("", "services"),),
        operations=("CREATE", "UPDATE"),
        variables=(),
        validations=(
            Validation(
                "!has(object.spec.externalIPs) || object.spec.externalIPs.size() == 0",
                "spec.externalIPs lets a Service intercept traffic to any address (CVE-2020-8554); use a "
                "LoadBalancer or NodePort Service",
            ),
        ),
        guards="no Service can claim its addresses (externalIPs, CVE-2020-8554)",
    )


def priority_classes(rules: IsolationRules) -> Policy:
    """Tenants use only the Kueue priority classes granted to them and no Pod PriorityClass."""
    granted = {tenant: list(classes) for tenant, classes in rules.get("granted_priorities", {}).items()}
    known = rules.get("priority_classes", [p.name for p in PRIORITY_CLASSES])
    return Policy(
        name="gigafactory-priority-classes",
        resources=WORKLOAD_RESOURCES,
        operations=("CREATE", "UPDATE"),
        variables=(
            ("granted", f"{cel(granted)}"),
            ("mine", "request.namespace in variables.granted ? variables.granted[request.namespace] : []"),
            ("known", cel(list(known))),
        ),
        validations=(
            Validation(
                f"!has(object.metadata.labels) || !('{KUEUE_PRIORITY_LABEL}' in object.metadata.labels) || "
                f"!(object.metadata.labels['{KUEUE_PRIORITY_LABEL}'] in variables.known) || "
                f"object.metadata.labels['{KUEUE_PRIORITY_LABEL}'] in variables.mine",
                f"{KUEUE_PRIORITY_LABEL} names a priority class this tenant was not granted",
            ),
            Validation(
                "request.kind.kind != 'Pod' || !has(object.spec.priorityClassName) || "
                "object.spec.priorityClassName == ''",
                "tenants' pods take their priority from Kueue (label kueue.x-k8s.io/priority-class), "
                "not from spec.priorityClassName",
            ),
        ),
        namespace_selector=TENANT_NAMESPACES,
        guards="no other tenant can take a priority it was not granted to preempt its work",
    )


def node_isolation(rules: IsolationRules) -> Policy:
    """A node's own identity cannot change the labels and taints that decide isolation."""
    dedicated = rules.get("dedicated", [])
    taint_keys = sorted({t["key"] for d in dedicated for t in d["taints"]})
    required = [
        {"names": d["node_names"], "key": t["key"], "value": t["value"], "effect": t["effect"]}
        for d in dedicated
        for t in d["taints"]
    ]
    labels_of = "(has({o}.metadata.labels) && k in {o}.metadata.labels ? {o}.metadata.labels[k] : '')"
    taints_of = "(has({o}.spec.taints) ? {o}.spec.taints.filter(t, t.key in variables.taintKeys) : [])"
    return Policy(
        name="gigafactory-node-isolation",
        resources=(("", "nodes"),),
        operations=("CREATE", "UPDATE", "DELETE"),
        match_conditions=(("node-identity", f"request.userInfo.username.startsWith('{NODE_USER_PREFIX}')"),),
        variables=(
            ("protectedLabels", cel(list(PLACEMENT_LABELS))),
            ("taintKeys", cel(taint_keys)),
            ("required", cel(required)),
        ),
        validations=(
            Validation(
                "request.operation != 'UPDATE' || variables.protectedLabels.all(k, "
                f"{labels_of.format(o='object')} == {labels_of.format(o='oldObject')})",
                "a node may not change its pool or tenant labels: they are written by the control plane",
            ),
            Validation(
                f"request.operation != 'UPDATE' || {taints_of.format(o='object')} == {taints_of.format(o='oldObject')}",
                "a node may not change the taints that keep other tenants off dedicated pools",
            ),
            Validation(
                "request.operation != 'CREATE' || !has(object.metadata.labels) || "
                "!variables.protectedLabels.exists(k, k in object.metadata.labels)",
                "a node may not register with pool or tenant labels: they are written by the control plane",
            ),
            Validation(
                "request.operation != 'CREATE' || variables.required.all(r, !object.metadata.name.matches(r.names) || "
                "(has(object.spec.taints) && object.spec.taints.exists(t, t.key == r.key && "
                "(has(t.value) ? t.value : '') == r.value && t.effect == r.effect)))",
                "a node of a dedicated pool must register with the pool's taints (kubelet --register-with-taints)",
            ),
            Validation(
                "request.operation != 'DELETE' || "
                "!variables.required.exists(r, oldObject.metadata.name.matches(r.names))",
                "a node of a dedicated pool may not delete its own Node object (it would re-register untainted)",
            ),
        ),
        guards="a compromised node cannot relabel or untaint itself into or out of its pool",
    )


def tenant_claims(rules: IsolationRules) -> Policy:
    """A tenant's claims are provisioned from its storage classes, never bound to a named volume."""
    del rules
    return Policy(
        name="gigafactory-tenant-claims",
        resources=(("", "persistentvolumeclaims"),),
        operations=("CREATE", "UPDATE"),
        variables=(),
        validations=(
            Validation(
                f"request.userInfo.username == '{PV_BINDER}' || !has(object.spec.volumeName) || "
                "object.spec.volumeName == '' || (request.operation == 'UPDATE' && has(oldObject.spec.volumeName) "
                "&& oldObject.spec.volumeName == object.spec.volumeName)",
                "spec.volumeName binds a claim to a named volume (possibly another tenant's retained data); "
                "claim from a storage class instead",
            ),
        ),
        namespace_selector=TENANT_NAMESPACES,
        guards="no other tenant can bind a claim to its volumes",
    )


def isolation_policies(rules: IsolationRules) -> list[Policy]:
    """Every policy for ``rules``, in a stable order."""
    return [
        dedicated_nodes(rules),
        tenant_networks(rules),
        no_external_ips(rules),
        priority_classes(rules),
        node_isolation(rules),
        tenant_claims(rules),
    ]
