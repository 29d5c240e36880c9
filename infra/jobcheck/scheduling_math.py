"""How many pods of one size a node of a pool holds (the scheduler's NodeResourcesFit, on an empty node)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from infra.jobcheck.site import Pool


def pods_per_node(pool: Pool, requests: Mapping[str, Decimal]) -> int:
    """Pods of size ``requests`` one empty node of ``pool`` holds; 0 when a resource is missing or too small."""
    count = int(pool.allocatable.get("pods", Decimal(110)))
    for resource, amount in requests.items():
        if amount <= 0:
            continue
        offered = pool.allocatable.get(resource, Decimal(0))
        count = min(count, int(offered // amount))
    return count


def missing(pool: Pool, requests: Mapping[str, Decimal]) -> list[str]:
    """Resources a pod requests more of than one node of ``pool`` offers, sorted."""
    return sorted(r for r, amount in requests.items() if amount > pool.allocatable.get(r, Decimal(0)))


def offer(pool: Pool) -> str:
    """What one node of ``pool`` offers, as ``cpu 224, memory ...``."""
    return ", ".join(f"{k} {v.normalize():f}" for k, v in sorted(pool.allocatable.items()) if k != "pods")
