"""``plan`` and ``render`` check every contract: a broken one stops them at the config line behind it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.cli import main

ROOT = Path(__file__).resolve().parents[2]
PILOT = ROOT / "site-configs" / "eu-pilot.yaml"


def test_plan_reports_the_contracts_and_says_which_were_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", str(PILOT), "-o", str(tmp_path / "p.json")]) == 0
    out = capsys.readouterr().out
    assert "contracts: 5 checked, 0 violations" in out
    assert (
        "  storage-provisioner-deployed: skipped without --charts: CSI drivers are objects of the storage charts" in out
    )


def test_a_plan_breaking_a_contract_is_not_rendered(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan_file = tmp_path / "p.json"
    assert main(["plan", str(PILOT), "-o", str(plan_file)]) == 0
    plan = json.loads(plan_file.read_text())
    nad = next(
        r
        for r in plan["resources"]
        if r["inputs"].get("kind") == "NetworkAttachmentDefinition"
        and r["inputs"]["metadata"]["namespace"] == "fjord-ai"
    )
    config = json.loads(nad["inputs"]["spec"]["config"])
    config["plugins"][0]["pkey"] = "0x8102"  # the membership bit: ib-kubernetes refuses it
    nad["inputs"]["spec"]["config"] = json.dumps(config)
    plan_file.write_text(json.dumps(plan))
    capsys.readouterr()
    out = tmp_path / "out"
    assert main(["render", str(plan_file), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    line = next(i for i, text in enumerate(PILOT.read_text().splitlines(), 1) if "0x8102" in text)
    assert (
        f"eu-pilot.yaml:{line}:" in err
        and "tenants.fjord-ai.pkey: [pkey-valid] NetworkAttachmentDefinition fjord-ai/" in err
    )
    assert "the site breaks a contract with its operators; nothing written" in err
    assert not out.exists()
