"""Label, annotation and taint keys the components agree on."""

from __future__ import annotations

from typing import Any

from infra.config.schema import Taint

# Node labels set by GpuNodePool (topology labels come from ``infra.plan.topology``).
POOL_LABEL = "gigafactory.eu/pool"
GPU_MODEL_LABEL = "gigafactory.eu/gpu-model"
PURPOSE_LABEL = "gigafactory.eu/purpose"
TENANT_LABEL = "gigafactory.eu/tenant"
# GPU Operator per-node selections of a MIG layout and a device-plugin configuration
# (GPU Operator docs, "GPU Partitioning" and "Time-Slicing GPUs").
MIG_CONFIG_LABEL = "nvidia.com/mig.config"
DEVICE_PLUGIN_CONFIG_LABEL = "nvidia.com/device-plugin.config"

# Marks objects that hold tenant data encrypted at rest (StorageClasses).
ENCRYPTED_LABEL = "gigafactory.eu/encrypted"
STORAGE_SYSTEM_LABEL = "gigafactory.eu/storage-system"
PART_OF = {"app.kubernetes.io/part-of": "gigafactory"}

GPU_RESOURCE = "nvidia.com/gpu"


def toleration(taint: Taint) -> dict[str, Any]:
    """The toleration that matches ``taint`` exactly."""
    return {"key": taint.key, "operator": "Equal", "value": taint.value, "effect": taint.effect}


def taint_dict(taint: Taint) -> dict[str, Any]:
    """``taint`` as a Kubernetes Node taint."""
    return {"key": taint.key, "value": taint.value, "effect": taint.effect}


def tolerations_for(taints: tuple[Taint, ...]) -> list[dict[str, Any]]:
    """Tolerations for each distinct taint, in a stable order."""
    unique = {(t.key, t.value, t.effect): t for t in taints}
    return [toleration(unique[k]) for k in sorted(unique)]
