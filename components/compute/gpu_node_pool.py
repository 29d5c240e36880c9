"""``GpuNodePool``: one pool's nodes labelled and tainted, its Kueue flavor and its GPU driver."""

from typing import Any, TypedDict

import pulumi
from typing_extensions import NotRequired

from components.args import plain_args
from components.compute.node_identity import NFD_API, NODE_FEATURE_RULE, pool_labels, unit_rules
from components.kube import child_options, component_options, component_type, custom_resource, meta
from components.labels import ISOLATION_POOL_LABEL, POOL_LABEL, Taint, taint_dict, tolerations_for
from components.topology import PoolRack
from components.upgrades import UpgradePolicy, gpu_driver_upgrade_policy

KUEUE_API = "kueue.x-k8s.io/v1beta2"
NVIDIA_DRIVER_API = "nvidia.com/v1alpha1"
# The GPU Operator's driver image (GPU Operator docs, "NVIDIA GPU Driver Custom Resource Definition").
DRIVER_REPOSITORY = "nvcr.io/nvidia"
DRIVER_IMAGE = "driver"
FORMER_TYPE = "gigafactory:compute:GpuNodePool"


class GpuNodePoolArgs(TypedDict):
    """What a ``GpuNodePool`` needs: what its nodes are, where each sits, their GPU driver and how it rolls.

    The releases that install the CRDs its objects use (GPU Operator, Kueue, Node Feature
    Discovery) are dependencies: pass them in ``opts.depends_on``.
    """

    pool: str
    """Pool name: its nodes' ``gigafactory.eu/pool`` label, the name of its Kueue flavor and NVIDIADriver."""

    gpu_model: str
    """GPU model (``gigafactory.eu/gpu-model``), e.g. ``B200``."""

    purpose: str
    """What the pool is for (``gigafactory.eu/purpose``): ``training``, ``inference`` or ``regulated``."""

    dedicated_to: NotRequired[str | None]
    """Tenant that owns every node of the pool (``gigafactory.eu/tenant`` and the isolation label);
    absent or None: shared."""

    gpu_sharing: NotRequired[str]
    """How the GPUs are shared: ``mig`` or ``time-slicing`` (nodes select the pool's entry of the GPU
    Operator's configuration, named after the pool) or ``none`` (default)."""

    labels: NotRequired[dict[str, str]]
    """Extra node labels; default none."""

    taints: NotRequired[list[Taint]]
    """Node taints; the pool's Kueue flavor tolerates them. Default none."""

    racks: list[PoolRack]
    """Every node of the pool by its place in the fabric, in the pool's order."""

    gpu_units: int
    """GPUs the pool's nodes advertise in all (``nvidia.com/gpu``: MIG devices or time-slices count each)."""

    driver_version: str
    """NVIDIA driver version its nodes run, e.g. ``595.91.07``."""

    driver_upgrade: UpgradePolicy
    """How a driver upgrade rolls across the pool's nodes."""

    kernel_module_type: NotRequired[str]
    """NVIDIA kernel modules: ``auto`` (default), ``open`` or ``proprietary``."""

    rdma: NotRequired[bool]
    """Load GPUDirect RDMA support (nvidia-peermem) with the driver; default true."""

    topology_name: NotRequired[str | None]
    """Kueue Topology the pool's flavor schedules on; absent or None: no topology-aware scheduling."""


class GpuNodePool(pulumi.ComponentResource):
    """One GPU node pool.

    Creates:
    - a ``NodeFeatureRule`` per scalable unit, matching its nodes by name, for nfd-master to write
      their labels (pool, GPU model, purpose, tenant on dedicated pools, fabric pod/block/rack/leaf
      group, the config's extra labels and, where GPUs are shared, the MIG or device-plugin
      selection) and the pool's taints (``node_identity``); no resource per node;
    - an ``NVIDIADriver`` selecting the pool's nodes, carrying the driver version and the pool's
      upgrade policy (max unavailable, parallel upgrades, drain);
    - a Kueue ``ResourceFlavor`` named after the pool: the isolation pool label as node selector, the pool's
      taints as node taints with matching tolerations, the topology for topology-aware scheduling.

    Outputs: ``flavor_name``, ``node_selector``, ``tolerations``, ``nodes``, ``gpu_units``.
    """

    flavor_name: pulumi.Output[str]
    """The pool's Kueue ResourceFlavor (named after the pool)."""

    node_selector: pulumi.Output[dict[str, str]]
    """The node selector of the pool's nodes (``gigafactory.eu/pool``)."""

    tolerations: pulumi.Output[list[dict[str, Any]]]
    """Tolerations of the pool's taints (``key``, ``operator``, ``value``, ``effect``)."""

    nodes: pulumi.Output[int]
    """Nodes in the pool."""

    gpu_units: pulumi.Output[int]
    """GPUs the pool's nodes advertise in all."""

    def __init__(self, name: str, args: GpuNodePoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(component_type(GpuNodePool), name, None, component_options(opts, FORMER_TYPE))
        args = plain_args(args, GpuNodePoolArgs)
        pool = args["pool"]
        selector = {POOL_LABEL: pool}
        taints = args.get("taints", [])
        tolerations = tolerations_for(taints)

        # What the site (or any program) says to wait for, the releases with the CRDs, reaches the
        # children: Pulumi does not pass a component's depends_on down.
        crd_opts = child_options(self, opts)
        self._label_nodes(name, args, crd_opts)
        custom_resource(
            f"{name}-driver",
            NVIDIA_DRIVER_API,
            "NVIDIADriver",
            meta(pool),
            _driver_spec(args, selector, tolerations),
            crd_opts,
        )
        # Kueue puts the flavor's nodeLabels into every admitted pod's nodeSelector: the label a node
        # cannot set on itself, so a forged node never attracts this pool's workloads.
        # The informational pool label stays too, so a job selecting it still meets the flavor.
        flavor_spec: dict[str, Any] = {"nodeLabels": {POOL_LABEL: pool, ISOLATION_POOL_LABEL: pool}}
        if taints:
            flavor_spec["nodeTaints"] = [taint_dict(t) for t in taints]
            # Kueue injects these into every workload admitted to the flavor, so a tenant with quota
            # here needs no toleration of its own; tenants without quota are never admitted here
            # (Kueue v1beta2 ResourceFlavor, `tolerations` and `nodeTaints`).
            flavor_spec["tolerations"] = tolerations
        topology_name = args.get("topology_name")
        if topology_name is not None:
            flavor_spec["topologyName"] = topology_name
        custom_resource(f"{name}-flavor", KUEUE_API, "ResourceFlavor", meta(pool), flavor_spec, crd_opts)

        self.flavor_name = pulumi.Output.from_input(pool)
        self.node_selector = pulumi.Output.from_input(selector)
        self.tolerations = pulumi.Output.from_input(tolerations)
        self.nodes = pulumi.Output.from_input(sum(len(rack["nodes"]) for rack in args["racks"]))
        self.gpu_units = pulumi.Output.from_input(args["gpu_units"])
        self.register_outputs(
            {
                "flavor_name": self.flavor_name,
                "node_selector": self.node_selector,
                "tolerations": self.tolerations,
                "nodes": self.nodes,
                "gpu_units": self.gpu_units,
            }
        )

    def _label_nodes(self, name: str, args: GpuNodePoolArgs, opts: pulumi.ResourceOptions) -> None:
        # One NodeFeatureRule per scalable unit: nfd-master writes the labels and taints of every
        # node it matches by name (components/compute/node_identity.py says why not NodePatches).
        for unit in unit_rules(args["racks"], pool_labels(args), args.get("taints", [])):
            custom_resource(
                f"{name}-{unit.name}",
                NFD_API,
                NODE_FEATURE_RULE,
                meta(unit.name, labels={POOL_LABEL: args["pool"]}),
                unit.spec,
                opts,
            )


def _driver_spec(args: GpuNodePoolArgs, selector: dict[str, str], tolerations: list[dict[str, Any]]) -> dict[str, Any]:
    upgrade = args["driver_upgrade"]
    return {
        "default": False,
        "driverType": "gpu",
        "repository": DRIVER_REPOSITORY,
        "image": DRIVER_IMAGE,
        "version": args["driver_version"],
        "kernelModuleType": args.get("kernel_module_type", "auto"),
        "nodeSelector": selector,
        # The Network Operator's DOCA-OFED container provides the RDMA stack, not the host.
        "rdma": {"enabled": args.get("rdma", True), "useHostMofed": False},
        "tolerations": tolerations,
        "upgradePolicy": {
            **gpu_driver_upgrade_policy(upgrade),
            "podDeletion": {"force": False, "deleteEmptyDir": True, "timeoutSeconds": upgrade["drain_timeout_seconds"]},
        },
    }
