"""``InfiniBandFabric``: the compute fabric as the NVIDIA Network Operator configures it on nodes."""

import json
from typing import Any, TypedDict

import pulumi
import pulumi_kubernetes as k8s
from typing_extensions import NotRequired

from components.args import plain_args
from components.credentials import credential, string_data
from components.kube import child_options, component_options, component_type, custom_resource, meta
from components.labels import POOL_LABEL
from components.upgrades import UpgradePolicy, drain_spec, int_or_percent

NETWORK_API = "mellanox.com/v1alpha1"
IPAM_API = "nv-ipam.nvidia.com/v1alpha1"
SRIOV_API = "sriovnetwork.openshift.io/v1"
# Released Network Operator component images live under one repository and carry the release
# tag (Network Operator example CRs, `global.repository` / `global.version`).
IMAGE_REPOSITORY = "nvcr.io/nvidia/mellanox"
MELLANOX_VENDOR = "15b3"
NFD_MELLANOX_LABEL = f"feature.node.kubernetes.io/pci-{MELLANOX_VENDOR}.present"
# The SR-IOV operator switches the RDMA subsystem of the nodes a pool config selects to this mode
# (sriov-network-operator SriovNetworkPoolConfig `spec.rdmaMode`: shared | exclusive).
RDMA_POOL_CONFIG = "gigafactory-rdma"
# Pods one HCA is shared with through the RDMA shared device plugin (its documented example value).
RDMA_HCA_MAX = 63
# ib-kubernetes hands pods GUIDs from this range (Network Operator docs, "SR-IOV InfiniBand
# Network with PKey Management"); a UFM shared with other clusters needs a disjoint range.
GUID_POOL = ("02:00:00:00:00:00:00:00", "02:FF:FF:FF:FF:FF:FF:FF")
UFM_SECRET = "ib-kubernetes-ufm-secret"
DEFAULT_NAMESPACE = "nvidia-network-operator"
# Exclusive is what tenants' partition networks need (``uses_rdma_cni``).
DEFAULT_RDMA_MODE = "exclusive"
# Fields of the UFM credential secret (with optional port, http_schema and certificate).
UFM_FIELDS = ("username", "password", "address")
UFM_OPTIONAL = {"port": "", "http_schema": "https", "certificate": ""}


def rail_interface(rail: int) -> str:
    """The host netdev of a rail's compute HCA.

    Nodes name their compute ports by rail (``ib-rail0`` ...) at provisioning, with udev rules
    keyed on the HCA's PCI address: every GPU system the site mixes then presents the same names,
    and one IPoIB network, one RDMA resource and one SR-IOV policy per rail serve all pools.
    """
    return f"ib-rail{rail}"


def uses_rdma_cni(rdma_mode: str) -> bool:
    """Whether tenant networks chain the rdma CNI, which refuses unless the RDMA subsystem is exclusive.

    rdma-cni's ``ensureRdmaSystemMode`` fails ADD when the mode is not ``exclusive``
    (k8snetworkplumbingwg/rdma-cni cmd/rdma/main.go).
    """
    return rdma_mode == "exclusive"


def rdma_resource(rail: int) -> str:
    """Extended resource of a rail's shared RDMA device (``rdma/`` is the plugin's prefix)."""
    return f"rdma/rail{rail}"


def vf_resource_name(rail: int) -> str:
    """SR-IOV resource name of a rail's InfiniBand virtual functions."""
    return f"ib_rail{rail}_vf"


VF_RESOURCE_PREFIX = "nvidia.com/ib_rail"
RDMA_RESOURCE_PREFIX = "rdma/"


def vf_resource(rail: int) -> str:
    """Extended resource of a rail's InfiniBand virtual functions (``nvidia.com/`` prefix)."""
    return f"nvidia.com/{vf_resource_name(rail)}"


FORMER_TYPE = "gigafactory:network:InfiniBandFabric"


class FabricRail(TypedDict):
    """One compute rail: its IPoIB subnet, the NV-IPAM pool that hands it out, and the pools on it."""

    rail: int
    """Rail number, 0-based; the nodes name the rail's port ``ib-rail<rail>``."""

    subnet: str
    """IPoIB subnet of the rail, e.g. ``10.64.0.0/16``."""

    ippool: str
    """Name of the rail's NV-IPAM ``IPPool`` and IPoIB network (``components.network.naming.ippool_name``)."""

    pools: list[str]
    """Node pools (``gigafactory.eu/pool`` label values) whose nodes have a port on this rail."""

    per_node_block: int
    """Addresses NV-IPAM reserves per node: one per virtual function, i.e. per GPU of the node."""

    vfs_per_node: int
    """InfiniBand virtual functions to create on each node's rail port: the most GPUs a node on the rail has."""


class InfiniBandFabricArgs(TypedDict):
    """What an ``InfiniBandFabric`` needs: the rails, the Network Operator's versions and how its driver rolls.

    The Network Operator release that installs the CRDs these objects use is a dependency: pass it in
    ``opts.depends_on``.
    """

    rails: list[FabricRail]
    """Every compute rail, in rail order."""

    doca_ofed_version: str
    """DOCA-OFED driver container version, e.g. ``doca3.4.1-26.04-1.1.0.0-1``."""

    network_operator_version: str
    """Network Operator release (e.g. ``v26.4.1``); its component images carry this tag."""

    ofed_upgrade: UpgradePolicy
    """How DOCA-OFED driver upgrades (and RDMA mode changes) roll across nodes."""

    rdma_mode: NotRequired[str]
    """RDMA subsystem mode of the GPU nodes: ``exclusive`` (default; tenant networks chain the rdma CNI)
    or ``shared`` (the RDMA shared device plugin hands pods the host's device)."""

    ufm_credentials_secret: NotRequired[str | None]
    """Pulumi config key (a secret) of UFM's credentials when UFM is the subnet manager: ib-kubernetes then
    adds pods' GUIDs to tenants' partition keys. Absent or None: no pkey management (OpenSM)."""

    namespace: NotRequired[str]
    """Namespace of the Network Operator (IPPools, SR-IOV policies and the UFM secret go there);
    default ``nvidia-network-operator``."""

    tolerations: NotRequired[list[dict[str, str]]]
    """Tolerations (``key``, ``operator``, ``value``, ``effect``) the operator's node daemons need to reach
    tainted (dedicated) pools; default none."""


class InfiniBandFabric(pulumi.ComponentResource):
    """The compute InfiniBand fabric on the Kubernetes side.

    Creates:
    - the UFM credentials ``Secret`` ib-kubernetes reads (when UFM is the subnet manager), from a
      Pulumi config secret, never in clear;
    - the ``NicClusterPolicy``: DOCA-OFED driver, in ``rdma_mode: shared`` the RDMA shared device
      plugin with one resource per rail, secondary network (Multus, CNI plugins, IPoIB CNI), NV-IPAM and, with UFM,
      ib-kubernetes, which adds pod GUIDs to tenants' partition keys;
    - per rail: an NV-IPAM ``IPPool`` (the rail's subnet), an ``IPoIBNetwork`` on the default
      partition for platform workloads, and a ``SriovNetworkNodePolicy`` creating InfiniBand VFs
      that tenant partition networks attach pods to;
    - in ``rdma_mode: exclusive``, a ``SriovNetworkPoolConfig`` that puts the GPU nodes' RDMA
      subsystem in exclusive mode, which the rdma CNI of tenants' networks requires.

    Tenants' partition-keyed networks live in their namespaces (``Tenant``), built from the rails
    this component describes. Outputs: ``rails``, ``rdma_resources``, ``vf_resources``,
    ``ippools``, ``pkey_management``.
    """

    rails: pulumi.Output[int]
    """Number of compute rails."""

    rdma_resources: pulumi.Output[list[str]]
    """Extended resources of the rails' shared RDMA devices (``rdma/rail<n>``); empty unless ``rdma_mode`` is shared."""

    vf_resources: pulumi.Output[list[str]]
    """Extended resources of the rails' InfiniBand virtual functions (``nvidia.com/ib_rail<n>_vf``)."""

    ippools: pulumi.Output[list[str]]
    """Names of the rails' NV-IPAM IPPools (and platform IPoIB networks), in rail order."""

    pkey_management: pulumi.Output[bool]
    """Whether ib-kubernetes adds pods' GUIDs to partition keys through UFM."""

    def __init__(self, name: str, args: InfiniBandFabricArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(component_type(InfiniBandFabric), name, None, component_options(opts, FORMER_TYPE))
        args = plain_args(args, InfiniBandFabricArgs)
        namespace = args.get("namespace", DEFAULT_NAMESPACE)
        rdma_mode = args.get("rdma_mode", DEFAULT_RDMA_MODE)
        ufm_secret = args.get("ufm_credentials_secret")
        # What the site (or any program) says to wait for, the Network Operator release with its CRDs,
        # reaches the children: Pulumi does not pass a component's depends_on down.
        crd_opts = child_options(self, opts)
        policy_depends: list[pulumi.Resource] = []
        if ufm_secret is not None:
            # The Network Operator docs: the UFM secret must exist before the NicClusterPolicy.
            policy_depends.append(self._ufm_secret(name, namespace, ufm_secret))

        policy = custom_resource(
            f"{name}-nic-cluster-policy",
            NETWORK_API,
            "NicClusterPolicy",
            meta("nic-cluster-policy"),
            _nic_cluster_policy(args, namespace, rdma_mode, uses_ufm=ufm_secret is not None),
            child_options(self, opts, *policy_depends),
        )
        # The IPPool CRD is not in the Network Operator chart: the operator installs it when the
        # policy's nvIpam is deployed (network-operator manifests/state-nv-ipam-cni).
        ipam_opts = child_options(self, opts, policy)
        for rail in args["rails"]:
            self._rail(name, namespace, rail, crd_opts, ipam_opts)

        if uses_rdma_cni(rdma_mode):
            self._rdma_pool_config(name, args, namespace, crd_opts)

        rails = [r["rail"] for r in args["rails"]]
        self.rails = pulumi.Output.from_input(len(rails))
        shared = rdma_mode == "shared"
        self.rdma_resources = pulumi.Output.from_input([rdma_resource(r) for r in rails] if shared else [])
        self.vf_resources = pulumi.Output.from_input([vf_resource(r) for r in rails])
        self.ippools = pulumi.Output.from_input([r["ippool"] for r in args["rails"]])
        self.pkey_management = pulumi.Output.from_input(ufm_secret is not None)
        self.register_outputs(
            {
                "rails": self.rails,
                "rdma_resources": self.rdma_resources,
                "vf_resources": self.vf_resources,
                "ippools": self.ippools,
                "pkey_management": self.pkey_management,
            }
        )

    def _ufm_secret(self, name: str, namespace: str, config_key: str) -> k8s.core.v1.Secret:
        fields = credential(config_key, UFM_FIELDS, UFM_OPTIONAL)
        # Keys ib-kubernetes reads (ib-kubernetes README, "Configuration Reference").
        data = string_data(
            fields,
            {
                "UFM_USERNAME": "username",
                "UFM_PASSWORD": "password",
                "UFM_ADDRESS": "address",
                "UFM_HTTP_SCHEMA": "http_schema",
                "UFM_PORT": "port",
                "UFM_CERTIFICATE": "certificate",
            },
        )
        # A core Secret needs no CRD: it waits for nothing but its namespace.
        return k8s.core.v1.Secret(
            f"{name}-ufm-secret",
            metadata=meta(UFM_SECRET, namespace),
            type="Opaque",
            string_data=data,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _rdma_pool_config(
        self, name: str, args: InfiniBandFabricArgs, namespace: str, opts: pulumi.ResourceOptions
    ) -> None:
        pools = sorted({p for r in args["rails"] for p in r["pools"]})
        custom_resource(
            f"{name}-rdma-pool-config",
            SRIOV_API,
            "SriovNetworkPoolConfig",
            meta(RDMA_POOL_CONFIG, namespace),
            {
                "nodeSelector": {"matchExpressions": [_pool_selector(pools)]},
                # Changing the mode reloads the RDMA stack (a node drain and reboot): as many nodes
                # at once as a driver upgrade may take.
                "maxUnavailable": int_or_percent(args["ofed_upgrade"]["max_unavailable"]),
                "rdmaMode": "exclusive",
            },
            opts,
        )

    def _rail(
        self,
        name: str,
        namespace: str,
        rail: FabricRail,
        opts: pulumi.ResourceOptions,
        ipam_opts: pulumi.ResourceOptions,
    ) -> None:
        number = rail["rail"]
        selector = _pool_selector(rail["pools"])
        custom_resource(
            f"{name}-ippool-rail{number}",
            IPAM_API,
            "IPPool",
            meta(rail["ippool"], namespace),
            {
                "subnet": rail["subnet"],
                # One address per virtual function, i.e. per GPU of the node (AddressPlan).
                "perNodeBlockSize": rail["per_node_block"],
                "nodeSelector": {"nodeSelectorTerms": [{"matchExpressions": [selector]}]},
            },
            ipam_opts,
        )
        custom_resource(
            f"{name}-ipoib-rail{number}",
            NETWORK_API,
            "IPoIBNetwork",
            meta(rail["ippool"]),
            {
                "networkNamespace": namespace,
                "master": rail_interface(number),
                "ipam": json.dumps({"type": "nv-ipam", "poolName": rail["ippool"]}, sort_keys=True),
            },
            opts,
        )
        custom_resource(
            f"{name}-sriov-rail{number}",
            SRIOV_API,
            "SriovNetworkNodePolicy",
            meta(f"ib-rail{number}", namespace),
            {
                "resourceName": vf_resource_name(number),
                # Nodes NFD found a Mellanox PCI device on; pfNames picks the rail's port among them
                # (Network Operator docs, "SR-IOV InfiniBand Network with PKey Management").
                "nodeSelector": {NFD_MELLANOX_LABEL: "true"},
                "nicSelector": {"vendor": MELLANOX_VENDOR, "pfNames": [rail_interface(number)]},
                "linkType": "IB",
                "isRdma": True,
                "deviceType": "netdevice",
                # One VF per GPU: a node can run one single-GPU pod per GPU, each on its own VF.
                "numVfs": rail["vfs_per_node"],
                "priority": 90,
            },
            opts,
        )


def _pool_selector(pools: list[str]) -> dict[str, Any]:
    return {"key": POOL_LABEL, "operator": "In", "values": list(pools)}


def _multus_config(namespace: str) -> dict[str, Any]:
    """Multus' daemon configuration with namespace isolation on.

    The operator's default daemon configuration (Mellanox/network-operator
    manifests/state-multus-cni/0040-configmap.yml), plus ``namespaceIsolation``: a pod may only
    use networks of its own namespace (Multus defaults to false: multus-cni docs/configuration.md),
    except those in ``globalNamespaces`` (the platform's IPoIB networks). The tenant admission
    policy ``gigafactory-tenant-networks`` denies the same at the API server; this is the second layer.
    """
    return {
        "chrootDir": "/hostroot",
        "cniVersion": "0.3.1",
        "logLevel": "verbose",
        "logToStderr": True,
        "cniConfigDir": "/host/etc/cni/net.d",
        "multusAutoconfigDir": "/host/etc/cni/net.d",
        "multusConfigFile": "auto",
        "socketDir": "/host/run/multus/",
        "namespaceIsolation": True,
        "globalNamespaces": namespace,
    }


def _nic_cluster_policy(
    args: InfiniBandFabricArgs, namespace: str, rdma_mode: str, *, uses_ufm: bool
) -> dict[str, Any]:
    upgrade = args["ofed_upgrade"]
    rails = [r["rail"] for r in args["rails"]]
    device_plugin_config = {
        "configList": [
            {
                "resourceName": f"rail{rail}",
                "rdmaHcaMax": RDMA_HCA_MAX,
                "selectors": {
                    "vendors": [MELLANOX_VENDOR],
                    "ifNames": [rail_interface(rail)],
                    "linkTypes": ["infiniband"],
                },
            }
            for rail in rails
        ]
    }
    all_pools = sorted({p for r in args["rails"] for p in r["pools"]})
    spec: dict[str, Any] = {
        "global": {"repository": IMAGE_REPOSITORY, "version": f"network-operator-{args['network_operator_version']}"},
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [_pool_selector(all_pools)]}]
            }
        },
        "tolerations": list(args.get("tolerations", [])),
        "ofedDriver": {
            "image": "doca-driver",
            "version": args["doca_ofed_version"],
            "upgradePolicy": {
                "autoUpgrade": True,
                "maxParallelUpgrades": upgrade["max_parallel_upgrades"],
                "safeLoad": False,
                "drain": drain_spec(upgrade),
            },
            "startupProbe": {"initialDelaySeconds": 10, "periodSeconds": 20},
            "livenessProbe": {"initialDelaySeconds": 30, "periodSeconds": 30},
            "readinessProbe": {"initialDelaySeconds": 10, "periodSeconds": 30},
        },
        "secondaryNetwork": {
            "multus": {"image": "multus-cni", "config": json.dumps(_multus_config(namespace), sort_keys=True)},
            "cniPlugins": {"image": "plugins"},
            "ipoib": {"image": "ipoib-cni"},
        },
        "nvIpam": {"image": "nvidia-k8s-ipam", "enableWebhook": False},
    }
    if rdma_mode == "shared":
        # The RDMA shared device plugin hands every pod the host's RDMA device, which it can only
        # see while the subsystem is shared (k8s-rdma-shared-dev-plugin README, "RDMA shared mode").
        spec["rdmaSharedDevicePlugin"] = {
            "image": "k8s-rdma-shared-dev-plugin",
            "config": json.dumps(device_plugin_config, sort_keys=True),
        }
    if uses_ufm:
        spec["ibKubernetes"] = {
            "image": "ib-kubernetes",
            "pKeyGUIDPoolRangeStart": GUID_POOL[0],
            "pKeyGUIDPoolRangeEnd": GUID_POOL[1],
            "ufmSecret": UFM_SECRET,
        }
    return spec
