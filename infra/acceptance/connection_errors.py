"""Why a node could not be reached, in words: DNS, refused, timeout, authentication, host key.

The testinfra backends fail in their own ways: paramiko raises (``socket.gaierror``,
``NoValidConnectionsError``, ``AuthenticationException``, ``BadHostKeyException``); testinfra's
OpenSSH backend raises ``RuntimeError(CommandResult)`` when ``ssh`` exits 255, whose text is the
result's repr with a memory address (testinfra/backend/ssh.py, ``run_ssh``). Both become one
sentence naming the kind of failure and the client's own words, the same text on every run.
"""

from __future__ import annotations

import re
import socket

# (kind, pattern in the client's message); the first match names the failure. OpenSSH's messages
# are from ssh.c/sshconnect.c; paramiko's from paramiko/client.py and paramiko/ssh_exception.py.
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "host key not accepted",
        re.compile(
            r"host key verification failed|remote host identification has changed|host key for .* has changed"
            r"|no \S+ host key is known|not found in known_hosts|badhostkey|server .* not found in known_hosts",
            re.IGNORECASE,
        ),
    ),
    (
        "DNS: the name does not resolve",
        re.compile(
            r"could not resolve hostname|name or service not known|nodename nor servname|"
            r"temporary failure in name resolution|no address associated with hostname|gaierror",
            re.IGNORECASE,
        ),
    ),
    ("connection refused", re.compile(r"connection refused|unable to connect to port", re.IGNORECASE)),
    ("timed out", re.compile(r"timed out|timeout", re.IGNORECASE)),
    (
        "authentication failed",
        re.compile(
            r"permission denied|authentication failed|no authentication methods|authenticationexception", re.IGNORECASE
        ),
    ),
    ("no route to the host", re.compile(r"no route to host|network is unreachable", re.IGNORECASE)),
    (
        "connection closed by the node",
        re.compile(r"connection (closed|reset)|kex_exchange_identification", re.IGNORECASE),
    ),
)
_LIMIT = 400


def failure_text(exc: BaseException) -> str:
    """The client's own words for ``exc``: ``ssh``'s standard error for OpenSSH, the message otherwise."""
    result = exc.args[0] if isinstance(exc, RuntimeError) and exc.args else None
    stderr = getattr(result, "stderr", None)
    if isinstance(stderr, str):  # testinfra's CommandResult of a failed `ssh`
        lines = [line.strip() for line in stderr.splitlines() if line.strip() and not line.startswith("Warning:")]
        text = lines[-1] if lines else f"ssh exited {getattr(result, 'rc', '?')} without a message"
    else:
        text = " ".join(str(exc).split())
        name = type(exc).__name__
        text = f"{name}: {text}" if text and name not in text else (text or name)
    return text if len(text) <= _LIMIT else text[: _LIMIT - 3] + "..."


def failure_kind(exc: BaseException, text: str) -> str | None:
    """DNS, refused, timeout, authentication, host key...: the kind of a connection failure, when known."""
    if isinstance(exc, socket.gaierror):
        return "DNS: the name does not resolve"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    names = " ".join(cls.__name__ for cls in type(exc).__mro__)
    for kind, pattern in _KINDS:
        if pattern.search(text) or pattern.search(names):
            return kind
    return None


def describe_failure(exc: BaseException) -> str:
    """``KIND (client's words)``, or the client's words alone when the kind is unknown."""
    text = failure_text(exc)
    kind = failure_kind(exc, text)
    return f"{kind} ({text})" if kind else text
