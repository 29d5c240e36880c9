"""The floor plan: every GPU node and every fabric switch in a rack and a U, racks in rows, kW per rack.

Layout (opinionated, after NVIDIA's DGX SuperPOD reference architectures, which build the data hall
from scalable units: an SU's compute racks in one row with its network rack, spine and management
racks beside them; the GB200 RA shows "the complete rack layout in one row" per SU):

* Scalable units in fabric order. Each SU takes ``ceil(nodes / nodes_per_rack)`` GPU racks and then
  network racks for its leaves (one leaf per rail). An SU starts a new row when it does not fit the
  rest of the current one (``floor.racks_per_row``).
* Spines follow the SUs they serve: after all SUs with two tiers, after each pod's SUs with three
  (a pod's spine groups see only its SUs). Cores come last.
* A network rack holds as many switches as fit both its height and ``floor.rack_power_kw``.
* Nodes fill a GPU rack from U1 upwards, switches a network rack likewise.

Positions: rack ``slot`` ``s`` of row ``r`` stands at ``x = s * rack_width_m``, ``y = r * row_pitch_m``.
A cable between racks runs up to an overhead tray, along the rows and aisles (Manhattan distance),
and down; within one rack it runs between the two U positions. Every route gets ``cable_slack_m``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from infra.config.catalog import SWITCH_CHASSIS
from infra.config.model import SiteConfig
from infra.config.schema import Floor
from infra.plan.fabric.devices import Device, Hca, Role, Switch
from infra.plan.fabric.plan import FabricPlan

# One rack unit is 1.75 in = 44.45 mm (EIA-310).
RACK_UNIT_M = 0.04445


@dataclass(frozen=True, slots=True)
class Rack:
    """One rack: its position, whether it holds GPU nodes or network switches, and for what."""

    index: int
    row: int
    slot: int
    kind: str
    purpose: str
    name: str  # row and position on the floor, e.g. ``r003-07``


def rack_name(row: int, slot: int) -> str:
    """A rack's name: its row and its position in the row, e.g. ``r003-07``."""
    return f"r{row:03d}-{slot:02d}"


@dataclass(frozen=True, slots=True)
class Place:
    """Where a device sits: its rack, the lowest U it takes (1 = bottom) and its height in U."""

    rack: Rack
    u: int
    height: int


class FloorPlan:
    """Racks in rows, and where each node and switch of the fabric plan sits. Build it with ``plan_floor``."""

    def __init__(self, config: SiteConfig, fabric: FabricPlan) -> None:
        self.floor: Floor = config.floor
        self.fabric = fabric
        chassis = SWITCH_CHASSIS[fabric.switch_model]
        self.switch_units = chassis.rack_units
        self.switch_kw = chassis.max_kw
        per_rack_by_height = self.floor.rack_units // chassis.rack_units
        self.switches_per_rack = max(1, min(per_rack_by_height, int(self.floor.rack_power_kw // chassis.max_kw)))
        self.racks: list[Rack] = []
        self.rack_kw: list[float] = []
        self.rack_units_used: list[int] = []
        self._su_first_rack: dict[tuple[str, int], int] = {}
        self._switch_place: dict[tuple[Role, int], Place] = {}
        self._node_places: dict[tuple[str, int], Place] = {}
        self._row = 0
        self._slot = 0
        self._lay_out()

    # -- building ---------------------------------------------------------------------------------

    def _new_racks(self, count: int, kind: str, purpose: str) -> int:
        """Add ``count`` racks, in a new row when they do not fit the current one; the first's index."""
        per_row = self.floor.racks_per_row
        if self._slot and self._slot + count > per_row:
            self._row, self._slot = self._row + 1, 0
        first = len(self.racks)
        for _ in range(count):
            if self._slot == per_row:
                self._row, self._slot = self._row + 1, 0
            self.racks.append(
                Rack(len(self.racks), self._row, self._slot, kind, purpose, rack_name(self._row, self._slot))
            )
            self.rack_kw.append(0.0)
            self.rack_units_used.append(0)
            self._slot += 1
        return first

    def _place_switches(self, switches: list[Switch], purpose: str) -> None:
        racks = -(-len(switches) // self.switches_per_rack)
        first = self._new_racks(racks, "network", purpose) if switches else 0
        for n, switch in enumerate(switches):
            rack_index = first + n // self.switches_per_rack
            u = 1 + (n % self.switches_per_rack) * self.switch_units
            self._switch_place[(switch.role, switch.index)] = Place(self.racks[rack_index], u, self.switch_units)
            self.rack_kw[rack_index] += self.switch_kw
            self.rack_units_used[rack_index] += self.switch_units

    def _lay_out(self) -> None:
        fabric = self.fabric
        shape = fabric.shape
        su_global = 0
        total_sus = fabric.scalable_units
        for layout in fabric.layouts:
            pool = layout.pool
            node_u = pool.system.rack_units
            for su in range(pool.scalable_units):
                nodes = min(pool.scalable_unit_nodes, pool.nodes - su * pool.scalable_unit_nodes)
                racks = -(-nodes // pool.nodes_per_rack)
                network = -(-layout.rails // self.switches_per_rack)
                first = self._new_racks(racks + network, "gpu", f"{pool.name} SU {su}")
                # The block was reserved whole (GPU and network racks in one row); relabel the network racks.
                for k in range(first + racks, len(self.racks)):
                    old = self.racks[k]
                    self.racks[k] = Rack(
                        old.index, old.row, old.slot, "network", f"leaves of {pool.name} SU {su}", old.name
                    )
                self._su_first_rack[(pool.name, su)] = first
                for k in range(racks):
                    in_rack = min(pool.nodes_per_rack, nodes - k * pool.nodes_per_rack)
                    self.rack_kw[first + k] += in_rack * pool.system.node_kw
                    self.rack_units_used[first + k] += in_rack * node_u
                leaves = [fabric.leaves[layout.first_leaf + su * layout.rails + rail] for rail in range(layout.rails)]
                for n, leaf in enumerate(leaves):
                    rack_index = first + racks + n // self.switches_per_rack
                    u = 1 + (n % self.switches_per_rack) * self.switch_units
                    self._switch_place[(Role.LEAF, leaf.index)] = Place(self.racks[rack_index], u, self.switch_units)
                    self.rack_kw[rack_index] += self.switch_kw
                    self.rack_units_used[rack_index] += self.switch_units
                su_global += 1
                if fabric.tiers == 3 and (su_global % shape.sus_per_pod == 0 or su_global == total_sus):
                    pod = (su_global - 1) // shape.sus_per_pod
                    spines = [
                        fabric.spines[group.index * shape.spines_per_group + j]
                        for group in shape.spine_groups
                        if group.pod == pod
                        for j in range(shape.spines_per_group)
                    ]
                    self._place_switches(spines, f"spines of pod {pod}")
        if fabric.tiers == 2:
            self._place_switches(list(fabric.spines), "spines")
        self._place_switches(list(fabric.cores), "cores")

    # -- where things are -------------------------------------------------------------------------

    def node(self, pool_name: str, position: int) -> Place:
        """Where node ``position`` (0-based) of the pool sits."""
        key = (pool_name, position)
        place = self._node_places.get(key)
        if place is None:
            # Every rail of a node asks: the cable plan looks each node up once per HCA.
            place = self._node_places[key] = self._node(pool_name, position)
        return place

    def _node(self, pool_name: str, position: int) -> Place:
        pool = self.fabric.layout(pool_name).pool
        su, slot = divmod(position, pool.scalable_unit_nodes)
        rack, within = divmod(slot, pool.nodes_per_rack)
        node_u = pool.system.rack_units
        return Place(self.racks[self._su_first_rack[(pool_name, su)] + rack], 1 + within * node_u, node_u)

    def switch(self, switch: Switch) -> Place:
        """Where ``switch`` sits."""
        return self._switch_place[(switch.role, switch.index)]

    def place(self, device: Device) -> Place:
        """Where a switch sits, or the node an HCA belongs to."""
        if isinstance(device, Hca):
            return self.node(device.pool, device.position)
        return self.switch(device)

    def contents(self, rack: Rack) -> Iterator[tuple[str, Place]]:
        """What ``rack`` holds, bottom up: (hostname or switch name, place). For rack elevations."""
        found: list[tuple[str, Place]] = []
        for switch in self.fabric.switches():
            place = self.switch(switch)
            if place.rack.index == rack.index:
                found.append((switch.name, place))
        if rack.kind == "gpu":
            for layout in self.fabric.layouts:
                pool = layout.pool
                for su in range(pool.scalable_units):
                    first = self._su_first_rack[(pool.name, su)]
                    k = rack.index - first
                    if k >= 0 and k * pool.nodes_per_rack < pool.scalable_unit_nodes:
                        for within in range(pool.nodes_per_rack):
                            position = su * pool.scalable_unit_nodes + k * pool.nodes_per_rack + within
                            slot = k * pool.nodes_per_rack + within
                            if slot < pool.scalable_unit_nodes and position < pool.nodes:
                                found.append((pool.node_name(position), self.node(pool.name, position)))
        return iter(sorted(found, key=lambda item: item[1].u))

    # -- distances --------------------------------------------------------------------------------

    def route_m(self, a: Place, b: Place) -> float:
        """The cable route between two places, slack included, in metres (not yet rounded)."""
        floor = self.floor
        if a.rack.index == b.rack.index:
            return abs(a.u - b.u) * RACK_UNIT_M + floor.cable_slack_m
        rise_a = (floor.rack_units - a.u + 1) * RACK_UNIT_M + floor.tray_height_m
        rise_b = (floor.rack_units - b.u + 1) * RACK_UNIT_M + floor.tray_height_m
        along = abs(a.rack.slot - b.rack.slot) * floor.rack_width_m + abs(a.rack.row - b.rack.row) * floor.row_pitch_m
        return rise_a + along + rise_b + floor.cable_slack_m

    # -- reports ----------------------------------------------------------------------------------

    @property
    def rows(self) -> int:
        """Rows of racks."""
        return self.racks[-1].row + 1 if self.racks else 0

    def summary_lines(self) -> list[str]:
        """Racks, rows and kW per rack (switches included), grouped, with the limit."""
        floor = self.floor
        kinds = Counter(rack.kind for rack in self.racks)
        lines = [
            f"floor: {len(self.racks):,} racks in {self.rows:,} rows of up to {floor.racks_per_row} "
            f"({kinds['gpu']:,} GPU, {kinds['network']:,} network), {floor.rack_units}U, "
            f"limit {floor.rack_power_kw:g} kW per rack",
        ]
        groups: Counter[tuple[str, float]] = Counter()
        for rack, kw in zip(self.racks, self.rack_kw, strict=True):
            what = rack.purpose.split(" SU ")[0] if rack.kind == "gpu" else rack.purpose.split(" of ")[0]
            groups[(f"{rack.kind} {what}", round(kw, 1))] += 1
        for (what, kw), count in sorted(groups.items(), key=lambda item: (item[0][0], -item[0][1])):
            lines.append(f"  {what}: {count:,} rack{'s' if count != 1 else ''} at {kw:g} kW")
        top = max(range(len(self.racks)), key=lambda i: (self.rack_kw[i], -i))
        lines.append(f"  highest: {self.rack_kw[top]:.1f} kW in {self.racks[top].name} ({self.racks[top].purpose})")
        return lines


def plan_floor(config: SiteConfig, fabric: FabricPlan) -> FloorPlan:
    """Lay out the site's racks for the fabric plan (the config's rules already bound rack power and height)."""
    return FloorPlan(config, fabric)


__all__ = ["RACK_UNIT_M", "FloorPlan", "Place", "Rack", "plan_floor", "rack_name"]
