"""``ClusterOperators``: the cluster-wide operators a gigafactory runs, as pinned Helm releases."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components.compute.gpu_sharing import DEVICE_PLUGIN_DEFAULT, MIG_DISABLED, GpuSharingConfig
from components.compute.node_identity import RESTRICTED_LABEL_NS, nodefeature_binding_policy
from components.kube import custom_resource, helm_release, meta, pod_security_labels
from components.labels import PART_OF, TENANT_KIND_LABEL
from components.scheduling.quotas import EXCLUDED_RESOURCE_PREFIXES
from components.upgrades import gpu_driver_upgrade_policy
from infra.config.schema import DriverUpgrade, Operators

NGC_REPO = "https://helm.ngc.nvidia.com/nvidia"
PROMETHEUS_REPO = "https://prometheus-community.github.io/helm-charts"
CERT_MANAGER_CHART = "oci://quay.io/jetstack/charts/cert-manager"
NFD_CHART = "oci://registry.k8s.io/nfd/charts/node-feature-discovery"
KUEUE_CHART = "oci://registry.k8s.io/kueue/charts/kueue"
MIG_CONFIG_MAP = "gigafactory-mig-parted-config"
DEVICE_PLUGIN_CONFIG_MAP = "gigafactory-device-plugin-config"
# GPU Operator's DCGM exporter Service: label app=nvidia-dcgm-exporter, port "gpu-metrics" (9400).
DCGM_SERVICE_LABELS = {"app": "nvidia-dcgm-exporter"}
DCGM_PORT = "gpu-metrics"
PRIVILEGED = "privileged"
NODEFEATURE_BINDING = "gigafactory-nodefeature-node-binding"
RESTRICTED = "restricted"


# The Network Operator chart's own `operator.tolerations` (network-operator 26.4.1 values.yaml): a
# value given for the list replaces it, so the site's tolerations are added to these, not instead.
NETWORK_OPERATOR_CHART_TOLERATIONS: tuple[dict[str, Any], ...] = (
    {"key": "node-role.kubernetes.io/master", "operator": "Equal", "value": "", "effect": "NoSchedule"},
    {"key": "node-role.kubernetes.io/control-plane", "operator": "Equal", "value": "", "effect": "NoSchedule"},
)
# Prometheus keeps retention within this share of its volume, so the disk never fills before the
# time-based retention deletes blocks (Prometheus docs, "Operational aspects": size-based retention).
PROMETHEUS_RETENTION_SHARE = 0.9


def nfd_master_config(namespace: str) -> dict[str, Any]:
    """nfd-master's configuration: the label namespaces it may write, taints on, NodeFeatures it reads.

    One NFD serves both NVIDIA operators, which then run theirs disabled; they need the
    nvidia.com label namespace (Network Operator docs, "Prerequisites"). Isolation labels live
    under node-restriction.kubernetes.io/, which nfd-master refuses unless listed here, and the
    pools' taints come from NodeFeatureRules, which nfd-master applies only with ``enableTaints``
    (NFD v0.19.0 pkg/nfd-master/nfd-master.go, ``filterFeatureLabel`` and ``refreshNodeFeatures``).
    Only NodeFeatures in NFD's own namespace count (``nodeFeatureNamespaceSelector``): there an
    admission policy binds each to its node (``nodefeature_binding_policy``).
    """
    return {
        "extraLabelNs": ["nvidia.com", RESTRICTED_LABEL_NS],
        "enableTaints": True,
        "restrictions": {
            "nodeFeatureNamespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
        },
    }


# Kueue's chart takes its whole Configuration as one YAML string: this is the chart's default
# (kueue v0.19.2 charts/kueue/values.yaml, managerConfig.controllerManagerConfigYaml), to which the
# site adds `resources.excludeResourcePrefixes` (components.scheduling.quotas).
KUEUE_DEFAULT_CONFIGURATION: dict[str, Any] = {
    "apiVersion": "config.kueue.x-k8s.io/v1beta2",
    "kind": "Configuration",
    "health": {"healthProbeBindAddress": ":8081"},
    "metrics": {"bindAddress": ":8443"},
    "webhook": {"port": 9443},
    "leaderElection": {"leaderElect": True, "resourceName": "c1f6bfd2.kueue.x-k8s.io"},
    "controller": {
        "groupKindConcurrency": {
            "Job.batch": 5,
            "Pod": 5,
            "Workload.kueue.x-k8s.io": 10,
            "LocalQueue.kueue.x-k8s.io": 5,
            "ClusterQueue.kueue.x-k8s.io": 5,
            "ResourceFlavor.kueue.x-k8s.io": 1,
        }
    },
    "clientConnection": {"qps": 300, "burst": 500},
    "integrations": {
        "frameworks": [
            "batch/job",
            "kubeflow.org/mpijob",
            "ray.io/rayjob",
            "ray.io/rayservice",
            "ray.io/raycluster",
            "jobset.x-k8s.io/jobset",
            "workload.codeflare.dev/appwrapper",
            "trainer.kubeflow.org/trainjob",
            "pod",
            "deployment",
            "statefulset",
            "leaderworkerset.x-k8s.io/leaderworkerset",
        ]
    },
}


# Namespaces Kueue manages even without a queue name: the tenants' (they carry their kind). System
# and operator namespaces lack the label, so their pods and jobs never wait for a queue.
KUEUE_MANAGED_NAMESPACES: dict[str, Any] = {"matchExpressions": [{"key": TENANT_KIND_LABEL, "operator": "Exists"}]}


def kueue_configuration(excluded_prefixes: tuple[str, ...] = EXCLUDED_RESOURCE_PREFIXES) -> str:
    """Kueue's Configuration (the chart's default) excluding ``excluded_prefixes`` from quota.

    With ``manageJobsWithoutQueueName``, a job or pod in a tenant namespace without a
    ``kueue.x-k8s.io/queue-name`` label is still Kueue's: it stays suspended (a pod stays gated)
    until one of the namespace's queues admits it, instead of bypassing quotas and dedicated pools.
    Only the namespaces ``managedJobsNamespaceSelector`` selects are managed (kubernetes-sigs/kueue
    site/content/en/docs/tasks/manage/enforce_job_management/manage_jobs_without_queue_name.md).
    """
    config = {
        **KUEUE_DEFAULT_CONFIGURATION,
        "resources": {"excludeResourcePrefixes": list(excluded_prefixes)},
        "manageJobsWithoutQueueName": True,
        "managedJobsNamespaceSelector": KUEUE_MANAGED_NAMESPACES,
    }
    return yaml.safe_dump(config, sort_keys=False)


def operator_versions(ops: Operators) -> dict[str, str]:
    """The version of each operator (and of the GPU driver and DOCA-OFED) the site runs."""
    return {
        "cert-manager": ops.cert_manager.version,
        "kube-prometheus-stack": ops.monitoring.version,
        "node-feature-discovery": ops.node_feature_discovery.version,
        "gpu-operator": ops.gpu_operator.version,
        "gpu-driver": ops.gpu_operator.driver_version,
        "network-operator": ops.network_operator.version,
        "doca-ofed": ops.network_operator.doca_ofed_version,
        "kueue": ops.kueue.version,
    }


def oci_chart_version(version: str) -> str:
    """A release version as the registry.k8s.io OCI charts tag it (``v0.19.2`` -> ``0.19.2``)."""
    return version[1:] if version.startswith("v") else version


@dataclass(frozen=True)
class OperatorNamespaces:
    """Namespace of each operator."""

    gpu_operator: str = "gpu-operator"
    """NVIDIA GPU Operator."""

    network_operator: str = "nvidia-network-operator"
    """NVIDIA Network Operator."""

    node_feature_discovery: str = "node-feature-discovery"
    """Node Feature Discovery."""

    cert_manager: str = "cert-manager"
    """cert-manager."""

    kueue: str = "kueue-system"
    """Kueue."""

    monitoring: str = "monitoring"
    """kube-prometheus-stack."""


@dataclass(frozen=True)
class ClusterOperatorsArgs:
    """What ``ClusterOperators`` needs."""

    operators: Operators
    """Pinned operator versions and the GPU driver settings from the site config."""

    sharing: GpuSharingConfig = field(default_factory=GpuSharingConfig)
    """MIG layouts and device-plugin configurations of every pool (``gpu_sharing.merge_sharing``)."""

    driver_upgrade: DriverUpgrade = field(default_factory=DriverUpgrade)
    """Driver upgrade policy for GPU nodes no pool's ``NVIDIADriver`` selects (the strictest pool's)."""

    tolerations: tuple[dict[str, Any], ...] = ()
    """Tolerations node daemons need to reach tainted (dedicated) pools."""

    namespaces: OperatorNamespaces = field(default_factory=OperatorNamespaces)
    """Namespace of each operator."""

    prometheus_shards: int = 1
    """Prometheus shards: each scrapes its share of the targets (DCGM and node exporters of every node)."""


class ClusterOperators(pulumi.ComponentResource):
    """The operators of a site, each a Helm release pinned to the config's version in its own namespace.

    Creates namespaces (Pod Security ``privileged`` where node daemons need host access), then
    releases ordered so that CRDs exist before what uses them: cert-manager (CRDs) and
    kube-prometheus-stack (ServiceMonitor CRDs) first; Node Feature Discovery before the GPU and
    Network Operators; Kueue after cert-manager and monitoring. Also the GPU Operator's MIG-parted
    and device-plugin ConfigMaps and a ServiceMonitor for the DCGM exporter.

    The releases are attributes (``cert_manager``, ``monitoring``, ``node_feature_discovery``,
    ``gpu_operator``, ``network_operator``, ``kueue``) for other components' ``depends_on``.
    Outputs: ``namespaces``, ``versions``.
    """

    namespaces: pulumi.Output[dict[str, str]]
    versions: pulumi.Output[dict[str, str]]

    def __init__(self, name: str, args: ClusterOperatorsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gigafactory:operators:ClusterOperators", name, None, opts)
        ops, ns = args.operators, args.namespaces
        self._name = name
        spaces = {
            "cert-manager": (ns.cert_manager, RESTRICTED),
            "monitoring": (ns.monitoring, PRIVILEGED),
            "node-feature-discovery": (ns.node_feature_discovery, PRIVILEGED),
            "gpu-operator": (ns.gpu_operator, PRIVILEGED),
            "network-operator": (ns.network_operator, PRIVILEGED),
            "kueue": (ns.kueue, RESTRICTED),
        }
        namespace = {key: self._namespace(key, space, level) for key, (space, level) in spaces.items()}
        tolerations = list(args.tolerations)

        self.cert_manager = self._release(
            "cert-manager",
            namespace["cert-manager"],
            chart=CERT_MANAGER_CHART,
            version=ops.cert_manager.version,
            values={"crds": {"enabled": True}},
        )
        self.monitoring = self._release(
            "kube-prometheus-stack",
            namespace["monitoring"],
            chart="kube-prometheus-stack",
            repo=PROMETHEUS_REPO,
            version=ops.monitoring.version,
            values={
                "prometheus": {"prometheusSpec": _prometheus_spec(args)},
                "prometheus-node-exporter": {"tolerations": [{"operator": "Exists"}]},
            },
        )
        # The policy first: no nfd-worker writes a NodeFeature before it is bound to its node.
        bound = self._bind_node_features(name, ns.node_feature_discovery)
        self.node_feature_discovery = self._release(
            "node-feature-discovery",
            namespace["node-feature-discovery"],
            chart=NFD_CHART,
            version=oci_chart_version(ops.node_feature_discovery.version),
            values={
                "master": {"config": nfd_master_config(ns.node_feature_discovery)},
                "worker": {
                    "tolerations": tolerations,
                    # Label network controllers (class 02: InfiniBand HCAs) as well as the default
                    # classes, so nodes get feature.node.kubernetes.io/pci-15b3.present, which the
                    # SR-IOV policies select on (NFD docs, "PCI feature source").
                    "config": {
                        "sources": {
                            "pci": {"deviceClassWhitelist": ["02", "03", "0b40", "12"], "deviceLabelFields": ["vendor"]}
                        }
                    },
                },
            },
            depends_on=[bound],
        )
        config_maps = self._sharing_config_maps(args.sharing, namespace["gpu-operator"])
        self.gpu_operator = self._release(
            "gpu-operator",
            namespace["gpu-operator"],
            chart="gpu-operator",
            repo=NGC_REPO,
            version=ops.gpu_operator.version,
            values=_gpu_operator_values(args, tolerations),
            depends_on=[self.node_feature_discovery, *config_maps],
        )
        self.network_operator = self._release(
            "network-operator",
            namespace["network-operator"],
            chart="network-operator",
            repo=NGC_REPO,
            version=ops.network_operator.version,
            values={
                # The site's NFD serves both operators; the operator still ships its NodeFeatureRules.
                "nfd": {"enabled": False, "deployNodeFeatureRules": True},
                # SR-IOV VFs carry tenants' partition keys (InfiniBandFabric, Tenant).
                "sriovNetworkOperator": {"enabled": True},
                "operator": {"tolerations": [*NETWORK_OPERATOR_CHART_TOLERATIONS, *tolerations]},
            },
            depends_on=[self.node_feature_discovery],
        )
        self.kueue = self._release(
            "kueue",
            namespace["kueue"],
            chart=KUEUE_CHART,
            version=oci_chart_version(ops.kueue.version),
            values={
                "enableCertManager": True,
                "enablePrometheus": True,
                "managerConfig": {"controllerManagerConfigYaml": kueue_configuration()},
            },
            depends_on=[self.cert_manager, self.monitoring],
        )
        custom_resource(
            f"{name}-dcgm-servicemonitor",
            "monitoring.coreos.com/v1",
            "ServiceMonitor",
            meta("nvidia-dcgm-exporter", ns.gpu_operator),
            {
                "selector": {"matchLabels": DCGM_SERVICE_LABELS},
                "namespaceSelector": {"matchNames": [ns.gpu_operator]},
                "endpoints": [{"port": DCGM_PORT, "interval": "15s", "honorLabels": True}],
            },
            pulumi.ResourceOptions(parent=self, depends_on=[self.monitoring, self.gpu_operator]),
        )

        self.namespaces = pulumi.Output.from_input({key: space for key, (space, _) in spaces.items()})
        self.versions = pulumi.Output.from_input(operator_versions(ops))
        self.register_outputs({"namespaces": self.namespaces, "versions": self.versions})

    def _bind_node_features(self, name: str, namespace: str) -> pulumi.Resource:
        # NodeFeatureRules match node names that nfd-worker publishes: bind them to the kubelet's
        # identity before any rule writes isolation labels (components/compute/node_identity.py).
        policy, binding = nodefeature_binding_policy(namespace)
        opts = pulumi.ResourceOptions(parent=self)
        created = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
            f"{name}-nodefeature-binding", metadata=meta(NODEFEATURE_BINDING), spec=cast(Any, policy), opts=opts
        )
        return k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
            f"{name}-nodefeature-binding-binding",
            metadata=meta(NODEFEATURE_BINDING),
            spec=cast(Any, {"policyName": NODEFEATURE_BINDING, **binding}),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[created]),
        )

    def _namespace(self, key: str, name: str, pod_security: str) -> k8s.core.v1.Namespace:
        return k8s.core.v1.Namespace(
            f"{self._name}-ns-{key}",
            metadata=meta(name, labels=pod_security_labels(pod_security)),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _release(
        self,
        release: str,
        namespace: k8s.core.v1.Namespace,
        *,
        chart: str,
        version: str,
        values: dict[str, Any],
        repo: str | None = None,
        depends_on: list[pulumi.Resource] | None = None,
    ) -> k8s.helm.v3.Release:
        return helm_release(
            f"{self._name}-{release}",
            release=release,
            chart=chart,
            version=version,
            namespace=namespace.metadata.name,
            values=values,
            repo=repo,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on or []),
        )

    def _sharing_config_maps(
        self, sharing: GpuSharingConfig, namespace: k8s.core.v1.Namespace
    ) -> list[pulumi.Resource]:
        made: list[pulumi.Resource] = []
        namespace_name = namespace.metadata.name
        if sharing.uses_mig:
            made.append(
                k8s.core.v1.ConfigMap(
                    f"{self._name}-mig-parted-config",
                    metadata={"name": MIG_CONFIG_MAP, "namespace": namespace_name, "labels": dict(PART_OF)},
                    data={"config.yaml": sharing.mig_parted_yaml()},
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        if sharing.mig_configs or sharing.device_plugin_configs:
            made.append(
                k8s.core.v1.ConfigMap(
                    f"{self._name}-device-plugin-config",
                    metadata={"name": DEVICE_PLUGIN_CONFIG_MAP, "namespace": namespace_name, "labels": dict(PART_OF)},
                    data=sharing.device_plugin_files(),
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        return made


def _gpu_operator_values(args: ClusterOperatorsArgs, tolerations: list[dict[str, Any]]) -> dict[str, Any]:
    gpu, sharing, upgrade = args.operators.gpu_operator, args.sharing, args.driver_upgrade
    values: dict[str, Any] = {
        "nfd": {"enabled": False},
        "driver": {
            "enabled": True,
            # Each pool's NVIDIADriver (GpuNodePool) owns its nodes' driver and upgrade policy
            # (GPU Operator docs, "NVIDIA GPU Driver Custom Resource Definition").
            "nvidiaDriverCRD": {"enabled": True, "deployDefaultCR": False},
            "version": gpu.driver_version,
            "kernelModuleType": gpu.kernel_module_type,
            "rdma": {"enabled": gpu.rdma, "useHostMofed": False},
            "upgradePolicy": gpu_driver_upgrade_policy(upgrade.as_args()),
        },
        "mig": {"strategy": sharing.mig_strategy},
        # The site's own ServiceMonitor (below the releases) scrapes DCGM; the chart's would double it.
        "dcgmExporter": {"serviceMonitor": {"enabled": False}},
        "daemonsets": {
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}, *tolerations]
        },
    }
    if sharing.uses_mig:
        values["migManager"] = {"enabled": True, "config": {"name": MIG_CONFIG_MAP, "default": MIG_DISABLED}}
    if sharing.mig_configs or sharing.device_plugin_configs:
        values["devicePlugin"] = {"config": {"name": DEVICE_PLUGIN_CONFIG_MAP, "default": DEVICE_PLUGIN_DEFAULT}}
    return values


def _prometheus_spec(args: ClusterOperatorsArgs) -> dict[str, Any]:
    """Prometheus sized for the site: shards, a persistent volume each, retention by time and size."""
    monitoring = args.operators.monitoring
    claim: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": f"{monitoring.storage_gi}Gi"}},
    }
    if monitoring.storage_class is not None:
        claim["storageClassName"] = monitoring.storage_class
    return {
        # Select ServiceMonitors, PodMonitors and rules of every release, not only this one's.
        "serviceMonitorSelectorNilUsesHelmValues": False,
        "podMonitorSelectorNilUsesHelmValues": False,
        "ruleSelectorNilUsesHelmValues": False,
        # The chart's default is one Prometheus on an emptyDir (kube-prometheus-stack values.yaml,
        # prometheusSpec.shards: 1, storageSpec: {}): every metric lost with the pod, one process
        # scraping every node. Shards split the targets by hash; each gets its own volume.
        "shards": args.prometheus_shards,
        "retention": monitoring.retention,
        "retentionSize": f"{int(monitoring.storage_gi * PROMETHEUS_RETENTION_SHARE)}GiB",
        "storageSpec": {"volumeClaimTemplate": {"spec": claim}},
    }
