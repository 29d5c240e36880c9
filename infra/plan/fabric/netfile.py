"""The cabling plan in ibnetdiscover's text format, which ibsim loads and people diff.

Each switch, then each HCA port, is one record: a header (``Switch <ports> "S-<guid>"`` or
``Ca 1 "H-<guid>"``, with the NodeDescription after ``#``) and one line per cabled port, so
every link appears from both ends. ``switchguid=``/``caguid=`` lines before a record set its
GUID, as ibnetdiscover writes them and as ibsim reads them. Port lines end in ``lid 0 4x<gen>``:
a planned port has no LID yet (0 is "unassigned"); the width and generation are the link's.

The text is produced record by record (``net_chunks``), so a 100,000-endpoint fabric is written
without holding the file in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from infra.plan.fabric.devices import Device, End, Hca, Switch

# Records per chunk handed to the writer: large enough to amortise the per-chunk cost.
_RECORDS_PER_CHUNK = 256


class Cabling(Protocol):
    """What the renderer needs: the devices, and each device's cabled ports in port order."""

    def devices(self) -> Iterator[Device]: ...

    def ports(self, device: Device) -> Iterator[tuple[int, End]]: ...


def _port_line(device: Device, port: int, peer: End, speed: str) -> str:
    other = peer.device
    if isinstance(device, Hca):
        # ibnetdiscover: [1](port guid)  "S-..."[peer port]  # lid lmc "peer desc" lid width+speed
        local = f"[{port}]({device.port_guid:x}) "
        return f'{local}\t"{other.nodeid}"[{peer.port}]\t\t# lid 0 lmc 0 "{other.name}" lid 0 {speed}'
    if isinstance(other, Hca):
        return f'[{port}]\t"{other.nodeid}"[{peer.port}]({other.port_guid:x}) \t\t# "{other.name}" lid 0 {speed}'
    return f'[{port}]\t"{other.nodeid}"[{peer.port}]\t\t# "{other.name}" lid 0 {speed}'


def _header(device: Device) -> list[str]:
    if isinstance(device, Switch):
        return [
            f"switchguid=0x{device.guid:016x}({device.guid:x})",
            f'Switch\t{device.ports} "{device.nodeid}"\t\t# "{device.name}" enhanced port 0 lid 0 lmc 0',
        ]
    return [f"caguid=0x{device.guid:016x}", f'Ca\t{device.ports} "{device.nodeid}"\t\t# "{device.name}"']


def net_records(cabling: Cabling, speed: str) -> Iterator[str]:
    """One record per device (header and port lines, then a blank line), ``speed`` e.g. ``4xNDR``."""
    for device in cabling.devices():
        lines = _header(device)
        lines.extend(_port_line(device, port, peer, speed) for port, peer in cabling.ports(device))
        lines.append("\n")
        yield "\n".join(lines)


def net_chunks(cabling: Cabling, speed: str, preamble: Iterable[str] = ()) -> Iterator[str]:
    """The whole file as text chunks: ``preamble`` lines as ``#`` comments, then the records."""
    yield "".join(f"# {line}\n" if line else "#\n" for line in preamble) + "\n"
    batch: list[str] = []
    for record in net_records(cabling, speed):
        batch.append(record)
        if len(batch) == _RECORDS_PER_CHUNK:
            yield "".join(batch)
            batch.clear()
    if batch:
        yield "".join(batch)
