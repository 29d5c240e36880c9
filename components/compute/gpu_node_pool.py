"""``GpuNodePool``: one pool's nodes labelled and tainted, its Kueue flavor and its GPU driver."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi

from components.compute.node_identity import NFD_API, NODE_FEATURE_RULE, unit_rules
from components.kube import custom_resource, meta
from components.labels import ISOLATION_POOL_LABEL, POOL_LABEL, taint_dict, tolerations_for
from components.upgrades import gpu_driver_upgrade_policy
from infra.config.schema import NodePool
from infra.plan.capacity import gpu_units_per_gpu
from infra.plan.topology import NodeTopology, node_topology

KUEUE_API = "kueue.x-k8s.io/v1beta2"
NVIDIA_DRIVER_API = "nvidia.com/v1alpha1"
# The GPU Operator's driver image (GPU Operator docs, "NVIDIA GPU Driver Custom Resource Definition").
DRIVER_REPOSITORY = "nvcr.io/nvidia"
DRIVER_IMAGE = "driver"


@dataclass(frozen=True)
class GpuNodePoolArgs:
    """What a ``GpuNodePool`` needs."""

    pool: NodePool
    """The node pool from the site config."""

    driver_version: str
    """NVIDIA driver version its nodes run (``operators.gpu_operator.driver_version``)."""

    kernel_module_type: str = "auto"
    """NVIDIA kernel modules: ``auto``, ``open`` or ``proprietary``."""

    rdma: bool = True
    """Load GPUDirect RDMA support (nvidia-peermem) with the driver."""

    topology_name: str | None = None
    """Kueue Topology the pool's flavor schedules on; None for no topology-aware scheduling."""

    node_topology: Callable[[NodePool, int], NodeTopology] = node_topology
    """Where node ``position`` of the pool sits in the fabric (the site plan's, normally)."""

    requires: tuple[pulumi.Resource, ...] = ()
    """Releases that install the CRDs the pool's custom resources use (GPU Operator, Kueue, NFD)."""


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
    node_selector: pulumi.Output[dict[str, str]]
    tolerations: pulumi.Output[list[dict[str, Any]]]
    nodes: pulumi.Output[int]
    gpu_units: pulumi.Output[int]

    def __init__(self, name: str, args: GpuNodePoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gigafactory:compute:GpuNodePool", name, None, opts)
        pool = args.pool
        selector = {POOL_LABEL: pool.name}
        tolerations = tolerations_for(t.as_args() for t in pool.taints)

        crd_opts = pulumi.ResourceOptions(parent=self, depends_on=list(args.requires))
        self._label_nodes(name, args, crd_opts)
        custom_resource(
            f"{name}-driver",
            NVIDIA_DRIVER_API,
            "NVIDIADriver",
            meta(pool.name),
            _driver_spec(args, selector, tolerations),
            crd_opts,
        )
        # Kueue puts the flavor's nodeLabels into every admitted pod's nodeSelector: the label a node
        # cannot set on itself, so a forged node never attracts this pool's workloads.
        # The informational pool label stays too, so a job selecting it still meets the flavor.
        flavor_spec: dict[str, Any] = {"nodeLabels": {POOL_LABEL: pool.name, ISOLATION_POOL_LABEL: pool.name}}
        if pool.taints:
            flavor_spec["nodeTaints"] = [taint_dict(t.as_args()) for t in pool.taints]
            # Kueue injects these into every workload admitted to the flavor, so a tenant with quota
            # here needs no toleration of its own; tenants without quota are never admitted here
            # (Kueue v1beta2 ResourceFlavor, `tolerations` and `nodeTaints`).
            flavor_spec["tolerations"] = tolerations
        if args.topology_name is not None:
            flavor_spec["topologyName"] = args.topology_name
        custom_resource(f"{name}-flavor", KUEUE_API, "ResourceFlavor", meta(pool.name), flavor_spec, crd_opts)

        self.flavor_name = pulumi.Output.from_input(pool.name)
        self.node_selector = pulumi.Output.from_input(selector)
        self.tolerations = pulumi.Output.from_input(tolerations)
        self.nodes = pulumi.Output.from_input(pool.nodes)
        self.gpu_units = pulumi.Output.from_input(pool.gpus * gpu_units_per_gpu(pool))
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
        for unit in unit_rules(args.pool, args.node_topology):
            custom_resource(
                f"{name}-{unit.name}",
                NFD_API,
                NODE_FEATURE_RULE,
                meta(unit.name, labels={POOL_LABEL: args.pool.name}),
                unit.spec,
                opts,
            )


def _driver_spec(args: GpuNodePoolArgs, selector: dict[str, str], tolerations: list[dict[str, Any]]) -> dict[str, Any]:
    upgrade = args.pool.driver_upgrade
    return {
        "default": False,
        "driverType": "gpu",
        "repository": DRIVER_REPOSITORY,
        "image": DRIVER_IMAGE,
        "version": args.driver_version,
        "kernelModuleType": args.kernel_module_type,
        "nodeSelector": selector,
        # The Network Operator's DOCA-OFED container provides the RDMA stack, not the host.
        "rdma": {"enabled": args.rdma, "useHostMofed": False},
        "tolerations": tolerations,
        "upgradePolicy": {
            **gpu_driver_upgrade_policy(upgrade.as_args()),
            "podDeletion": {"force": False, "deleteEmptyDir": True, "timeoutSeconds": upgrade.drain_timeout_seconds},
        },
    }
