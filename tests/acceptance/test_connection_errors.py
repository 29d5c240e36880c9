"""An unreachable node says what failed in words, never an object's repr with a memory address."""

from __future__ import annotations

import socket

import paramiko
import pytest
import testinfra.backend
from staged_sshd import free_port

from infra.acceptance.connection_errors import describe_failure
from infra.acceptance.runner import open_host


def _ssh_failed(stderr: str) -> RuntimeError:
    """What testinfra's OpenSSH backend raises when `ssh` exits 255 (testinfra/backend/ssh.py)."""
    backend = testinfra.backend.get_backend("ssh://gpu-9")
    return RuntimeError(backend.result(255, b"uname -s", b"", stderr.encode()))


# OpenSSH 9's own messages (ssh.c, sshconnect.c, sshconnect2.c) as `ssh -o BatchMode=yes` prints them.
@pytest.mark.parametrize(
    ("stderr", "kind"),
    [
        ("ssh: Could not resolve hostname gpu-9: Name or service not known\r\n", "DNS: the name does not resolve"),
        ("ssh: connect to host 10.0.0.9 port 22: Connection refused\r\n", "connection refused"),
        ("ssh: connect to host 10.0.0.9 port 22: Connection timed out\r\n", "timed out"),
        ("root@10.0.0.9: Permission denied (publickey,password).\r\n", "authentication failed"),
        (
            "No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\r\n"
            "Host key verification failed.\r\n",
            "host key not accepted",
        ),
        (
            "@@@@@\r\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\n@@@@@\r\n"
            "Host key verification failed.\r\n",
            "host key not accepted",
        ),
    ],
)
def test_openssh_failures_are_named(stderr: str, kind: str) -> None:
    text = describe_failure(_ssh_failed(stderr))
    assert text.startswith(f"{kind} (") and " at 0x" not in text and "CommandResult" not in text
    assert text == describe_failure(_ssh_failed(stderr)), "the same failure reads the same on every run"


def test_paramiko_failures_are_named() -> None:
    key = paramiko.RSAKey.generate(1024)
    other = paramiko.RSAKey.generate(1024)
    assert describe_failure(paramiko.AuthenticationException("Authentication failed.")).startswith(
        "authentication failed ("
    )
    assert describe_failure(paramiko.BadHostKeyException("gpu-1", key, other)).startswith("host key not accepted (")
    assert describe_failure(socket.gaierror(-2, "Name or service not known")).startswith("DNS: the name")
    assert describe_failure(TimeoutError("timed out")).startswith("timed out (")


@pytest.mark.parametrize("backend", ["paramiko", "ssh"])
def test_real_clients_refused_and_unresolvable(backend: str) -> None:
    """Both clients, really connecting: a closed port and a name that cannot resolve (.invalid, RFC 6761)."""
    for target, kind in (
        (f"root@127.0.0.1:{free_port()}", "connection refused"),
        ("root@gpu-1.invalid", "DNS: the name does not resolve"),
    ):
        with pytest.raises(Exception) as raised:
            open_host(f"{backend}://{target}", None, 10).run("uname -s")
        text = describe_failure(raised.value)
        assert text.startswith(f"{kind} ("), text
        assert " at 0x" not in text
