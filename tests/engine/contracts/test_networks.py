"""Contracts ``pkey-valid`` and ``network-resource-advertised``: each with a failing and a passing state."""

from __future__ import annotations

import json

from contract_state import obj, release, state

from infra.engine.contracts.networks import check_pkeys, check_resource_names

TENANT = {"gigafactory.eu/tenant": "fjord-ai"}


def nad(pkey: str, resource: str = "nvidia.com/ib_rail0_vf") -> dict[str, object]:
    config = {"cniVersion": "0.3.1", "plugins": [{"type": "ib-sriov", "pkey": pkey}, {"type": "rdma"}]}
    return obj(
        "NetworkAttachmentDefinition",
        "ib-rail0",
        api="k8s.cni.cncf.io/v1",
        namespace="fjord-ai",
        labels=TENANT,
        annotations={"k8s.v1.cni.cncf.io/resourceName": resource},
        spec={"config": json.dumps(config)},
    )


def test_a_pkey_with_the_membership_bit_is_refused_by_ib_kubernetes() -> None:
    # ib-kubernetes pkg/ib-utils/utils.go: IsPKeyValid(pkey) == (pkey == pkey & 0x7fff).
    found = list(check_pkeys(state([nad("0x8102")], partitions={"fjord-ai": 0x8102})))
    assert len(found) == 1 and "0x8102 has bits above 0x7fff" in found[0].message
    assert "0x0102" in found[0].hint and found[0].fact == "tenants.fjord-ai.pkey"


def test_a_15_bit_pkey_of_the_tenants_partition_passes() -> None:
    assert list(check_pkeys(state([nad("0x0102")], partitions={"fjord-ai": 0x8102}))) == []


def test_a_pkey_partitions_conf_gives_another_tenant_fails() -> None:
    found = list(check_pkeys(state([nad("0x0101")], partitions={"fjord-ai": 0x8102, "nordic-llm-lab": 0x8101})))
    assert [v.message for v in found] == [
        "pkey 0x0101 names partition nordic-llm-lab in partitions.conf, not tenant fjord-ai's"
    ]


def sriov_operator(prefix: str) -> tuple[object, dict[str, object]]:
    container = {"name": "operator", "env": [{"name": "RESOURCE_PREFIX", "value": prefix}]}
    deployment = obj(
        "Deployment",
        "sriov-network-operator",
        api="apps/v1",
        namespace="nno",
        spec={"template": {"spec": {"containers": [container]}}},
    )
    return release("network-operator"), deployment


POLICY = obj(
    "SriovNetworkNodePolicy",
    "ib-rail0",
    api="sriovnetwork.openshift.io/v1",
    namespace="nno",
    spec={"resourceName": "ib_rail0_vf"},
)


def test_a_network_resource_the_sriov_policy_advertises_passes() -> None:
    assert list(check_resource_names(state([nad("0x0102"), POLICY], [sriov_operator("nvidia.com")]))) == []  # type: ignore[list-item]


def test_a_network_resource_under_another_prefix_fails() -> None:
    # The SR-IOV operator advertises <RESOURCE_PREFIX>/<resourceName>; upstream's default prefix is openshift.io.
    found = list(check_resource_names(state([nad("0x0102"), POLICY], [sriov_operator("openshift.io")])))  # type: ignore[list-item]
    assert len(found) == 1 and "nvidia.com/ib_rail0_vf, which no device plugin advertises" in found[0].message
    assert "openshift.io/ib_rail0_vf" in found[0].message


def test_rdma_shared_device_plugin_resources_are_advertised_as_rdma_slash_name() -> None:
    shared = {"configList": [{"resourceName": "rail0", "rdmaHcaMax": 63, "selectors": {"ifNames": ["ib-rail0"]}}]}
    policy = obj(
        "NicClusterPolicy",
        "nic-cluster-policy",
        api="mellanox.com/v1alpha1",
        spec={"rdmaSharedDevicePlugin": {"config": json.dumps(shared)}},
    )
    assert list(check_resource_names(state([nad("0x0102", "rdma/rail0"), policy], charts=True))) == []
    assert len(list(check_resource_names(state([nad("0x0102", "rdma/rail1"), policy], charts=True)))) == 1
