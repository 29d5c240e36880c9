"""A real OpenSSH server per staged node: loopback only, its own host key, chrooted into the node.

``sshd -D -e -f <config>`` runs in the foreground, so the process we start is the server and is
stopped by its own process id. ``ChrootDirectory`` puts every session in the staged root, which
needs root and a root-owned path with no group- or world-writable component (so not under /tmp).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")


def keygen(path: Path) -> str:
    """Write an ed25519 key pair at ``path`` (and ``path.pub``); returns the public key line."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)], check=True)
    return path.with_suffix(".pub").read_text(encoding="utf-8").strip()


def free_port() -> int:
    """A loopback port nothing listens on at the time of asking."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _banner(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
            return connection.recv(64).startswith(b"SSH-2.0-")
    except OSError:
        return False


@dataclass
class StagedSshd:
    """One sshd serving one staged root."""

    name: str
    root: Path
    workdir: Path
    authorized_key: str
    port: int = 0
    host_key: str = ""
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start sshd and wait until it greets; raises with sshd's own log when it does not."""
        self.workdir.mkdir(mode=0o700, parents=True)
        key = self.workdir / "ssh_host_ed25519_key"
        self.host_key = keygen(key).rsplit(" ", 1)[0]
        (self.workdir / "authorized_keys").write_text(self.authorized_key + "\n", encoding="utf-8")
        log = self.workdir / "sshd.log"
        for _attempt in range(3):
            self.port = free_port()
            config = self.workdir / "sshd_config"
            config.write_text(
                "\n".join(
                    (
                        f"Port {self.port}",
                        "ListenAddress 127.0.0.1",
                        f"HostKey {key}",
                        f"PidFile {self.workdir / 'sshd.pid'}",
                        f"AuthorizedKeysFile {self.workdir / 'authorized_keys'}",
                        "AllowUsers root",
                        "PermitRootLogin prohibit-password",
                        "PubkeyAuthentication yes",
                        "PasswordAuthentication no",
                        "KbdInteractiveAuthentication no",
                        "UsePAM no",
                        "StrictModes no",
                        "AllowTcpForwarding no",
                        "X11Forwarding no",
                        "PrintMotd no",
                        "PrintLastLog no",
                        f"ChrootDirectory {self.root}",
                        "",
                    )
                ),
                encoding="utf-8",
            )
            with log.open("ab") as sink:
                self.process = subprocess.Popen(
                    [str(SSHD), "-D", "-e", "-f", str(config)], stdout=sink, stderr=subprocess.STDOUT
                )
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.process.poll() is None:
                if _banner(self.port):
                    return
                time.sleep(0.05)
            self.stop()
        raise RuntimeError(f"sshd for {self.name} did not start:\n{log.read_text(errors='replace')}")

    def stop(self) -> None:
        """Stop sshd by its process id."""
        if self.process is None:
            return
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.process = None

    def known_hosts_line(self) -> str:
        """This server's host key as OpenSSH's known_hosts records a non-default port."""
        return f"[127.0.0.1]:{self.port} {self.host_key}"

    def ssh_config(self, identity: Path, known_hosts: Path) -> str:
        """A client ``Host`` block that reaches this node under its node name."""
        return "\n".join(
            (
                f"Host {self.name}",
                "  HostName 127.0.0.1",
                f"  Port {self.port}",
                "  User root",
                f"  IdentityFile {identity}",
                "  IdentitiesOnly yes",
                f"  UserKnownHostsFile {known_hosts}",
                "  GlobalKnownHostsFile /dev/null",
                "  StrictHostKeyChecking yes",
                "  BatchMode yes",
                "",
            )
        )
