"""A site's rendered state as the API server would enforce it, and the decision on each attempt.

``Cluster`` holds the Kubernetes objects the site's plan renders (the real composition on Pulumi's
mock runtime) and Kueue's configuration from its Helm values. ``Cluster.decide`` sends an attempt
through what enforces it, in the API server's order: the authorizer (RBAC evaluator), admission
(NodeRestriction and Pod Security evaluators, the ValidatingAdmissionPolicies in the real CEL
engine, the ResourceQuota evaluator), then Kueue (evaluator) for workloads and the NetworkPolicy
evaluator for connections. Every stage is run, so a decision names every object that denied it.
Built-in controls that are not objects (the RBAC authorizer's default deny, the NodeRestriction
plugin) are named too, as ``("Builtin", "", name)``, and can be switched off like objects removed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import kueue_evaluator
import netpol_evaluator
import psa_evaluator
import quota_evaluator
import rbac_evaluator
import yaml
from vap_evaluator import PolicySet, Request

from components.labels import NODE_RESTRICTION_PREFIX
from infra.engine.manifests import is_kubernetes_object, is_patch, manifest
from infra.engine.recording import RecordedPlan

Ref = tuple[str, str, str]
RBAC_DEFAULT_DENY: Ref = ("Builtin", "", "rbac-default-deny")
NODE_RESTRICTION: Ref = ("Builtin", "", "NodeRestriction")
KUEUE_CONFIG: Ref = ("HelmValues", "kueue-system", "kueue")


@dataclass(frozen=True)
class Attempt:
    """An attack: a request to the API server, a job to Kueue, or a connection between pods."""

    name: str
    attacker: str
    victim: str
    request: Request | None = None
    verb: str = ""
    connection: tuple[netpol_evaluator.Endpoint, netpol_evaluator.Endpoint, int] | None = None


@dataclass(frozen=True)
class Decision:
    """``denied``, ``held`` (Kueue keeps it suspended) or ``allowed``, and every object that decided it."""

    outcome: str
    deciders: tuple[Ref, ...]
    reasons: tuple[str, ...] = ()


@dataclass
class Cluster:
    """The objects of a rendered site and the controls it runs."""

    objects: list[dict[str, Any]]
    kueue: dict[str, Any]
    off: frozenset[Ref] = field(default_factory=frozenset)

    @classmethod
    def of_plan(cls, plan: RecordedPlan) -> Cluster:
        """The state ``plan`` renders (patches of existing objects left out)."""
        objects = [manifest(r) for r in plan.resources if is_kubernetes_object(r) and not is_patch(r)]
        kueue: dict[str, Any] = {}
        for resource in plan.resources:
            if resource.type == "kubernetes:helm.sh/v3:Release" and resource.inputs.get("name") == "kueue":
                text = resource.inputs["values"]["managerConfig"]["controllerManagerConfigYaml"]
                kueue = yaml.safe_load(text)
        return cls(objects, kueue)

    def without(self, refs: tuple[Ref, ...]) -> Cluster:
        """This cluster with ``refs`` removed (objects) or switched off (built-in controls, Kueue's config)."""
        gone = set(refs)
        # A namespace named as a decider stands for its Pod Security label: that is removed, not the namespace.
        kept = [
            _without_pod_security(o) if _ref(o) in gone and o.get("kind") == "Namespace" else o for o in self.objects
        ]
        kept = [o for o in kept if o.get("kind") == "Namespace" or _ref(o) not in gone]
        kueue = {} if KUEUE_CONFIG in gone else self.kueue
        return replace(self, objects=kept, kueue=kueue, off=self.off | frozenset(r for r in gone if r[0] == "Builtin"))

    def namespaces(self) -> dict[str, dict[str, str]]:
        """Labels of every namespace, with the ``kubernetes.io/metadata.name`` the API server adds."""
        return {
            o["metadata"]["name"]: {
                **o["metadata"].get("labels", {}),
                "kubernetes.io/metadata.name": o["metadata"]["name"],
            }
            for o in self.objects
            if o.get("kind") == "Namespace"
        }

    def decide(self, attempt: Attempt) -> Decision:
        """What the cluster does with ``attempt``."""
        if attempt.connection is not None:
            source, destination, port = attempt.connection
            allowed, deciders = netpol_evaluator.connection(self.objects, source, destination, port, self.namespaces())
            return Decision("allowed" if allowed else "denied", tuple(deciders))
        assert attempt.request is not None
        return self._admit(attempt.request, attempt.verb or _verb(attempt.request.operation))

    def _admit(self, request: Request, verb: str) -> Decision:
        deciders: list[Ref] = []
        reasons: list[str] = []
        labels = self.namespaces().get(request.namespace, {})
        access = rbac_evaluator.Access(
            request.username, request.groups, verb, request.group, request.resource, request.namespace, request.name
        )
        if RBAC_DEFAULT_DENY not in self.off and not _authorized(self.objects, access):
            deciders.append(RBAC_DEFAULT_DENY)
            reasons.append(f"no Role or ClusterRole bound to {request.username} grants {verb} {request.resource}")
        if request.kind == "Node" and NODE_RESTRICTION not in self.off:
            found = _node_restriction(request)
            if found:
                deciders.append(NODE_RESTRICTION)
                reasons += found
        if request.kind == "Pod" and request.object is not None:
            found = psa_evaluator.violations(labels, request.object["spec"])
            if found:
                deciders.append(("Namespace", "", request.namespace))
                reasons.append(f"Pod Security: {', '.join(found)}")
        for denial in PolicySet.of(self.objects).admit(request, labels):
            deciders.append(("ValidatingAdmissionPolicy", "", denial.policy))
            reasons.append(f"{denial.policy}: {denial.message}")
        if request.object is not None and request.operation == "CREATE":
            for quota in quota_evaluator.exceeded(self.objects, {**request.object, "kind": request.kind}):
                deciders.append(quota)
                reasons.append(f"exceeds ResourceQuota {quota[1]}/{quota[2]}")
        if deciders:
            return Decision("denied", tuple(dict.fromkeys(deciders)), tuple(reasons))
        workload = request.kind in ("Job", "JobSet", "TrainJob") and request.object is not None
        if workload and kueue_evaluator.managed(self.kueue, request.object or {}, labels):
            return Decision("held", (KUEUE_CONFIG,), ("Kueue keeps it suspended until a queue admits it",))
        return Decision("allowed", ())


def _authorized(objects: list[dict[str, Any]], access: rbac_evaluator.Access) -> bool:
    # Kubelets are authorized by the Node authorizer: a node may read and write its own Node
    # (kubernetes.io/docs/reference/access-authn-authz/node); everyone else by RBAC.
    if access.user.startswith("system:node:"):
        return access.resource == "nodes" and access.name == access.user.removeprefix("system:node:")
    return bool(rbac_evaluator.granting_bindings(objects, access))


def _without_pod_security(namespace: dict[str, Any]) -> dict[str, Any]:
    labels = {k: v for k, v in namespace["metadata"].get("labels", {}).items() if not k.startswith("pod-security.")}
    return {**namespace, "metadata": {**namespace["metadata"], "labels": labels}}


def _verb(operation: str) -> str:
    return {"CREATE": "create", "UPDATE": "update", "DELETE": "delete", "GET": "get"}[operation]


def _ref(obj: Mapping[str, Any]) -> Ref:
    kind = obj.get("kind", "")
    if kind == "Namespace":
        return (kind, "", obj["metadata"]["name"])
    return (kind, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])


def _node_restriction(request: Request) -> list[str]:
    """The NodeRestriction admission plugin's rule on labels: a kubelet may not set node-restriction.kubernetes.io/.

    (k8s.io/kubernetes plugin/pkg/admission/noderestriction/admission.go, getForbiddenLabels.)
    """
    if not request.username.startswith("system:node:") or request.object is None:
        return []
    new = request.object["metadata"].get("labels") or {}
    old = (request.old_object or {}).get("metadata", {}).get("labels") or {}
    changed = [k for k in set(new) | set(old) if k.startswith(NODE_RESTRICTION_PREFIX) and new.get(k) != old.get(k)]
    return [f"NodeRestriction: a node may not set {', '.join(sorted(changed))}"] if changed else []
