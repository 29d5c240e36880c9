"""Run the checks on many nodes in parallel, each through its own testinfra connection.

A node is reached through a testinfra host spec built from a template (``paramiko://{target}`` by
default): ``{node}`` is the node name, ``{target}`` is ``[user@]address[:port]`` from the Ansible
inventory (or the node name). Any testinfra backend works: ``ssh://`` (OpenSSH, honours
known_hosts and ProxyJump), ``paramiko://``, ``local://``, ``kubectl://``, ``ansible://``.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import testinfra.backend
import testinfra.host

from infra.acceptance.checks import REACHABLE, Check
from infra.acceptance.nodes import NodePlace
from infra.acceptance.reader import NodeReader
from infra.acceptance.results import CheckResult, NodeResult, Status

DEFAULT_CONNECT = "paramiko://{target}"
_SSH_BACKENDS = ("ssh", "safe-ssh", "paramiko")
_MESSAGE_LIMIT = 400


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


def open_host(spec: str, ssh_config: str | None = None) -> Any:
    """A testinfra ``Host`` for ``spec``, not shared with testinfra's global cache."""
    kwargs: dict[str, Any] = {}
    if ssh_config is not None and backend_name(spec) in _SSH_BACKENDS:
        kwargs["ssh_config"] = ssh_config
    backend = testinfra.backend.get_backend(spec, **kwargs)
    host = testinfra.host.Host(backend)
    backend.set_host(host)
    return host


def close_host(host: Any) -> None:
    """Close a paramiko connection if one was opened (other backends hold none)."""
    client = getattr(host.backend, "__dict__", {}).get("client")
    if client is not None:
        client.close()


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = f"{type(exc).__name__}: {text}" if type(exc).__name__ not in text else text
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 3] + "..."


def run_checks(reader: NodeReader, checks: Sequence[Check]) -> tuple[CheckResult, ...]:
    """Run ``checks`` in order on one node; a check whose prerequisite did not pass is skipped."""
    status: dict[str, Status] = {}
    results = []
    for check in checks:
        blocked = next((r for r in check.requires if status.get(r) != "pass"), None)
        if blocked is not None:
            reason = "node unreachable" if blocked == REACHABLE else f"{blocked} did not pass"
            result = CheckResult(check.name, "skip", check.expected, "", f"skipped: {reason}")
        else:
            try:
                verdict = check.probe(reader)
            except Exception as exc:  # a broken connection or output we cannot read: report, go on
                what = "cannot reach the node" if check.name == REACHABLE else f"{check.name} could not run"
                result = CheckResult(check.name, "error", check.expected, "", f"{what}: {_describe(exc)}")
            else:
                outcome: Status = "pass" if verdict.passed else "fail"
                result = CheckResult(check.name, outcome, check.expected, verdict.observed, verdict.message)
        status[check.name] = result.status
        results.append(result)
    return tuple(results)


def verify_node(target: Target, checks: Sequence[Check], ssh_config: str | None = None) -> NodeResult:
    """Connect to one node, run its pool's checks, disconnect."""
    place = target.place
    try:
        host = open_host(target.spec, ssh_config)
    except Exception as exc:
        results: tuple[CheckResult, ...] = (
            CheckResult(REACHABLE, "error", "a Linux shell answers", "", f"cannot connect: {_describe(exc)}"),
        )
    else:
        try:
            results = run_checks(NodeReader(host), checks)
        finally:
            close_host(host)
    return NodeResult(place.node, place.pool, place.scalable_unit, place.rack, results)


def verify_nodes(
    targets: Sequence[Target],
    checks: Mapping[str, Sequence[Check]],
    *,
    workers: int,
    ssh_config: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[NodeResult]:
    """Verify every target with up to ``workers`` nodes in flight; results come back in target order."""
    results: list[NodeResult | None] = [None] * len(targets)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="verify") as pool:
        futures = {
            pool.submit(verify_node, target, checks[target.place.pool], ssh_config): i
            for i, target in enumerate(targets)
        }
        for done, future in enumerate(as_completed(futures), start=1):
            results[futures[future]] = future.result()
            if progress is not None:
                progress(done, len(targets))
    return [r for r in results if r is not None]
