"""Which input changes make Pulumi replace a resource rather than update it in place.

Each rule names its source. The tables follow the providers the real ``pulumi up`` runs:

- pulumi-kubernetes ``provider/pkg/provider/diff.go`` (``forceNew``): for every object
  ``.metadata.name`` and ``.metadata.namespace``; per kind the fields listed below.
- pulumi-kubernetes ``provider/pkg/provider/helm_release.go`` (``Diff``): a Helm Release is replaced
  when its ``name`` or ``namespace`` changes; anything else is a ``helm upgrade``.
- pulumi-kubernetes ``DiffConfig`` (``provider_diffconfig_test.go``): a Provider is replaced when its
  ``clusterIdentifier`` changes, or when ``context``/``cluster``/``kubeconfig`` point at another
  cluster and no ``clusterIdentifier`` pins it; Pulumi then replaces every resource it manages
  (pulumi ``pkg/resource/deploy/step_generator.go``, ``providerChanged``).
- The Kubernetes API server, where it refuses an update that the provider would attempt:
  PersistentVolumeClaim ``spec`` is immutable except ``resources.requests`` ("spec: Forbidden: is
  immutable after creation except resources.requests for bound claims"; a size increase expands
  the volume in place, pulumi-kubernetes PR #1705), StorageClass ``reclaimPolicy`` and
  ``volumeBindingMode`` (``ValidateStorageClassUpdate``: "updates to ... are forbidden"), and the
  ``self == oldSelf`` validation rules of the Kueue v1beta2 CRDs: Topology ``spec.levels``,
  LocalQueue ``spec.clusterQueue``, and a ResourceFlavor's ``spec.nodeLabels``, ``tolerations``
  and ``topologyName`` once it has a ``topologyName``.

A type change is never an update: the type is part of the URN, so it shows as delete + create.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

PULUMI_K8S_FORCE_NEW = "pulumi-kubernetes forceNew (provider/pkg/provider/diff.go)"
KUBERNETES_API = "Kubernetes API: field immutable after creation"
KUEUE_CRD = "Kubernetes API: Kueue v1beta2 CRD validation rule, field immutable"
HELM_RELEASE = "pulumi-kubernetes Helm Release Diff (helm_release.go)"
PROVIDER_DIFF_CONFIG = "pulumi-kubernetes Provider DiffConfig"
PROVIDER_TYPE = "pulumi:providers:kubernetes"


@dataclass(frozen=True)
class ReplaceRule:
    """Changes under ``paths`` replace the resource, except changes under ``unless``.

    With ``when_old_has``, the rule holds only where the old inputs have that (dotted) field.
    """

    paths: tuple[str, ...]
    source: str
    unless: tuple[str, ...] = ()
    when_old_has: str = ""


_METADATA = ReplaceRule(("metadata.name", "metadata.namespace"), PULUMI_K8S_FORCE_NEW)
_SELECTOR = ("spec.selector",)
_CONTAINER_FIELDS = (
    "args",
    "command",
    "env",
    "image",
    "imagePullPolicy",
    "lifecycle",
    "livenessProbe",
    "ports",
    "readinessProbe",
    "resources",
    "securityContext",
    "volumeMounts",
    "workingDir",
)

# (API group, kind) -> rules; "" is the core group. Versions are not distinguished: the kinds a
# site uses are all at their v1 (or only) version, where the table applies.
KIND_RULES: dict[tuple[str, str], tuple[ReplaceRule, ...]] = {
    ("", "ConfigMap"): (ReplaceRule(("data", "binaryData"), PULUMI_K8S_FORCE_NEW),),
    ("", "Secret"): (ReplaceRule(("type", "stringData", "data"), PULUMI_K8S_FORCE_NEW),),
    ("", "PersistentVolumeClaim"): (
        ReplaceRule(("spec",), f"{PULUMI_K8S_FORCE_NEW}; {KUBERNETES_API}", unless=("spec.resources.requests",)),
    ),
    ("", "PersistentVolume"): (
        ReplaceRule(
            tuple(
                f"spec.{source}"
                for source in ("csi", "nfs", "hostPath", "local", "cephfs", "rbd", "iscsi", "fc", "flexVolume")
            ),
            PULUMI_K8S_FORCE_NEW,
        ),
    ),
    ("", "Pod"): (
        ReplaceRule(
            (
                *(f"spec.{c}[*].{f}" for c in ("containers", "initContainers") for f in _CONTAINER_FIELDS),
                *("spec.nodeName", "spec.nodeSelector", "spec.volumes", "spec.affinity", "spec.securityContext"),
            ),
            PULUMI_K8S_FORCE_NEW,
        ),
    ),
    ("", "ResourceQuota"): (ReplaceRule(("spec.scopes",), PULUMI_K8S_FORCE_NEW),),
    ("", "Service"): (ReplaceRule(("spec.clusterIP",), PULUMI_K8S_FORCE_NEW),),
    ("apps", "Deployment"): (ReplaceRule(_SELECTOR, PULUMI_K8S_FORCE_NEW),),
    ("apps", "DaemonSet"): (ReplaceRule(_SELECTOR, KUBERNETES_API),),
    ("apps", "StatefulSet"): (
        ReplaceRule(
            (
                "spec.podManagementPolicy",
                "spec.revisionHistoryLimit",
                "spec.selector",
                "spec.serviceName",
                "spec.volumeClaimTemplates",
            ),
            PULUMI_K8S_FORCE_NEW,
        ),
    ),
    ("batch", "Job"): (
        ReplaceRule(("spec.completions", "spec.parallelism", "spec.selector", "spec.template"), PULUMI_K8S_FORCE_NEW),
    ),
    ("rbac.authorization.k8s.io", "RoleBinding"): (ReplaceRule(("roleRef",), PULUMI_K8S_FORCE_NEW),),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): (ReplaceRule(("roleRef",), PULUMI_K8S_FORCE_NEW),),
    ("storage.k8s.io", "StorageClass"): (
        ReplaceRule(("provisioner", "parameters"), PULUMI_K8S_FORCE_NEW),
        ReplaceRule(("reclaimPolicy", "volumeBindingMode"), KUBERNETES_API),
    ),
    ("kueue.x-k8s.io", "Topology"): (ReplaceRule(("spec.levels",), KUEUE_CRD),),
    ("kueue.x-k8s.io", "LocalQueue"): (ReplaceRule(("spec.clusterQueue",), KUEUE_CRD),),
    ("kueue.x-k8s.io", "ResourceFlavor"): (
        ReplaceRule(
            ("spec.nodeLabels", "spec.tolerations", "spec.topologyName"),
            f"{KUEUE_CRD} once topologyName is set",
            when_old_has="spec.topologyName",
        ),
    ),
}

TYPE_RULES: dict[str, tuple[ReplaceRule, ...]] = {
    "kubernetes:helm.sh/v3:Release": (ReplaceRule(("name", "namespace"), HELM_RELEASE),),
    "kubernetes:helm.sh/v4:Chart": (ReplaceRule(("name", "namespace"), HELM_RELEASE),),
    PROVIDER_TYPE: (ReplaceRule(("clusterIdentifier",), PROVIDER_DIFF_CONFIG),),
}

_INDEX = re.compile(r"\[\d+\]")


def _split(path: str) -> list[str]:
    return [part for part in re.split(r"\.|(?=\[)", _INDEX.sub("[*]", path)) if part]


def _overlaps(changed: str, rule_path: str) -> bool:
    """True when ``changed`` lies under ``rule_path`` or contains it (a whole subtree changed)."""
    a, b = _split(changed), _split(rule_path)
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _under(changed: str, prefix: str) -> bool:
    a, b = _split(changed), _split(prefix)
    return len(a) >= len(b) and a[: len(b)] == b


def _has(inputs: Mapping[str, Any], dotted: str) -> bool:
    value: Any = inputs
    for key in dotted.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return False
        value = value[key]
    return True


def rules_for(resource_type: str, inputs: Mapping[str, Any]) -> tuple[ReplaceRule, ...]:
    """The replace rules of a resource of ``resource_type`` with ``inputs``."""
    if resource_type in TYPE_RULES:
        return TYPE_RULES[resource_type]
    if not resource_type.startswith("kubernetes:") or "kind" not in inputs:
        return ()
    api_version = str(inputs.get("apiVersion", ""))
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    return (_METADATA, *KIND_RULES.get((group, str(inputs["kind"])), ()))


def replace_reasons(
    resource_type: str,
    old_inputs: Mapping[str, Any],
    new_inputs: Mapping[str, Any],
    changed_paths: Iterable[str],
    replace_on_changes: Iterable[str] = (),
) -> list[tuple[str, str]]:
    """``(changed path, source)`` for every change that forces a replacement (empty: in place)."""
    rules = [r for r in rules_for(resource_type, new_inputs) if not r.when_old_has or _has(old_inputs, r.when_old_has)]
    if replace_on_changes:
        rules.append(ReplaceRule(tuple(replace_on_changes), "replaceOnChanges resource option"))
    reasons: list[tuple[str, str]] = []
    changed = list(changed_paths)
    for path in changed:
        for rule in rules:
            if any(_overlaps(path, p) for p in rule.paths) and not any(_under(path, u) for u in rule.unless):
                reasons.append((path, rule.source))
                break
    if resource_type == PROVIDER_TYPE and not reasons:
        cluster_moved = [p for p in changed if p.split(".")[0] in ("context", "cluster", "kubeconfig")]
        pinned = "clusterIdentifier" in old_inputs and old_inputs.get("clusterIdentifier") == new_inputs.get(
            "clusterIdentifier"
        )
        if cluster_moved and not pinned:
            reasons += [(p, f"{PROVIDER_DIFF_CONFIG}: another cluster, no clusterIdentifier") for p in cluster_moved]
    return reasons
