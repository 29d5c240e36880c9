"""``NodeReader`` against this machine through testinfra's ``local`` backend (read-only calls only)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import testinfra.backend
import testinfra.host

from infra.acceptance.reader import NodeReader

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("pgrep") is None, reason="pgrep is missing: install procps"),
]

# Longer than the 15 characters the kernel keeps of a process name, like nv-fabricmanager (16).
DAEMON = "gf-staged-fabricmanager"


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A process whose executable is called ``DAEMON``; stopped by its own process id."""
    program = tmp_path / DAEMON
    shutil.copyfile(str(shutil.which("sleep")), program)
    program.chmod(0o755)
    process = subprocess.Popen([str(program), "300"])
    try:
        comm = Path(f"/proc/{process.pid}/comm")
        deadline = time.monotonic() + 10
        # Until the child has exec'd, it still carries the test runner's name.
        while comm.read_text(encoding="utf-8").strip() != DAEMON[:15] and time.monotonic() < deadline:
            time.sleep(0.01)
        yield process
    finally:
        process.kill()
        process.wait(timeout=10)


def _reader() -> NodeReader:
    return NodeReader(testinfra.host.Host(testinfra.backend.get_backend("local://")))


def test_a_process_with_a_name_longer_than_the_kernel_keeps_is_found(daemon: subprocess.Popen[bytes]) -> None:
    comm = Path(f"/proc/{daemon.pid}/comm").read_text(encoding="utf-8").strip()
    assert comm == DAEMON[:15], f"the kernel keeps 15 characters of {DAEMON}: {comm}"
    assert _reader().process_running(DAEMON), f"{DAEMON} runs as pid {daemon.pid} but was not found"


def test_a_process_that_does_not_run_is_not_found() -> None:
    assert not _reader().process_running(DAEMON)
