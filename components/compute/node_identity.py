"""How a pool's nodes get their labels and taints: Node Feature Discovery rules keyed by node name.

No resource per node, and nothing the project emits creates, patches or server-side-applies a
Node. Each scalable unit of a pool is one cluster-scoped ``NodeFeatureRule``
(``nfd.k8s-sigs.io/v1alpha1``) holding one rule that matches the unit's node names (feature
``system.name``, element ``nodename``, operator ``InRegexp`` with one anchored alternation of the
names) and sets, once for the unit, every label its nodes share (pool, GPU model, purpose, tenant,
GPU sharing, the config's extra labels, fabric pod, block and leaf group) and the pool's taints.
The labels that differ inside the unit (the rack) come from the rule's ``labelsTemplate``: a Go
template over the matched node name, one ``if eq .Value "<name>" ...`` branch per rack. One rule
per unit keeps the plan small (a rule per rack repeated the pool's labels some 3,000 times at
100,000 GPUs) and gives nfd-master a few hundred rules to evaluate per node instead of thousands.
NFD v0.19.0 ``pkg/apis/nfd/nodefeaturerule/expression.go`` (``InRegexp``: Go ``regexp``
``MatchString``, so the pattern is anchored), ``rule.go`` (``Execute``: the template runs on the
matched elements, then the static ``labels`` are copied over it) and
``pkg/apis/nfd/template/template.go`` (text/template, lines of ``key=value``, at most
``MaxTemplateSize`` bytes: a unit whose template would be larger is split into several rules).
nfd-master, a control-plane identity, writes them:

- labels by JSON patch of the labels it owns, listed in its own annotation
  (node-feature-discovery v0.19.0 ``pkg/nfd-master/nfd-master.go``, ``updateNodeObject``);
- taints only with ``enableTaints`` (same file, ``refreshNodeFeatures``), through
  ``controller.PatchNodeTaints``: a strategic-merge patch that adds or removes only the taints
  recorded in its ``nfd.node.kubernetes.io/taints`` annotation (``setTaints``), so the kubelet's
  registration taints, the node controller's ``node.kubernetes.io/*`` taints and acceptance's
  quarantine taint are never touched — no fight over the atomic ``spec.taints`` list;
- labels under ``node-restriction.kubernetes.io/`` only when nfd-master's ``extraLabelNs`` lists
  that namespace (``filterFeatureLabel``; ``pkg/apis/nfd/validate/validate.go`` denies every
  ``*.kubernetes.io`` namespace otherwise). The kubelet cannot set them (NodeRestriction).

A rule only acts on a Node that exists and runs nfd-worker, so a node that has not joined gets
nothing: no phantom Node. The node name a rule matches is published by the node's own nfd-worker
(``source/system/system.go``: ``system.name.nodename`` from ``NODE_NAME``), so it is bound to the
node's kubelet identity by an admission policy (``nodefeature_binding_policy``): a worker may
write only the NodeFeature of the node its service-account token is bound to
(``authentication.kubernetes.io/node-name``), naming that node, and never a
``node-restriction.kubernetes.io/`` label of its own.

Pools with taints also register with them (kubelet ``--register-with-taints``, from
``gigafactory inventory``'s host vars), so no pod lands between join and nfd-master's first pass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from typing_extensions import NotRequired

from components.compute.gpu_sharing import sharing_labels
from components.labels import (
    GPU_MODEL_LABEL,
    ISOLATION_POOL_LABEL,
    ISOLATION_TENANT_LABEL,
    NODE_RESTRICTION_NS,
    POOL_LABEL,
    PURPOSE_LABEL,
    TENANT_LABEL,
    Taint,
    taint_dict,
)
from components.topology import PoolRack, rack_labels

NFD_API = "nfd.k8s-sigs.io/v1alpha1"
NODE_FEATURE_RULE = "NodeFeatureRule"
# The feature nfd-worker publishes with the node's name (NFD v0.19.0 source/system/system.go).
NODE_NAME_FEATURE = "system.name"
NODE_NAME_ELEMENT = "nodename"
# The label nfd-master reads to know which node a NodeFeature describes
# (NFD v0.19.0 api/nfd/v1alpha1/annotations_labels.go, NodeFeatureObjNodeNameLabel).
NODE_FEATURE_NODE_LABEL = "nfd.node.kubernetes.io/node-name"
# The user-info extra a pod-bound service-account token carries (KEP-4193, GA in Kubernetes 1.32).
TOKEN_NODE_EXTRA = "authentication.kubernetes.io/node-name"
RESTRICTED_LABEL_NS = NODE_RESTRICTION_NS  # as nfd-master's extraLabelNs names it: no trailing '/'
# nfd-master refuses a longer labelsTemplate (NFD v0.19.0 pkg/apis/nfd/template/template.go, MaxTemplateSize).
MAX_TEMPLATE_BYTES = 64 * 1024
_NOT_LITERAL = re.compile(r"[^A-Za-z0-9-]")

WRITER_NFD = "nfd-master (NodeFeatureRule by node name)"
WRITER_KUBELET = "kubelet --register-with-taints at join (gigafactory inventory)"


class PoolIdentity(TypedDict):
    """What a pool's nodes are: the part of ``GpuNodePoolArgs`` their common labels come from."""

    pool: str
    """Pool name (``gigafactory.eu/pool``)."""

    gpu_model: str
    """GPU model (``gigafactory.eu/gpu-model``), e.g. ``B200``."""

    purpose: str
    """What the pool is for (``gigafactory.eu/purpose``): ``training``, ``inference`` or ``regulated``."""

    dedicated_to: NotRequired[str | None]
    """Tenant that owns every node of the pool (``gigafactory.eu/tenant``); absent or None: shared."""

    gpu_sharing: NotRequired[str]
    """How the GPUs are shared: ``mig``, ``time-slicing`` or ``none`` (default)."""

    labels: NotRequired[dict[str, str]]
    """Extra node labels; default none."""


def pool_labels(identity: PoolIdentity) -> dict[str, str]:
    """The labels every node of the pool carries, whatever its place in the fabric."""
    pool, tenant = identity["pool"], identity.get("dedicated_to")
    return {
        POOL_LABEL: pool,
        GPU_MODEL_LABEL: identity["gpu_model"],
        PURPOSE_LABEL: identity["purpose"],
        **({TENANT_LABEL: tenant} if tenant else {}),
        # What decides isolation, under node-restriction.kubernetes.io/ (components.labels).
        ISOLATION_POOL_LABEL: pool,
        **({ISOLATION_TENANT_LABEL: tenant} if tenant else {}),
        **sharing_labels(pool, identity.get("gpu_sharing", "none")),
        **identity.get("labels", {}),
    }


def register_with_taints(taints: Iterable[Taint]) -> str:
    """The kubelet's ``--register-with-taints`` value (``key=value:Effect,...``), '' for none."""
    return ",".join(f"{t['key']}={t['value']}:{t['effect']}" for t in taints)


@dataclass(frozen=True)
class UnitRule:
    """The ``NodeFeatureRule`` of one scalable unit: its name and its ``spec``."""

    name: str
    block: str
    nodes: int
    spec: dict[str, Any]


def unit_rules(racks: Iterable[PoolRack], labels: Mapping[str, str], taints: Iterable[Taint]) -> list[UnitRule]:
    """One ``UnitRule`` per scalable unit (fabric block) of ``racks``: its nodes by name, their labels and taints.

    ``labels`` and ``taints`` are the pool's (``pool_labels``); each node also gets its rack's place.
    """
    node_taints = [taint_dict(t) for t in taints]
    units: dict[str, list[PoolRack]] = {}
    for rack in racks:
        units.setdefault(rack["block"], []).append(rack)
    return [
        UnitRule(
            name=block,
            block=block,
            nodes=sum(len(rack["nodes"]) for rack in members),
            spec={"rules": _unit_rules(block, members, dict(labels), node_taints)},
        )
        for block, members in units.items()
    ]


def _unit_rules(
    name: str, racks: list[PoolRack], base: dict[str, str], taints: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    placed = [(rack["nodes"], rack_labels(rack)) for rack in racks]
    first = placed[0][1]
    shared = {key: value for key, value in first.items() if all(labels.get(key) == value for _, labels in placed)}
    # Racks that differ from the unit in the same way (one rack, listed in pieces) form one branch.
    groups: list[tuple[dict[str, str], list[str]]] = []
    for nodes, labels in placed:
        own = {key: value for key, value in labels.items() if key not in shared}
        if groups and groups[-1][0] == own:
            groups[-1][1].extend(nodes)
        else:
            groups.append((own, list(nodes)))
    chunks = _chunks(groups)
    return [
        _rule(name if len(chunks) == 1 else f"{name}-{index}", chunk, {**base, **shared}, taints)
        for index, chunk in enumerate(chunks)
    ]


def _chunks(groups: list[tuple[dict[str, str], list[str]]]) -> list[list[tuple[dict[str, str], list[str]]]]:
    """``groups`` split so that each rule's template stays within nfd-master's limit."""
    budget = MAX_TEMPLATE_BYTES - len(_TEMPLATE_HEAD) - len(_TEMPLATE_TAIL)
    chunks: list[list[tuple[dict[str, str], list[str]]]] = [[]]
    size = 0
    for labels, names in groups:
        # Each name adds itself quoted and a space to its branch's `eq`.
        empty = len(_branch((labels, []), first=False))
        for name in names:
            grows = len(_go_string(name)) + 1
            if chunks[-1] and chunks[-1][-1][0] is labels and size + grows <= budget:
                chunks[-1][-1][1].append(name)
            elif size + empty + grows <= budget or not chunks[-1]:
                chunks[-1].append((labels, [name]))
                size += empty
            else:
                chunks.append([(labels, [name])])
                size = empty
            size += grows
    return chunks


def _rule(
    name: str, groups: list[tuple[dict[str, str], list[str]]], labels: dict[str, str], taints: list[dict[str, Any]]
) -> dict[str, Any]:
    names = [hostname for _, hostnames in groups for hostname in hostnames]
    rule: dict[str, Any] = {"name": name, "labels": labels}
    if any(own for own, _ in groups):
        rule["labelsTemplate"] = labels_template(groups)
    rule["matchFeatures"] = [
        {
            "feature": NODE_NAME_FEATURE,
            "matchExpressions": {NODE_NAME_ELEMENT: {"op": "InRegexp", "value": [names_pattern(names)]}},
        }
    ]
    if taints:
        rule["taints"] = taints
    return rule


def names_pattern(names: list[str]) -> str:
    """A Go regular expression that matches exactly ``names`` (``InRegexp`` is unanchored otherwise)."""
    escape = _NOT_LITERAL.search("".join(names)) is not None  # host names, the common case, need none
    return "^(?:" + "|".join(map(_literal, names) if escape else names) + ")$"


def pattern_names(pattern: str) -> list[str] | None:
    """The names a ``names_pattern`` pattern matches; None for a pattern it did not write."""
    if not (pattern.startswith("^(?:") and pattern.endswith(")$")):
        return None
    names = ["".join(part.split("\\")) for part in pattern[4:-2].split("|")]
    return names if names_pattern(names) == pattern else None


def _literal(name: str) -> str:
    # Host names are letters, digits and '-', literal in RE2 outside a class; anything else is
    # escaped (Go's regexp/syntax takes any escaped punctuation as itself).
    return _NOT_LITERAL.sub(r"\\\g<0>", name)


def _go_string(name: str) -> str:
    # A Go string literal; JSON's quoting is Go's, and a host name needs none of it.
    return f'"{name}"' if _NOT_LITERAL.search(name) is None else json.dumps(name)


_TEMPLATE_HEAD = "{{- range .system.name }}\n"
_TEMPLATE_TAIL = "{{- end }}\n{{- end }}\n"


def _branch(group: tuple[dict[str, str], list[str]], *, first: bool) -> str:
    labels, names = group
    # Go text/template's `eq` compares its first argument with each of the others.
    test = " ".join(["eq .Value", *map(_go_string, names)])
    lines = "".join(f"{key}={value}\n" for key, value in labels.items())
    return f"{{{{- {'if' if first else 'else if'} {test} }}}}\n{lines}"


def labels_template(groups: list[tuple[dict[str, str], list[str]]]) -> str:
    """The ``labelsTemplate`` writing each group's labels on the group's nodes.

    nfd-master runs it on the rule's matched features: ``.system.name`` holds the one element the
    name expression matched, whose ``.Value`` is the node's name; its output is ``key=value`` lines.
    """
    branches = "".join(_branch(group, first=index == 0) for index, group in enumerate(groups))
    return _TEMPLATE_HEAD + branches + _TEMPLATE_TAIL


def nodefeature_binding_policy(namespace: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``spec`` of a ValidatingAdmissionPolicy binding NodeFeatures to their node, and of its binding.

    nfd-master reads only the NodeFeatures in ``namespace`` (its ``nodeFeatureNamespaceSelector``).
    There, a create or update must come from a service-account token bound to a pod on the node
    the object describes (Kubernetes sets ``authentication.kubernetes.io/node-name`` in the user
    info of such tokens; the node authorizer lets a kubelet request tokens only for pods on its
    own node), its name and ``nfd.node.kubernetes.io/node-name`` label must be that node, its
    ``system.name`` feature must say that node, and it may carry no label under
    ``node-restriction.kubernetes.io/`` (nfd-master would publish it: ``extraLabelNs`` applies to
    every label source). Without this, a compromised node's nfd-worker token could claim another
    node's name and match that node's rules.
    """
    node = f"request.userInfo.extra[{TOKEN_NODE_EXTRA!r}][0]"
    features = "object.spec.features.attributes"
    validations = [
        {
            "expression": f"has(request.userInfo.extra) && {TOKEN_NODE_EXTRA!r} in request.userInfo.extra",
            "message": "NodeFeatures are written only by nfd-worker with a token bound to its node",
        },
        {
            "expression": f"object.metadata.name == {node}",
            "message": "a NodeFeature is named after the node whose token writes it",
        },
        {
            "expression": (
                f"has(object.metadata.labels) && {NODE_FEATURE_NODE_LABEL!r} in object.metadata.labels && "
                f"object.metadata.labels[{NODE_FEATURE_NODE_LABEL!r}] == {node}"
            ),
            "message": f"{NODE_FEATURE_NODE_LABEL} must name the node whose token writes the NodeFeature",
        },
        {
            "expression": (
                f"!has(object.spec.features) || !has(object.spec.features.attributes) || "
                f"!({NODE_NAME_FEATURE!r} in {features}) || "
                f"{features}[{NODE_NAME_FEATURE!r}].elements[{NODE_NAME_ELEMENT!r}] == {node}"
            ),
            "message": f"the {NODE_NAME_FEATURE} feature must name the node whose token writes it",
        },
        {
            "expression": (
                f"!has(object.spec.labels) || object.spec.labels.all(k, !k.startsWith('{RESTRICTED_LABEL_NS}/'))"
            ),
            "message": f"labels under {RESTRICTED_LABEL_NS}/ come from NodeFeatureRules only",
        },
    ]
    policy = {
        "failurePolicy": "Fail",
        "matchConstraints": {
            "resourceRules": [
                {
                    "apiGroups": ["nfd.k8s-sigs.io"],
                    "apiVersions": ["v1alpha1"],
                    "operations": ["CREATE", "UPDATE"],
                    "resources": ["nodefeatures"],
                }
            ],
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
        },
        "validations": validations,
    }
    return policy, {"validationActions": ["Deny"]}
