"""A tenant's GPU quota as the resources Kueue admits against: GPUs, and the CPU and memory that come with them.

Kueue admits a workload only if every resource it requests is covered by its ClusterQueue (Kueue
docs, "Cluster Queue": resources not in a resource group are not admitted), and every pod asks
for CPU and memory. A tenant's nominal share of a pool's CPU and memory is the share of the
pool's GPUs it holds, from each system's per-node CPUs and memory.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.labels import GPU_RESOURCE
from infra.config.catalog import GpuModel
from infra.config.schema import NodePool
from infra.plan.capacity import gpu_units_per_gpu


@dataclass(frozen=True)
class NodeResources:
    """Logical CPUs and memory of one node of a GPU system."""

    cpus: int
    memory_gib: int


# DGX H100/H200 and DGX B200: 2x 56-core Xeon (112 cores, 224 threads) and 2 TB of system memory
# (NVIDIA DGX H100/H200 and DGX B200 user guides, "Hardware Overview"). A GB200 NVL72 compute tray:
# 2 Grace CPUs of 72 Arm cores (no SMT) with 480 GB LPDDR5X each (NVIDIA GB200 NVL72 spec sheet).
NODE_RESOURCES: dict[GpuModel, NodeResources] = {
    GpuModel.H100_SXM_80GB: NodeResources(224, 2048),
    GpuModel.H200_SXM_141GB: NodeResources(224, 2048),
    GpuModel.B200: NodeResources(224, 2048),
    GpuModel.GB200_NVL72: NodeResources(144, 960),
}

COVERED_RESOURCES: tuple[str, ...] = ("cpu", "memory", GPU_RESOURCE)


def quota_resources(pool: NodePool, gpus: int) -> dict[str, int | str]:
    """``gpus`` physical GPUs of ``pool`` as Kueue quantities of cpu, memory and ``nvidia.com/gpu``."""
    node = NODE_RESOURCES[pool.gpu_model]
    per_node = pool.gpus_per_node
    return {
        "cpu": node.cpus * gpus // per_node,
        "memory": f"{node.memory_gib * gpus // per_node}Gi",
        GPU_RESOURCE: gpus * gpu_units_per_gpu(pool),
    }
