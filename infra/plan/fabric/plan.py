"""``plan_fabric(config) -> FabricPlan``: the site's compute fabric as a rail-optimized fat tree.

The plan holds the switches (a few thousand at most) and computes everything per port on demand:
which leaf port an HCA is cabled to, which spine port a leaf uplink reaches, the links of a tier.
Nothing builds the full link list of a 100,000-GPU site unless a caller iterates ``links()``.
How many switches each tier has, and why, is in ``shape.py``.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass

from components.topology import PoolRack
from infra.config.catalog import LINK_RATE_GBPS, SWITCHES, FabricGeneration, SwitchModel
from infra.config.model import SiteConfig
from infra.config.schema import NodePool
from infra.errors import Problem
from infra.plan.fabric.devices import (
    NODE_DESCRIPTION_BYTES,
    Device,
    End,
    Hca,
    Link,
    Role,
    Switch,
    Tier,
    hca_device,
)
from infra.plan.fabric.errors import FabricPlanError
from infra.plan.fabric.shape import FabricShape, FabricTooLarge, leaf_uplinks, plan_shape
from infra.plan.fabric.summary import summary_lines
from infra.plan.topology import POD_TOPOLOGY_LEVELS, TOPOLOGY_LEVELS, NodeTopology, node_topology, pool_racks


@dataclass(frozen=True)
class PoolLayout:
    """Where one node pool sits in the fabric: its first SU, leaf and HCA in global order."""

    pool: NodePool
    first_su: int
    first_leaf: int
    first_hca: int

    @property
    def rails(self) -> int:
        """Rails the pool's nodes use: 0 .. hcas.compute - 1."""
        return self.pool.hcas.compute


@dataclass(frozen=True)
class TierCounts:
    """Switches per tier."""

    leaves: int
    spines: int
    cores: int

    @property
    def switches(self) -> int:
        """Switches in all tiers."""
        return self.leaves + self.spines + self.cores


@dataclass(frozen=True)
class CableCounts:
    """Links (cables) per tier, counted as the SuperPOD table counts them: one per port pair."""

    node_leaf: int
    leaf_spine: int
    spine_core: int

    @property
    def total(self) -> int:
        """Links in all tiers."""
        return self.node_leaf + self.leaf_spine + self.spine_core

    def by_tier(self) -> dict[Tier, int]:
        """The counts keyed by tier."""
        return {Tier.NODE_LEAF: self.node_leaf, Tier.LEAF_SPINE: self.leaf_spine, Tier.SPINE_CORE: self.spine_core}


class FabricPlan:
    """The planned compute fabric of one site. Build it with ``plan_fabric``."""

    def __init__(self, config: SiteConfig, shape: FabricShape, layouts: tuple[PoolLayout, ...]) -> None:
        compute = config.fabrics.compute
        self.site: str = config.site.name
        self.switch_model: SwitchModel = compute.switch_model
        self.generation: FabricGeneration = SWITCHES[compute.switch_model].generation
        self.link_gbps: int = LINK_RATE_GBPS[self.generation]
        self.configured_oversubscription: float = compute.oversubscription
        self.shape = shape
        self.layouts = layouts
        self._by_name = {layout.pool.name: layout for layout in layouts}
        first_leaves = [layout.first_leaf for layout in layouts]
        self._leaf_pool = [bisect.bisect_right(first_leaves, leaf) - 1 for leaf in range(shape.leaves)]
        self._leaf_group = [0] * shape.leaves
        self._leaf_group_position = [0] * shape.leaves
        for group in shape.spine_groups:
            for position, leaf in enumerate(group.leaves):
                self._leaf_group[leaf] = group.index
                self._leaf_group_position[leaf] = position
        self.leaves: tuple[Switch, ...] = tuple(self._leaf_switch(i) for i in range(shape.leaves))
        self.spines: tuple[Switch, ...] = tuple(self._spine_switch(i) for i in range(shape.spines))
        self.cores: tuple[Switch, ...] = tuple(
            Switch(Role.CORE, i, f"core-g{i // shape.cores_per_group:03d}-{i % shape.cores_per_group:02d}", shape.radix)
            for i in range(shape.cores)
        )

    # -- counts ---------------------------------------------------------------------------------

    @property
    def radix(self) -> int:
        """Ports per switch."""
        return self.shape.radix

    @property
    def tiers(self) -> int:
        """Switch tiers: 2 (leaf, spine) or 3 (leaf, spine, core)."""
        return self.shape.tiers

    @property
    def rails(self) -> int:
        """Rails: the most compute HCAs any node has."""
        return max(layout.rails for layout in self.layouts)

    @property
    def nodes(self) -> int:
        """GPU nodes on the fabric."""
        return sum(layout.pool.nodes for layout in self.layouts)

    @property
    def endpoints(self) -> int:
        """Compute HCA ports cabled to leaves: one per rail per node."""
        return sum(layout.pool.nodes * layout.rails for layout in self.layouts)

    @property
    def scalable_units(self) -> int:
        """Scalable units, counting partly filled ones."""
        return sum(layout.pool.scalable_units for layout in self.layouts)

    @property
    def pods(self) -> int:
        """Pods: groups of SUs that share spines (1 in a two-tier fabric)."""
        return self.shape.pods

    @property
    def counts(self) -> TierCounts:
        """Switches per tier."""
        return TierCounts(len(self.leaves), len(self.spines), len(self.cores))

    @property
    def switches_total(self) -> int:
        """Switches in all tiers."""
        return self.counts.switches

    @property
    def cables(self) -> CableCounts:
        """Links per tier: every HCA port; every leaf uplink; every spine uplink (three tiers)."""
        shape = self.shape
        return CableCounts(self.endpoints, shape.leaves * shape.leaf_uplinks, shape.spines * shape.spine_uplinks)

    @property
    def leaf_ratio(self) -> tuple[int, int]:
        """A leaf's node ports and uplinks: the oversubscription actually built (down, up)."""
        return self.shape.leaf_down_ports, self.shape.leaf_uplinks

    @property
    def top_tier(self) -> tuple[Switch, ...]:
        """The switches at the root of the tree: the spines (two tiers) or the cores (three)."""
        return self.cores if self.tiers == 3 else self.spines

    def switches(self) -> Iterator[Switch]:
        """Every switch: leaves, then spines, then cores."""
        yield from self.leaves
        yield from self.spines
        yield from self.cores

    # -- HCAs and the port map --------------------------------------------------------------------

    def layout(self, pool_name: str) -> PoolLayout:
        """The layout of the pool called ``pool_name``; ``KeyError`` if there is none."""
        try:
            return self._by_name[pool_name]
        except KeyError:
            raise KeyError(f"no node pool is called {pool_name!r}") from None

    def hca(self, pool_name: str, position: int, rail: int) -> Hca:
        """The HCA port on ``rail`` of the node at 0-based ``position`` in the pool."""
        layout = self.layout(pool_name)
        if not 0 <= position < layout.pool.nodes or not 0 <= rail < layout.rails:
            raise IndexError(f"pool {pool_name} has no node {position} with rail {rail}")
        return self._hca(layout, position, rail)

    def hcas(self) -> Iterator[Hca]:
        """Every HCA port, pool by pool, node by node, rail by rail."""
        for layout in self.layouts:
            for position in range(layout.pool.nodes):
                for rail in range(layout.rails):
                    yield self._hca(layout, position, rail)

    def devices(self) -> Iterator[Device]:
        """Every switch, then every HCA port."""
        yield from self.switches()
        yield from self.hcas()

    def hca_port(self, pool_name: str, position: int, rail: int) -> End:
        """The leaf port the HCA on ``rail`` of node ``position`` of the pool is cabled to."""
        peer = self.peer(self.hca(pool_name, position, rail), 1)
        assert peer is not None  # every HCA is cabled
        return peer

    def peer(self, device: Device, port: int) -> End | None:
        """What ``port`` of ``device`` is cabled to, or ``None`` for a free port."""
        if isinstance(device, Hca):
            return self._hca_peer(device) if port == 1 else None
        if not 1 <= port <= device.ports:
            return None
        if device.role is Role.LEAF:
            return self._leaf_peer(device.index, port)
        if device.role is Role.SPINE:
            return self._spine_peer(device.index, port)
        return self._core_peer(device.index, port)

    def ports(self, device: Device) -> Iterator[tuple[int, End]]:
        """Every cabled port of ``device``, in port order, with what it is cabled to."""
        for port in range(1, device.ports + 1):
            peer = self.peer(device, port)
            if peer is not None:
                yield port, peer

    def uplink(self, leaf: Switch, uplink: int) -> End:
        """The spine port that uplink number ``uplink`` (0-based) of ``leaf`` reaches."""
        peer = self._leaf_peer(leaf.index, self.shape.leaf_down_ports + uplink + 1)
        if peer is None:
            raise IndexError(f"leaf {leaf.name} has {self.shape.leaf_uplinks} uplinks (asked for {uplink})")
        return peer

    def links(self, tier: Tier | None = None) -> Iterator[Link]:
        """Every link of ``tier`` (of all tiers when ``None``), each once, its lower end first."""
        if tier in (None, Tier.NODE_LEAF):
            for hca in self.hcas():
                yield Link(Tier.NODE_LEAF, End(hca, 1), self._hca_peer(hca))
        if tier in (None, Tier.LEAF_SPINE):
            yield from self._upward_links(Tier.LEAF_SPINE, self.leaves, self.shape.leaf_down_ports)
        if tier in (None, Tier.SPINE_CORE):
            yield from self._upward_links(Tier.SPINE_CORE, self.spines, self.shape.spine_down_ports)

    # -- topology labels --------------------------------------------------------------------------

    @property
    def topology_levels(self) -> tuple[str, ...]:
        """Kueue Topology levels, widest first: with a core tier the pod is the widest."""
        return POD_TOPOLOGY_LEVELS if self.tiers == 3 else TOPOLOGY_LEVELS

    def pod_of_su(self, global_su: int) -> int:
        """The pod (SUs sharing spines) of scalable unit ``global_su``, counted across the pools in order; 0
        without a core tier."""
        return global_su // self.shape.sus_per_pod if self.tiers == 3 else 0

    @staticmethod
    def pod_label(pod: int) -> str:
        """A pod as topology labels and rack groups name it: ``pod03``."""
        return f"pod{pod:02d}"

    def pod_of(self, pool_name: str, position: int) -> int:
        """The pod (SUs sharing spines) of node ``position`` of the pool."""
        layout = self.layout(pool_name)
        return self.pod_of_su(layout.first_su + position // layout.pool.scalable_unit_nodes)

    def node_topology(self, pool_name: str, position: int) -> NodeTopology:
        """Topology labels of node ``position`` of the pool, with its pod when there is a core tier."""
        layout = self.layout(pool_name)
        if not 0 <= position < layout.pool.nodes:
            raise IndexError(f"pool {pool_name} has {layout.pool.nodes} nodes (asked for {position})")
        pod = self.pod_label(self.pod_of(pool_name, position)) if self.tiers == 3 else None
        return node_topology(layout.pool, position, pod=pod)

    def pool_racks(self, pool_name: str) -> list[PoolRack]:
        """Every node of the pool by its place in the fabric (``node_topology``'s), consecutive ones grouped."""
        layout = self.layout(pool_name)
        if self.tiers != 3:
            return pool_racks(layout.pool)
        return pool_racks(layout.pool, pod_of_su=lambda su: self.pod_label(self.pod_of_su(layout.first_su + su)))

    # -- reports ----------------------------------------------------------------------------------

    def summary_lines(self) -> list[str]:
        """A human summary: tiers, counts per tier, oversubscription, cables."""
        return summary_lines(self)

    # -- arithmetic behind the port map -----------------------------------------------------------

    def _leaf_layout(self, leaf: int) -> PoolLayout:
        return self.layouts[self._leaf_pool[leaf]]

    def _leaf_switch(self, leaf: int) -> Switch:
        layout = self._leaf_layout(leaf)
        su, rail = divmod(leaf - layout.first_leaf, layout.rails)
        return Switch(Role.LEAF, leaf, leaf_name(layout.pool.name, su, rail), self.radix)

    def _spine_switch(self, spine: int) -> Switch:
        shape = self.shape
        group, j = divmod(spine, shape.spines_per_group)
        if shape.tiers == 2:
            return Switch(Role.SPINE, spine, f"spine-{j:03d}", self.radix)
        g = shape.spine_groups[group]
        return Switch(Role.SPINE, spine, f"spine-p{g.pod:02d}-r{g.rail}-{j:03d}", self.radix)

    def _hca(self, layout: PoolLayout, position: int, rail: int) -> Hca:
        index = layout.first_hca + position * layout.rails + rail
        return Hca(layout.pool.name, position, rail, index, layout.pool)

    def _hca_peer(self, hca: Hca) -> End:
        layout = self._by_name[hca.pool]
        su, slot = divmod(hca.position, layout.pool.scalable_unit_nodes)
        return End(self.leaves[layout.first_leaf + su * layout.rails + hca.rail], slot + 1)

    def _leaf_peer(self, leaf: int, port: int) -> End | None:
        shape = self.shape
        if port <= shape.leaf_down_ports:
            layout = self._leaf_layout(leaf)
            su, rail = divmod(leaf - layout.first_leaf, layout.rails)
            slot = port - 1
            position = su * layout.pool.scalable_unit_nodes + slot
            if slot >= layout.pool.scalable_unit_nodes or position >= layout.pool.nodes:
                return None
            return End(self._hca(layout, position, rail), 1)
        uplink = port - shape.leaf_down_ports - 1
        if uplink >= shape.leaf_uplinks:
            return None
        copy, j = divmod(uplink, shape.spines_per_group)
        spine = self._leaf_group[leaf] * shape.spines_per_group + j
        return End(self.spines[spine], self._leaf_group_position[leaf] * shape.leaf_spine_links + copy + 1)

    def _spine_peer(self, spine: int, port: int) -> End | None:
        shape = self.shape
        group, j = divmod(spine, shape.spines_per_group)
        if port <= shape.spine_down_ports:
            position, copy = divmod(port - 1, shape.leaf_spine_links)
            members = shape.spine_groups[group].leaves
            if position >= len(members):
                return None
            return End(self.leaves[members[position]], shape.leaf_down_ports + copy * shape.spines_per_group + j + 1)
        uplink = port - shape.spine_down_ports - 1
        copy, c = divmod(uplink, shape.cores_per_group)
        return End(self.cores[j * shape.cores_per_group + c], group * shape.spine_core_links + copy + 1)

    def _core_peer(self, core: int, port: int) -> End | None:
        shape = self.shape
        j, c = divmod(core, shape.cores_per_group)
        group, copy = divmod(port - 1, shape.spine_core_links)
        if group >= len(shape.spine_groups):
            return None
        spine = self.spines[group * shape.spines_per_group + j]
        return End(spine, shape.spine_down_ports + copy * shape.cores_per_group + c + 1)

    def _upward_links(self, tier: Tier, switches: tuple[Switch, ...], first_uplink: int) -> Iterator[Link]:
        for switch in switches:
            for port in range(first_uplink + 1, switch.ports + 1):
                peer = self.peer(switch, port)
                if peer is not None:
                    yield Link(tier, End(switch, port), peer)


def leaf_name(pool: str, su: int, rail: int) -> str:
    """A leaf's name: its pool's SU (the node label's fabric block) and its rail."""
    return f"{pool}-su{su:03d}-leaf-r{rail}"


def _name_problems(config: SiteConfig) -> list[Problem]:
    problems: list[Problem] = []
    for i, pool in enumerate(config.node_pools):
        longest_leaf = leaf_name(pool.name, pool.scalable_units - 1, pool.hcas.compute - 1)
        if len(longest_leaf.encode()) > NODE_DESCRIPTION_BYTES:
            room = len(pool.name) - (len(longest_leaf.encode()) - NODE_DESCRIPTION_BYTES)
            problems.append(
                Problem(
                    ("node_pools", i, "name"),
                    f"leaf switch name {longest_leaf!r} is {len(longest_leaf.encode())} bytes; an InfiniBand "
                    f"NodeDescription holds {NODE_DESCRIPTION_BYTES}",
                    f"shorten the pool name to at most {max(room, 1)} characters",
                )
            )
        device_suffix = max(len(f" {hca_device(pool, rail)}") for rail in range(pool.hcas.compute))
        longest_host = max(pool.node_names(), key=len)
        if len(longest_host.encode()) + device_suffix > NODE_DESCRIPTION_BYTES:
            problems.append(
                Problem(
                    ("node_pools", i, "node_name_pattern"),
                    f"HCA description {longest_host + ' ' + hca_device(pool, 0)!r} is longer than the "
                    f"{NODE_DESCRIPTION_BYTES} bytes of an InfiniBand NodeDescription",
                    f"make node names at most {NODE_DESCRIPTION_BYTES - device_suffix} characters",
                )
            )
    return problems


def plan_fabric(config: SiteConfig, *, radix: int | None = None) -> FabricPlan:
    """Plan the compute fabric of a validated site; raises ``FabricPlanError`` when it cannot be built.

    ``radix`` plans on switches of that many ports instead of the configured model's: a what-if,
    and how the simulator tests build three-tier fabrics small enough for ibsim.
    """
    compute = config.fabrics.compute
    radix = radix or SWITCHES[compute.switch_model].radix
    down = max(pool.scalable_unit_nodes for pool in config.node_pools)
    problems = _name_problems(config)
    up = leaf_uplinks(down, compute.oversubscription)
    if down + up > radix:
        widest = next(i for i, p in enumerate(config.node_pools) if p.scalable_unit_nodes == down)
        problems.append(
            Problem(
                ("node_pools", widest, "scalable_unit_nodes"),
                f"{down} node ports and {up} uplinks (oversubscription {compute.oversubscription:g}) do not fit "
                f"a {radix}-port {compute.switch_model.value} leaf",
                "use smaller scalable units or raise fabrics.compute.oversubscription",
            )
        )
    if problems:
        raise FabricPlanError(problems)

    layouts: list[PoolLayout] = []
    su = leaf = hca = 0
    su_rails: list[int] = []
    for pool in config.node_pools:
        layouts.append(PoolLayout(pool, su, leaf, hca))
        su += pool.scalable_units
        leaf += pool.scalable_units * pool.hcas.compute
        hca += pool.nodes * pool.hcas.compute
        su_rails.extend([pool.hcas.compute] * pool.scalable_units)
    try:
        shape = plan_shape(radix, compute.oversubscription, su_rails, down)
    except FabricTooLarge as exc:
        limit = radix**3 // 4
        raise FabricPlanError(
            [
                Problem(
                    ("node_pools",),
                    f"{hca:,} HCA ports need {exc.groups} spine groups, more than a three-tier fat tree of "
                    f"{radix}-port {compute.switch_model.value} switches joins ({radix}; at most {limit:,} "
                    "endpoints at 1:1)",
                    "split the site into several fabrics, or use a switch with more ports",
                )
            ]
        ) from None
    return FabricPlan(config, shape, tuple(layouts))
