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
