"""Parsers against the formats the tools print (recorded outputs, see fixtures/)."""

from __future__ import annotations

from pathlib import Path
from string import Template

import pytest

from infra.acceptance.parsers import (
    kernel_version,
    parse_fabric_states,
    parse_gpu_list,
    parse_nvrm_version,
    parse_pkeys,
    parse_proc_modules,
    parse_query_csv,
    state_name,
)

FIXTURES = Path(__file__).parent / "fixtures"


def _q(states: list[tuple[str, str, str]]) -> str:
    gpu = Template((FIXTURES / "nvidia-smi-q-gpu.txt").read_text(encoding="utf-8"))
    header = Template((FIXTURES / "nvidia-smi-q-header.txt").read_text(encoding="utf-8"))
    text = header.substitute(driver="595.91.07", cuda="13.2", attached=len(states))
    for i, (bus, state, status) in enumerate(states):
        text += gpu.substitute(
            bus_id=f"00000000:{bus}:00.0", product="NVIDIA H100 80GB HBM3", architecture="Hopper",
            persistence="Enabled", serial="1654423001593", uuid=f"GPU-{i}", minor=i, board_id="0x1b00",
            module_id=i + 1, driver="595.91.07", pci_bus=bus, fabric_state=state, fabric_status=status,
        ) + "\n"  # fmt: skip
    return text


def test_gpu_list_skips_mig_devices() -> None:
    text = (
        "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-e5f404f3-cc2a-cf0c-219f-dcf1a4e223f2)\n"
        "  MIG 3g.40gb     Device  0: (UUID: MIG-6b1f0b5a-8c39-5d4e-9e34-1c2a4d5e6f70)\n"
        "GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-96601a91-e977-7a71-a188-8df4aff2fbcc)\n"
    )
    gpus = parse_gpu_list(text)
    assert [(g.index, g.name) for g in gpus] == [(0, "NVIDIA H100 80GB HBM3"), (1, "NVIDIA H100 80GB HBM3")]
    assert gpus[1].uuid == "GPU-96601a91-e977-7a71-a188-8df4aff2fbcc"


def test_query_csv_with_and_without_header() -> None:
    fields = ("index", "name", "driver_version", "persistence_mode")
    with_header = "index, name, driver_version, persistence_mode\n0, NVIDIA H100 80GB HBM3, 595.91.07, Enabled\n"
    rows = parse_query_csv(with_header, fields)
    assert rows == [
        {"index": "0", "name": "NVIDIA H100 80GB HBM3", "driver_version": "595.91.07", "persistence_mode": "Enabled"}
    ]
    assert parse_query_csv("1, NVIDIA B200, 595.91.07, Disabled\n", fields)[0]["persistence_mode"] == "Disabled"
    with pytest.raises(ValueError, match="3 columns for 4 fields"):
        parse_query_csv("0, NVIDIA B200, 595.91.07\n", fields)


def test_fabric_states_from_real_layout() -> None:
    text = _q([("1B", "Completed", "Success"), ("43", "In Progress", "N/A")])
    attached, states = parse_fabric_states(text)
    assert attached == 2
    assert [(s.bus_id, s.state, s.status) for s in states] == [
        ("00000000:1B:00.0", "Completed", "Success"),
        ("00000000:43:00.0", "In Progress", "N/A"),
    ]


def test_fabric_state_missing_section_is_na() -> None:
    text = "Attached GPUs : 1\nGPU 00000000:1B:00.0\n    Product Name : NVIDIA H100 80GB HBM3\n    Processes : None\n"
    attached, states = parse_fabric_states(text)
    assert attached == 1
    assert [(s.bus_id, s.state, s.status) for s in states] == [("00000000:1B:00.0", "N/A", "N/A")]


def test_nvrm_version_open_and_proprietary() -> None:
    open_line = (
        "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.95.05  Release Build  "
        "(dvs-builder@U22-I3-B17-02-5)  Tue Sep 23 09:55:41 UTC 2025\nGCC version:  gcc version 11.4.0\n"
    )
    assert parse_nvrm_version(open_line) == ("580.95.05", True)
    proprietary = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.135  Fri Jan 10 20:00:00 UTC 2025\n"
    assert parse_nvrm_version(proprietary) == ("550.135", False)
    assert parse_nvrm_version("no driver\n") is None


def test_modules_pkeys_states_kernels() -> None:
    modules = "nvidia_peermem 16384 0 - Live 0xffffffffc1a2d000 (OE)\nmlx5_ib 495616 0 - Live 0xffffffffc1a3f000 (OE)\n"
    assert parse_proc_modules(modules) == {"nvidia_peermem", "mlx5_ib"}
    assert parse_pkeys("0xffff\n0x8101\n0x0000\n0x0102\n0x0000\n") == [0xFFFF, 0x8101, 0x0102]
    assert parse_pkeys("0x8000\n") == [], "0x8000 is the invalid key, as empty as 0x0000"
    assert state_name("4: ACTIVE") == "ACTIVE" and state_name("1: DOWN") == "DOWN"
    assert kernel_version("5.15.0-1063-nvidia") == (5, 15)
    assert kernel_version("6.8.0-45-generic\n") == (6, 8)
    with pytest.raises(ValueError):
        kernel_version("unknown")
