"""A tenant's GPU quota as the resources Kueue admits against: GPUs, and the CPU and memory that come with them.

Kueue admits a workload only if every resource it requests is covered by its ClusterQueue (Kueue
docs, "Cluster Queue": resources not in a resource group are not admitted), and every pod asks
for CPU and memory. A tenant's nominal share of a pool's CPU and memory is the share of the
pool's GPUs it holds, from each system's per-node CPUs and memory.
"""

from typing_extensions import NotRequired, TypedDict

from components.labels import GPU_RESOURCE
from components.network.infiniband_fabric import RDMA_RESOURCE_PREFIX, VF_RESOURCE_PREFIX

COVERED_RESOURCES: tuple[str, ...] = ("cpu", "memory", GPU_RESOURCE)

# Kueue refuses a workload that requests a resource its ClusterQueue does not cover ("resource
# unavailable in ClusterQueue", kubernetes-sigs/kueue v0.19.2 pkg/scheduler/flavorassigner/
# flavorassigner.go) unless the resource is excluded: Kueue drops every request whose name starts
# with one of the configuration's `resources.excludeResourcePrefixes` before admission (plain
# string prefixes: pkg/workload/workload.go, dropExcludedResources; apis/config/v1beta2/
# configuration_types.go). The site excludes, rather than covers, what comes with the GPUs it
# quotas: InfiniBand VFs (one per GPU), shared RDMA devices and 1 GiB hugepages are bounded by each
# node's allocatable, so a quota of them would only repeat the GPU quota, and a tenant that forgot
# one would wait forever. Not IgnoreUndeclared: it is feature-gated and would also let through
# resources nobody meant to leave unquoted.
EXCLUDED_RESOURCE_PREFIXES: tuple[str, ...] = (VF_RESOURCE_PREFIX, RDMA_RESOURCE_PREFIX, "hugepages-")


class FlavorResources(TypedDict):
    """A node pool as Kueue counts it: what one of its nodes holds, and how its GPUs are advertised."""

    name: str
    """Pool name: the Kueue ResourceFlavor of the same name (``GpuNodePool`` creates it)."""

    gpus_per_node: int
    """Physical GPUs of one node."""

    cpus_per_node: int
    """Logical CPUs of one node (its ``cpu`` capacity)."""

    memory_gib_per_node: int
    """System memory of one node, GiB."""

    gpu_units_per_gpu: NotRequired[int]
    """``nvidia.com/gpu`` the device plugin advertises per physical GPU (MIG devices or time-slices);
    default 1 (whole GPUs)."""


def quota_resources(flavor: FlavorResources, gpus: int) -> dict[str, int | str]:
    """``gpus`` physical GPUs of ``flavor`` as Kueue quantities of cpu, memory and ``nvidia.com/gpu``."""
    per_node = flavor["gpus_per_node"]
    return {
        "cpu": flavor["cpus_per_node"] * gpus // per_node,
        "memory": f"{flavor['memory_gib_per_node'] * gpus // per_node}Gi",
        GPU_RESOURCE: gpus * flavor.get("gpu_units_per_gpu", 1),
    }
