"""Acceptance results, a summary per pool, and the JSON and JUnit XML files that carry them.

The files hold no timestamps or durations: the same node states give byte-identical files, so a
result can be diffed against yesterday's.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Status = Literal["pass", "fail", "skip", "error"]
NodeStatus = Literal["pass", "fail", "error"]

RESULT_FORMAT_VERSION = 1


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check on one node."""

    name: str
    status: Status
    expected: str
    observed: str
    message: str


@dataclass(frozen=True)
class NodeResult:
    """Every check of one node."""

    node: str
    pool: str
    scalable_unit: str
    rack: str
    checks: tuple[CheckResult, ...]

    @property
    def status(self) -> NodeStatus:
        """``error`` when a check could not run, else ``fail`` when one failed, else ``pass``."""
        if any(c.status == "error" for c in self.checks):
            return "error"
        if any(c.status == "fail" for c in self.checks):
            return "fail"
        return "pass"

    @property
    def problems(self) -> tuple[CheckResult, ...]:
        """The checks that failed or could not run, in check order."""
        return tuple(c for c in self.checks if c.status in ("fail", "error"))

    def problem_lines(self) -> list[str]:
        """``node: message`` for every problem: what an operator reads and fixes."""
        return [f"{self.node}: {c.message}" for c in self.problems]


@dataclass(frozen=True)
class PoolSummary:
    """How one pool's verified nodes fared."""

    pool: str
    nodes: int
    passed: int
    failed: int
    errors: int

    def line(self) -> str:
        """One line for the terminal."""
        return (
            f"pool {self.pool}: {self.nodes} node{'s' if self.nodes != 1 else ''} verified, {self.passed} passed, "
            f"{self.failed} failed, {self.errors} could not be checked"
        )


@dataclass(frozen=True)
class VerifyReport:
    """The result of one ``gigafactory verify`` run."""

    site: str
    nodes: tuple[NodeResult, ...]

    @property
    def passed(self) -> bool:
        """Whether every node passed every check."""
        return all(n.status == "pass" for n in self.nodes)

    def summaries(self, pool_order: tuple[str, ...]) -> list[PoolSummary]:
        """A summary for each pool that had nodes verified, in ``pool_order``."""
        out = []
        for pool in pool_order:
            nodes = [n for n in self.nodes if n.pool == pool]
            if nodes:
                out.append(
                    PoolSummary(
                        pool,
                        len(nodes),
                        sum(n.status == "pass" for n in nodes),
                        sum(n.status == "fail" for n in nodes),
                        sum(n.status == "error" for n in nodes),
                    )
                )
        return out


@dataclass(frozen=True)
class CheckGroup:
    """One problem shared by several nodes: a check and what it found, with the nodes it was found on."""

    check: str
    what: str
    nodes: tuple[str, ...]

    def line(self, shown: int = 10) -> str:
        """``mlx5_5 port 1 is DOWN, expected ACTIVE at 400 Gb/s: 12 nodes: pilot-gpu-003, ...``."""
        names = ", ".join(self.nodes[:shown])
        more = f", ... and {len(self.nodes) - shown:,} more" if len(self.nodes) > shown else ""
        count = f"{len(self.nodes):,} node{'s' if len(self.nodes) != 1 else ''}"
        return f"{self.what}: {count}: {names}{more}"


def problem_head(message: str) -> str:
    """What a problem message says before its per-node detail (the parenthesis, the fix after ``;``)."""
    return message.split(" (", 1)[0].split("; ", 1)[0].rstrip(":")


def check_groups(nodes: Sequence[NodeResult]) -> list[CheckGroup]:
    """Every problem grouped across nodes by check and what it found; most nodes first, then check order."""
    found: dict[tuple[str, str], list[str]] = {}
    for node in nodes:
        for check in node.problems:
            found.setdefault((check.name, problem_head(check.message)), []).append(node.node)
    groups = [CheckGroup(name, what, tuple(names)) for (name, what), names in found.items()]
    order = {key: i for i, key in enumerate(found)}
    return sorted(groups, key=lambda g: (-len(g.nodes), order[(g.check, g.what)]))


def _pool_order(report: VerifyReport) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n.pool for n in report.nodes))


def render_json(report: VerifyReport) -> str:
    """The report as JSON: summary per pool, then every node with every check."""
    document = {
        "format_version": RESULT_FORMAT_VERSION,
        "site": report.site,
        "passed": report.passed,
        "summary": [
            {"pool": s.pool, "nodes": s.nodes, "passed": s.passed, "failed": s.failed, "errors": s.errors}
            for s in report.summaries(_pool_order(report))
        ],
        "nodes": [
            {
                "node": n.node,
                "pool": n.pool,
                "scalable_unit": n.scalable_unit,
                "rack": n.rack,
                "status": n.status,
                "checks": [
                    {
                        "name": c.name,
                        "status": c.status,
                        "expected": c.expected,
                        "observed": c.observed,
                        "message": c.message,
                    }
                    for c in n.checks
                ],
            }
            for n in report.nodes
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_junit(report: VerifyReport) -> str:
    """The report as JUnit XML: one testsuite per node, one testcase per check."""

    def count(status: Status, nodes: tuple[NodeResult, ...]) -> str:
        return str(sum(c.status == status for n in nodes for c in n.checks))

    root = ET.Element(
        "testsuites",
        {
            "name": f"gigafactory verify {report.site}",
            "tests": str(sum(len(n.checks) for n in report.nodes)),
            "failures": count("fail", report.nodes),
            "errors": count("error", report.nodes),
            "skipped": count("skip", report.nodes),
        },
    )
    for node in report.nodes:
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": node.node,
                "tests": str(len(node.checks)),
                "failures": count("fail", (node,)),
                "errors": count("error", (node,)),
                "skipped": count("skip", (node,)),
            },
        )
        properties = ET.SubElement(suite, "properties")
        for key, value in (("pool", node.pool), ("scalable_unit", node.scalable_unit), ("rack", node.rack)):
            ET.SubElement(properties, "property", {"name": key, "value": value})
        for check in node.checks:
            case = ET.SubElement(
                suite, "testcase", {"classname": f"{report.site}.{node.pool}.{node.node}", "name": check.name}
            )
            detail = f"expected: {check.expected}\nobserved: {check.observed}"
            if check.status == "fail":
                ET.SubElement(case, "failure", {"message": check.message, "type": "NodeAcceptance"}).text = detail
            elif check.status == "error":
                ET.SubElement(case, "error", {"message": check.message, "type": "CheckError"}).text = detail
            elif check.status == "skip":
                ET.SubElement(case, "skipped", {"message": check.message})
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
