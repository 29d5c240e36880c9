"""The cable plan: every link with its label, assembly, both ends in rack and U, length, media and part.

Switch ports sit in twin-port OSFP cages: port ``p`` is in cage ``(p + 1) // 2``, as port 1 or 2 of it
(Quantum-2 QM9700: 32 cages for 64 NDR ports; Quantum-X800 Q3400: 72 cages for 144 XDR ports). What
is plugged into a cage carries both of its ports' links, so the cage is the assembly both rows name
(``<switch>:cage<k>``): a copper splitter or straight cable, or a twin-port transceiver with two fibres.
The assembly's end is the leaf for node-leaf links and the lower switch for switch-switch links.

Media by length and generation (NVIDIA LinkX user guides, "Copper DAC and LACC Cables Overview",
"Transceivers and Fiber Details 100G-PAM4", and the XDR 200G-PAM4 product list):

* NDR (100G-PAM4): DAC splitters (twin-port OSFP to two 400G OSFP) up to 3 m for node-leaf cages;
  DAC straight (twin-port to twin-port) up to 2 m and linear active copper (LACC) at 3, 4, 5 m for a
  switch cage whose two links go to one cage of one peer; otherwise transceivers and fibre: multimode
  (2xSR4 twin-port, SR4 at the HCA, OM4 MPO-12/APC) up to 50 m, single-mode DR4 (OS2 MPO-12/APC) up to
  500 m, FR4 (LC duplex) up to 2 km.
* XDR (200G-PAM4): no DAC ("too short at 200G-PAM4"), no multimode, no AOC; LACC splitters are
  discontinued and LACC straight lengths for XDR were not checked, so every XDR link is single-mode
  (DR4 up to 500 m, FR4 up to 2 km).

A tier's optics are one kind (transceivers at both ends must match, and a twin-port transceiver's
two fibres must be of one type): multimode when every optical link of the tier is within 50 m, else
single-mode. Lengths round up to the lengths sold.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from infra.config.catalog import FabricGeneration
from infra.errors import Problem
from infra.plan.fabric.devices import End, Hca, Link, Role, Switch, Tier
from infra.plan.fabric.errors import FabricPlanError
from infra.plan.fabric.labels import cable_label

if TYPE_CHECKING:
    from infra.plan.fabric.plan import FabricPlan
    from infra.plan.floor import FloorPlan, Place

# Lengths sold, m (NVIDIA LinkX part lists: DAC 0.5-2 m straight, splitters to 3 m; LACC 3, 4, 5 m;
# fibre in the usual MPO trunk and patch lengths).
DAC_STRAIGHT_M = (0.5, 1.0, 1.5, 2.0)
DAC_SPLITTER_M = (1.0, 1.5, 2.0, 2.5, 3.0)
ACC_STRAIGHT_M = (3.0, 4.0, 5.0)
FIBRE_M = (
    1.0,
    2.0,
    3.0,
    5.0,
    7.0,
    10.0,
    12.0,
    15.0,
    20.0,
    25.0,
    30.0,
    35.0,
    40.0,
    50.0,
    60.0,
    70.0,
    80.0,
    90.0,
    100.0,
    120.0,
    150.0,
    200.0,
    250.0,
    300.0,
    400.0,
    500.0,
)
MULTIMODE_REACH_M = 50
DR4_REACH_M = 500
FR4_REACH_M = 2000

CABLE_COLUMNS = (
    "label",
    "tier",
    "assembly",
    "media",
    "part_class",
    "length_m",
    "a_device",
    "a_rack",
    "a_u",
    "a_port",
    "a_cage",
    "a_cage_port",
    "b_device",
    "b_rack",
    "b_u",
    "b_port",
    "b_cage",
    "b_cage_port",
)


@dataclass(frozen=True)
class Optics:
    """One kind of optical link: media code, the fibre, the transceivers at a switch cage and at an HCA."""

    media: str
    fibre: str
    twin_port: str
    single_port: str
    reach_m: int


MULTIMODE = Optics(
    "MMF", "fibre OM4 MPO-12/APC", "transceiver twin-port OSFP 2xSR4 (multimode)", "transceiver OSFP SR4", 50
)
DR4 = Optics(
    "SMF", "fibre OS2 MPO-12/APC", "transceiver twin-port OSFP 2xDR4 (single-mode)", "transceiver OSFP DR4", 500
)
FR4 = Optics(
    "SMF-LC", "fibre OS2 LC duplex", "transceiver twin-port OSFP 2xFR4 (single-mode)", "transceiver OSFP FR4", 2000
)


def ceil_to(value: float, choices: tuple[float, ...]) -> float | None:
    """The smallest of ``choices`` (ascending) that is at least ``value``; ``None`` when none is."""
    at = bisect.bisect_left(choices, value - 1e-9)
    return choices[at] if at < len(choices) else None


def fibre_length(route_m: float) -> float:
    """The fibre length to order for a route: the next length sold, or the next 100 m beyond 500 m."""
    sold = ceil_to(route_m, FIBRE_M)
    return float(sold) if sold is not None else float(math.ceil(route_m / 100) * 100)


def cage_of(port: int) -> tuple[int, int]:
    """A switch port's twin-port OSFP cage and which of its two ports it is (1 or 2)."""
    return (port + 1) // 2, 2 - port % 2


@dataclass(frozen=True, slots=True)
class Cable:
    """One row of ``cables.csv``: one link (port to port)."""

    label: str
    tier: Tier
    assembly: str
    media: str
    part_class: str
    length_m: float
    a: End
    b: End
    a_place: Place
    b_place: Place


class CablePlan:
    """The fabric plan's links as cables on the floor plan."""

    def __init__(self, plan: FabricPlan, floor: FloorPlan) -> None:
        self.plan = plan
        self.floor = floor
        self.ndr = plan.generation is FabricGeneration.NDR
        self._optics: dict[Tier, Optics] = {}
        # One pass over every cage gathers what the optics choice and the bill of materials need.
        longest: dict[Tier, float] = {}
        self._copper: Counter[tuple[str, float]] = Counter()
        self._fibres: dict[Tier, Counter[float]] = {}
        self._near_cages: Counter[Tier] = Counter()
        self._hca_ends: Counter[Tier] = Counter()
        far_cages: dict[Tier, set[tuple[int, int]]] = {}
        for cage in self._cages():
            if cage.copper is not None:
                self._copper[(cage.copper[1], cage.copper[2])] += 1
                continue
            tier = cage.tier
            longest[tier] = max(longest.get(tier, 0.0), max(cage.lengths))
            self._near_cages[tier] += 1
            fibres = self._fibres.setdefault(tier, Counter())
            for (_, peer), length in zip(cage.links, cage.lengths, strict=True):
                fibres[fibre_length(length)] += 1
                device = peer.device
                if isinstance(device, Hca):
                    self._hca_ends[tier] += 1
                else:
                    far_cages.setdefault(tier, set()).add((device.index, cage_of(peer.port)[0]))
        self._far_cages = {tier: len(cages) for tier, cages in far_cages.items()}
        for tier, length in longest.items():
            if length > FR4_REACH_M:
                raise FabricPlanError(
                    [
                        Problem(
                            ("floor", "racks_per_row"),
                            f"a {tier.value} cable needs {length:,.0f} m on this floor, beyond the {FR4_REACH_M:,} m "
                            "single-mode FR4 reaches",
                            "lay the racks out more compactly (more racks per row, smaller pitches)",
                        )
                    ]
                )
            if self.ndr and length <= MULTIMODE_REACH_M:
                self._optics[tier] = MULTIMODE
            elif length <= DR4_REACH_M:
                self._optics[tier] = DR4
            else:
                self._optics[tier] = FR4

    # -- cages ------------------------------------------------------------------------------------

    def _cages(self) -> Iterator[_Cage]:
        """Every populated cage at the assembly end: leaves (node and uplink cages), then spines' uplinks."""
        plan = self.plan
        for switch in plan.switches():
            if switch.role is Role.CORE:
                continue
            first = 1 if switch.role is Role.LEAF else plan.shape.spine_down_ports + 1
            place = self.floor.switch(switch)
            for port in range(first, switch.ports + 1, 2):
                ends = [(p, peer) for p in (port, port + 1) if p <= switch.ports and (peer := plan.peer(switch, p))]
                by_tier: dict[Tier, list[tuple[int, End]]] = {}
                for p, peer in ends:
                    tier = Tier.NODE_LEAF if isinstance(peer.device, Hca) else self._upper_tier(switch, peer)
                    if tier is not None:
                        by_tier.setdefault(tier, []).append((p, peer))
                for tier, links in by_tier.items():
                    yield self._cage(switch, place, tier, links)

    @staticmethod
    def _upper_tier(switch: Switch, peer: End) -> Tier | None:
        other = peer.device
        if not isinstance(other, Switch):
            return None
        if switch.role is Role.LEAF and other.role is Role.SPINE:
            return Tier.LEAF_SPINE
        if switch.role is Role.SPINE and other.role is Role.CORE:
            return Tier.SPINE_CORE
        return None

    def _cage(self, switch: Switch, place: Place, tier: Tier, links: list[tuple[int, End]]) -> _Cage:
        floor = self.floor
        places = [floor.place(peer.device) for _, peer in links]
        lengths = [floor.route_m(place, other) for other in places]
        longest = max(lengths)
        copper: tuple[str, str, float] | None = None
        if self.ndr and tier is Tier.NODE_LEAF and longest <= DAC_SPLITTER_M[-1]:
            copper = ("DAC", "DAC splitter twin-port OSFP to 2x OSFP 400G", ceil_to(longest, DAC_SPLITTER_M) or 3.0)
        elif self.ndr and tier is not Tier.NODE_LEAF and self._straight(links):
            if longest <= DAC_STRAIGHT_M[-1]:
                copper = ("DAC", "DAC straight twin-port OSFP 2x400G", ceil_to(longest, DAC_STRAIGHT_M) or 2.0)
            elif longest <= ACC_STRAIGHT_M[-1]:
                copper = ("ACC", "LACC straight twin-port OSFP 2x400G", ceil_to(longest, ACC_STRAIGHT_M) or 5.0)
        cage = cage_of(links[0][0])[0]
        return _Cage(switch, place, tier, f"{switch.name}:cage{cage}", links, places, lengths, copper)

    @staticmethod
    def _straight(links: list[tuple[int, End]]) -> bool:
        """Whether both links of a cage go to the two ports of one cage of one peer (a straight cable)."""
        if len(links) != 2:
            return False
        (_, first), (_, second) = links
        return first.device == second.device and cage_of(first.port)[0] == cage_of(second.port)[0]

    # -- rows -------------------------------------------------------------------------------------

    def optics(self, tier: Tier) -> Optics | None:
        """The optics a tier uses (``None`` when all its links are copper)."""
        return self._optics.get(tier)

    def cables(self) -> Iterator[Cable]:
        """Every link as a cable, cage by cage (both rows of an assembly together)."""
        for cage in self._cages():
            yield from cage.cables(self)

    def bom_counts(self) -> Counter[tuple[str, str, float]]:
        """(category, item, length in m or 0) -> quantity, for the orderable bill of materials."""
        counts: Counter[tuple[str, str, float]] = Counter()
        for (part, length), quantity in self._copper.items():
            counts[("cable", part, length)] += quantity
        for tier, optics in self._optics.items():
            for length, quantity in self._fibres.get(tier, Counter()).items():
                counts[("fibre", optics.fibre, length)] += quantity
            twin = self._near_cages[tier] + self._far_cages.get(tier, 0)
            counts[("transceiver", optics.twin_port, 0.0)] += twin
            if self._hca_ends[tier]:
                counts[("transceiver", optics.single_port, 0.0)] += self._hca_ends[tier]
        return counts

    def csv_chunks(self) -> Iterator[str]:
        """``cables.csv``: a header, then one row per link, in chunks for a streaming writer."""
        yield ",".join(CABLE_COLUMNS) + "\n"
        devices: dict[str, str] = {}  # device name -> "device,rack,u," (the part of an end that is per device)
        batch: list[str] = []
        for cable in self.cables():
            batch.append(_row(cable, devices))
            if len(batch) == 2048:
                yield "".join(batch)
                batch.clear()
        if batch:
            yield "".join(batch)


def _end_fields(end: End, place: Place, devices: dict[str, str]) -> str:
    device = end.device
    where = devices.get(device.name)
    if isinstance(device, Hca):
        if where is None:
            where = devices[device.name] = f"{device.hostname},{place.rack.name},{place.u},{device.device}"
        return f"{where},,"
    if where is None:
        where = devices[device.name] = f"{device.name},{place.rack.name},{place.u}"
    port = end.port
    return f"{where},{port},{(port + 1) // 2},{2 - port % 2}"


def _row(cable: Cable, devices: dict[str, str]) -> str:
    # No field holds a comma or a quote (names are DNS labels, parts are fixed texts without commas).
    return (
        f"{cable.label},{cable.tier.value},{cable.assembly},{cable.media},{cable.part_class},{cable.length_m:g},"
        f"{_end_fields(cable.a, cable.a_place, devices)},{_end_fields(cable.b, cable.b_place, devices)}\n"
    )


@dataclass
class _Cage:
    switch: Switch
    place: Place
    tier: Tier
    assembly: str
    links: list[tuple[int, End]]
    places: list[Place]
    lengths: list[float]
    copper: tuple[str, str, float] | None

    def cables(self, cabling: CablePlan) -> Iterator[Cable]:
        plan = cabling.plan
        optics = cabling.optics(self.tier)
        if optics is not None:
            parts = {
                kind: f"{optics.fibre}; {optics.twin_port} at the switch cage; {far} at the far end"
                for kind, far in (("hca", optics.single_port), ("switch", optics.twin_port))
            }
        for (port, peer), place, length in zip(self.links, self.places, self.lengths, strict=True):
            here = End(self.switch, port)
            link = Link(self.tier, peer, here) if isinstance(peer.device, Hca) else Link(self.tier, here, peer)
            label = cable_label(plan, link)
            if self.copper is not None:
                media, part, rounded = self.copper
            else:
                assert optics is not None
                rounded = fibre_length(length)
                media = optics.media
                part = parts["hca" if isinstance(peer.device, Hca) else "switch"]
            yield Cable(label, self.tier, self.assembly, media, part, rounded, here, peer, self.place, place)
