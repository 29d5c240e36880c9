"""The real subnet manager on a simulated fabric: ibsim loads a cabling plan, OpenSM routes it.

Recipe (``../shared/REFERENCE.md``, "Checking a fabric with the real subnet manager"): ``ibsim -s
plan.net --no-console`` in its own process group; OpenSM and the diagnostics (``ibhosts``,
``ibswitches``) attach to it through ``LD_PRELOAD=libumad2sim.so`` with ``SIM_HOST`` naming the
HCA they run on. Each simulator gets its own socket name (``IBSIM_SOCKNAME``) and folder, so
runs in parallel never meet; it is stopped by its process id.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import count
from pathlib import Path

from infra.plan.fabric import End, FabricPlan
from infra.plan.fabric.devices import Device

# libumad2sim0 (a dependency of ibsim-utils) installs the preload library here on Debian/Ubuntu amd64.
LIBUMAD2SIM_DEFAULT = Path("/usr/lib/x86_64-linux-gnu/umad2sim/libumad2sim.so")
# ibsim 0.10's built-in maxima (its banner: MaxNetNodes, MaxNetSwitches, MaxNetPorts). Switches
# count as nodes, and every switch has a port 0 besides its radix.
IBSIM_MAX_NODES = 2048
IBSIM_MAX_SWITCHES = 256
IBSIM_MAX_PORTS = 13312
READY = "Network simulator ready."
TOOLS = ("ibsim", "opensm", "ibhosts", "ibswitches")

_sockets = count()


def missing_tools() -> list[str]:
    """The programs the simulator tests need that are not installed."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if libumad2sim() is None:
        missing.append("libumad2sim.so (package libumad2sim0)")
    return missing


def libumad2sim() -> Path | None:
    """Where the umad-to-simulator preload library is: as dpkg lists it, else the Debian default."""
    try:
        listed = subprocess.run(
            ["dpkg", "-L", "libumad2sim0"], capture_output=True, text=True, check=False, timeout=30
        ).stdout.split()
    except (OSError, subprocess.TimeoutExpired):
        listed = []
    for candidate in [Path(p) for p in listed if p.endswith("/libumad2sim.so")] + [LIBUMAD2SIM_DEFAULT]:
        if candidate.is_file():
            return candidate
    return None


@dataclass(frozen=True)
class SimLimits:
    """What a fabric needs of ibsim: nodes (switches and HCAs), switches, ports (with port 0)."""

    nodes: int
    switches: int
    ports: int

    @classmethod
    def of(cls, plan: FabricPlan) -> SimLimits:
        switches = plan.counts.switches
        return cls(switches + plan.endpoints, switches, switches * (plan.radix + 1) + plan.endpoints)

    def within_defaults(self) -> bool:
        """Whether ibsim's built-in maxima hold the fabric without -N/-S/-P."""
        return self.nodes <= IBSIM_MAX_NODES and self.switches <= IBSIM_MAX_SWITCHES and self.ports <= IBSIM_MAX_PORTS

    def arguments(self) -> list[str]:
        """ibsim options raising its maxima to what the fabric needs (none when the defaults do)."""
        return [
            "-N",
            str(max(self.nodes, IBSIM_MAX_NODES)),
            "-S",
            str(max(self.switches, IBSIM_MAX_SWITCHES)),
            "-P",
            str(max(self.ports, IBSIM_MAX_PORTS)),
        ]


@dataclass(frozen=True)
class SmRun:
    """One OpenSM run: its exit status and log."""

    returncode: int
    log: str

    def lines(self, needle: str) -> list[str]:
        """Log lines containing ``needle``."""
        return [line for line in self.log.splitlines() if needle in line]

    @property
    def errors(self) -> list[str]:
        """Error lines (OpenSM logs errors at level 0x01 with an ``ERR`` code)."""
        return [line for line in self.log.splitlines() if " ERR " in line or "PARSE ERROR" in line]


class Simulator:
    """A running ibsim: run programs attached to one of its HCAs."""

    def __init__(self, workdir: Path, host: str, socket: str, preload: Path) -> None:
        self.workdir = workdir
        self.host = host
        self.socket = socket
        self.preload = preload

    def environment(self) -> dict[str, str]:
        """The environment that attaches a libibumad program to the simulator at ``host``."""
        state = self.workdir / "osm"
        state.mkdir(exist_ok=True)
        return {
            **os.environ,
            "SIM_HOST": self.host,
            "LD_PRELOAD": str(self.preload),
            "IBSIM_SOCKNAME": self.socket,
            "OSM_TMP_DIR": str(state),
            "OSM_CACHE_DIR": str(state),
        }

    def run(self, argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` attached to the simulator; killed (its whole group) after ``timeout`` seconds."""
        process = subprocess.Popen(
            argv,
            cwd=self.workdir,
            env=self.environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
        return subprocess.CompletedProcess(argv, process.returncode, out, err)

    def opensm(self, partitions: Path, *extra: str, name: str = "osm") -> SmRun:
        """OpenSM once over the fabric (``-o``) with fat-tree routing and ``partitions``; its log."""
        log = self.workdir / f"{name}.log"
        done = self.run(["opensm", "-o", "-R", "ftree", "-P", str(partitions), "-f", str(log), *extra])
        return SmRun(done.returncode, log.read_text(errors="replace") if log.exists() else done.stdout + done.stderr)

    def count(self, tool: str) -> int:
        """How many devices a diagnostic (``ibhosts``: CAs, ``ibswitches``: switches) discovers."""
        done = self.run([tool])
        assert done.returncode == 0, f"{tool} failed: {done.stderr[-2000:]}"
        first = {"ibhosts": "Ca", "ibswitches": "Switch"}[tool]
        return sum(1 for line in done.stdout.splitlines() if line.split(":")[0].strip() == first)


@contextmanager
def simulator(netfile: Path, host: str, limits: SimLimits, timeout: float = 60) -> Iterator[Simulator]:
    """ibsim serving ``netfile`` until the block ends; ``host`` is the SIM_HOST node id."""
    preload = libumad2sim()
    assert preload is not None, "libumad2sim.so not found (package libumad2sim0)"
    workdir = netfile.parent
    socket = f"gfsim{os.getpid()}x{next(_sockets)}"
    output = (workdir / "ibsim.out").open("w")
    argv = ["ibsim", *([] if limits.within_defaults() else limits.arguments()), "-s", str(netfile), "--no-console"]
    process = subprocess.Popen(
        argv,
        cwd=workdir,
        env={k: v for k, v in os.environ.items() if k != "LD_PRELOAD"} | {"IBSIM_SOCKNAME": socket},
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout
        text = ""
        while READY not in text:
            text = (workdir / "ibsim.out").read_text(errors="replace")
            if process.poll() is not None:
                raise AssertionError(f"ibsim exited with {process.returncode}: {text[-2000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"ibsim not ready after {timeout:.0f} s: {text[-2000:]}")
            time.sleep(0.05)
        yield Simulator(workdir, host, socket, preload)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
        output.close()


class Rewired:
    """A plan with cables moved: each ``(a, b)`` pair is cabled together, their old peers left free."""

    def __init__(self, plan: FabricPlan, cables: list[tuple[End, End]]) -> None:
        self.plan = plan
        self.changes: dict[tuple[Device, int], End | None] = {}
        for a, b in cables:
            for end in (a, b):
                old = plan.peer(end.device, end.port)
                if old is not None:
                    self.changes[(old.device, old.port)] = None
        for a, b in cables:
            self.changes[(a.device, a.port)] = b
            self.changes[(b.device, b.port)] = a

    def devices(self) -> Iterator[Device]:
        return self.plan.devices()

    def ports(self, device: Device) -> Iterator[tuple[int, End]]:
        for port in range(1, device.ports + 1):
            key = (device, port)
            peer = self.changes[key] if key in self.changes else self.plan.peer(device, port)
            if peer is not None:
                yield port, peer
