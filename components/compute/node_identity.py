"""How a pool's nodes get their labels and taints: Node Feature Discovery rules keyed by node name.

No resource per node, and nothing the project emits creates, patches or server-side-applies a
Node. Each scalable unit of a pool is one cluster-scoped ``NodeFeatureRule``
(``nfd.k8s-sigs.io/v1alpha1``) holding one rule per rack of the unit: the rule matches the rack's
node names (feature ``system.name``, element ``nodename``) and sets every label the pool's nodes
carry (pool, GPU model, purpose, tenant, GPU sharing, the config's extra labels, fabric pod, block,
rack and leaf group) and the pool's taints. nfd-master, a control-plane identity, writes them:

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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from components.compute.gpu_sharing import sharing_labels
from components.labels import (
    GPU_MODEL_LABEL,
    ISOLATION_POOL_LABEL,
    ISOLATION_TENANT_LABEL,
    POOL_LABEL,
    PURPOSE_LABEL,
    TENANT_LABEL,
    taint_dict,
)
from infra.config.schema import NodePool, Taint
from infra.plan.topology import BLOCK_LABEL, LEAF_GROUP_LABEL, POD_LABEL, RACK_LABEL, NodeTopology

NFD_API = "nfd.k8s-sigs.io/v1alpha1"
NODE_FEATURE_RULE = "NodeFeatureRule"
NODE_FEATURE = "NodeFeature"
# The feature nfd-worker publishes with the node's name (NFD v0.19.0 source/system/system.go).
NODE_NAME_FEATURE = "system.name"
NODE_NAME_ELEMENT = "nodename"
# The label nfd-master reads to know which node a NodeFeature describes
# (NFD v0.19.0 api/nfd/v1alpha1/annotations_labels.go, NodeFeatureObjNodeNameLabel).
NODE_FEATURE_NODE_LABEL = "nfd.node.kubernetes.io/node-name"
# The user-info extra a pod-bound service-account token carries (KEP-4193, GA in Kubernetes 1.32).
TOKEN_NODE_EXTRA = "authentication.kubernetes.io/node-name"
RESTRICTED_LABEL_NS = "node-restriction.kubernetes.io"
TOPOLOGY_LABELS = (POD_LABEL, BLOCK_LABEL, RACK_LABEL, LEAF_GROUP_LABEL)

WRITER_NFD = "nfd-master (NodeFeatureRule by node name)"
WRITER_KUBELET = "kubelet --register-with-taints at join (gigafactory inventory)"


def pool_labels(pool: NodePool) -> dict[str, str]:
    """The labels every node of ``pool`` carries, whatever its place in the fabric."""
    return {
        POOL_LABEL: pool.name,
        GPU_MODEL_LABEL: pool.gpu_model.value,
        PURPOSE_LABEL: pool.purpose,
        **({TENANT_LABEL: pool.dedicated_to} if pool.dedicated_to else {}),
        # What decides isolation, under node-restriction.kubernetes.io/ (components.labels).
        ISOLATION_POOL_LABEL: pool.name,
        **({ISOLATION_TENANT_LABEL: pool.dedicated_to} if pool.dedicated_to else {}),
        **sharing_labels(pool),
        **pool.labels,
    }


def register_with_taints(taints: tuple[Taint, ...]) -> str:
    """The kubelet's ``--register-with-taints`` value (``key=value:Effect,...``), '' for none."""
    return ",".join(f"{t.key}={t.value}:{t.effect}" for t in taints)


@dataclass(frozen=True)
class UnitRule:
    """The ``NodeFeatureRule`` of one scalable unit: its name and its ``spec``."""

    name: str
    block: str
    nodes: int
    spec: dict[str, Any]


def unit_rules(pool: NodePool, where: Callable[[NodePool, int], NodeTopology]) -> list[UnitRule]:
    """One ``UnitRule`` per scalable unit of ``pool``, each with one rule per rack it spans.

    ``where`` places node ``position`` in the fabric (the site plan's ``node_topology``).
    """
    base = pool_labels(pool)
    taints = [taint_dict(t.as_args()) for t in pool.taints]
    units: dict[str, dict[str, list[str]]] = {}
    first: dict[tuple[str, str], NodeTopology] = {}
    for position in range(pool.nodes):
        topology = where(pool, position)
        units.setdefault(topology.block, {}).setdefault(topology.rack, []).append(topology.hostname)
        first.setdefault((topology.block, topology.rack), topology)
    rules = []
    for block, racks in units.items():
        body = [_rack_rule(first[(block, rack)], names, base, taints) for rack, names in racks.items()]
        rules.append(UnitRule(name=block, block=block, nodes=sum(len(n) for n in racks.values()), spec={"rules": body}))
    return rules


def _rack_rule(
    topology: NodeTopology, names: list[str], base: dict[str, str], taints: list[dict[str, Any]]
) -> dict[str, Any]:
    labels = {**base, BLOCK_LABEL: topology.block, RACK_LABEL: topology.rack, LEAF_GROUP_LABEL: topology.leaf_group}
    if topology.pod is not None:
        labels[POD_LABEL] = topology.pod
    rule: dict[str, Any] = {
        "name": topology.rack,
        "labels": labels,
        "matchFeatures": [
            {"feature": NODE_NAME_FEATURE, "matchExpressions": {NODE_NAME_ELEMENT: {"op": "In", "value": names}}}
        ],
    }
    if taints:
        rule["taints"] = taints
    return rule


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
