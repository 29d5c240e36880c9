"""Label, annotation and taint keys the components agree on."""

from collections.abc import Iterable
from typing import Any, TypedDict

# Node labels set by GpuNodePool (topology labels come from ``infra.plan.topology``).
POOL_LABEL = "gigafactory.eu/pool"
GPU_MODEL_LABEL = "gigafactory.eu/gpu-model"
PURPOSE_LABEL = "gigafactory.eu/purpose"
TENANT_LABEL = "gigafactory.eu/tenant"
# Tenants' namespaces carry their kind (research, startup, industry, regulated); admission policies select them by it.
TENANT_KIND_LABEL = "gigafactory.eu/tenant-kind"
# The tenants' namespaces, as a label selector: those Kueue manages without a queue name and those the
# admission policies fence. System and operator namespaces lack the label.
TENANT_NAMESPACES: dict[str, Any] = {"matchExpressions": [{"key": TENANT_KIND_LABEL, "operator": "Exists"}]}
# GPU Operator per-node selections of a MIG layout and a device-plugin configuration
# (GPU Operator docs, "GPU Partitioning" and "Time-Slicing GPUs").
MIG_CONFIG_LABEL = "nvidia.com/mig.config"
DEVICE_PLUGIN_CONFIG_LABEL = "nvidia.com/device-plugin.config"

# Node labels that decide isolation. Kubelets may not set labels under node-restriction.kubernetes.io/
# (NodeRestriction admission plugin), so a compromised node cannot move itself into a dedicated pool;
# they are written by a control-plane identity (nfd-master lists the prefix in `extraLabelNs`, NFD
# v0.19.0 pkg/apis/nfd/validate/validate.go), and the `gigafactory-node-isolation` admission policy
# denies any `system:node:*` change to them and to the isolation taints.
NODE_RESTRICTION_NS = "node-restriction.kubernetes.io"
NODE_RESTRICTION_PREFIX = f"{NODE_RESTRICTION_NS}/"
ISOLATION_POOL_LABEL = f"{NODE_RESTRICTION_PREFIX}gigafactory-pool"
ISOLATION_TENANT_LABEL = f"{NODE_RESTRICTION_PREFIX}gigafactory-tenant"
ISOLATION_LABELS = (ISOLATION_POOL_LABEL, ISOLATION_TENANT_LABEL)
# Node selection keys a tenant pod could use to ask for another tenant's nodes: the isolation labels
# and their informational twins above (which a node could forge, so they never decide placement).
PLACEMENT_LABELS = (ISOLATION_POOL_LABEL, ISOLATION_TENANT_LABEL, POOL_LABEL, TENANT_LABEL)

# Marks objects that hold tenant data encrypted at rest (StorageClasses).
ENCRYPTED_LABEL = "gigafactory.eu/encrypted"
STORAGE_SYSTEM_LABEL = "gigafactory.eu/storage-system"
PART_OF = {"app.kubernetes.io/part-of": "gigafactory"}

GPU_RESOURCE = "nvidia.com/gpu"


class Taint(TypedDict):
    """A Kubernetes node taint: pods without a matching toleration stay off the node."""

    key: str
    """Taint key, e.g. ``gigafactory.eu/tenant``."""

    value: str
    """Taint value (may be empty)."""

    effect: str
    """``NoSchedule``, ``PreferNoSchedule`` or ``NoExecute``."""


def toleration(taint: Taint) -> dict[str, Any]:
    """The toleration that matches ``taint`` exactly."""
    return {"key": taint["key"], "operator": "Equal", "value": taint["value"], "effect": taint["effect"]}


def taint_dict(taint: Taint) -> dict[str, Any]:
    """``taint`` as a Kubernetes Node taint (keys in the API's order)."""
    return {"key": taint["key"], "value": taint["value"], "effect": taint["effect"]}


def tolerations_for(taints: Iterable[Taint]) -> list[dict[str, Any]]:
    """Tolerations for each distinct taint, in a stable order."""
    unique = {(t["key"], t["value"], t["effect"]): t for t in taints}
    return [toleration(unique[k]) for k in sorted(unique)]
