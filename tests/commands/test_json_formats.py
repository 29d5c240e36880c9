"""``--format json``: each reporting command's machine-readable report, a stable interface."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from infra.cli import main

REPO = Path(__file__).resolve().parents[2]
PILOT = "site-configs/eu-pilot.yaml"


def test_validate_json_reports_valid_and_invalid_sites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    broken = tmp_path / "broken.yaml"
    text = (REPO / PILOT).read_text().replace("    nodes: 96\n", "    nodes: -4\n")
    broken.write_text(text.replace("extends: base/eu.yaml", f"extends: {REPO / 'site-configs/base/eu.yaml'}"))
    line = text.splitlines().index("    nodes: -4") + 1
    assert main(["validate", "--format", "json", PILOT, str(broken)]) == 1
    out, err = capsys.readouterr()
    assert err == ""
    report = json.loads(out)
    assert report["format"] == "gigafactory-validate/1"
    valid, invalid = report["sites"]
    assert valid == {
        "path": PILOT,
        "valid": True,
        "site": "eu-pilot",
        "gpus": 1024,
        "nodes": 128,
        "pools": 2,
        "tenants": 3,
        "errors": [],
    }
    assert invalid["valid"] is False and invalid["path"] == str(broken)
    assert [(e["file"], e["line"], e["column"], e["field"]) for e in invalid["errors"]] == [
        (str(broken), line, 12, "node_pools[0].nodes")
    ]
    assert invalid["errors"][0]["message"].startswith("must be greater than 0")


def test_validate_json_of_an_unreadable_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--format", "json", str(tmp_path / "missing.yaml")]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["sites"][0]["valid"] is False and "not found" in report["sites"][0]["errors"][0]["message"]


def test_inventory_json_is_the_same_inventory(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    assert main(["inventory", PILOT]) == 0
    as_yaml = yaml.safe_load(capsys.readouterr().out)
    assert main(["inventory", PILOT, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == as_yaml


def test_plan_json_is_the_summary_as_data(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(REPO)
    assert main(["plan", PILOT, "--format", "json"]) == 0
    first, err = capsys.readouterr()
    assert err == ""
    report = json.loads(first)
    assert report["format"] == "gigafactory-plan-summary/1"
    assert report["site"]["name"] == "eu-pilot" and report["site"]["gpus"] == 1024
    assert len(report["pools"]) == 2 and report["pools"]["h100-train"]["nodes"] == 96
    assert report["fabric"]["switches"]["total"] == 48
    assert {"oslo-hospital"} <= set(report["tenants"])
    assert report["power"]["envelope_kw"] == 2500
    assert sum(s["resources"] for s in report["stacks"]) == report["resources"]["total"]
    assert sum(report["resources"]["per_component"].values()) == report["resources"]["total"]
    assert main(["plan", PILOT, "--format", "json"]) == 0
    assert capsys.readouterr().out == first, "the same site gives the same bytes (no timing in the report)"


def test_plan_json_cannot_share_stdout_with_the_plan(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", PILOT, "--format", "json", "-o", "-"]) == 2
    assert "--format json" in capsys.readouterr().err


def test_fabric_json_is_the_summary_as_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    out = tmp_path / "fabric"
    assert main(["fabric", PILOT, "-o", str(out), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["format"] == "gigafactory-fabric-summary/1" and report["site"] == "eu-pilot"
    rows = len((out / "cables.csv").read_text().splitlines()) - 1
    assert report["cables"]["total"] == rows
    assert report["switches"]["total"] == 48 and report["tiers"] == 2
    assert report["floor"]["racks"] == report["floor"]["gpu_racks"] + report["floor"]["network_racks"]
    assert sorted(report["written"]["files"]) == sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    summary = (out / "summary.txt").read_text()
    assert f"total {report['cables']['total']:,}" in summary
