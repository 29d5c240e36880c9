"""The isolation admission policies, one rule at a time.

Decisions here come from the real CEL engine (cel-cpp via cel-expr-python) running each policy's
expressions; which policy applies to a request (match rules, namespace selector, match conditions)
comes from the evaluator in vap_evaluator.py.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from vap_evaluator import Denial, PolicySet, Request, compile_cel, evaluate

from components.isolation.policies import IsolationRules, Policy, isolation_policies, node_name_pattern
from components.labels import ISOLATION_POOL_LABEL, ISOLATION_TENANT_LABEL, POOL_LABEL, TENANT_KIND_LABEL
from infra.config.loader import load_site
from infra.site import isolation_rules

REPO = Path(__file__).resolve().parents[2]
SITES = ("eu-pilot", "eu-gigafactory")
TENANT_NS = {TENANT_KIND_LABEL: "startup"}
HOSPITAL_NS = {TENANT_KIND_LABEL: "regulated", "kubernetes.io/metadata.name": "oslo-hospital"}
TAINT = {"key": "gigafactory.eu/tenant", "value": "oslo-hospital", "effect": "NoSchedule"}


@cache
def rules(site: str) -> IsolationRules:
    return isolation_rules(load_site(REPO / "site-configs" / f"{site}.yaml"))


@cache
def policies(site: str = "eu-pilot") -> PolicySet:
    objects: list[dict[str, Any]] = []
    for policy in isolation_policies(rules(site)):
        objects.append(
            {"kind": "ValidatingAdmissionPolicy", "metadata": {"name": policy.name}, "spec": policy.policy()}
        )
        objects.append(
            {"kind": "ValidatingAdmissionPolicyBinding", "metadata": {"name": policy.name}, "spec": policy.binding()}
        )
    return PolicySet.of(objects)


def pod(namespace: str = "fjord-ai", **spec: Any) -> dict[str, Any]:
    annotations = spec.pop("annotations", None)
    labels = spec.pop("labels", None)
    meta: dict[str, Any] = {"name": "p", "namespace": namespace}
    if annotations:
        meta["annotations"] = annotations
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": {"containers": [{"name": "c"}], **spec}}


def create_pod(obj: dict[str, Any], ns_labels: dict[str, str] | None = None) -> list[Denial]:
    namespace = obj["metadata"]["namespace"]
    request = Request("CREATE", "Pod", "pods", namespace=namespace, object=obj)
    return policies().admit(request, ns_labels if ns_labels is not None else TENANT_NS)


def denied_by(denials: list[Denial]) -> set[str]:
    return {d.policy for d in denials}


@pytest.mark.parametrize("site", SITES)
def test_every_expression_compiles_in_the_cel_engine(site: str) -> None:
    for policy in isolation_policies(rules(site)):
        spec = policy.policy()
        expressions = [v["expression"] for v in spec["variables"]]
        expressions += [c["expression"] for c in spec.get("matchConditions", [])]
        expressions += [v["expression"] for v in spec["validations"]]
        for expression in expressions:
            compile_cel(expression)  # raises with the engine's message


def test_policies_are_kubernetes_objects_that_fail_closed() -> None:
    for policy in isolation_policies(rules("eu-pilot")):
        spec = policy.policy()
        assert spec["failurePolicy"] == "Fail", policy.name
        assert policy.binding()["validationActions"] == ["Deny"], policy.name
        assert all(v["reason"] == "Forbidden" and v["message"] for v in spec["validations"]), policy.name


def test_engine_and_evaluator_are_not_vacuous() -> None:
    # The engine evaluates: a false rule is false, a missing field is an error (the API server's
    # failurePolicy: Fail turns that into a denial).
    assert evaluate("'a,b'.split(',').size() == 2 && 'X'.lowerAscii() == 'x'", {}) is True
    with pytest.raises(RuntimeError):
        evaluate("object.spec.missing == 1", {"object": {"spec": {}}})
    broken = Policy("broken", (("", "pods"),), ("CREATE",), (), ())
    spec = broken.policy()
    spec["validations"] = [{"expression": "object.spec.missing == 1", "message": "m"}]
    denials = PolicySet({"broken": spec}, {"b": broken.binding()}).admit(
        Request("CREATE", "Pod", "pods", namespace="x", object=pod("x")), {}
    )
    assert [d.message.startswith("evaluation error") for d in denials] == [True]


# -- dedicated nodes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "toleration",
    [
        TAINT,
        {"key": "gigafactory.eu/tenant", "operator": "Exists"},
        {"operator": "Exists"},
        {"key": "gigafactory.eu/tenant", "operator": "Equal", "value": "oslo-hospital"},
        {"operator": "Exists", "effect": "NoSchedule"},
    ],
)
def test_tolerating_another_tenants_dedicated_taint_is_denied(toleration: dict[str, Any]) -> None:
    assert denied_by(create_pod(pod(tolerations=[toleration]))) == {"gigafactory-dedicated-nodes"}


def test_tolerations_that_match_no_dedicated_taint_are_admitted() -> None:
    allowed = [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "gigafactory.eu/tenant", "operator": "Equal", "value": "fjord-ai"},
        {"operator": "Exists", "effect": "NoExecute"},
    ]
    assert create_pod(pod(tolerations=allowed)) == []


def test_the_owner_may_tolerate_its_own_taint() -> None:
    hospital = pod("oslo-hospital", tolerations=[TAINT])
    assert create_pod(hospital, HOSPITAL_NS) == []


@pytest.mark.parametrize(
    "selector",
    [
        {ISOLATION_POOL_LABEL: "h100-clinical"},
        {POOL_LABEL: "h100-clinical"},
        {ISOLATION_TENANT_LABEL: "oslo-hospital"},
        {"gigafactory.eu/tenant": "oslo-hospital"},
    ],
)
def test_selecting_another_tenants_pool_is_denied(selector: dict[str, str]) -> None:
    assert denied_by(create_pod(pod(nodeSelector=selector))) == {"gigafactory-dedicated-nodes"}
    assert create_pod(pod(nodeSelector={POOL_LABEL: "h100-train"})) == []


@pytest.mark.parametrize(
    "expression",
    [
        {"key": ISOLATION_POOL_LABEL, "operator": "In", "values": ["h100-train", "h100-clinical"]},
        {"key": POOL_LABEL, "operator": "NotIn", "values": ["h100-train"]},
        {"key": ISOLATION_TENANT_LABEL, "operator": "Exists"},
    ],
)
def test_node_affinity_towards_another_tenants_pool_is_denied(expression: dict[str, Any]) -> None:
    terms = {"nodeSelectorTerms": [{"matchExpressions": [expression]}]}
    required = pod(affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": terms}})
    assert denied_by(create_pod(required)) == {"gigafactory-dedicated-nodes"}
    preferred = pod(
        affinity={
            "nodeAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 1, "preference": {"matchExpressions": [expression]}}
                ]
            }
        }
    )
    assert denied_by(create_pod(preferred)) == {"gigafactory-dedicated-nodes"}


def test_affinity_by_node_name_fields_and_spec_node_name_are_denied() -> None:
    fields = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["pilot-clin-001"]}]}
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [fields]}}}
    assert denied_by(create_pod(pod(affinity=affinity))) == {"gigafactory-dedicated-nodes"}
    assert denied_by(create_pod(pod(nodeName="pilot-clin-001"))) == {"gigafactory-dedicated-nodes"}
    own = {"matchExpressions": [{"key": ISOLATION_POOL_LABEL, "operator": "In", "values": ["h100-train"]}]}
    fine = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [own]}}}
    assert create_pod(pod(affinity=fine)) == []


# -- networks -----------------------------------------------------------------------------------

NETWORKS = "k8s.v1.cni.cncf.io/networks"
DEFAULT_NETWORK = "v1.multus-cni.io/default-network"


@pytest.mark.parametrize(
    "value",
    [
        "oslo-hospital/ib-rail0",
        "ib-rail1, oslo-hospital/ib-rail0@net2",
        " oslo-hospital/ib-rail0",
        "oslo-hospital /ib-rail0",
        json.dumps([{"name": "ib-rail0", "namespace": "oslo-hospital"}]),
        '[{"name":"ib-rail0","namespace":"oslo-hospital"}]',
        '[{"name": "ib-rail0", "NameSpace": "oslo-hospital"}]',
        '[{"name": "ib-rail0", "namespace": "fjord-ai"}, {"name": "ib-rail0", "namespace": "oslo-hospital"}]',
        '[{"name": "ib-rail0", "namespace":\t"oslo-hospital"}]',
        '[{"name": "ib-rail0", "n\\u0061mespace": "oslo-hospital"}]',
        '[{"name": "ib-rail0", "name\u017fpace": "oslo-hospital"}]',
        '{"name": "ib-rail0", "namespace": "oslo-hospital"}',
        "/ib-rail0",
    ],
)
@pytest.mark.parametrize("annotation", [NETWORKS, DEFAULT_NETWORK])
def test_naming_a_network_of_another_namespace_is_denied(annotation: str, value: str) -> None:
    assert denied_by(create_pod(pod(annotations={annotation: value}))) == {"gigafactory-tenant-networks"}


@pytest.mark.parametrize(
    "value",
    [
        "ib-rail0",
        "ib-rail0,ib-rail1",
        "fjord-ai/ib-rail0, ib-rail1@net2",
        '[{"name": "ib-rail0"}]',
        '[{"name": "ib-rail0", "namespace": "fjord-ai", "interface": "net1"}]',
        '[{"name":"ib-rail0","namespace":"fjord-ai"},{"name":"ib-rail1"}]',
    ],
)
def test_networks_of_the_pods_own_namespace_are_admitted(value: str) -> None:
    assert create_pod(pod(annotations={NETWORKS: value})) == []


# -- services, priorities, claims --------------------------------------------------------------


def test_external_ips_are_denied_in_every_namespace() -> None:
    service = {"metadata": {"name": "s", "namespace": "monitoring"}, "spec": {"externalIPs": ["10.101.1.10"]}}
    request = Request("CREATE", "Service", "services", namespace="monitoring", object=service)
    assert denied_by(policies().admit(request, {})) == {"gigafactory-no-external-ips"}
    service["spec"] = {"ports": [{"port": 80}]}
    assert policies().admit(request, {}) == []


def test_priority_classes_not_granted_are_denied() -> None:
    critical = pod(labels={"kueue.x-k8s.io/priority-class": "gigafactory-critical"})
    assert denied_by(create_pod(critical)) == {"gigafactory-priority-classes"}
    # Clinical work: the regulated tenant holds the critical class; a name that is no class is Kueue's to refuse.
    clinical = pod("oslo-hospital", labels={"kueue.x-k8s.io/priority-class": "gigafactory-critical"})
    assert create_pod(clinical, HOSPITAL_NS) == []
    assert create_pod(pod(labels={"kueue.x-k8s.io/priority-class": "no-such-class"})) == []
    assert denied_by(create_pod(pod(priorityClassName="system-node-critical"))) == {"gigafactory-priority-classes"}
    standard = pod(labels={"kueue.x-k8s.io/priority-class": "gigafactory-standard"})
    assert create_pod(standard) == []
    job = {"metadata": {"name": "j", "namespace": "fjord-ai", "labels": critical["metadata"]["labels"]}, "spec": {}}
    request = Request("CREATE", "Job", "jobs", group="batch", namespace="fjord-ai", object=job)
    assert denied_by(policies().admit(request, TENANT_NS)) == {"gigafactory-priority-classes"}


def test_claims_may_not_name_a_volume() -> None:
    claim = {"metadata": {"name": "c", "namespace": "fjord-ai"}, "spec": {"volumeName": "pvc-hospital-1"}}
    request = Request("CREATE", "PersistentVolumeClaim", "persistentvolumeclaims", namespace="fjord-ai", object=claim)
    assert denied_by(policies().admit(request, TENANT_NS)) == {"gigafactory-tenant-claims"}
    binder = Request(
        "UPDATE",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        namespace="fjord-ai",
        object=claim,
        old_object={"metadata": claim["metadata"], "spec": {}},
        username="system:serviceaccount:kube-system:persistent-volume-binder",
    )
    assert policies().admit(binder, TENANT_NS) == []


# -- nodes ----------------------------------------------------------------------------------------


def node(name: str, labels: dict[str, str], taints: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels}, "spec": {"taints": taints} if taints else {}}


def node_request(operation: str, new: dict[str, Any] | None, old: dict[str, Any] | None, user: str) -> list[Denial]:
    name = (new or old or {})["metadata"]["name"]
    request = Request(operation, "Node", "nodes", name=name, object=new, old_object=old, username=user)
    return policies().admit(request, {})


def test_a_node_cannot_relabel_itself_into_a_dedicated_pool() -> None:
    old = node("pilot-gpu-001", {ISOLATION_POOL_LABEL: "h100-train"})
    new = node("pilot-gpu-001", {ISOLATION_POOL_LABEL: "h100-clinical", ISOLATION_TENANT_LABEL: "oslo-hospital"})
    kubelet = "system:node:pilot-gpu-001"
    assert denied_by(node_request("UPDATE", new, old, kubelet)) == {"gigafactory-node-isolation"}
    # The same change by the control plane's identity is not this policy's business.
    assert node_request("UPDATE", new, old, "system:serviceaccount:node-feature-discovery:nfd-master") == []
    # Other label changes by the kubelet stay allowed.
    other = node("pilot-gpu-001", {ISOLATION_POOL_LABEL: "h100-train", "feature.node.kubernetes.io/x": "1"})
    assert node_request("UPDATE", other, old, kubelet) == []


def test_a_dedicated_node_cannot_drop_its_taint_register_without_it_or_delete_itself() -> None:
    labels = {ISOLATION_POOL_LABEL: "h100-clinical"}
    tainted = node("pilot-clin-001", labels, [TAINT])
    kubelet = "system:node:pilot-clin-001"
    assert denied_by(node_request("UPDATE", node("pilot-clin-001", labels), tainted, kubelet)) == {
        "gigafactory-node-isolation"
    }
    assert denied_by(node_request("CREATE", node("pilot-clin-001", {}), None, kubelet)) == {
        "gigafactory-node-isolation"
    }
    assert node_request("CREATE", node("pilot-clin-001", {}, [TAINT]), None, kubelet) == []
    assert node_request("CREATE", node("pilot-gpu-001", {}), None, "system:node:pilot-gpu-001") == []
    assert denied_by(node_request("DELETE", None, tainted, kubelet)) == {"gigafactory-node-isolation"}


def test_node_name_patterns_match_exactly_the_pools_names() -> None:
    site = load_site(REPO / "site-configs" / "eu-pilot.yaml")
    for pool in site.node_pools:
        pattern = node_name_pattern(pool.node_name_pattern)
        for name in (pool.node_name(0), pool.node_name(pool.nodes - 1)):
            assert evaluate(f"'{name}'.matches({json.dumps(pattern)})", {}) is True, (pool.name, name)
        others = [p for p in site.node_pools if p is not pool]
        for other in others:
            assert evaluate(f"'{other.node_name(0)}'.matches({json.dumps(pattern)})", {}) is False
