"""GpuNodePool: node labels and taints through NodeFeatureRules, Kueue flavor, NVIDIADriver, GPU sharing.

Pools come from site configs through ``infra.site.gpu_node_pool_args`` (the site's mapping), and
one from plain data alone, as any Pulumi program would pass it.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml
from component_harness import assert_parented, pilot, record, schema_errors, spec
from nfd_master import node_rules, outcome, outcomes
from pulumi.provider.experimental.analyzer import Analyzer

from components.compute.gpu_node_pool import GpuNodePool, GpuNodePoolArgs
from components.compute.gpu_sharing import sharing_labels
from components.compute.node_identity import MAX_TEMPLATE_BYTES
from components.labels import (
    DEVICE_PLUGIN_CONFIG_LABEL,
    ISOLATION_POOL_LABEL,
    ISOLATION_TENANT_LABEL,
    MIG_CONFIG_LABEL,
    POOL_LABEL,
    TENANT_LABEL,
    Taint,
)
from components.operators.cluster_operators import sharing_config
from components.topology import BLOCK_LABEL, HOSTNAME_LABEL, LEAF_GROUP_LABEL, RACK_LABEL, PoolRack
from components.upgrades import UpgradePolicy
from infra.config.schema import NodePool
from infra.plan.capacity import mig_instances_per_gpu
from infra.site import gpu_node_pool_args, gpu_sharing_layout

TYPE = "gigafactory:index:GpuNodePool"


def small_pool(**overrides: Any) -> NodePool:
    """A validated 8-node B200 pool (one rack pair) with ``overrides``."""
    body: dict[str, Any] = {
        "name": "b200-test",
        "gpu_model": "B200",
        "nodes": 8,
        "node_name_pattern": "t-{index:02d}",
        "scalable_unit_nodes": 8,
        "nodes_per_rack": 4,
        "hcas": {"compute": 8, "storage": 2},
        "purpose": "inference",
        **overrides,
    }
    return NodePool.model_validate(body)


def pool_args(pool: NodePool) -> GpuNodePoolArgs:
    """``pool`` as the site maps it (``infra.site.gpu_node_pool_args``), placed by its own fabric arithmetic."""
    return gpu_node_pool_args(pool, pilot().operators.gpu_operator, topology_name="site-fabric")


def build(pool: NodePool) -> Any:
    def program(opts: pulumi.ResourceOptions) -> None:
        GpuNodePool(f"pool-{pool.name}", pool_args(pool), opts)

    return record(program)


def test_every_node_gets_pool_and_topology_labels_from_one_rule_per_scalable_unit() -> None:
    pool = pilot().pool("h100-train")
    assert pool is not None
    recording = build(pool)
    rules = node_rules(recording.resources)
    assert sorted(r.inputs["metadata"]["name"] for r in rules) == [f"h100-train-su{su:03d}" for su in range(3)]
    assert not recording.of_type("kubernetes:core/v1:NodePatch"), "no resource per node"
    nodes = outcomes(rules, pool.node_names())
    assert all(len(found.rules) == 1 for found in nodes.values()), "each node matches exactly one rule"
    first, last = nodes["pilot-gpu-001"], nodes["pilot-gpu-096"]
    assert first.labels == {
        POOL_LABEL: "h100-train",
        ISOLATION_POOL_LABEL: "h100-train",
        "gigafactory.eu/gpu-model": "H100-SXM-80GB",
        "gigafactory.eu/purpose": "training",
        BLOCK_LABEL: "h100-train-su000",
        RACK_LABEL: "h100-train-r0000",
        LEAF_GROUP_LABEL: "h100-train-su000-leaves",
    }
    assert last.labels[BLOCK_LABEL] == "h100-train-su002"
    assert last.labels[RACK_LABEL] == "h100-train-r0023"
    # The kubelet owns the hostname label; a rule must not fight it.
    assert all(HOSTNAME_LABEL not in found.labels for found in nodes.values())
    assert all(found.taints == [] for found in nodes.values()), "an untainted pool writes no taints"
    assert outcome(rules, "pilot-gpu-097").rules == [], "a name outside the pool matches nothing"


def test_children_are_parented_and_use_the_given_provider() -> None:
    pool = pilot().pool("h100-clinical")
    assert pool is not None
    recording = build(pool)
    component = recording.component(TYPE)
    assert_parented(recording, component)
    assert len(recording.children(component)) == pool.scalable_units + 2


def test_dedicated_pool_is_tainted_and_its_flavor_tolerates_the_taint() -> None:
    pool = pilot().pool("h100-clinical")
    assert pool is not None
    recording = build(pool)
    taint = {"key": "gigafactory.eu/tenant", "value": "oslo-hospital", "effect": "NoSchedule"}
    rules = node_rules(recording.resources)
    for name, found in outcomes(rules, pool.node_names()).items():
        assert found.taints == [taint], name
        assert found.labels[TENANT_LABEL] == "oslo-hospital", name
        assert found.labels["gigafactory.eu/data-class"] == "health", name
        # The labels that decide isolation are ones a kubelet may not set (NodeRestriction).
        assert found.labels[ISOLATION_TENANT_LABEL] == "oslo-hospital", name
        assert found.labels[ISOLATION_POOL_LABEL] == "h100-clinical", name
    flavor = recording.one("ResourceFlavor", "h100-clinical")
    assert spec(flavor) == {
        "nodeLabels": {POOL_LABEL: "h100-clinical", ISOLATION_POOL_LABEL: "h100-clinical"},
        "nodeTaints": [taint],
        "tolerations": [{**taint, "operator": "Equal"}],
        "topologyName": "site-fabric",
    }


def test_driver_upgrade_policy_comes_from_the_pool() -> None:
    pool = pilot().pool("h100-train")
    assert pool is not None
    driver = build(pool).one("NVIDIADriver", "h100-train")
    body = spec(driver)
    assert body["version"] == "595.91.07"
    assert body["default"] is False
    assert body["nodeSelector"] == {POOL_LABEL: "h100-train"}
    policy = body["upgradePolicy"]
    assert policy["maxUnavailable"] == "12%"
    assert policy["maxParallelUpgrades"] == 4
    assert policy["drain"]["enable"] is True
    assert policy["drain"]["timeoutSeconds"] == 300


def test_custom_resources_wait_for_the_releases_that_install_their_crds() -> None:
    pool = small_pool()

    def program(opts: pulumi.ResourceOptions) -> None:
        release = k8s.helm.v3.Release("kueue", chart="kueue", opts=opts)
        GpuNodePool(
            "pool", pool_args(pool), pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[release]))
        )

    recording = record(program)
    release = recording.named("kueue")
    for name in ("pool-flavor", "pool-driver", "pool-b200-test-su000"):
        assert release.urn in recording.named(name).depends_on, name


def test_mig_pool_labels_select_its_layout() -> None:
    pool = small_pool(gpu_sharing={"mode": "mig", "mig_profile": "3g.90gb"})
    rules = node_rules(build(pool).resources)
    for name, found in outcomes(rules, pool.node_names()).items():
        assert found.labels[MIG_CONFIG_LABEL] == "b200-test", name
    layout = gpu_sharing_layout(pool)
    assert layout is not None
    sharing = sharing_config({pool.name: layout})
    assert sharing.mig_configs == {
        "b200-test": [{"devices": "all", "mig-enabled": True, "mig-devices": {"3g.90gb": 2}}]
    }
    parted = yaml.safe_load(sharing.mig_parted_yaml())
    assert set(parted["mig-configs"]) == {"all-disabled", "b200-test"}
    assert sharing.mig_strategy == "single"


def test_time_sliced_pool_labels_select_its_device_plugin_config() -> None:
    pool = small_pool(gpu_sharing={"mode": "time-slicing", "replicas": 4})
    assert sharing_labels(pool.name, pool.gpu_sharing.mode) == {DEVICE_PLUGIN_CONFIG_LABEL: "b200-test"}
    layouts = {p.name: layout for p in (pool, small_pool(name="plain")) if (layout := gpu_sharing_layout(p))}
    files = sharing_config(layouts).device_plugin_files()
    assert set(files) == {"default", "b200-test"}
    sliced = yaml.safe_load(files["b200-test"])
    assert sliced["sharing"]["timeSlicing"]["resources"] == [{"name": "nvidia.com/gpu", "replicas": 4}]
    assert yaml.safe_load(files["default"])["flags"]["migStrategy"] == "none"


def test_gpu_units_count_mig_devices() -> None:
    assert mig_instances_per_gpu(("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"), "1g.10gb") == 7
    assert mig_instances_per_gpu(("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"), "1g.20gb") == 4
    assert mig_instances_per_gpu(("1g.23gb", "1g.45gb", "2g.45gb", "3g.90gb", "4g.90gb", "7g.180gb"), "2g.45gb") == 3


def test_objects_validate_against_their_schemas() -> None:
    pool = pilot().pool("h100-clinical")
    assert pool is not None
    assert schema_errors(build(pool), "1.35") == []


def test_a_unit_too_large_for_one_template_is_split_into_rules_nfd_master_accepts() -> None:
    # nfd-master refuses a labelsTemplate over 64 KiB (NFD v0.19.0 pkg/apis/nfd/template/template.go).
    pool = small_pool(nodes=4096, scalable_unit_nodes=4096, node_name_pattern="big-node-{index:05d}")
    (resource,) = node_rules(build(pool).resources)
    rules = resource.inputs["spec"]["rules"]
    assert len(rules) > 1
    assert all(len(rule["labelsTemplate"].encode()) <= MAX_TEMPLATE_BYTES for rule in rules)
    nodes = outcomes([resource], pool.node_names())
    assert all(len(found.rules) == 1 for found in nodes.values()), "each node matches exactly one rule"
    for position, name in enumerate(pool.node_names()):
        assert nodes[name].labels[RACK_LABEL] == f"b200-test-r{position // 4:04d}", name
        assert nodes[name].labels[BLOCK_LABEL] == "b200-test-su000", name


def test_a_pool_from_plain_data_alone() -> None:
    # What a program that knows nothing of site configs passes: no infra type anywhere.
    taint = Taint(key="example.com/team", value="vision", effect="NoSchedule")
    args = GpuNodePoolArgs(
        pool="vision",
        gpu_model="H200",
        purpose="training",
        dedicated_to="vision-team",
        taints=[taint],
        racks=[
            PoolRack(rack="vision-r0", block="vision-su0", leaf_group="vision-su0-leaves", nodes=["v-1", "v-2"]),
            PoolRack(rack="vision-r1", block="vision-su0", leaf_group="vision-su0-leaves", nodes=["v-3"]),
        ],
        gpu_units=24,
        driver_version="595.91.07",
        driver_upgrade=UpgradePolicy(
            max_unavailable="1", max_parallel_upgrades=1, drain=True, drain_timeout_seconds=600
        ),
    )

    def program(opts: pulumi.ResourceOptions) -> None:
        GpuNodePool("vision", args, opts)

    recording = record(program)
    nodes = outcomes(node_rules(recording.resources), ["v-1", "v-2", "v-3", "v-4"])
    assert nodes["v-3"].labels == {
        POOL_LABEL: "vision",
        ISOLATION_POOL_LABEL: "vision",
        TENANT_LABEL: "vision-team",
        ISOLATION_TENANT_LABEL: "vision-team",
        "gigafactory.eu/gpu-model": "H200",
        "gigafactory.eu/purpose": "training",
        BLOCK_LABEL: "vision-su0",
        RACK_LABEL: "vision-r1",
        LEAF_GROUP_LABEL: "vision-su0-leaves",
    }
    assert nodes["v-1"].labels[RACK_LABEL] == "vision-r0" and nodes["v-4"].rules == []
    assert all(nodes[n].taints == [dict(taint)] for n in ("v-1", "v-2", "v-3"))
    driver = spec(recording.one("NVIDIADriver", "vision"))
    assert driver["kernelModuleType"] == "auto" and driver["rdma"]["enabled"] is True
    assert driver["upgradePolicy"]["maxUnavailable"] == 1
    assert "topologyName" not in spec(recording.one("ResourceFlavor", "vision"))


def test_the_analyzer_infers_the_schema_of_the_inputs_outputs_and_types() -> None:
    schema = Analyzer("gigafactory").analyze([GpuNodePool])
    component = schema["component_definitions"]["GpuNodePool"]
    assert list(component.inputs) == [
        "pool",
        "gpuModel",
        "purpose",
        "dedicatedTo",
        "gpuSharing",
        "labels",
        "taints",
        "racks",
        "gpuUnits",
        "driverVersion",
        "driverUpgrade",
        "kernelModuleType",
        "rdma",
        "topologyName",
    ]
    assert set(component.outputs) == {"flavorName", "nodeSelector", "tolerations", "nodes", "gpuUnits"}
    assert [k for k, v in component.inputs.items() if v.optional] == [
        "dedicatedTo",
        "gpuSharing",
        "labels",
        "taints",
        "kernelModuleType",
        "rdma",
        "topologyName",
    ]
    types = schema["type_definitions"]
    assert set(types) == {"Taint", "PoolRack", "UpgradePolicy"}


def test_node_names_with_dots_are_matched_literally() -> None:
    # Node names are often FQDNs. In the rule's InRegexp pattern a '.' is escaped, so "gpu-1.a.example"
    # does not also match "gpu-1xa.example"; the template quotes each name as a Go string.
    racks = [
        PoolRack(
            rack="fq-r0", block="fq-su0", leaf_group="fq-su0-leaves", nodes=["gpu-1.a.example", "gpu-2.a.example"]
        ),
        PoolRack(rack="fq-r1", block="fq-su0", leaf_group="fq-su0-leaves", nodes=["gpu-3.a.example"]),
    ]
    args = GpuNodePoolArgs(
        pool="fq",
        gpu_model="H200",
        purpose="training",
        taints=[],
        racks=racks,
        gpu_units=24,
        driver_version="595.91.07",
        driver_upgrade=UpgradePolicy(
            max_unavailable="1", max_parallel_upgrades=1, drain=True, drain_timeout_seconds=600
        ),
    )
    recording = record(lambda opts: GpuNodePool("fq", args, opts))
    nodes = outcomes(node_rules(recording.resources), ["gpu-1.a.example", "gpu-3.a.example", "gpu-1xa.example"])
    assert nodes["gpu-1.a.example"].labels[RACK_LABEL] == "fq-r0"
    assert nodes["gpu-3.a.example"].labels[RACK_LABEL] == "fq-r1"
    assert nodes["gpu-1xa.example"].rules == [], "a '.' in a node name must match only a '.'"
