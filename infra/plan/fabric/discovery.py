"""Read the topology file ``ibnetdiscover`` prints: the fabric as it is really cabled.

The format (infiniband-diags ``ibnetdiscover.c``: ``out_switch``, ``out_ca``, ``out_switch_port``,
``out_ca_port``) is one record per node: optional ``vendid=``/``devid=``/``sysimgguid=`` lines, a
``switchguid=``/``caguid=``/``rtguid=`` line, a header (``Switch 64 "S-<guid>" # "<desc>" enhanced
port 0 lid 1 lmc 0``, ``Ca 1 "H-<guid>" # "<desc>"``), then one line per connected port:

    [3]	"H-<guid>"[1](<port guid>) 		# "<remote desc>" lid 12 4xNDR        (switch port)
    [1](<port guid>) 	"S-<guid>"[3]		# lid 12 lmc 0 "<remote desc>" lid 1 4xNDR   (CA port)

``[ext N]`` after a port number (``-g``) is accepted and ignored. The link's active width and speed
end the line (``4xNDR``; ``undefined`` where the port did not say). A file without a single node
record is not a discovery: ``DiscoveryError``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from infra.errors import BadInputError

# Link speeds in the order of their rate (ibnetdiscover's dump_linkspeed*_compat names).
SPEED_RANK = {name: rank for rank, name in enumerate(("SDR", "DDR", "QDR", "FDR10", "FDR", "EDR", "HDR", "NDR", "XDR"))}

_HEADER = re.compile(r'^(Switch|Ca|Rt)\s+(\d+)\s+"([^"]+)"\s*#\s*"(.*)"')
_PORT = re.compile(
    r'^\[(\d+)\](?:\[ext \d+\])?(?:\(([0-9a-fA-F]+)\))?\s*"([^"]+)"\[(\d+)\](?:\[ext \d+\])?'
    r'\s*(?:\(([0-9a-fA-F]+)\))?\s*#\s*(?:lid \d+ lmc \d+ )?"(.*)"\s+lid\s+\d+\s+(\S+)'
)
_WIDTH_SPEED = re.compile(r"^(\d+)x([A-Z0-9]+)$")
_GUID_LINE = re.compile(r"^(?:switch|ca|rt)guid=0x([0-9a-fA-F]+)")


class DiscoveryError(BadInputError, ValueError):
    """The text is not an ibnetdiscover topology file; ``line`` is where reading stopped (1-based)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class PortLink:
    """What one discovered port is cabled to, with the link's active width (lanes) and speed."""

    peer: str
    peer_port: int
    width: int | None
    speed: str | None


@dataclass
class Node:
    """One discovered node: its id (``S-``/``H-`` and the GUID), kind, GUIDs and node description."""

    nodeid: str
    kind: str
    ports: int
    description: str
    guid: int
    port_guids: dict[int, int] = field(default_factory=dict)

    @property
    def is_switch(self) -> bool:
        """Whether the node is a switch."""
        return self.kind == "Switch"


@dataclass
class Discovery:
    """Every node and every connected port of one discovery."""

    nodes: dict[str, Node]
    links: dict[tuple[str, int], PortLink]

    def link_count(self) -> int:
        """Links (each listed from both ends in the file, counted once)."""
        return sum(1 for (node, port), link in self.links.items() if (node, port) <= (link.peer, link.peer_port))


def _width_speed(text: str) -> tuple[int | None, str | None]:
    match = _WIDTH_SPEED.match(text)
    if match is None:
        return None, None
    speed = match.group(2)
    return int(match.group(1)), speed if speed in SPEED_RANK else None


def _guid_of(nodeid: str) -> int:
    try:
        return int(nodeid.split("-", 1)[1], 16)
    except (IndexError, ValueError):
        return 0


def parse_discovery(lines: Iterable[str]) -> Discovery:
    """Parse ibnetdiscover output; raises ``DiscoveryError`` when it holds no node record."""
    nodes: dict[str, Node] = {}
    links: dict[tuple[str, int], PortLink] = {}
    current: Node | None = None
    guid: int | None = None
    number = 0
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line[0] == "#":
            continue
        first = line[0]
        if first == "[":
            if current is None:
                raise DiscoveryError("a port line before any Switch or Ca record", number)
            match = _PORT.match(line)
            if match is None:
                raise DiscoveryError(f"cannot read this port line: {line[:80]!r}", number)
            port = int(match.group(1))
            if match.group(2):
                current.port_guids[port] = int(match.group(2), 16)
            width, speed = _width_speed(match.group(7))
            links[(current.nodeid, port)] = PortLink(match.group(3), int(match.group(4)), width, speed)
            continue
        header = _HEADER.match(line)
        if header is not None:
            kind, ports, nodeid, description = header.groups()
            current = Node(nodeid, kind, int(ports), description, guid if guid is not None else _guid_of(nodeid))
            nodes[nodeid] = current
            guid = None
            continue
        guid_line = _GUID_LINE.match(line)
        if guid_line is not None:
            guid = int(guid_line.group(1), 16)
            continue
        if "=" in line.split()[0]:
            continue  # vendid=, devid=, sysimgguid=: not needed
        if line.startswith(("Non-Chassis Nodes", "Hostname:", "Chassis")):
            continue  # the grouping (-g) headings
        raise DiscoveryError(f"not an ibnetdiscover line: {line[:80]!r}", number)
    if not nodes:
        raise DiscoveryError("no Switch or Ca record: not the output of ibnetdiscover", number or None)
    return Discovery(nodes, links)
