"""The shape of a rail-optimized fat tree: switches per tier and how many links join them.

Pure arithmetic over the scalable units (SUs) and the switch radix; no names, no ports. The rules,
and why (numbers: ``../shared/REFERENCE.md``, "InfiniBand fabric"):

* One leaf per rail per SU. A leaf reserves ``down`` ports for the largest SU and has ``up``
  uplinks, ``ceil(down / oversubscription)``: 32 down / 32 up on a 64-port QM9700 at 1:1, as
  the DGX SuperPOD RA builds it. A partly filled SU still gets its whole leaves and every uplink
  (SuperPOD RA, "Network Fabrics": design the full SU and leave the missing nodes' ports unused).
* Two tiers while the leaves fit one spine-leaf group (at most ``radix`` leaves): every leaf
  connects to every spine with the same number of parallel links, so cross-rail traffic crosses
  the spine layer (SuperPOD RA: "traffic between nodes, or between rails, traverses the spine
  layer") and the whole fabric is one subnet that one subnet manager routes. The spine count is
  the smallest divisor of the leaf uplinks that gives the spines enough ports: 4 spines for 1 SU,
  8/16/32 for 2/4/8 SUs, 16 for 3 SUs (the SuperPOD H100 table's numbers).
* Three tiers beyond that. SUs are grouped into pods of at most ``radix / 2`` SUs; within a pod
  each rail's leaves form a spine group whose spines (``radix / 2`` down, ``radix / 2`` up) see
  only that rail, so same-rail traffic between SUs never reaches the core. Spine ``j`` of every
  group connects to core group ``j``. This is the SuperPOD 16/32/64-SU build: 128/256/512
  spines and 64/128/256 cores for 32-node SUs on QM9700.
* Every spine group has the same number of spines and every spine is cabled whole to the core,
  even in a pod that is not full: the pod can then grow SU by SU without recabling the core,
  the same rule the SuperPOD RA gives for a partial SU.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from infra.errors import PlanningError


class FabricTooLarge(PlanningError, ValueError):
    """The endpoints need more than three tiers of this switch."""

    def __init__(self, groups: int, radix: int) -> None:
        self.groups = groups
        self.radix = radix
        super().__init__(f"{groups} spine groups, but a {radix}-port core switch joins at most {radix}")


@dataclass(frozen=True)
class SpineGroup:
    """Leaves that share one set of spines: one rail of one pod (3 tiers), or every leaf (2 tiers)."""

    index: int
    pod: int
    rail: int | None
    leaves: tuple[int, ...]


@dataclass(frozen=True)
class FabricShape:
    """Switch counts per tier and the number of parallel links between tiers."""

    radix: int
    leaf_down_ports: int
    leaf_uplinks: int
    leaves: int
    tiers: int
    spines_per_group: int
    leaf_spine_links: int
    spine_groups: tuple[SpineGroup, ...]
    sus_per_pod: int
    pods: int
    cores_per_group: int
    spine_core_links: int

    @property
    def spines(self) -> int:
        """Spine switches."""
        return self.spines_per_group * len(self.spine_groups)

    @property
    def cores(self) -> int:
        """Core switches (0 in a two-tier fabric)."""
        return self.spines_per_group * self.cores_per_group if self.tiers == 3 else 0

    @property
    def pure(self) -> bool:
        """Whether every spine has as many leaves as every other: what OpenSM's ftree calls a pure fat tree.

        A partly filled pod (or one with fewer rails) has smaller spine groups; ftree then routes
        the fabric only when it is told the roots (``root_guid_file``), as it skips its purity check.
        """
        return len({len(group.leaves) for group in self.spine_groups}) == 1

    @property
    def spine_down_ports(self) -> int:
        """Ports a spine reserves for leaves: all of them in two tiers, half in three."""
        return self.radix if self.tiers == 2 else self.radix // 2

    @property
    def spine_uplinks(self) -> int:
        """Ports a spine cables to the core (0 in a two-tier fabric)."""
        return 0 if self.tiers == 2 else self.radix // 2


def leaf_uplinks(down_ports: int, oversubscription: float) -> int:
    """Uplinks a leaf needs for ``down_ports`` node ports at ``oversubscription`` (down:up)."""
    # round() first so that 32 / 1.0000000001-style float noise cannot add a port.
    return max(1, math.ceil(round(down_ports / oversubscription, 9)))


def _smallest_divisor_at_least(n: int, low: int) -> int:
    return next(d for d in range(max(1, low), n + 1) if n % d == 0)


def _largest_divisor_at_most(n: int, high: int) -> int:
    return next(d for d in range(min(n, high), 0, -1) if n % d == 0)


def plan_shape(radix: int, oversubscription: float, su_rails: Sequence[int], down_ports: int) -> FabricShape:
    """The fat tree for SUs with ``su_rails[s]`` leaves each (global SU order), on ``radix``-port switches.

    Leaves are numbered SU by SU, rail by rail: SU ``s`` owns leaves ``sum(su_rails[:s])`` onwards.
    Raises ``FabricTooLarge`` when three tiers cannot join the spine groups.
    """
    up = leaf_uplinks(down_ports, oversubscription)
    if down_ports + up > radix:
        raise ValueError(f"{down_ports} node ports + {up} uplinks do not fit a {radix}-port leaf")
    first_leaf = [0]
    for rails in su_rails:
        first_leaf.append(first_leaf[-1] + rails)
    leaves = first_leaf[-1]
    if leaves <= radix:
        spines = _smallest_divisor_at_least(up, -(-leaves * up // radix))
        group = SpineGroup(0, 0, None, tuple(range(leaves)))
        return FabricShape(radix, down_ports, up, leaves, 2, spines, up // spines, (group,), len(su_rails), 1, 0, 0)

    half = radix // 2
    per_pod = min(len(su_rails), half)
    pods = -(-len(su_rails) // per_pod)
    groups: list[SpineGroup] = []
    for pod in range(pods):
        sus = range(pod * per_pod, min(len(su_rails), (pod + 1) * per_pod))
        for rail in range(max(su_rails[s] for s in sus)):
            members = tuple(first_leaf[s] + rail for s in sus if su_rails[s] > rail)
            groups.append(SpineGroup(len(groups), pod, rail, members))
    widest = max(len(g.leaves) for g in groups)
    links = _largest_divisor_at_most(up, half // widest)
    if len(groups) > radix:
        raise FabricTooLarge(len(groups), radix)
    core_links = _largest_divisor_at_most(half, radix // len(groups))
    return FabricShape(
        radix,
        down_ports,
        up,
        leaves,
        3,
        up // links,
        links,
        tuple(groups),
        per_pod,
        pods,
        half // core_links,
        core_links,
    )
