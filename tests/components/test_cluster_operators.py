"""ClusterOperators: pinned releases in their own namespaces, CRD ordering, GPU Operator values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml
from component_harness import assert_parented, gigafactory, pilot, record, schema_errors, spec
from pulumi.provider.experimental.analyzer import Analyzer

from components.operators.cluster_operators import ClusterOperators, ClusterOperatorsArgs
from infra.config.model import SiteConfig
from infra.config.schema import DriverUpgrade
from infra.site import cluster_operators_args, ofed_parallel_upgrades, prometheus_shards, strictest_upgrade

TYPE = "gigafactory:index:ClusterOperators"
CHARTS = Path(__file__).resolve().parents[3] / "shared" / "charts"
RELEASE = "kubernetes:helm.sh/v3:Release"


def build(config: SiteConfig) -> Any:
    def program(opts: pulumi.ResourceOptions) -> None:
        ClusterOperators(
            "ops",
            cluster_operators_args(
                config,
                upgrade=strictest_upgrade(p.driver_upgrade for p in config.node_pools),
                tolerations=[{"key": "gigafactory.eu/tenant", "operator": "Exists", "effect": "NoSchedule"}],
            ),
            opts,
        )

    return record(program)


def releases(recording: Any) -> dict[str, Any]:
    return {r.inputs["name"]: r for r in recording.of_type(RELEASE)}


def test_every_operator_is_a_release_pinned_to_the_config_in_its_own_namespace() -> None:
    config = pilot()
    ops = config.operators
    found = releases(build(config))
    expected = {
        "cert-manager": ("oci://quay.io/jetstack/charts/cert-manager", ops.cert_manager.version, "cert-manager"),
        "kube-prometheus-stack": ("kube-prometheus-stack", ops.monitoring.version, "monitoring"),
        "node-feature-discovery": (
            "oci://registry.k8s.io/nfd/charts/node-feature-discovery",
            ops.node_feature_discovery.version.lstrip("v"),
            "node-feature-discovery",
        ),
        "gpu-operator": ("gpu-operator", ops.gpu_operator.version, "gpu-operator"),
        "network-operator": ("network-operator", ops.network_operator.version, "nvidia-network-operator"),
        "kueue": ("oci://registry.k8s.io/kueue/charts/kueue", ops.kueue.version.lstrip("v"), "kueue-system"),
    }
    assert set(found) == set(expected)
    for name, (chart, version, namespace) in expected.items():
        release = found[name]
        assert (release.inputs["chart"], release.inputs["version"], release.inputs["namespace"]) == (
            chart,
            version,
            namespace,
        ), release.urn
    assert found["gpu-operator"].inputs["repositoryOpts"] == {"repo": "https://helm.ngc.nvidia.com/nvidia"}


def test_crd_installing_releases_come_first() -> None:
    recording = build(pilot())
    found = releases(recording)
    urn = {name: r.urn for name, r in found.items()}
    assert {urn["cert-manager"], urn["kube-prometheus-stack"]} <= set(found["kueue"].depends_on)
    assert urn["node-feature-discovery"] in found["gpu-operator"].depends_on
    assert urn["node-feature-discovery"] in found["network-operator"].depends_on
    monitor = recording.one("ServiceMonitor", "nvidia-dcgm-exporter", "gpu-operator")
    assert {urn["kube-prometheus-stack"], urn["gpu-operator"]} <= set(monitor.depends_on)
    assert spec(monitor)["endpoints"][0]["port"] == "gpu-metrics"


def test_gpu_operator_values_carry_driver_rdma_upgrade_policy_and_monitoring() -> None:
    config = pilot()
    values = releases(build(config))["gpu-operator"].inputs["values"]
    driver = values["driver"]
    assert driver["version"] == config.operators.gpu_operator.driver_version
    assert driver["kernelModuleType"] == "open"
    assert driver["rdma"] == {"enabled": True, "useHostMofed": False}
    assert driver["nvidiaDriverCRD"] == {"enabled": True, "deployDefaultCR": False}
    # The strictest of the pools: h100-clinical allows 1 node down, 1 at a time.
    assert driver["upgradePolicy"]["maxUnavailable"] == 1
    assert driver["upgradePolicy"]["maxParallelUpgrades"] == 1
    assert driver["upgradePolicy"]["drain"]["enable"] is True
    assert values["mig"] == {"strategy": "none"}
    assert values["nfd"] == {"enabled": False}
    assert values["dcgmExporter"]["serviceMonitor"] == {"enabled": False}
    assert {"key": "gigafactory.eu/tenant", "operator": "Exists", "effect": "NoSchedule"} in values["daemonsets"][
        "tolerations"
    ]


def test_mig_pools_get_the_mig_manager_and_device_plugin_config_maps() -> None:
    recording = build(gigafactory())
    values = releases(recording)["gpu-operator"].inputs["values"]
    assert values["mig"] == {"strategy": "single"}
    assert values["migManager"]["config"] == {"name": "gigafactory-mig-parted-config", "default": "all-disabled"}
    assert values["devicePlugin"]["config"]["name"] == "gigafactory-device-plugin-config"
    parted = recording.one("ConfigMap", "gigafactory-mig-parted-config", "gpu-operator")
    layouts = yaml.safe_load(parted.inputs["data"]["config.yaml"])["mig-configs"]
    assert layouts["b200-infer"] == [{"devices": "all", "mig-enabled": True, "mig-devices": {"3g.90gb": 2}}]
    assert parted.urn in releases(recording)["gpu-operator"].depends_on


def test_operator_namespaces_admit_what_their_pods_need() -> None:
    recording = build(pilot())
    enforce = {
        r.inputs["metadata"]["name"]: r.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
        for r in recording.kind("Namespace")
    }
    assert enforce["gpu-operator"] == "privileged"
    assert enforce["nvidia-network-operator"] == "privileged"
    assert enforce["kueue-system"] == "restricted"


def test_children_are_parented_and_objects_validate() -> None:
    recording = build(gigafactory())
    assert_parented(recording, recording.component(TYPE))
    assert schema_errors(recording, "1.35") == []


def test_network_operator_keeps_the_charts_control_plane_tolerations() -> None:
    """A list in Helm values replaces the chart's: `operator.tolerations` of network-operator 26.4.1
    (values.yaml) tolerates the control plane; the site's tolerations are added, not substituted."""
    chart = CHARTS / "network-operator-26.4.1" / "values.yaml"
    if not chart.is_file():
        pytest.skip(f"no vendored chart at {chart}")
    defaults = yaml.safe_load(chart.read_text(encoding="utf-8"))["operator"]["tolerations"]
    values = releases(build(pilot()))["network-operator"].inputs["values"]
    found = values["operator"]["tolerations"]
    assert all(t in found for t in defaults), found
    assert {"key": "gigafactory.eu/tenant", "operator": "Exists", "effect": "NoSchedule"} in found


def test_prometheus_is_sharded_and_persistent_for_the_100k_site() -> None:
    """The chart's default is one Prometheus on an emptyDir (kube-prometheus-stack 86.2.3
    values.yaml: prometheusSpec.shards 1, storageSpec {}): DCGM on 13,896 nodes needs shards and disks."""
    config = gigafactory()
    assert prometheus_shards(config) == 14
    assert prometheus_shards(pilot()) == 1

    def program(opts: pulumi.ResourceOptions) -> None:
        args = cluster_operators_args(config, upgrade=DriverUpgrade(), tolerations=[])
        ClusterOperators("ops", args, opts)

    prometheus = releases(record(program))["kube-prometheus-stack"].inputs["values"]["prometheus"]["prometheusSpec"]
    assert prometheus["shards"] == 14
    claim = prometheus["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["resources"]["requests"]["storage"] == "500Gi"
    assert (prometheus["retention"], prometheus["retentionSize"]) == ("15d", "450GiB")
    assert prometheus["serviceMonitorSelectorNilUsesHelmValues"] is False


def test_doca_ofed_upgrades_as_many_nodes_at_once_as_the_pools_allow_together() -> None:
    """NicClusterPolicy has one cluster-wide `ofedDriver.upgradePolicy.maxParallelUpgrades`
    (network-operator v26.4.1 CRD); the strictest pool's 1 would take 13,896 nodes one at a time."""
    config = gigafactory()
    assert ofed_parallel_upgrades(config) == sum(
        p.driver_upgrade.max_parallel_upgrades or p.nodes for p in config.node_pools
    )
    assert ofed_parallel_upgrades(config) == 93, "72 + 18 + 1 + 1 + 1: not the strictest pool's 1"
    chosen = config.operators.model_copy(
        update={
            "network_operator": config.operators.network_operator.model_copy(update={"ofed_max_parallel_upgrades": 8})
        }
    )
    assert ofed_parallel_upgrades(config.model_copy(update={"operators": chosen})) == 8


def test_kueue_manages_every_tenant_workload_and_no_system_namespace() -> None:
    values = releases(build(pilot()))["kueue"].inputs["values"]
    config = yaml.safe_load(values["managerConfig"]["controllerManagerConfigYaml"])
    assert config["kind"] == "Configuration" and config["apiVersion"] == "config.kueue.x-k8s.io/v1beta2"
    assert config["manageJobsWithoutQueueName"] is True
    # Tenant namespaces carry gigafactory.eu/tenant-kind; kube-system and the operators' do not.
    assert config["managedJobsNamespaceSelector"] == {
        "matchExpressions": [{"key": "gigafactory.eu/tenant-kind", "operator": "Exists"}]
    }
    # The value replaces the chart's whole file: its integrations (pods among them) are kept.
    assert {"batch/job", "pod", "jobset.x-k8s.io/jobset", "trainer.kubeflow.org/trainjob"} <= set(
        config["integrations"]["frameworks"]
    )
    assert config["webhook"] == {"port": 9443}


def test_plain_data_args_build_the_operators_without_the_site_model() -> None:
    """Args are plain values: versions, driver settings, Prometheus' size and how GPUs are shared; the
    namespaces default, and ``opts.depends_on`` reaches every child."""
    args: ClusterOperatorsArgs = {
        "versions": {
            "cert_manager": "v1.19.1",
            "monitoring": "86.2.3",
            "node_feature_discovery": "v0.19.0",
            "gpu_operator": "v26.3.0",
            "gpu_driver": "595.58.03",
            "network_operator": "v26.4.1",
            "doca_ofed": "doca3.4.1-26.04-1.1.0.0-1",
            "kueue": "v0.19.2",
        },
        "kernel_module_type": "open",
        "rdma": True,
        "driver_upgrade": {
            "max_unavailable": "25%",
            "max_parallel_upgrades": 2,
            "drain": False,
            "drain_timeout_seconds": 0,
        },
        # A program in another language sends numbers as floats (the engine's protobuf Struct).
        "prometheus": {"retention": "7d", "storage_gi": 100.0},  # type: ignore[typeddict-item]
        "gpu_sharing": {"infer": {"mig_devices": {"1g.23gb": 7}}, "dev": {"time_slicing_replicas": 4}},
        "namespaces": {"kueue": "queues"},
    }

    def program(opts: pulumi.ResourceOptions) -> None:
        first = k8s.core.v1.ConfigMap("cluster-ready", opts=opts)
        ClusterOperators("ops", args, pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[first])))

    recording = record(program)
    found = releases(recording)
    assert (found["kueue"].inputs["namespace"], found["kueue"].inputs["version"]) == ("queues", "0.19.2")
    assert found["gpu-operator"].inputs["namespace"] == "gpu-operator"
    values = found["gpu-operator"].inputs["values"]
    assert values["driver"]["upgradePolicy"]["maxUnavailable"] == "25%"
    assert values["driver"]["kernelModuleType"] == "open"
    prometheus = found["kube-prometheus-stack"].inputs["values"]["prometheus"]["prometheusSpec"]
    assert (prometheus["shards"], prometheus["retentionSize"]) == (1, "90GiB")
    assert prometheus["storageSpec"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"] == "100Gi"
    assert "storageClassName" not in prometheus["storageSpec"]["volumeClaimTemplate"]["spec"]
    parted = yaml.safe_load(
        recording.one("ConfigMap", "gigafactory-mig-parted-config", "gpu-operator").inputs["data"]["config.yaml"]
    )
    assert parted["mig-configs"]["infer"] == [{"devices": "all", "mig-enabled": True, "mig-devices": {"1g.23gb": 7}}]
    plugin = recording.one("ConfigMap", "gigafactory-device-plugin-config", "gpu-operator").inputs["data"]
    assert yaml.safe_load(plugin["dev"])["sharing"]["timeSlicing"]["resources"] == [
        {"name": "nvidia.com/gpu", "replicas": 4}
    ]
    ready = recording.named("cluster-ready").urn
    children = [r for r in recording.resources if r.parent == recording.component(TYPE).urn]
    assert children and all(ready in r.depends_on for r in children), [
        r.urn for r in children if ready not in r.depends_on
    ]
    assert schema_errors(recording, "1.35") == []


def test_the_analyzer_infers_the_schema_of_the_inputs_outputs_and_types() -> None:
    schema = Analyzer("gigafactory").analyze([ClusterOperators])
    component = schema["component_definitions"]["ClusterOperators"]
    assert set(component.inputs) == {
        "versions",
        "kernelModuleType",
        "rdma",
        "driverUpgrade",
        "prometheus",
        "gpuSharing",
        "tolerations",
        "namespaces",
    }
    assert set(component.outputs) == {"namespaces", "versions"}
    types = schema["type_definitions"]
    assert {"OperatorVersions", "OperatorNamespaces", "PrometheusSizing", "GpuSharingLayout", "UpgradePolicy"} <= set(
        types
    )
