"""Tenant: restricted namespace, RBAC, quota, network policies, LocalQueue, partition networks."""

from __future__ import annotations

import json
from typing import Any

import pulumi
from component_harness import assert_parented, labels, pilot, record, schema_errors, spec, with_compute
from pulumi.provider.experimental.analyzer import Analyzer

from components.tenancy.tenant import MEMBER_RULES, Tenant, TenantArgs
from infra.config.model import SiteConfig
from infra.site import tenant_args

TYPE = "gigafactory:index:Tenant"


def build(config: SiteConfig, name: str) -> Any:
    tenant = config.tenant(name)
    assert tenant is not None

    def program(opts: pulumi.ResourceOptions) -> None:
        Tenant(f"tenant-{name}", tenant_args(config, tenant), opts)

    return record(program)


def test_namespace_enforces_pod_security_restricted() -> None:
    namespace = build(pilot(), "fjord-ai").one("Namespace", "fjord-ai")
    found = labels(namespace)
    for mode in ("enforce", "audit", "warn"):
        assert found[f"pod-security.kubernetes.io/{mode}"] == "restricted", mode
        assert found[f"pod-security.kubernetes.io/{mode}-version"] == "v1.35", mode
    assert found["gigafactory.eu/tenant-kind"] == "startup"


def test_group_is_bound_to_a_role_that_cannot_touch_policies_or_quotas() -> None:
    recording = build(pilot(), "fjord-ai")
    binding = recording.one("RoleBinding", "tenant-members", "fjord-ai")
    assert binding.inputs["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "gf-fjord-ai"}
    ]
    assert binding.inputs["roleRef"]["name"] == "tenant-member"
    writable = {res for rule in MEMBER_RULES if "delete" in rule["verbs"] for res in rule["resources"]}
    assert not writable & {"networkpolicies", "resourcequotas", "roles", "rolebindings", "limitranges"}


def test_quota_caps_gpus_and_storage_and_denies_other_classes() -> None:
    hard = spec(build(pilot(), "fjord-ai").one("ResourceQuota", "tenant-quota", "fjord-ai"))["hard"]
    # Nominal 256 plus a borrowing limit of 512.
    assert hard["requests.nvidia.com/gpu"] == "768"
    assert hard["lustre-shared.storageclass.storage.k8s.io/requests.storage"] == "1000T"
    assert hard["ceph-clinical.storageclass.storage.k8s.io/requests.storage"] == "0"
    assert "count/objectbucketclaims.objectbucket.io" not in hard, "fjord-ai has an object share"
    assert not any(key.startswith("requests.rdma/") for key in hard), "shared RDMA is open to non-isolated tenants"


def test_tenant_without_gpu_quota_may_request_no_gpus() -> None:
    config = pilot()
    holder = config.tenant("fjord-ai")
    assert holder is not None
    storage_only = holder.model_copy(update={"gpu_quotas": ()})

    def program(opts: pulumi.ResourceOptions) -> None:
        Tenant("tenant-fjord-ai", tenant_args(config, storage_only), opts)

    recording = record(program)
    hard = spec(recording.one("ResourceQuota", "tenant-quota", "fjord-ai"))["hard"]
    assert hard["requests.nvidia.com/gpu"] == "0", "plain pods of a tenant without quota take no GPUs"
    assert recording.kind("LocalQueue") == [], "no ClusterQueue to point at"
    assert recording.kind("NetworkAttachmentDefinition") == [], "no GPU pool, no compute rails"


def test_open_tenant_reaches_only_the_internet_its_namespace_and_dns() -> None:
    recording = build(pilot(), "nordic-llm-lab")
    deny = spec(recording.one("NetworkPolicy", "default-deny", "nordic-llm-lab"))
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    allow = spec(recording.one("NetworkPolicy", "allow-same-namespace", "nordic-llm-lab"))
    assert allow["ingress"] == [{"from": [{"podSelector": {}}]}]
    assert allow["egress"] == [{"to": [{"podSelector": {}}]}]
    assert recording.kind("NetworkPolicy", "allow-cluster-dns", "nordic-llm-lab")
    internet = spec(recording.one("NetworkPolicy", "allow-internet", "nordic-llm-lab"))
    v4 = internet["egress"][0]["to"][0]["ipBlock"]
    assert v4["cidr"] == "0.0.0.0/0"
    # The site's management and storage networks are private: never reachable from a tenant pod.
    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"} <= set(v4["except"])


def test_closed_tenant_has_no_way_to_the_internet() -> None:
    recording = build(pilot(), "oslo-hospital")
    assert recording.kind("NetworkPolicy", "allow-internet", "oslo-hospital") == []
    names = {r.inputs["metadata"]["name"] for r in recording.kind("NetworkPolicy", namespace="oslo-hospital")}
    assert names == {"default-deny", "allow-same-namespace", "allow-cluster-dns"}


def test_tenant_members_cannot_write_endpoints() -> None:
    for rule in MEMBER_RULES:
        assert "endpoints" not in rule["resources"] and "endpointslices" not in rule["resources"], rule


def test_virtual_functions_are_limited_to_one_per_gpu() -> None:
    hard = spec(build(pilot(), "fjord-ai").one("ResourceQuota", "tenant-quota", "fjord-ai"))["hard"]
    gpus = hard["requests.nvidia.com/gpu"]
    assert [hard[f"requests.nvidia.com/ib_rail{r}_vf"] for r in range(8)] == [gpus] * 8


def test_local_queue_points_at_the_tenant_cluster_queue() -> None:
    queue = build(pilot(), "nordic-llm-lab").one("LocalQueue", "default", "nordic-llm-lab")
    assert spec(queue) == {"clusterQueue": "nordic-llm-lab"}


def test_partition_network_per_rail_carries_the_tenant_partition_key() -> None:
    recording = build(pilot(), "nordic-llm-lab")
    networks = recording.kind("NetworkAttachmentDefinition", namespace="nordic-llm-lab")
    assert sorted(n.inputs["metadata"]["name"] for n in networks) == [f"ib-rail{r}" for r in range(8)]
    rail3 = recording.one("NetworkAttachmentDefinition", "ib-rail3", "nordic-llm-lab")
    assert rail3.inputs["metadata"]["annotations"] == {"k8s.v1.cni.cncf.io/resourceName": "nvidia.com/ib_rail3_vf"}
    plugin = json.loads(spec(rail3)["config"])["plugins"][0]
    assert (plugin["type"], plugin["ibKubernetesEnabled"]) == ("ib-sriov", True)
    assert plugin["ipam"] == {"type": "nv-ipam", "poolName": "rail3"}


def test_network_pkey_is_the_15_bit_key_ib_kubernetes_accepts() -> None:
    """ib-kubernetes takes a network's pkey only if ``pkey == pkey & 0x7fff`` (Mellanox/ib-kubernetes
    pkg/ib-utils/utils.go, ``IsPKeyValid``; its UFM plugin refuses others): nordic-llm-lab's 0x8101
    (full member of partition 0x0101) is 0x0101 in a network definition, while partitions.conf keeps 0x8101."""
    recording = build(pilot(), "nordic-llm-lab")
    for network in recording.kind("NetworkAttachmentDefinition", namespace="nordic-llm-lab"):
        pkey = int(json.loads(spec(network)["config"])["plugins"][0]["pkey"], 16)
        assert pkey == pkey & 0x7FFF == 0x0101, network.urn


def test_rdma_cni_is_chained_only_where_the_rdma_subsystem_is_exclusive() -> None:
    """rdma-cni refuses unless the RDMA subsystem is exclusive (k8snetworkplumbingwg/rdma-cni cmd/rdma/main.go)."""

    def chain(config: SiteConfig) -> list[str]:
        network = build(config, "nordic-llm-lab").one("NetworkAttachmentDefinition", "ib-rail0", "nordic-llm-lab")
        return [p["type"] for p in json.loads(spec(network)["config"])["plugins"]]

    assert chain(pilot()) == ["ib-sriov", "rdma"]
    assert chain(with_compute(pilot(), rdma_mode="shared")) == ["ib-sriov"]


def test_children_are_parented_and_objects_validate() -> None:
    recording = build(pilot(), "oslo-hospital")
    assert_parented(recording, recording.component(TYPE))
    assert schema_errors(recording, "1.35") == []


def test_a_tenant_from_plain_args_alone_is_closed_by_default() -> None:
    """Without the site model: only the required fields, and every default the fail-closed one."""

    def program(opts: pulumi.ResourceOptions) -> None:
        args = TenantArgs(name="lab", kind="research", group="gf-lab", pkey=0x8105, pod_security_version="v1.35")
        Tenant("tenant-lab", args, opts)

    recording = record(program)
    names = {r.inputs["metadata"]["name"] for r in recording.kind("NetworkPolicy", namespace="lab")}
    assert names == {"default-deny", "allow-same-namespace", "allow-cluster-dns"}, "no internet unless allowed"
    dns = spec(recording.one("NetworkPolicy", "allow-cluster-dns", "lab"))["egress"][0]["to"][0]
    assert dns["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}
    hard = spec(recording.one("ResourceQuota", "tenant-quota", "lab"))["hard"]
    assert hard == {"count/objectbucketclaims.objectbucket.io": "0"}
    assert recording.kind("LocalQueue") == [] and recording.kind("NetworkAttachmentDefinition") == []


def test_numbers_sent_as_floats_by_another_language_read_as_integers() -> None:
    """The engine sends numbers as floats; the quota and the partition key still read as integers."""
    args: Any = {
        "name": "lab",
        "kind": "research",
        "group": "gf-lab",
        "pkey": float(0x8105),
        "pod_security_version": "v1.35",
        "rails": [0.0, 1.0],
        "gpu_limit": 16.0,
    }

    def program(opts: pulumi.ResourceOptions) -> None:
        Tenant("tenant-lab", args, opts)

    recording = record(program)
    hard = spec(recording.one("ResourceQuota", "tenant-quota", "lab"))["hard"]
    assert hard["requests.nvidia.com/gpu"] == "16" and hard["requests.nvidia.com/ib_rail1_vf"] == "16"
    rail1 = recording.one("NetworkAttachmentDefinition", "ib-rail1", "lab")
    assert json.loads(spec(rail1)["config"])["plugins"][0]["pkey"] == "0x0105"


def test_the_analyzer_infers_the_schema_of_the_inputs_outputs_and_types() -> None:
    schema = Analyzer("gigafactory").analyze([Tenant])
    component = schema["component_definitions"]["Tenant"]
    required = [k for k, v in component.inputs.items() if not v.optional]
    assert required == ["name", "kind", "group", "pkey", "podSecurityVersion"]
    assert set(component.outputs) == {"namespace", "localQueue", "partitionKey", "networks"}
