"""What one node of a pool offers pods and how the pool's nodes group in the fabric, as a plan records it.

``gigafactory check-job`` places a job's pods with these facts and the pool's identity facts (its
labels and taints); they come from the same tables the components and planners use (each system's
CPUs and memory for Kueue quotas, the GPU units the device plugin advertises, the fabric plan's
``pool_racks``), so a plan's reader needs no second model of a node.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from components.labels import GPU_RESOURCE
from components.topology import HOSTNAME_LABEL, rack_labels
from infra.config.schema import NodePool
from infra.plan.capacity import gpu_units_per_gpu
from infra.plan.site_plan import SitePlan

# The kubelet's default maxPods (KubeletConfiguration).
MAX_PODS = 110


def scheduling_facts(plan: SitePlan, pool: NodePool) -> dict[str, Any]:
    """``allocatable`` (what one node offers) and ``topology`` (domains per topology label) of ``pool``.

    ``allocatable`` is the node's capacity: what the kubelet reserves for the system is a setting of
    the node image, not of the site, so a pod that needs the whole node may still not fit there.
    ``topology`` gives, per topology label, how many domains the pool's nodes form and how many nodes
    the largest and the smallest hold (a hostname domain is one node).
    """
    resources = pool.system
    allocatable: dict[str, int | str] = {
        "cpu": resources.cpus,
        "memory": f"{resources.memory_gib}Gi",
        GPU_RESOURCE: pool.gpus_per_node * gpu_units_per_gpu(pool),
        "pods": MAX_PODS,
    }
    if pool.hugepages_1gi:
        allocatable["hugepages-1Gi"] = f"{pool.hugepages_1gi}Gi"
    return {"allocatable": allocatable, "topology": _domains(plan, pool)}


def _domains(plan: SitePlan, pool: NodePool) -> dict[str, dict[str, int]]:
    sizes: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for rack in plan.pool_racks(pool):
        for label, value in rack_labels(rack).items():
            sizes[label][value] += len(rack["nodes"])
    domains = {
        label: {"domains": len(counts), "largest": max(counts.values()), "smallest": min(counts.values())}
        for label, counts in sizes.items()
    }
    domains[HOSTNAME_LABEL] = {"domains": pool.nodes, "largest": 1, "smallest": 1}  # a node is its own domain
    return dict(sorted(domains.items()))
