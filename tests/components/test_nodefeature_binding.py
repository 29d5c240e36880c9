"""The policy that binds each NodeFeature to its node's identity, run by a real CEL engine.

NodeFeatureRules match the node name nfd-worker publishes (NFD v0.19.0 source/system/system.go),
so a compromised node could claim another node's name, or publish an isolation label of its own,
unless admission refuses it. The validations run in Google's cel-cpp (``cel-expr-python``, with
the strings extension Kubernetes enables); which policy applies to which request (match
constraints, the namespace selector) is Kubernetes' rule, checked here on the policy's fields.
"""

from __future__ import annotations

from typing import Any

import pytest

from components.compute.node_identity import (
    NODE_FEATURE_NODE_LABEL,
    RESTRICTED_LABEL_NS,
    TOKEN_NODE_EXTRA,
    nodefeature_binding_policy,
)

cel = pytest.importorskip("cel_expr_python.cel", reason="the CEL engine is in the test extra")
ext_strings = pytest.importorskip("cel_expr_python.ext.ext_strings")

NAMESPACE = "node-feature-discovery"
WORKER = f"system:serviceaccount:{NAMESPACE}:node-feature-discovery-worker"


def _denials(obj: dict[str, Any], node: str | None) -> list[str]:
    policy, binding = nodefeature_binding_policy(NAMESPACE)
    assert binding == {"validationActions": ["Deny"]} and policy["failurePolicy"] == "Fail"
    env = cel.NewEnv(
        variables={name: cel.Type.DYN for name in ("object", "request")}, extensions=[ext_strings.ExtStrings()]
    )
    extra = {TOKEN_NODE_EXTRA: [node]} if node is not None else {}
    request = {"userInfo": {"username": WORKER, "extra": extra}, "namespace": NAMESPACE}
    denied = []
    for validation in policy["validations"]:
        value = env.compile(validation["expression"]).eval(data={"object": obj, "request": request})
        plain = value.plain_value()
        # An error (a missing key) denies too: failurePolicy Fail.
        if value.type() == cel.Type.ERROR or isinstance(plain, Exception) or plain is not True:
            denied.append(validation["message"])
    return denied


def _node_feature(name: str, *, claims: str | None = None, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "nfd.k8s-sigs.io/v1alpha1",
        "kind": "NodeFeature",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {NODE_FEATURE_NODE_LABEL: name}},
        "spec": {
            "features": {"attributes": {"system.name": {"elements": {"nodename": claims or name}}}},
            "labels": labels or {},
        },
    }


def test_a_worker_writes_its_own_node_s_features() -> None:
    assert _denials(_node_feature("gpu-001"), node="gpu-001") == []


@pytest.mark.parametrize(
    ("obj", "node", "denied_by"),
    [
        (_node_feature("clin-001"), "gpu-001", "is named after the node"),  # another node's NodeFeature
        (_node_feature("gpu-001", claims="clin-001"), "gpu-001", "feature must name the node"),
        (
            _node_feature("gpu-001", labels={f"{RESTRICTED_LABEL_NS}/tenant": "oslo-hospital"}),
            "gpu-001",
            "come from NodeFeatureRules only",
        ),
        (_node_feature("gpu-001"), None, "token bound to its node"),
    ],
)
def test_a_compromised_node_cannot_claim_another_identity(
    obj: dict[str, Any], node: str | None, denied_by: str
) -> None:
    assert any(denied_by in message for message in _denials(obj, node)), _denials(obj, node)


def test_the_policy_covers_every_nodefeature_write_nfd_master_reads() -> None:
    policy, _ = nodefeature_binding_policy(NAMESPACE)
    (rule,) = policy["matchConstraints"]["resourceRules"]
    assert rule["apiGroups"] == ["nfd.k8s-sigs.io"] and rule["resources"] == ["nodefeatures"]
    assert set(rule["operations"]) == {"CREATE", "UPDATE"}
    selector = policy["matchConstraints"]["namespaceSelector"]
    assert selector == {"matchLabels": {"kubernetes.io/metadata.name": NAMESPACE}}, (
        "nfd-master reads only this namespace (restrictions.nodeFeatureNamespaceSelector)"
    )
