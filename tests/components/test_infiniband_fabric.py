"""InfiniBandFabric: NicClusterPolicy, per-rail IPPool / IPoIBNetwork / SR-IOV policy, UFM credentials."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
from component_harness import (
    SECRET_VALUE,
    assert_no_secret,
    assert_parented,
    pilot,
    record,
    schema_errors,
    secret_json,
    spec,
    with_compute,
)
from pulumi.provider.experimental.analyzer import Analyzer

from components.credentials import CredentialsError, parse_credential
from components.network.infiniband_fabric import UFM_FIELDS, UFM_SECRET, InfiniBandFabric, InfiniBandFabricArgs
from infra.config.model import SiteConfig
from infra.config.schema import DriverUpgrade
from infra.engine.runtime import SECRET
from infra.plan.addressing import plan_addressing
from infra.site import infiniband_fabric_args

TYPE = "gigafactory:index:InfiniBandFabric"
NAMESPACE = "nvidia-network-operator"


def build(config: SiteConfig, secrets: dict[str, str] | None = None) -> Any:
    compute = config.fabrics.compute

    def program(opts: pulumi.ResourceOptions) -> None:
        release = k8s.helm.v3.Release("network-operator", chart="network-operator", opts=opts)
        InfiniBandFabric(
            "fabric",
            infiniband_fabric_args(
                config,
                plan_addressing(config),
                namespace=NAMESPACE,
                upgrade=DriverUpgrade(),
                tolerations=[{"key": "k", "operator": "Exists", "effect": "NoSchedule"}],
            ),
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[release])),
        )

    if secrets is None and compute.ufm_credentials_secret is not None:
        secrets = {compute.ufm_credentials_secret: secret_json(UFM_FIELDS)}
    return record(program, secrets=secrets)


def opensm_site() -> SiteConfig:
    compute = pilot().fabrics.compute.model_copy(update={"subnet_manager": "opensm", "ufm_credentials_secret": None})
    return pilot().model_copy(update={"fabrics": pilot().fabrics.model_copy(update={"compute": compute})})


def test_nic_cluster_policy_configures_driver_rdma_per_rail_networks_and_ib_kubernetes() -> None:
    recording = build(with_compute(pilot(), rdma_mode="shared"))
    policy = spec(recording.one("NicClusterPolicy", "nic-cluster-policy"))
    assert policy["ofedDriver"]["image"] == "doca-driver"
    assert policy["ofedDriver"]["version"] == "doca3.4.1-26.04-1.1.0.0-1"
    assert policy["global"]["version"] == "network-operator-v26.4.1"
    rdma = json.loads(policy["rdmaSharedDevicePlugin"]["config"])["configList"]
    assert [r["resourceName"] for r in rdma] == [f"rail{n}" for n in range(8)]
    assert rdma[3]["selectors"]["ifNames"] == ["ib-rail3"]
    assert set(policy["secondaryNetwork"]) == {"multus", "cniPlugins", "ipoib"}
    multus = json.loads(policy["secondaryNetwork"]["multus"]["config"])
    # A pod may use only networks of its own namespace (Multus' default is false), but for the
    # platform's IPoIB networks in the operator's namespace.
    assert (multus["namespaceIsolation"], multus["globalNamespaces"]) == (True, "nvidia-network-operator")
    assert multus["multusConfigFile"] == "auto"
    assert policy["nvIpam"]["image"] == "nvidia-k8s-ipam"
    assert policy["ibKubernetes"]["ufmSecret"] == UFM_SECRET
    assert policy["tolerations"] == [{"key": "k", "operator": "Exists", "effect": "NoSchedule"}]


def test_each_rail_gets_a_pool_an_ipoib_network_and_vfs() -> None:
    config = pilot()
    recording = build(config)
    for rail in config.fabrics.compute.ipoib_subnets:
        ippool = spec(recording.one("IPPool", f"rail{rail.rail}", NAMESPACE))
        assert ippool["subnet"] == str(rail.subnet), f"IPPool rail{rail.rail}"
        # One address per virtual function, and an H100 node has one VF per GPU on each rail.
        assert ippool["perNodeBlockSize"] == 8, f"IPPool rail{rail.rail}"
        ipoib = spec(recording.one("IPoIBNetwork", f"rail{rail.rail}"))
        assert ipoib["master"] == f"ib-rail{rail.rail}"
        assert json.loads(ipoib["ipam"]) == {"type": "nv-ipam", "poolName": f"rail{rail.rail}"}
        vfs = spec(recording.one("SriovNetworkNodePolicy", f"ib-rail{rail.rail}", NAMESPACE))
        assert (vfs["linkType"], vfs["isRdma"], vfs["numVfs"]) == ("IB", True, 8)
        assert vfs["nicSelector"]["pfNames"] == [f"ib-rail{rail.rail}"]


def test_ippools_wait_for_the_policy_whose_nv_ipam_installs_their_crd() -> None:
    recording = build(pilot())
    policy = recording.one("NicClusterPolicy", "nic-cluster-policy")
    release = recording.named("network-operator")
    for ippool in recording.kind("IPPool"):
        assert {policy.urn, release.urn} <= set(ippool.depends_on), ippool.urn
    for ipoib in recording.kind("IPoIBNetwork"):
        assert release.urn in ipoib.depends_on, f"{ipoib.urn}: its CRD comes with the operator's chart"


def test_ufm_credentials_are_a_secret_created_before_the_policy() -> None:
    recording = build(pilot())
    secret = recording.one("Secret", UFM_SECRET, NAMESPACE)
    assert secret.inputs["stringData"] == SECRET
    policy = recording.one("NicClusterPolicy", "nic-cluster-policy")
    assert secret.urn in policy.depends_on
    assert recording.named("network-operator").urn in policy.depends_on
    assert_no_secret(recording)


def test_children_are_parented() -> None:
    recording = build(pilot())
    assert_parented(recording, recording.component(TYPE))


def test_opensm_fabric_has_no_ib_kubernetes_and_no_credentials() -> None:
    recording = build(opensm_site(), secrets={})
    policy = spec(recording.one("NicClusterPolicy", "nic-cluster-policy"))
    assert "ibKubernetes" not in policy
    assert recording.kind("Secret") == []


def test_objects_validate_against_their_schemas() -> None:
    assert schema_errors(build(pilot()), "1.35") == []


def test_malformed_credentials_fail_an_update_without_showing_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pulumi.runtime, "is_dry_run", lambda: False)
    with pytest.raises(CredentialsError) as failure:
        parse_credential("ufmCredentials", json.dumps({"username": SECRET_VALUE}), UFM_FIELDS, {})
    assert "lacks the fields password, address" in str(failure.value)
    assert SECRET_VALUE not in str(failure.value)


def test_malformed_credentials_only_warn_in_a_preview(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pulumi.runtime, "is_dry_run", lambda: True)
    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *a, **k: warnings.append(message))
    fields = parse_credential("ufmCredentials", f"not json {SECRET_VALUE}", UFM_FIELDS, {"port": ""})
    assert fields == {"username": "", "password": "", "address": "", "port": ""}
    assert len(warnings) == 1 and "is not a JSON object" in warnings[0]
    assert SECRET_VALUE not in warnings[0]


def test_exclusive_rdma_is_set_on_the_gpu_nodes_and_the_shared_device_plugin_is_not_deployed() -> None:
    """rdma-cni refuses ADD unless the RDMA subsystem is exclusive (k8snetworkplumbingwg/rdma-cni
    cmd/rdma/main.go, ``ensureRdmaSystemMode``); only the SR-IOV operator's SriovNetworkPoolConfig
    ``rdmaMode`` sets it, and the RDMA shared device plugin needs shared mode (REFERENCE.md)."""
    recording = build(pilot())
    assert pilot().fabrics.compute.rdma_mode == "exclusive", "the opinionated default"
    pool_config = recording.one("SriovNetworkPoolConfig", "gigafactory-rdma", NAMESPACE)
    assert spec(pool_config)["rdmaMode"] == "exclusive"
    selector = spec(pool_config)["nodeSelector"]["matchExpressions"]
    assert selector == [{"key": "gigafactory.eu/pool", "operator": "In", "values": ["h100-clinical", "h100-train"]}]
    assert "rdmaSharedDevicePlugin" not in spec(recording.one("NicClusterPolicy", "nic-cluster-policy"))
    assert schema_errors(recording, "1.35") == []


def test_shared_rdma_sets_no_pool_config() -> None:
    recording = build(with_compute(pilot(), rdma_mode="shared"))
    assert recording.kind("SriovNetworkPoolConfig") == []


def test_plain_data_args_build_the_fabric_without_the_site_model() -> None:
    """Any Pulumi program can use the component: Args are plain values, the defaults are documented
    (namespace ``nvidia-network-operator``, exclusive RDMA, no UFM), and ``opts.depends_on`` reaches
    every object that needs the Network Operator's CRDs. A program in another language sends numbers as
    floats (the engine's protobuf Struct): names and counts still read the integers."""
    args: InfiniBandFabricArgs = {
        "rails": [
            {
                "rail": 0.0,  # type: ignore[typeddict-item]
                "subnet": "10.64.0.0/20",
                "ippool": "rail0",
                "pools": ["gpu"],
                "per_node_block": 4,
                "vfs_per_node": 4,
            }
        ],
        "doca_ofed_version": "doca3.4.1-26.04-1.1.0.0-1",
        "network_operator_version": "v26.4.1",
        "ofed_upgrade": {
            "max_unavailable": "2",
            "max_parallel_upgrades": 3,
            "drain": True,
            "drain_timeout_seconds": 60,
        },
    }

    def program(opts: pulumi.ResourceOptions) -> None:
        release = k8s.helm.v3.Release("network-operator", chart="network-operator", opts=opts)
        InfiniBandFabric(
            "fabric", args, pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[release]))
        )

    recording = record(program)
    policy = spec(recording.one("NicClusterPolicy", "nic-cluster-policy"))
    assert "ibKubernetes" not in policy and recording.kind("Secret") == []
    assert policy["ofedDriver"]["upgradePolicy"]["maxParallelUpgrades"] == 3
    assert policy["tolerations"] == []
    pool_config = spec(recording.one("SriovNetworkPoolConfig", "gigafactory-rdma", NAMESPACE))
    assert pool_config["maxUnavailable"] == 2, "a count stays an integer (IntOrString)"
    assert spec(recording.one("SriovNetworkNodePolicy", "ib-rail0", NAMESPACE))["numVfs"] == 4
    assert spec(recording.one("IPoIBNetwork", "rail0"))["master"] == "ib-rail0"
    assert recording.named("fabric-ippool-rail0").inputs["metadata"]["name"] == "rail0"
    release = recording.named("network-operator").urn
    for kind in ("NicClusterPolicy", "IPPool", "IPoIBNetwork", "SriovNetworkNodePolicy", "SriovNetworkPoolConfig"):
        for resource in recording.kind(kind):
            assert release in resource.depends_on, resource.urn
    assert schema_errors(recording, "1.35") == []


def test_the_analyzer_infers_the_schema_of_the_inputs_outputs_and_types() -> None:
    schema = Analyzer("gigafactory").analyze([InfiniBandFabric])
    component = schema["component_definitions"]["InfiniBandFabric"]
    assert set(component.inputs) == {
        "rails",
        "docaOfedVersion",
        "networkOperatorVersion",
        "ofedUpgrade",
        "rdmaMode",
        "ufmCredentialsSecret",
        "namespace",
        "tolerations",
    }
    assert set(component.outputs) == {"rails", "rdmaResources", "vfResources", "ippools", "pkeyManagement"}
    assert [k for k, v in component.inputs.items() if v.optional] == [
        "rdmaMode",
        "ufmCredentialsSecret",
        "namespace",
        "tolerations",
    ]
    assert "FabricRail" in schema["type_definitions"]
