"""The evaluators the attack matrix relies on, each against the semantics it claims (no CEL here).

Every decision in this file comes from an evaluator (label selectors and policy matching, RBAC,
Pod Security, ResourceQuota, Kueue's choice of jobs, NetworkPolicy), checked on cases whose
answer the Kubernetes documentation states.
"""

from __future__ import annotations

from typing import Any

import kueue_evaluator
import psa_evaluator
import quota_evaluator
from netpol_evaluator import Endpoint, connection, isolating
from rbac_evaluator import Access, granting_bindings
from vap_evaluator import PolicySet, Request, selector_matches

# -- label selectors and policy matching -----------------------------------------------------------


def test_label_selectors() -> None:
    labels = {"a": "1", "b": "2"}
    assert selector_matches(None, labels) and selector_matches({}, labels)
    assert selector_matches({"matchLabels": {"a": "1"}}, labels)
    assert not selector_matches({"matchLabels": {"a": "2"}}, labels)
    assert selector_matches({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "3"]}]}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "c", "operator": "In", "values": ["1"]}]}, labels)
    assert selector_matches({"matchExpressions": [{"key": "c", "operator": "NotIn", "values": ["1"]}]}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "b", "operator": "NotIn", "values": ["2"]}]}, labels)
    assert selector_matches({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, labels)


def _policy_set(selector: dict[str, Any] | None, actions: list[str] | None = None) -> PolicySet:
    policy = {
        "failurePolicy": "Fail",
        "matchConstraints": {
            "resourceRules": [
                {"apiGroups": [""], "apiVersions": ["*"], "operations": ["CREATE"], "resources": ["pods"]}
            ]
        },
        "validations": [{"expression": "false", "message": "no"}],
    }
    binding: dict[str, Any] = {"policyName": "p", "validationActions": actions or ["Deny"]}
    if selector is not None:
        binding["matchResources"] = {"namespaceSelector": selector}
    return PolicySet({"p": policy}, {"b": binding})


def test_policy_matching_by_resource_operation_namespace_and_action() -> None:
    pod = Request("CREATE", "Pod", "pods", namespace="t", object={})
    tenant = {"kind": "research"}
    assert len(_policy_set(None).admit(pod, {})) == 1
    assert len(_policy_set({"matchLabels": {"kind": "research"}}).admit(pod, tenant)) == 1
    assert _policy_set({"matchLabels": {"kind": "research"}}).admit(pod, {}) == []
    assert _policy_set(None, ["Warn"]).admit(pod, {}) == [], "only Deny bindings deny"
    update = Request("UPDATE", "Pod", "pods", namespace="t", object={}, old_object={})
    assert _policy_set(None).admit(update, {}) == []
    service = Request("CREATE", "Service", "services", namespace="t", object={})
    assert _policy_set(None).admit(service, {}) == []
    status = Request("CREATE", "Pod", "pods", namespace="t", object={}, subresource="status")
    assert _policy_set(None).admit(status, {}) == [], "pods/status is not pods"


# -- RBAC ------------------------------------------------------------------------------------------

ROLE = {
    "kind": "Role",
    "metadata": {"name": "member", "namespace": "a"},
    "rules": [
        {"apiGroups": [""], "resources": ["pods", "secrets"], "verbs": ["get", "create"]},
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"], "resourceNames": ["only"]},
    ],
}
BINDING = {
    "kind": "RoleBinding",
    "metadata": {"name": "members", "namespace": "a"},
    "roleRef": {"kind": "Role", "name": "member"},
    "subjects": [{"kind": "Group", "name": "team-a"}],
}


def test_rbac_grants_only_in_the_bindings_namespace_to_its_subjects() -> None:
    objects = [ROLE, BINDING]
    member = ("alice", ("team-a",))
    assert granting_bindings(objects, Access(*member, "get", "", "secrets", "a")) == [("RoleBinding", "a", "members")]
    assert granting_bindings(objects, Access(*member, "get", "", "secrets", "b")) == []
    assert granting_bindings(objects, Access("bob", ("team-b",), "get", "", "secrets", "a")) == []
    assert granting_bindings(objects, Access(*member, "delete", "", "pods", "a")) == []
    assert granting_bindings(objects, Access(*member, "create", "", "endpoints", "a")) == []
    assert granting_bindings(objects, Access(*member, "get", "", "configmaps", "a", "only"))
    assert granting_bindings(objects, Access(*member, "get", "", "configmaps", "a", "other")) == []


def test_rbac_cluster_role_bindings_grant_everywhere() -> None:
    cluster_role = {
        "kind": "ClusterRole",
        "metadata": {"name": "all"},
        "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
    }
    binding = {
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "admins"},
        "roleRef": {"kind": "ClusterRole", "name": "all"},
        "subjects": [{"kind": "User", "name": "root"}],
    }
    assert granting_bindings([cluster_role, binding], Access("root", (), "patch", "", "nodes"))
    assert granting_bindings([cluster_role, binding], Access("alice", (), "patch", "", "nodes")) == []


# -- Pod Security -------------------------------------------------------------------------------

GOOD = {
    "containers": [
        {
            "name": "c",
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "runAsNonRoot": True,
                "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"},
            },
        }
    ],
    "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "x"}}],
}
RESTRICTED = {psa_evaluator.ENFORCE: "restricted"}


def test_pod_security_levels() -> None:
    assert psa_evaluator.violations(RESTRICTED, GOOD) == []
    host_path = {**GOOD, "volumes": [{"name": "h", "hostPath": {"path": "/clinical"}}]}
    assert psa_evaluator.violations(RESTRICTED, host_path)
    assert psa_evaluator.violations({psa_evaluator.ENFORCE: "baseline"}, host_path)
    assert psa_evaluator.violations({psa_evaluator.ENFORCE: "privileged"}, host_path) == []
    assert psa_evaluator.violations({}, host_path) == [], "no label: privileged"
    loose = {"containers": [{"name": "c"}]}
    assert psa_evaluator.violations({psa_evaluator.ENFORCE: "baseline"}, loose) == []
    assert len(psa_evaluator.violations(RESTRICTED, loose)) == 4
    assert psa_evaluator.violations(RESTRICTED, {**GOOD, "hostNetwork": True})
    privileged = {"containers": [{"name": "c", "securityContext": {"privileged": True}}]}
    assert psa_evaluator.violations({psa_evaluator.ENFORCE: "baseline"}, privileged)


# -- ResourceQuota --------------------------------------------------------------------------------


def test_quota_counts_claims_per_storage_class_and_extended_resources() -> None:
    quota = {
        "kind": "ResourceQuota",
        "metadata": {"name": "q", "namespace": "a"},
        "spec": {
            "hard": {
                "secret-class.storageclass.storage.k8s.io/persistentvolumeclaims": "0",
                "shared.storageclass.storage.k8s.io/requests.storage": "10T",
                "requests.nvidia.com/gpu": "8",
            }
        },
    }

    def claim(cls: str, size: str) -> dict[str, Any]:
        spec = {"storageClassName": cls, "resources": {"requests": {"storage": size}}}
        return {"kind": "PersistentVolumeClaim", "metadata": {"namespace": "a"}, "spec": spec}

    assert quota_evaluator.exceeded([quota], claim("secret-class", "1G")) == [("ResourceQuota", "a", "q")]
    assert quota_evaluator.exceeded([quota], claim("shared", "10T")) == []
    assert quota_evaluator.exceeded([quota], claim("shared", "11T"))
    assert quota_evaluator.exceeded([quota], {**claim("secret-class", "1G"), "metadata": {"namespace": "b"}}) == []

    def pod(gpus: str) -> dict[str, Any]:
        container = {"name": "c", "resources": {"limits": {"nvidia.com/gpu": gpus}}}
        return {"kind": "Pod", "metadata": {"namespace": "a"}, "spec": {"containers": [container]}}

    assert quota_evaluator.exceeded([quota], pod("8")) == []
    assert quota_evaluator.exceeded([quota], pod("9"))
    assert quota_evaluator.quantity("1T") == 10**12 and quota_evaluator.quantity("2Gi") == 2 * 2**30


# -- Kueue -------------------------------------------------------------------------------------------


def test_kueue_manages_labelled_jobs_and_unlabelled_ones_only_where_configured() -> None:
    selector = {"matchExpressions": [{"key": "tenant", "operator": "Exists"}]}
    config = {"manageJobsWithoutQueueName": True, "managedJobsNamespaceSelector": selector}
    plain = {"metadata": {"name": "j"}}
    queued = {"metadata": {"name": "j", "labels": {kueue_evaluator.QUEUE_LABEL: "default"}}}
    assert kueue_evaluator.managed(config, plain, {"tenant": "x"})
    assert not kueue_evaluator.managed(config, plain, {}), "system namespaces are exempt"
    assert not kueue_evaluator.managed({}, plain, {"tenant": "x"}), "Kueue's default leaves them alone"
    assert kueue_evaluator.managed({}, queued, {})


# -- NetworkPolicy ------------------------------------------------------------------------------

NAMESPACES = {"a": {"kubernetes.io/metadata.name": "a"}, "b": {"kubernetes.io/metadata.name": "b"}}


def _netpol(namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "NetworkPolicy", "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def test_network_policy_isolation_and_allowances() -> None:
    a, b = Endpoint("10.0.0.1", "a", {"app": "x"}), Endpoint("10.0.0.2", "b", {"app": "y"})
    assert connection([], a, b, 80, NAMESPACES) == (True, []), "no policy: not isolated"
    deny_b = _netpol("b", "deny", {"podSelector": {}, "policyTypes": ["Ingress"]})
    assert connection([deny_b], a, b, 80, NAMESPACES) == (False, [("NetworkPolicy", "b", "deny")])
    from_a = _netpol(
        "b",
        "from-a",
        {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "a"}}}],
                    "ports": [{"port": 80}],
                }
            ],
        },
    )
    assert connection([deny_b, from_a], a, b, 80, NAMESPACES)[0]
    assert not connection([deny_b, from_a], a, b, 81, NAMESPACES)[0]
    assert not connection([deny_b, from_a], a, b, 80, NAMESPACES, protocol="UDP")[0]
    same = _netpol("b", "same", {"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]})
    assert not connection([same], a, b, 80, NAMESPACES)[0], "a bare podSelector peer is the policy's namespace"
    assert connection([same], Endpoint("10.0.0.3", "b", {}), b, 80, NAMESPACES)[0]


def test_network_policy_egress_ip_blocks() -> None:
    a = Endpoint("10.0.0.1", "a", {})
    internet = _netpol(
        "a",
        "internet",
        {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "192.168.0.0/16"]}}]}],
        },
    )
    assert connection([internet], a, Endpoint("8.8.8.8"), 443, NAMESPACES)[0]
    assert connection([internet], a, Endpoint("10.1.2.3"), 443, NAMESPACES) == (
        False,
        [("NetworkPolicy", "a", "internet")],
    )
    assert not connection([internet], a, Endpoint("2001:db8::1"), 443, NAMESPACES)[0], "no IPv6 rule"
    assert isolating([internet], a, "Egress") and not isolating([internet], a, "Ingress")
