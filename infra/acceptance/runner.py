"""Run the checks on many nodes in parallel, each through its own testinfra connection.

A node is reached through a testinfra host spec built from a template (``ssh://{target}`` by
default: OpenSSH, which checks host keys against known_hosts): ``{node}`` is the node name,
``{target}`` is ``[user@]address[:port]`` from the Ansible inventory (or the node name). Any
testinfra backend works: ``ssh://`` (OpenSSH, honours known_hosts and ProxyJump), ``paramiko://``,
``local://``, ``kubectl://``, ``ansible://``.
"""

from __future__ import annotations

import functools
import logging
import queue
import shlex
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import testinfra.backend
import testinfra.host

from infra.acceptance.checks import REACHABLE, Check
from infra.acceptance.connection_errors import describe_failure, failure_text
from infra.acceptance.nodes import NodePlace
from infra.acceptance.reader import NodeReader
from infra.acceptance.results import CheckResult, NodeResult, Status

DEFAULT_CONNECT = "ssh://{target}"
_SSH_BACKENDS = ("ssh", "safe-ssh", "paramiko")
# The whole check of one node (connect and every check): a node that is slower than this is
# reported unreachable, wherever it stopped, and the run goes on.
DEFAULT_NODE_TIMEOUT_S = 300
# Each command on a node: `systemctl`, `pgrep` or `sysctl` can hang on a sick node; coreutils' (and
# busybox's) timeout kills it, and the check that ran it fails instead of waiting.
COMMAND_TIMEOUT_S = 60
# OpenSSH: give up on a connection or a server that stops answering (after its banner, too).
_SSH_DEADLINES = "-o ConnectTimeout=10 -o ServerAliveInterval=10 -o ServerAliveCountMax=3"

# paramiko's transport thread logs a failed negotiation (a host that never sends its banner) with
# its traceback through logging's last-resort handler; the node's result already says what failed.
logging.getLogger("paramiko").addHandler(logging.NullHandler())
logging.getLogger("paramiko").propagate = False


@dataclass(frozen=True)
class Target:
    """A node to verify and how to reach it."""

    place: NodePlace
    spec: str


def host_spec(
    template: str, node: str, address: str | None = None, port: int | None = None, user: str | None = None
) -> str:
    """Fill a connection template for one node (addresses and users are URL-quoted)."""
    where = address or node
    if ":" in where:
        where = f"[{where}]"
    target = urllib.parse.quote(where, safe="[]:.-_")
    if user:
        target = f"{urllib.parse.quote(user, safe='.-_')}@{target}"
    if port:
        target = f"{target}:{port}"
    return template.format(node=node, target=target)


def backend_name(spec: str) -> str:
    """The testinfra backend a host spec selects (``paramiko`` when it names none)."""
    return spec.split("://", 1)[0] if "://" in spec else "paramiko"


def _bounded_commands(backend: Any, seconds: int) -> None:
    """Run every command of ``backend`` under ``timeout``, so none can hang the node's check."""
    plain = backend.get_command

    def get_command(command: str, *args: str) -> str:
        return f"timeout -s KILL {seconds} sh -c {shlex.quote(plain(command, *args))}"

    backend.get_command = get_command


def open_host(spec: str, ssh_config: str | None = None, command_timeout: int | None = None) -> Any:
    """A testinfra ``Host`` for ``spec``, not shared with testinfra's global cache, connected now.

    testinfra's paramiko backend connects in a ``functools.cached_property``, whose lock (Python
    3.11) is one for all instances: connections to many dead nodes would queue behind each other
    whatever ``--workers`` says. The connection is made here instead, outside that lock.
    """
    name = backend_name(spec)
    kwargs: dict[str, Any] = {}
    if ssh_config is not None and name in _SSH_BACKENDS:
        kwargs["ssh_config"] = ssh_config
    if name in ("ssh", "safe-ssh"):
        kwargs["ssh_extra_args"] = _SSH_DEADLINES
    backend = testinfra.backend.get_backend(spec, **kwargs)
    if command_timeout is not None and name != "local":
        _bounded_commands(backend, command_timeout)
    connect = getattr(type(backend), "client", None)
    if isinstance(connect, functools.cached_property):
        backend.__dict__["client"] = connect.func(backend)
    host = testinfra.host.Host(backend)
    backend.set_host(host)
    return host


def close_host(host: Any) -> None:
    """Close a paramiko connection if one was opened (other backends hold none)."""
    client = getattr(host.backend, "__dict__", {}).get("client")
    if client is not None:
        client.close()


def run_checks(
    reader: NodeReader, checks: Sequence[Check], stage: Callable[[str], None] | None = None
) -> tuple[CheckResult, ...]:
    """Run ``checks`` in order on one node; a check whose prerequisite did not pass is skipped.

    ``stage`` is told the name of each check as it starts (where a node that hangs stopped).
    """
    status: dict[str, Status] = {}
    results = []
    for check in checks:
        if stage is not None:
            stage(check.name)
        blocked = next((r for r in check.requires if status.get(r) != "pass"), None)
        if blocked is not None:
            reason = "node unreachable" if blocked == REACHABLE else f"{blocked} did not pass"
            result = CheckResult(check.name, "skip", check.expected, "", f"skipped: {reason}")
        else:
            try:
                verdict = check.probe(reader)
            except Exception as exc:  # a broken connection or output we cannot read: report, go on
                if check.name == REACHABLE:
                    why = f"cannot reach the node: {describe_failure(exc)}"
                else:
                    why = f"{check.name} could not run: {failure_text(exc)}"
                result = CheckResult(check.name, "error", check.expected, "", why)
            else:
                outcome: Status = "pass" if verdict.passed else "fail"
                result = CheckResult(check.name, outcome, check.expected, verdict.observed, verdict.message)
        status[check.name] = result.status
        results.append(result)
    return tuple(results)


def verify_node(
    target: Target,
    checks: Sequence[Check],
    ssh_config: str | None = None,
    stage: Callable[[str], None] | None = None,
    command_timeout: int | None = COMMAND_TIMEOUT_S,
) -> NodeResult:
    """Connect to one node, run its pool's checks, disconnect."""
    place = target.place
    if stage is not None:
        stage("connect")
    try:
        host = open_host(target.spec, ssh_config, command_timeout)
    except Exception as exc:
        return unreachable(target, checks, f"cannot reach the node: {describe_failure(exc)}")
    try:
        results = run_checks(NodeReader(host), checks, stage)
    finally:
        close_host(host)
    return NodeResult(place.node, place.pool, place.scalable_unit, place.rack, results)


def unreachable(target: Target, checks: Sequence[Check], message: str) -> NodeResult:
    """The result of a node that could not be checked: ``message`` on reachability, every other check skipped."""
    place = target.place
    results = [CheckResult(REACHABLE, "error", "a Linux shell answers", "", message)]
    results += [
        CheckResult(c.name, "skip", c.expected, "", "skipped: node unreachable") for c in checks if c.name != REACHABLE
    ]
    return NodeResult(place.node, place.pool, place.scalable_unit, place.rack, tuple(results))


def timed_out(target: Target, checks: Sequence[Check], seconds: float, stage: str) -> NodeResult:
    """The result of a node whose check did not finish within ``seconds``."""
    return unreachable(target, checks, f"unreachable: timed out after {seconds:g} s at {stage}")


def verify_nodes(
    targets: Sequence[Target],
    checks: Mapping[str, Sequence[Check]],
    *,
    workers: int,
    ssh_config: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    timeout: float = DEFAULT_NODE_TIMEOUT_S,
) -> list[NodeResult]:
    """Verify every target with up to ``workers`` nodes in flight; results come back in target order.

    Each node has ``timeout`` seconds for its whole check. Nodes run in daemon threads: one that
    hangs past its deadline is reported (``timed_out``) and left behind, and cannot keep the
    process from exiting.
    """
    results: list[NodeResult | None] = [None] * len(targets)
    stages = ["waiting"] * len(targets)
    finished: queue.Queue[tuple[int, NodeResult]] = queue.Queue()
    command_timeout = max(1, min(COMMAND_TIMEOUT_S, int(timeout)))

    def work(index: int) -> None:
        target = targets[index]
        try:
            node = verify_node(
                target,
                checks[target.place.pool],
                ssh_config,
                lambda name: stages.__setitem__(index, name),
                command_timeout,
            )
        except BaseException as exc:  # never lose a node: a defect is reported as its result
            node = unreachable(target, checks[target.place.pool], f"could not be checked: {failure_text(exc)}")
        finished.put((index, node))

    running: dict[int, float] = {}
    started = done = 0
    while done < len(targets):
        while started < len(targets) and len(running) < workers:
            running[started] = time.monotonic()
            threading.Thread(target=work, args=(started,), name=f"verify-{started}", daemon=True).start()
            started += 1
        wait = max(0.0, min(running.values()) + timeout - time.monotonic())
        try:
            index, node = finished.get(timeout=wait)
        except queue.Empty:
            now = time.monotonic()
            expired = [i for i, since in running.items() if now - since >= timeout]
        else:
            if index not in running:  # already reported as timed out
                continue
            expired = []
            results[index] = node
            del running[index]
            done += 1
            if progress is not None:
                progress(done, len(targets))
        for index in expired:
            target = targets[index]
            results[index] = timed_out(target, checks[target.place.pool], timeout, stages[index])
            del running[index]
            done += 1
            if progress is not None:
                progress(done, len(targets))
    return [r for r in results if r is not None]
