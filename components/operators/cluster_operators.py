"""``ClusterOperators``: the cluster-wide operators a gigafactory runs, as pinned Helm releases."""

from typing import Any, TypedDict, cast

import pulumi
import pulumi_kubernetes as k8s
import yaml
from typing_extensions import NotRequired

from components.args import plain_args
from components.compute.gpu_sharing import DEVICE_PLUGIN_DEFAULT, MIG_DISABLED, GpuSharingConfig
from components.compute.node_identity import RESTRICTED_LABEL_NS, nodefeature_binding_policy
from components.kube import (
    child_options,
    component_options,
    component_type,
    custom_resource,
    helm_release,
    meta,
    pod_security_labels,
)
from components.labels import GPU_RESOURCE, PART_OF, TENANT_NAMESPACES
from components.scheduling.quotas import EXCLUDED_RESOURCE_PREFIXES
from components.upgrades import UpgradePolicy, gpu_driver_upgrade_policy

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
FORMER_TYPE = "gigafactory:operators:ClusterOperators"


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
        # Kueue manages the tenants' namespaces even without a queue name; system and operator
        # namespaces lack the label, so their pods and jobs never wait for a queue.
        "managedJobsNamespaceSelector": TENANT_NAMESPACES,
    }
    return yaml.safe_dump(config, sort_keys=False)


class OperatorVersions(TypedDict):
    """The pinned version of each operator's chart, and of the drivers the NVIDIA operators install."""

    cert_manager: str
    """cert-manager chart version (e.g. ``v1.19.1``)."""

    monitoring: str
    """kube-prometheus-stack chart version."""

    node_feature_discovery: str
    """Node Feature Discovery release (``v0.19.0``; its OCI chart is tagged without the ``v``)."""

    gpu_operator: str
    """NVIDIA GPU Operator chart version."""

    gpu_driver: str
    """NVIDIA GPU driver version the GPU Operator installs where no pool's ``NVIDIADriver`` does."""

    network_operator: str
    """NVIDIA Network Operator chart version."""

    doca_ofed: str
    """DOCA-OFED driver container version (installed by ``InfiniBandFabric``; reported in ``versions``)."""

    kueue: str
    """Kueue release (``v0.19.2``; its OCI chart is tagged without the ``v``)."""


def operator_versions(versions: OperatorVersions) -> dict[str, str]:
    """The version of each operator (and of the GPU driver and DOCA-OFED), keyed by release name."""
    return {
        "cert-manager": versions["cert_manager"],
        "kube-prometheus-stack": versions["monitoring"],
        "node-feature-discovery": versions["node_feature_discovery"],
        "gpu-operator": versions["gpu_operator"],
        "gpu-driver": versions["gpu_driver"],
        "network-operator": versions["network_operator"],
        "doca-ofed": versions["doca_ofed"],
        "kueue": versions["kueue"],
    }


def oci_chart_version(version: str) -> str:
    """A release version as the registry.k8s.io OCI charts tag it (``v0.19.2`` -> ``0.19.2``)."""
    return version[1:] if version.startswith("v") else version


class OperatorNamespaces(TypedDict):
    """Namespace of each operator; each absent one takes its default."""

    gpu_operator: NotRequired[str]
    """NVIDIA GPU Operator; default ``gpu-operator``."""

    network_operator: NotRequired[str]
    """NVIDIA Network Operator; default ``nvidia-network-operator``."""

    node_feature_discovery: NotRequired[str]
    """Node Feature Discovery; default ``node-feature-discovery``."""

    cert_manager: NotRequired[str]
    """cert-manager; default ``cert-manager``."""

    kueue: NotRequired[str]
    """Kueue; default ``kueue-system``."""

    monitoring: NotRequired[str]
    """kube-prometheus-stack; default ``monitoring``."""


DEFAULT_NAMESPACES = OperatorNamespaces(
    gpu_operator="gpu-operator",
    network_operator="nvidia-network-operator",
    node_feature_discovery="node-feature-discovery",
    cert_manager="cert-manager",
    kueue="kueue-system",
    monitoring="monitoring",
)


def operator_namespaces(chosen: OperatorNamespaces | None = None) -> dict[str, str]:
    """Every operator's namespace by ``OperatorNamespaces`` key: ``chosen``'s, else the default."""
    return {key: str(chosen.get(key, default) if chosen else default) for key, default in DEFAULT_NAMESPACES.items()}


class PrometheusSizing(TypedDict):
    """How Prometheus (kube-prometheus-stack) is sized: shards, a persistent volume each, retention."""

    retention: str
    """How long metrics are kept (Prometheus duration, e.g. ``15d``)."""

    storage_gi: int
    """Persistent volume of each shard, GiB; retention also stops at 90% of it."""

    storage_class: NotRequired[str | None]
    """StorageClass of the volumes; absent or None: the cluster's default class."""

    shards: NotRequired[int]
    """Prometheus shards, each scraping its share of the targets (DCGM and node exporters); default 1."""


class GpuSharingLayout(TypedDict):
    """How the GPUs of the nodes that select one sharing configuration are shared."""

    mig_devices: NotRequired[dict[str, int]]
    """MIG devices each GPU is partitioned into, by profile (``{"3g.90gb": 2}``); absent: no MIG."""

    time_slicing_replicas: NotRequired[int]
    """Pods that share each GPU by time-slicing (the device plugin's replicas); absent: no time-slicing."""


def mig_layout(devices: dict[str, int]) -> list[dict[str, Any]]:
    """A MIG-parted layout: every GPU of the node partitioned into ``devices``."""
    return [{"devices": "all", "mig-enabled": True, "mig-devices": dict(devices)}]


def time_slicing_config(replicas: int) -> dict[str, Any]:
    """A device-plugin configuration sharing every GPU among ``replicas`` pods by time-slicing."""
    return {
        "version": "v1",
        "flags": {"migStrategy": "none"},
        "sharing": {"timeSlicing": {"resources": [{"name": GPU_RESOURCE, "replicas": replicas}]}},
    }


def sharing_config(layouts: dict[str, GpuSharingLayout]) -> GpuSharingConfig:
    """The MIG-parted and device-plugin entries of ``layouts``, keyed by the name nodes select."""
    return GpuSharingConfig(
        mig_configs={
            name: mig_layout(layout["mig_devices"]) for name, layout in layouts.items() if "mig_devices" in layout
        },
        device_plugin_configs={
            name: time_slicing_config(layout["time_slicing_replicas"])
            for name, layout in layouts.items()
            if "time_slicing_replicas" in layout
        },
    )


class ClusterOperatorsArgs(TypedDict):
    """What ``ClusterOperators`` needs: the pinned versions, the GPU driver's settings, Prometheus' size."""

    versions: OperatorVersions
    """Pinned version of each operator and driver."""

    kernel_module_type: str
    """GPU driver kernel modules: ``auto``, ``open`` or ``proprietary``."""

    rdma: bool
    """GPUDirect RDMA (nvidia-peermem / DMA-BUF) in the GPU driver."""

    driver_upgrade: UpgradePolicy
    """Driver upgrade policy for GPU nodes no pool's ``NVIDIADriver`` selects (the strictest pool's)."""

    prometheus: PrometheusSizing
    """Prometheus' shards, volumes and retention."""

    gpu_sharing: NotRequired[dict[str, GpuSharingLayout]]
    """MIG layouts and time-slicing by the configuration name nodes select with ``nvidia.com/mig.config``
    or ``nvidia.com/device-plugin.config`` (``GpuNodePool`` uses the pool name); default: whole GPUs."""

    tolerations: NotRequired[list[dict[str, str]]]
    """Tolerations (``key``, ``operator``, ``value``, ``effect``) node daemons need to reach tainted
    (dedicated) pools; default none."""

    namespaces: NotRequired[OperatorNamespaces]
    """Namespace of each operator; each absent one takes its default."""


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
    """Namespace of each operator, by release name (``gpu-operator``, ``kueue``, ...)."""

    versions: pulumi.Output[dict[str, str]]
    """Pinned version of each operator and driver, by release name (``gpu-driver``, ``doca-ofed`` too)."""

    def __init__(self, name: str, args: ClusterOperatorsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(component_type(ClusterOperators), name, None, component_options(opts, FORMER_TYPE))
        args = plain_args(args, ClusterOperatorsArgs)
        versions, ns = args["versions"], operator_namespaces(args.get("namespaces"))
        self._name = name
        # What the component is told to wait for reaches every child (Pulumi does not pass it down).
        self._opts = opts
        spaces = {
            "cert-manager": (ns["cert_manager"], RESTRICTED),
            "monitoring": (ns["monitoring"], PRIVILEGED),
            "node-feature-discovery": (ns["node_feature_discovery"], PRIVILEGED),
            "gpu-operator": (ns["gpu_operator"], PRIVILEGED),
            "network-operator": (ns["network_operator"], PRIVILEGED),
            "kueue": (ns["kueue"], RESTRICTED),
        }
        namespace = {key: self._namespace(key, space, level) for key, (space, level) in spaces.items()}
        tolerations = list(args.get("tolerations", []))

        self.cert_manager = self._release(
            "cert-manager",
            namespace["cert-manager"],
            chart=CERT_MANAGER_CHART,
            version=versions["cert_manager"],
            values={"crds": {"enabled": True}},
        )
        self.monitoring = self._release(
            "kube-prometheus-stack",
            namespace["monitoring"],
            chart="kube-prometheus-stack",
            repo=PROMETHEUS_REPO,
            version=versions["monitoring"],
            values={
                "prometheus": {"prometheusSpec": _prometheus_spec(args)},
                "prometheus-node-exporter": {"tolerations": [{"operator": "Exists"}]},
            },
        )
        # The policy first: no nfd-worker writes a NodeFeature before it is bound to its node.
        bound = self._bind_node_features(name, ns["node_feature_discovery"])
        self.node_feature_discovery = self._release(
            "node-feature-discovery",
            namespace["node-feature-discovery"],
            chart=NFD_CHART,
            version=oci_chart_version(versions["node_feature_discovery"]),
            values={
                "master": {"config": nfd_master_config(ns["node_feature_discovery"])},
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
        sharing = sharing_config(args.get("gpu_sharing", {}))
        config_maps = self._sharing_config_maps(sharing, namespace["gpu-operator"])
        self.gpu_operator = self._release(
            "gpu-operator",
            namespace["gpu-operator"],
            chart="gpu-operator",
            repo=NGC_REPO,
            version=versions["gpu_operator"],
            values=_gpu_operator_values(args, sharing, tolerations),
            depends_on=[self.node_feature_discovery, *config_maps],
        )
        self.network_operator = self._release(
            "network-operator",
            namespace["network-operator"],
            chart="network-operator",
            repo=NGC_REPO,
            version=versions["network_operator"],
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
            version=oci_chart_version(versions["kueue"]),
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
            meta("nvidia-dcgm-exporter", ns["gpu_operator"]),
            {
                "selector": {"matchLabels": DCGM_SERVICE_LABELS},
                "namespaceSelector": {"matchNames": [ns["gpu_operator"]]},
                "endpoints": [{"port": DCGM_PORT, "interval": "15s", "honorLabels": True}],
            },
            child_options(self, opts, self.monitoring, self.gpu_operator),
        )

        self.namespaces = pulumi.Output.from_input({key: space for key, (space, _) in spaces.items()})
        self.versions = pulumi.Output.from_input(operator_versions(versions))
        self.register_outputs({"namespaces": self.namespaces, "versions": self.versions})

    def _bind_node_features(self, name: str, namespace: str) -> pulumi.Resource:
        # NodeFeatureRules match node names that nfd-worker publishes: bind them to the kubelet's
        # identity before any rule writes isolation labels (components/compute/node_identity.py).
        policy, binding = nodefeature_binding_policy(namespace)
        created = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
            f"{name}-nodefeature-binding",
            metadata=meta(NODEFEATURE_BINDING),
            spec=cast(Any, policy),
            opts=child_options(self, self._opts),
        )
        return k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
            f"{name}-nodefeature-binding-binding",
            metadata=meta(NODEFEATURE_BINDING),
            spec=cast(Any, {"policyName": NODEFEATURE_BINDING, **binding}),
            opts=child_options(self, self._opts, created),
        )

    def _namespace(self, key: str, name: str, pod_security: str) -> k8s.core.v1.Namespace:
        return k8s.core.v1.Namespace(
            f"{self._name}-ns-{key}",
            metadata=meta(name, labels=pod_security_labels(pod_security)),
            opts=child_options(self, self._opts),
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
            opts=child_options(self, self._opts, *(depends_on or [])),
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
                    opts=child_options(self, self._opts),
                )
            )
        if sharing.mig_configs or sharing.device_plugin_configs:
            made.append(
                k8s.core.v1.ConfigMap(
                    f"{self._name}-device-plugin-config",
                    metadata={"name": DEVICE_PLUGIN_CONFIG_MAP, "namespace": namespace_name, "labels": dict(PART_OF)},
                    data=sharing.device_plugin_files(),
                    opts=child_options(self, self._opts),
                )
            )
        return made


def _gpu_operator_values(
    args: ClusterOperatorsArgs, sharing: GpuSharingConfig, tolerations: list[dict[str, Any]]
) -> dict[str, Any]:
    upgrade = args["driver_upgrade"]
    values: dict[str, Any] = {
        "nfd": {"enabled": False},
        "driver": {
            "enabled": True,
            # Each pool's NVIDIADriver (GpuNodePool) owns its nodes' driver and upgrade policy
            # (GPU Operator docs, "NVIDIA GPU Driver Custom Resource Definition").
            "nvidiaDriverCRD": {"enabled": True, "deployDefaultCR": False},
            "version": args["versions"]["gpu_driver"],
            "kernelModuleType": args["kernel_module_type"],
            "rdma": {"enabled": args["rdma"], "useHostMofed": False},
            "upgradePolicy": gpu_driver_upgrade_policy(upgrade),
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
    sizing = args["prometheus"]
    claim: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": f"{sizing['storage_gi']}Gi"}},
    }
    storage_class = sizing.get("storage_class")
    if storage_class is not None:
        claim["storageClassName"] = storage_class
    return {
        # Select ServiceMonitors, PodMonitors and rules of every release, not only this one's.
        "serviceMonitorSelectorNilUsesHelmValues": False,
        "podMonitorSelectorNilUsesHelmValues": False,
        "ruleSelectorNilUsesHelmValues": False,
        # The chart's default is one Prometheus on an emptyDir (kube-prometheus-stack values.yaml,
        # prometheusSpec.shards: 1, storageSpec: {}): every metric lost with the pod, one process
        # scraping every node. Shards split the targets by hash; each gets its own volume.
        "shards": sizing.get("shards", 1),
        "retention": sizing["retention"],
        "retentionSize": f"{int(sizing['storage_gi'] * PROMETHEUS_RETENTION_SHARE)}GiB",
        "storageSpec": {"volumeClaimTemplate": {"spec": claim}},
    }
