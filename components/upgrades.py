"""How a driver upgrade rolls across nodes, as the NVIDIA operators' upgrade controllers read it.

The GPU Operator (ClusterPolicy ``driver.upgradePolicy``, NVIDIADriver ``spec.upgradePolicy``) and
the Network Operator (NicClusterPolicy ``ofedDriver.upgradePolicy``) drive their driver upgrades
with the same controller (NVIDIA k8s-operator-libs, ``DriverUpgradePolicySpec``), so the drain
settings have one shape in all three places.
"""

from typing import Any, TypedDict


class UpgradePolicy(TypedDict):
    """How a driver upgrade rolls across a set of nodes."""

    max_unavailable: str
    """Nodes down at once: a count (``"1"``) or a percentage of the nodes (``"25%"``)."""

    max_parallel_upgrades: int
    """Nodes upgraded in parallel; 0 means all at once."""

    drain: bool
    """Drain workloads from a node before its driver changes."""

    drain_timeout_seconds: int
    """How long a drain may take, seconds."""


def int_or_percent(value: str) -> int | str:
    """A Kubernetes IntOrString from its text: ``"3"`` is the count 3, ``"25%"`` stays a percentage."""
    return int(value) if value.isdigit() else value


def drain_spec(upgrade: UpgradePolicy) -> dict[str, Any]:
    """The ``drain`` section: drain the node first (or not), never forced, emptyDir volumes allowed to go."""
    return {
        "enable": upgrade["drain"],
        "force": False,
        # Training pods keep /dev/shm and scratch in emptyDir; they resume from checkpoints.
        "deleteEmptyDir": True,
        "timeoutSeconds": upgrade["drain_timeout_seconds"],
    }


def gpu_driver_upgrade_policy(upgrade: UpgradePolicy) -> dict[str, Any]:
    """The GPU driver's ``upgradePolicy``: automatic, so many nodes at a time, drained as ``upgrade`` says."""
    return {
        "autoUpgrade": True,
        "maxParallelUpgrades": upgrade["max_parallel_upgrades"],
        "maxUnavailable": int_or_percent(upgrade["max_unavailable"]),
        "drain": drain_spec(upgrade),
    }
