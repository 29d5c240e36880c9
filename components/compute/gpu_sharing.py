"""How a pool shares its GPUs, as the GPU Operator's MIG manager and device plugin read it.

The GPU Operator reads one MIG-parted ConfigMap (``migManager.config.name``) and one
device-plugin ConfigMap (``devicePlugin.config.name``) for the whole cluster; a node picks its
entry with the ``nvidia.com/mig.config`` and ``nvidia.com/device-plugin.config`` labels (GPU
Operator docs, "GPU Partitioning", "Time-Slicing GPUs in Kubernetes"). Each pool therefore
contributes one named entry, and ``ClusterOperators`` writes the two ConfigMaps from all of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from components.labels import DEVICE_PLUGIN_CONFIG_LABEL, GPU_RESOURCE, MIG_CONFIG_LABEL
from infra.config.schema import NodePool
from infra.plan.capacity import mig_instances_per_gpu

MIG_DISABLED = "all-disabled"
DEVICE_PLUGIN_DEFAULT = "default"


@dataclass(frozen=True)
class GpuSharingConfig:
    """MIG layouts and device-plugin configurations, keyed by the name a node label selects."""

    mig_configs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    device_plugin_configs: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def uses_mig(self) -> bool:
        """True when some pool partitions its GPUs with MIG."""
        return bool(self.mig_configs)

    @property
    def mig_strategy(self) -> str:
        """``single``: every MIG device is one ``nvidia.com/gpu``, so quotas keep one resource name."""
        return "single" if self.uses_mig else "none"

    def mig_parted_yaml(self) -> str:
        """The MIG-parted configuration file: ``all-disabled`` plus every pool's layout."""
        configs = {MIG_DISABLED: [{"devices": "all", "mig-enabled": False}], **dict(sorted(self.mig_configs.items()))}
        return yaml.safe_dump({"version": "v1", "mig-configs": configs}, sort_keys=False)

    def device_plugin_files(self) -> dict[str, str]:
        """Device-plugin configuration files by key: ``default`` plus every time-sliced pool."""
        default = {"version": "v1", "flags": {"migStrategy": self.mig_strategy}}
        files = {DEVICE_PLUGIN_DEFAULT: default, **dict(sorted(self.device_plugin_configs.items()))}
        return {key: yaml.safe_dump(body, sort_keys=False) for key, body in files.items()}


def pool_sharing(pool: NodePool) -> GpuSharingConfig:
    """The entries ``pool`` contributes (none when it hands out whole GPUs)."""
    sharing = pool.gpu_sharing
    if sharing.mode == "mig" and sharing.mig_profile:
        count = mig_instances_per_gpu(pool.system.mig_profiles, sharing.mig_profile)
        layout = [{"devices": "all", "mig-enabled": True, "mig-devices": {sharing.mig_profile: count}}]
        return GpuSharingConfig(mig_configs={pool.name: layout})
    if sharing.mode == "time-slicing" and sharing.replicas:
        body = {
            "version": "v1",
            "flags": {"migStrategy": "none"},
            "sharing": {"timeSlicing": {"resources": [{"name": GPU_RESOURCE, "replicas": sharing.replicas}]}},
        }
        return GpuSharingConfig(device_plugin_configs={pool.name: body})
    return GpuSharingConfig()


def sharing_labels(pool: NodePool) -> dict[str, str]:
    """The node labels that select ``pool``'s entries."""
    if pool.gpu_sharing.mode == "mig":
        return {MIG_CONFIG_LABEL: pool.name}
    if pool.gpu_sharing.mode == "time-slicing":
        return {DEVICE_PLUGIN_CONFIG_LABEL: pool.name}
    return {}


def merge_sharing(configs: Iterable[GpuSharingConfig]) -> GpuSharingConfig:
    """All pools' entries in one configuration (pool names are unique, so keys never clash)."""
    mig: dict[str, list[dict[str, Any]]] = {}
    plugin: dict[str, dict[str, Any]] = {}
    for config in configs:
        mig.update(config.mig_configs)
        plugin.update(config.device_plugin_configs)
    return GpuSharingConfig(mig_configs=mig, device_plugin_configs=plugin)
