"""How a driver upgrade rolls across nodes, as the NVIDIA operators' upgrade controllers read it.

The GPU Operator (ClusterPolicy ``driver.upgradePolicy``, NVIDIADriver ``spec.upgradePolicy``) and
the Network Operator (NicClusterPolicy ``ofedDriver.upgradePolicy``) drive their driver upgrades
with the same controller (NVIDIA k8s-operator-libs, ``DriverUpgradePolicySpec``), so the drain
settings have one shape in all three places.
"""

from __future__ import annotations

from typing import Any

from infra.config.schema import DriverUpgrade


def drain_spec(upgrade: DriverUpgrade) -> dict[str, Any]:
    """The ``drain`` section: drain the node first (or not), never forced, emptyDir volumes allowed to go."""
    return {
        "enable": upgrade.drain,
        "force": False,
        # Training pods keep /dev/shm and scratch in emptyDir; they resume from checkpoints.
        "deleteEmptyDir": True,
        "timeoutSeconds": upgrade.drain_timeout_seconds,
    }


def gpu_driver_upgrade_policy(upgrade: DriverUpgrade) -> dict[str, Any]:
    """The GPU driver's ``upgradePolicy``: automatic, so many nodes at a time, drained as ``upgrade`` says."""
    return {
        "autoUpgrade": True,
        "maxParallelUpgrades": upgrade.max_parallel_upgrades,
        "maxUnavailable": upgrade.max_unavailable,
        "drain": drain_spec(upgrade),
    }
