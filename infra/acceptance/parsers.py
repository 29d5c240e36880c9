"""Parse what a node prints: nvidia-smi (-L, --query-gpu CSV, -q), /proc files and sysfs values.

The formats are the tools' own (see tests/acceptance/fixtures for recorded examples); parsers
ignore lines they do not know, so a newer driver that adds fields still parses.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from components.network.naming import PKEY_MASK

_GPU_LINE = re.compile(r"^GPU (\d+): (.+?) \(UUID: (GPU-[0-9A-Za-z-]+)\)\s*$")
_Q_GPU_HEADER = re.compile(r"^GPU ([0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-9A-Fa-f])\s*$")
_Q_FIELD = re.compile(r"^(\s*)([^:]+?)\s*:\s*(.*?)\s*$")
_NVRM = re.compile(r"^NVRM version: NVIDIA UNIX (Open )?.*?Kernel Module(?: for \S+)?\s+(\d+\.\d+(?:\.\d+)?)\s")


@dataclass(frozen=True)
class ListedGpu:
    """One line of ``nvidia-smi -L``."""

    index: int
    name: str
    uuid: str


def parse_gpu_list(text: str) -> list[ListedGpu]:
    """GPUs listed by ``nvidia-smi -L`` (``GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-...)``).

    MIG devices, printed indented under their GPU, are not GPUs and are skipped.
    """
    gpus = []
    for line in text.splitlines():
        match = _GPU_LINE.match(line)
        if match:
            gpus.append(ListedGpu(int(match.group(1)), match.group(2), match.group(3)))
    return gpus


def parse_query_csv(text: str, fields: tuple[str, ...]) -> list[dict[str, str]]:
    """Rows of ``nvidia-smi --query-gpu=<fields> --format=csv[,noheader]`` as field -> value."""
    rows = []
    for record in csv.reader(io.StringIO(text), skipinitialspace=True):
        if not record or [c.strip() for c in record] == list(fields):
            continue
        if len(record) != len(fields):
            raise ValueError(f"nvidia-smi printed {len(record)} columns for {len(fields)} fields: {record!r}")
        rows.append({field: value.strip() for field, value in zip(fields, record, strict=True)})
    return rows


@dataclass(frozen=True)
class FabricState:
    """The ``Fabric`` section of one GPU in ``nvidia-smi -q``."""

    bus_id: str
    state: str
    status: str


def parse_fabric_states(text: str) -> tuple[int | None, list[FabricState]]:
    """``Attached GPUs`` and each GPU's NVLink fabric state/status from ``nvidia-smi -q``.

    A GPU without a Fabric section (an old driver, a GPU without NVSwitch) reports ``N/A``.
    """
    attached: int | None = None
    states: list[FabricState] = []
    bus: str | None = None
    in_fabric = False
    state = status = "N/A"
    for line in text.splitlines():
        header = _Q_GPU_HEADER.match(line)
        if header:
            if bus is not None:
                states.append(FabricState(bus, state, status))
            bus, in_fabric, state, status = header.group(1), False, "N/A", "N/A"
            continue
        field = _Q_FIELD.match(line)
        indent = len(line) - len(line.lstrip(" "))
        if field is None:
            # A section title; only GPU-level titles (indent 4) open or close the Fabric section.
            if bus is not None and line.strip() and indent == 4:
                in_fabric = line.strip() == "Fabric"
            continue
        key, value = field.group(2), field.group(3)
        if bus is None and key == "Attached GPUs" and value.isdigit():
            attached = int(value)
        elif in_fabric and indent == 8 and key == "State":
            state = value
        elif in_fabric and indent == 8 and key == "Status":
            status = value
        elif indent <= 4:
            in_fabric = False
    if bus is not None:
        states.append(FabricState(bus, state, status))
    return attached, states


def parse_nvrm_version(text: str) -> tuple[str, bool] | None:
    """Driver version in ``/proc/driver/nvidia/version`` and whether it is the open kernel module."""
    for line in text.splitlines():
        match = _NVRM.match(line)
        if match:
            return match.group(2), match.group(1) is not None
    return None


def parse_proc_modules(text: str) -> set[str]:
    """Names of the loaded kernel modules in ``/proc/modules``."""
    return {line.split()[0] for line in text.splitlines() if line.strip()}


def parse_pkeys(text: str) -> list[int]:
    """The used entries of a port's P_Key table (``cat .../pkeys/*``; 0x0000 marks a free slot)."""
    keys = []
    for line in text.split():
        value = int(line, 16)
        if value & PKEY_MASK:
            keys.append(value)
    return keys


def state_name(value: str) -> str:
    """``4: ACTIVE`` -> ``ACTIVE``; text without a code is returned stripped."""
    return value.split(":", 1)[1].strip() if ":" in value else value.strip()


def kernel_version(release: str) -> tuple[int, int]:
    """Major and minor of a kernel release such as ``5.15.0-1042-nvidia``."""
    match = re.match(r"^(\d+)\.(\d+)", release.strip())
    if match is None:
        raise ValueError(f"not a kernel release: {release!r}")
    return int(match.group(1)), int(match.group(2))
