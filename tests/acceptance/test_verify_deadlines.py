"""verify never hangs: silent peers on 127.0.0.1 meet the per-node deadline, in parallel, without tracebacks."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.cli import main

REPO = Path(__file__).resolve().parents[2]
PILOT = str(REPO / "site-configs" / "eu-pilot.yaml")
NODES = [f"pilot-gpu-{i:03d}" for i in range(1, 9)]


class SilentPeer:
    """Accepts TCP connections on 127.0.0.1; optionally sends an SSH banner, then never says anything."""

    def __init__(self, banner: bytes = b"") -> None:
        self.banner = banner
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = int(self.server.getsockname()[1])
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            if self.banner:
                connection.sendall(self.banner)
            self.held.append(connection)

    def close(self) -> None:
        self.server.close()
        for connection in self.held:
            connection.close()


@pytest.fixture(params=[b"", b"SSH-2.0-OpenSSH_9.6\r\n"], ids=["no banner", "banner then silence"])
def peer(request: pytest.FixtureRequest) -> Iterator[SilentPeer]:
    server = SilentPeer(request.param)
    yield server
    server.close()


def _config(tmp_path: Path, port: int) -> Path:
    config = tmp_path / "ssh_config"
    config.write_text(
        "".join(f"Host {n}\n  HostName 127.0.0.1\n  Port {port}\n  User root\n" for n in NODES), encoding="utf-8"
    )
    return config


@pytest.mark.parametrize("connect", ["paramiko://{target}", "ssh://{target}"])
def test_silent_nodes_time_out_in_parallel(
    peer: SilentPeer, connect: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "result.json"
    argv = ["verify", PILOT, "--hosts", ",".join(NODES), "--ssh-config", str(_config(tmp_path, peer.port)),
            "--connect", connect, "--workers", "8", "--timeout", "2", "-o", str(out)]  # fmt: skip
    started = time.monotonic()
    assert main(argv) == 1
    elapsed = time.monotonic() - started
    # One node at a time would take 8 deadlines (16 s) or paramiko's own 15 s banner wait per node.
    assert elapsed < 14, f"8 silent nodes with 8 workers took {elapsed:.1f} s"
    nodes = json.loads(out.read_text(encoding="utf-8"))["nodes"]
    assert [n["node"] for n in nodes] == NODES
    for node in nodes:
        message = node["checks"][0]["message"]
        # paramiko connects before the checks; OpenSSH connects with the first check's command.
        assert node["status"] == "error" and (
            re.fullmatch(r"unreachable: timed out after 2 s at (connect|node\.reachable)", message)
            or message.startswith("cannot reach the node:")
        ), message
    _, err = capfd.readouterr()
    assert "Traceback" not in err, err


def test_timeout_is_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", PILOT, "--hosts", NODES[0], "--timeout", "0", "-o", str(tmp_path / "r.json")]) == 2
    assert "--timeout: must be between 1 and 86,400 seconds (got 0)" in capsys.readouterr().err
