"""Result files (JSON, JUnit XML), pool summaries, label advice, and the check runner's ordering rules."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from infra.acceptance.checks import REACHABLE, Check, Verdict
from infra.acceptance.labels import label_commands
from infra.acceptance.reader import NodeReader
from infra.acceptance.results import CheckResult, NodeResult, VerifyReport, render_json, render_junit
from infra.acceptance.runner import host_spec, run_checks


def _node(name: str, pool: str, *statuses: tuple[str, str]) -> NodeResult:
    checks = tuple(
        CheckResult(check, status, "expected", "observed", f"{check} message" if status != "pass" else "")  # type: ignore[arg-type]
        for check, status in statuses
    )
    return NodeResult(name, pool, f"{pool}-su000", f"{pool}-r0000", checks)


REPORT = VerifyReport(
    "eu-pilot",
    (
        _node("pilot-gpu-001", "h100-train", ("gpu.count", "pass"), ("hca.mlx5_5.port", "pass")),
        _node("pilot-gpu-002", "h100-train", ("gpu.count", "fail"), ("hca.mlx5_5.port", "fail"),
              ("hca.mlx5_5.pkeys", "skip")),
        _node("pilot-clin-001", "h100-clinical", ("node.reachable", "error"), ("gpu.count", "skip")),
    ),
)  # fmt: skip


def test_json_result() -> None:
    document = json.loads(render_json(REPORT))
    assert document["site"] == "eu-pilot" and document["passed"] is False
    assert document["summary"] == [
        {"pool": "h100-train", "nodes": 2, "passed": 1, "failed": 1, "errors": 0},
        {"pool": "h100-clinical", "nodes": 1, "passed": 0, "failed": 0, "errors": 1},
    ]
    assert [n["status"] for n in document["nodes"]] == ["pass", "fail", "error"]
    failed = document["nodes"][1]["checks"][1]
    assert failed == {
        "name": "hca.mlx5_5.port", "status": "fail", "expected": "expected", "observed": "observed",
        "message": "hca.mlx5_5.port message",
    }  # fmt: skip
    assert render_json(REPORT) == render_json(REPORT), "no timestamps: same results, same bytes"


def test_junit_result() -> None:
    root = ET.fromstring(render_junit(REPORT))
    assert root.tag == "testsuites"
    assert {k: root.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "7", "failures": "2", "errors": "1", "skipped": "2",
    }  # fmt: skip
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["pilot-gpu-001", "pilot-gpu-002", "pilot-clin-001"]
    properties = {p.get("name"): p.get("value") for p in suites[1].iter("property")}
    assert properties == {"pool": "h100-train", "scalable_unit": "h100-train-su000", "rack": "h100-train-r0000"}
    cases = suites[1].findall("testcase")
    assert [c.get("name") for c in cases] == ["gpu.count", "hca.mlx5_5.port", "hca.mlx5_5.pkeys"]
    assert cases[0].get("classname") == "eu-pilot.h100-train.pilot-gpu-002"
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("message") == "hca.mlx5_5.port message"
    assert cases[2].find("skipped") is not None
    assert suites[2].find("testcase/error") is not None


def test_summary_lines_and_problems() -> None:
    lines = [s.line() for s in REPORT.summaries(("h100-train", "h100-clinical", "unused"))]
    assert lines == [
        "pool h100-train: 2 nodes verified, 1 passed, 1 failed, 0 could not be checked",
        "pool h100-clinical: 1 node verified, 0 passed, 0 failed, 1 could not be checked",
    ]
    assert REPORT.nodes[1].problem_lines() == [
        "pilot-gpu-002: gpu.count message",
        "pilot-gpu-002: hca.mlx5_5.port message",
    ]


def test_label_commands_only_for_nodes_that_did_not_pass() -> None:
    assert label_commands(REPORT.nodes, "eu-pilot-admin") == [
        "kubectl --context eu-pilot-admin label node pilot-gpu-002 gigafactory.eu/acceptance=failed --overwrite",
        "kubectl --context eu-pilot-admin taint node pilot-gpu-002 "
        "gigafactory.eu/acceptance=failed:NoSchedule --overwrite",
        "kubectl --context eu-pilot-admin annotate node pilot-gpu-002 "
        "gigafactory.eu/acceptance-failures=gpu.count,hca.mlx5_5.port --overwrite",
        "kubectl --context eu-pilot-admin label node pilot-clin-001 gigafactory.eu/acceptance=failed --overwrite",
        "kubectl --context eu-pilot-admin taint node pilot-clin-001 "
        "gigafactory.eu/acceptance=failed:NoSchedule --overwrite",
        "kubectl --context eu-pilot-admin annotate node pilot-clin-001 "
        "gigafactory.eu/acceptance-failures=node.reachable --overwrite",
    ]


def _check(name: str, outcome: bool | Exception, *requires: str) -> Check:
    def probe(_node: NodeReader) -> Verdict:
        if isinstance(outcome, Exception):
            raise outcome
        return Verdict(outcome, "seen", "" if outcome else f"{name} is wrong")

    return Check(name, "wanted", probe, requires)


def test_runner_skips_dependents_and_reports_errors() -> None:
    reader = NodeReader(host=None)  # the checks below never touch the node
    results = run_checks(
        reader,
        [
            _check(REACHABLE, True),
            _check("a.port", False, REACHABLE),
            _check("a.pkeys", True, REACHABLE, "a.port"),
            _check("b.read", RuntimeError("cannot read /sys/x"), REACHABLE),
            _check("b.after", True, "b.read"),
            _check("c", True, REACHABLE),
        ],
    )
    assert [(r.name, r.status) for r in results] == [
        (REACHABLE, "pass"), ("a.port", "fail"), ("a.pkeys", "skip"), ("b.read", "error"), ("b.after", "skip"),
        ("c", "pass"),
    ]  # fmt: skip
    assert results[2].message == "skipped: a.port did not pass"
    assert results[3].message == "b.read could not run: RuntimeError: cannot read /sys/x"


def test_unreachable_node_skips_everything() -> None:
    results = run_checks(
        NodeReader(host=None),
        [_check(REACHABLE, OSError("Connection refused")), _check("gpu.count", True, REACHABLE)],
    )
    assert [(r.status, r.message) for r in results] == [
        ("error", "cannot reach the node: connection refused (OSError: Connection refused)"),
        ("skip", "skipped: node unreachable"),
    ]


def test_host_spec() -> None:
    assert host_spec("paramiko://{target}", "pilot-gpu-001") == "paramiko://pilot-gpu-001"
    assert host_spec("ssh://{target}", "n1", "10.0.0.7", 2222, "root") == "ssh://root@10.0.0.7:2222"
    assert host_spec("paramiko://{target}", "n1", "fd00::7", 22) == "paramiko://[fd00::7]:22"
    assert host_spec("kubectl://nodecheck-{node}?namespace=ops", "n1") == "kubectl://nodecheck-n1?namespace=ops"
