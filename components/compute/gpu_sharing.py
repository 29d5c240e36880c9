"""How a pool shares its GPUs, as the GPU Operator's MIG manager and device plugin read it.

The GPU Operator reads one MIG-parted ConfigMap (``migManager.config.name``) and one
device-plugin ConfigMap (``devicePlugin.config.name``) for the whole cluster; a node picks its
entry with the ``nvidia.com/mig.config`` and ``nvidia.com/device-plugin.config`` labels (GPU
Operator docs, "GPU Partitioning", "Time-Slicing GPUs in Kubernetes"). Each pool therefore
contributes one entry named after it (``ClusterOperators`` writes the two ConfigMaps from all of
them, ``cluster_operators.sharing_config``), and its nodes select it (``sharing_labels``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from components.labels import DEVICE_PLUGIN_CONFIG_LABEL, MIG_CONFIG_LABEL

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


def sharing_labels(pool: str, mode: str) -> dict[str, str]:
    """The node labels that select the entry of ``pool`` shared by ``mode`` (``mig``, ``time-slicing``, ``none``)."""
    if mode == "mig":
        return {MIG_CONFIG_LABEL: pool}
    if mode == "time-slicing":
        return {DEVICE_PLUGIN_CONFIG_LABEL: pool}
    return {}
