"""The fabric as built against its plan: which cable is missing, extra, swapped or in the wrong place.

Devices are identified first (``identify``): an HCA by its node description, which rdma-ndd sets to
``<hostname> <device>`` exactly as the plan names it; a switch by a GUID-to-name file, by its node
description where it was renamed to the plan's name, and otherwise through what is cabled to it: a
vendor-named switch is the planned switch most of its identified neighbours' ports should reach
(leaves through their HCAs, spines through their leaves, cores through their spines).

Then every planned link is looked up at its discovered ends and every discovered link at its planned
ends (``compare``). Ports where plan and discovery disagree are grouped into connected pieces (a
planned cable and a found cable are joined when they share a port), and each piece is one finding:
one planned cable and no found one is a missing cable; one found and no planned one an extra cable;
two planned cables whose ends were found exchanged are one swap; a planned cable found with one end
elsewhere is a cable in the wrong port (same device) or on the wrong leaf, spine or core. Anything
more tangled is reported cable by cable. A link that matches but runs narrower or slower than planned
is a degraded link.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from infra.plan.fabric.devices import Device, End, Hca, Switch
from infra.plan.fabric.discovery import SPEED_RANK, Discovery, Node
from infra.plan.fabric.labels import cable_label, link_at

if TYPE_CHECKING:
    from infra.plan.fabric.plan import FabricPlan
    from infra.plan.floor import FloorPlan

# Every planned link is 4 lanes wide (4x NDR / 4x XDR ports).
PLANNED_WIDTH = 4

Port = tuple[str, int]  # (device name as planned, or an unplanned node's id; port number)


@dataclass(frozen=True)
class Finding:
    """One fault, with the cables it concerns, both ends as planned and as found, and the fix."""

    kind: str
    labels: tuple[str, ...]
    planned: tuple[str, ...]
    found: tuple[str, ...]
    fix: str

    def line(self) -> str:
        """The finding as one line a person reads."""
        labels = " and ".join(self.labels) if self.labels else "unlabelled cable"
        planned = "; ".join(self.planned) if self.planned else "nothing"
        found = "; ".join(self.found) if self.found else "nothing"
        return f"{labels}: {self.kind}: planned {planned}; found {found}; fix: {self.fix}"

    def as_dict(self) -> dict[str, object]:
        """The finding for JSON output."""
        return {
            "kind": self.kind,
            "labels": list(self.labels),
            "planned": list(self.planned),
            "found": list(self.found),
            "fix": self.fix,
            "line": self.line(),
        }


@dataclass
class AsBuilt:
    """The result of one comparison."""

    site: str
    planned_links: int
    found_links: int
    findings: list[Finding]
    identity: dict[str, str]
    discovery: Discovery
    unidentified: list[Node] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        """Whether the fabric is cabled as planned."""
        return not self.findings

    def guid_map(self, plan: FabricPlan) -> dict[str, dict[str, str]]:
        """What was learned per identified device, keyed by its planned name (``README``: GUID map)."""
        result: dict[str, dict[str, str]] = {}
        for nodeid, name in identity_sorted(self.identity):
            node = self.discovery.nodes[nodeid]
            port_guid = (
                node.guid if node.is_switch else node.port_guids.get(1, min(node.port_guids.values(), default=0))
            )
            result[name] = {
                "kind": "switch" if node.is_switch else "hca",
                "node_guid": f"0x{node.guid:016x}",
                "port_guid": f"0x{port_guid:016x}",
                "node_description": node.description,
            }
        return dict(sorted(result.items()))


def identity_sorted(identity: Mapping[str, str]) -> list[tuple[str, str]]:
    """``identity`` items ordered by planned name."""
    return sorted(identity.items(), key=lambda item: item[1])


def planned_devices(plan: FabricPlan) -> dict[str, Device]:
    """Every planned device by name (for an HCA, the node description it should report)."""
    return {device.name: device for device in plan.devices()}


def _kind_fits(node: Node, device: Device) -> bool:
    return node.is_switch == isinstance(device, Switch)


def identify(
    plan: FabricPlan,
    discovery: Discovery,
    names: Mapping[int, str] | None = None,
    planned: Mapping[str, Device] | None = None,
) -> dict[str, str]:
    """Discovered node id -> planned device name for every node that could be identified.

    ``planned`` is ``planned_devices(plan)`` when the caller already has it.
    """
    planned = planned if planned is not None else planned_devices(plan)
    identity: dict[str, str] = {}
    claimed: set[str] = set()

    def claim(node: Node, name: str | None) -> None:
        device = planned.get(name) if name is not None else None
        if device is not None and name not in claimed and _kind_fits(node, device):
            identity[node.nodeid] = device.name
            claimed.add(device.name)

    if names:
        for node in discovery.nodes.values():
            claim(node, names.get(node.guid))
    for node in discovery.nodes.values():
        if node.nodeid not in identity:
            claim(node, node.description)
    while True:
        votes: list[tuple[int, str, str]] = []
        for node in discovery.nodes.values():
            if not node.is_switch or node.nodeid in identity:
                continue
            counts: Counter[str] = Counter()
            for port in range(1, node.ports + 1):
                link = discovery.links.get((node.nodeid, port))
                neighbour = identity.get(link.peer) if link is not None else None
                if link is None or neighbour is None:
                    continue
                expected = plan.peer(planned[neighbour], link.peer_port)
                if expected is not None and isinstance(expected.device, Switch):
                    counts[expected.device.name] += 1
            if counts:
                name, count = min(counts.items(), key=lambda item: (-item[1], item[0]))
                votes.append((-count, name, node.nodeid))
        progress = False
        for _, name, nodeid in sorted(votes):
            if name not in claimed:
                claim(discovery.nodes[nodeid], name)
                progress = True
        if not progress:
            return identity


class _Pieces:
    """Union-find over ports."""

    def __init__(self) -> None:
        self.parent: dict[Port, Port] = {}

    def find(self, port: Port) -> Port:
        root = self.parent.setdefault(port, port)
        while root != self.parent[root]:
            root = self.parent[root]
        while port != root:
            self.parent[port], port = root, self.parent[port]
        return root

    def join(self, a: Port, b: Port) -> None:
        self.parent[self.find(a)] = self.find(b)


class _Comparison:
    """Plan, discovery and identity, with how to name and describe a port of either."""

    def __init__(
        self,
        plan: FabricPlan,
        discovery: Discovery,
        identity: dict[str, str],
        planned: Mapping[str, Device],
        floor: FloorPlan | None,
    ) -> None:
        self.plan = plan
        self.floor = floor
        self.discovery = discovery
        self.identity = identity
        self.nodeid_of = {name: nodeid for nodeid, name in identity.items()}
        self.planned = planned

    def device(self, name: str) -> Device | None:
        return self.planned.get(name)

    def found_port(self, nodeid: str, port: int) -> Port:
        return (self.identity.get(nodeid, nodeid), port)

    def found_peer(self, port: Port) -> Port | None:
        nodeid = self.nodeid_of.get(port[0], port[0])
        link = self.discovery.links.get((nodeid, port[1]))
        return self.found_port(link.peer, link.peer_port) if link is not None else None

    def planned_peer(self, port: Port) -> Port | None:
        device = self.planned.get(port[0])
        peer = self.plan.peer(device, port[1]) if device is not None else None
        return (peer.device.name, peer.port) if peer is not None else None

    def label(self, port: Port) -> str | None:
        device = self.planned.get(port[0])
        link = link_at(self.plan, End(device, port[1])) if device is not None else None
        return cable_label(self.plan, link) if link is not None else None

    def show(self, port: Port) -> str:
        name, number = port
        device = self.planned.get(name)
        if device is not None and self.floor is not None:
            place = self.floor.place(device)
            return f"{name} port {number} ({place.rack.name} U{place.u})"
        if device is not None or name in self.nodeid_of:
            return f"{name} port {number}"
        node = self.discovery.nodes.get(name)
        description = node.description if node is not None else ""
        kind = "switch" if node is not None and node.is_switch else "node"
        return f'unplanned {kind} "{description}" ({name}) port {number}'

    def role(self, name: str) -> str:
        device = self.planned.get(name)
        if isinstance(device, Switch):
            return device.role.value
        return "node" if isinstance(device, Hca) else "device"

    def discovered(self, name: str) -> bool:
        return name in self.nodeid_of


def _link_text(c: _Comparison, a: Port, b: Port) -> str:
    return f"{c.show(a)} <-> {c.show(b)}"


def _classify(c: _Comparison, planned: list[tuple[Port, Port]], found: list[tuple[Port, Port]]) -> list[Finding]:
    labels = tuple(sorted(label for a, _ in planned if (label := c.label(a)) is not None))
    planned_text = tuple(_link_text(c, a, b) for a, b in planned)
    found_text = tuple(_link_text(c, a, b) for a, b in found)
    if len(planned) == 1 and not found:
        ((a, b),) = planned
        absent = [name for name in (a[0], b[0]) if not c.discovered(name)]
        if absent:
            fix = f"{' and '.join(absent)} not found in the discovery: power it on and check its link, then this cable"
            return [Finding("missing", labels, planned_text, (f"{' and '.join(absent)} not discovered",), fix)]
        fix = f"plug in the cable between {c.show(a)} and {c.show(b)} (reseat or replace it if it is plugged in)"
        return [Finding("missing", labels, planned_text, ("both ports empty",), fix)]
    if not planned and len(found) == 1:
        ((a, b),) = found
        return [
            Finding(
                "extra",
                (),
                (),
                found_text,
                f"unplug the cable between {c.show(a)} and {c.show(b)}: it is not in the plan",
            )
        ]
    if len(planned) == 1 and len(found) == 1:
        (a, b), (x, y) = planned[0], found[0]
        kept, moved = (a, b) if a in (x, y) else (b, a)
        wrong = y if x == kept else x
        if kept in (x, y):
            stranger = c.discovery.nodes.get(wrong[0])
            if stranger is not None and not stranger.is_switch and not c.discovered(moved[0]):
                fix = (
                    f'the HCA in this place reports "{stranger.description}", planned "{moved[0]}": check the '
                    "node's hostname and that rdma-ndd runs (it sets '<hostname> <device>'), or name its GUID "
                    "with --guid-names"
                )
                return [Finding("node description not as planned", labels, planned_text, found_text, fix)]
            if wrong[0] == moved[0]:
                kind, fix = "wrong port", f"move the cable from {c.show(wrong)} to {c.show(moved)}"
            else:
                kind = f"wrong {c.role(moved[0])}"
                fix = f"move the cable's end from {c.show(wrong)} to {c.show(moved)}"
            return [Finding(kind, labels, planned_text, found_text, fix)]
    if len(planned) == 2 and len(found) == 2:
        (a, b), (p, q) = planned
        ends = {frozenset(link) for link in found}
        if ends == {frozenset((a, q)), frozenset((p, b))}:
            left, right = (a, p) if a[0] == p[0] else (b, q)
            kind = f"swapped pair (crossed at {left[0]})" if left[0] == right[0] else "swapped pair"
            return [
                Finding(kind, labels, planned_text, found_text, f"swap the plugs in {c.show(left)} and {c.show(right)}")
            ]
    findings = []
    for a, b in planned:
        seen = tuple(
            f"{c.show(end)} <-> {c.show(peer)}" if (peer := c.found_peer(end)) is not None else f"{c.show(end)} empty"
            for end in (a, b)
        )
        label = c.label(a)
        findings.append(
            Finding(
                "miswired",
                (label,) if label else (),
                (_link_text(c, a, b),),
                seen,
                f"re-cable {c.show(a)} to {c.show(b)}",
            )
        )
    for x, y in found:
        if c.planned_peer(x) is None and c.planned_peer(y) is None:
            findings.append(
                Finding(
                    "extra",
                    (),
                    (),
                    (_link_text(c, x, y),),
                    f"unplug the cable between {c.show(x)} and {c.show(y)}: it is not in the plan",
                )
            )
    return findings


def compare(
    plan: FabricPlan,
    discovery: Discovery,
    identity: dict[str, str],
    *,
    check_speed: bool = True,
    planned: Mapping[str, Device] | None = None,
    floor: FloorPlan | None = None,
) -> AsBuilt:
    """Every difference between the plan and the discovery, one finding per fault.

    With ``floor`` every planned end is shown with its rack and U, where a technician finds it.
    """
    c = _Comparison(plan, discovery, identity, planned if planned is not None else planned_devices(plan), floor)
    pieces = _Pieces()
    bad_planned: list[tuple[Port, Port]] = []
    bad_found: list[tuple[Port, Port]] = []
    findings: list[Finding] = []
    speed = plan.generation.value
    planned_links = 0
    # Discovered port links already matched to a planned link (by object id): not looked up again below.
    matched: set[int] = set()
    for link in plan.links():
        planned_links += 1
        a = (link.lower.device.name, link.lower.port)
        b = (link.upper.device.name, link.upper.port)
        na, nb = c.nodeid_of.get(a[0]), c.nodeid_of.get(b[0])
        got = discovery.links.get((na, a[1])) if na is not None else None
        if got is not None and got.peer == nb and got.peer_port == b[1]:
            matched.add(id(got))
            back = discovery.links.get((nb, b[1]))
            if back is not None:
                matched.add(id(back))
            narrow = got.width is not None and got.width < PLANNED_WIDTH
            slow = check_speed and got.speed is not None and SPEED_RANK[got.speed] < SPEED_RANK[speed]
            if narrow or slow:
                findings.append(
                    Finding(
                        "below planned width/speed"
                        if narrow and slow
                        else ("below planned width" if narrow else "below planned speed"),
                        (cable_label(plan, link),),
                        (f"{_link_text(c, a, b)} at {PLANNED_WIDTH}x{speed}",),
                        (f"{_link_text(c, a, b)} at {got.width}x{got.speed or '?'}",),
                        "reseat the cable at both ends; replace it (and its transceivers) if the link stays degraded",
                    )
                )
            continue
        bad_planned.append((a, b))
        pieces.join(a, b)
    found_links = 0
    for (nodeid, port), got in discovery.links.items():
        if (nodeid, port) > (got.peer, got.peer_port):
            continue
        found_links += 1
        if id(got) in matched:
            continue
        x, y = c.found_port(nodeid, port), c.found_port(got.peer, got.peer_port)
        if c.planned_peer(x) == y:
            continue
        bad_found.append((x, y))
        pieces.join(x, y)
    planned_by: dict[Port, list[tuple[Port, Port]]] = defaultdict(list)
    found_by: dict[Port, list[tuple[Port, Port]]] = defaultdict(list)
    for a, b in bad_planned:
        planned_by[pieces.find(a)].append((a, b))
    for x, y in bad_found:
        found_by[pieces.find(x)].append((x, y))
    for root in sorted(set(planned_by) | set(found_by)):
        findings.extend(_classify(c, planned_by.get(root, []), found_by.get(root, [])))
    findings.sort(key=lambda f: (f.labels or ("~",), f.kind, f.found))
    unidentified = [node for node in discovery.nodes.values() if node.nodeid not in identity]
    return AsBuilt(plan.site, planned_links, found_links, findings, identity, discovery, unidentified)
