"""The site-config layer's JSON Schema: bundled sites and the base satisfy it; mistakes do not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from infra.cli import main
from infra.config.layer_schema import BUNDLED_SCHEMA, layer_schema, layer_schema_text
from infra.config.yamldoc import read_yaml

REPO = Path(__file__).resolve().parents[2]
SITE_FILES = ("site-configs/eu-pilot.yaml", "site-configs/eu-gigafactory.yaml", "site-configs/base/eu.yaml")


def _as_editor_reads(path: Path) -> Any:
    """The file's data as a YAML 1.2 reader sees it (the project's reader: `NO` stays a string)."""
    document, errors = read_yaml(path, str(path))
    assert document is not None and not errors, errors
    return document.data


def _errors(data: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(layer_schema())
    return sorted(f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data))


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(layer_schema())


@pytest.mark.parametrize("name", SITE_FILES)
def test_bundled_site_files_satisfy_the_schema(name: str) -> None:
    assert _errors(_as_editor_reads(REPO / name)) == []


def test_a_layer_may_leave_every_field_to_its_base() -> None:
    assert _errors({"extends": "base/eu.yaml", "site": {"name": "eu-south"}}) == []


def test_unknown_and_misspelt_keys_are_refused() -> None:
    data = {"site": {"name": "x", "power_mw": 3}, "nodepools": []}
    errors = _errors(data)
    assert len(errors) == 2, errors
    assert any("nodepools" in e for e in errors) and any("power_mw" in e for e in errors)


def test_wrong_types_are_refused_and_versions_may_be_bare_numbers() -> None:
    assert _errors({"site": {"kubernetes_version": 1.35, "power_envelope_mw": 2.5}}) == []
    errors = _errors({"site": {"power_envelope_mw": "lots"}, "node_pools": [{"nodes": "many"}]})
    assert [e.split(":")[0] for e in errors] == ["node_pools.0.nodes", "site.power_envelope_mw"]


def test_descriptions_come_from_the_model() -> None:
    site = layer_schema()["$defs"]["Site"]["properties"]
    assert site["name"]["description"] == "Site name; also the Pulumi stack name."


def test_bundled_schema_file_is_current() -> None:
    assert (REPO / BUNDLED_SCHEMA).read_text() == layer_schema_text(), (
        f"regenerate it: .venv/bin/gigafactory schema -o {BUNDLED_SCHEMA}"
    )


def test_schema_command_writes_stdout_and_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out)["$id"] == layer_schema()["$id"]
    target = tmp_path / "layer.json"
    assert main(["schema", "-o", str(target)]) == 0
    assert target.read_text() == layer_schema_text()
    (tmp_path / "a-file").write_text("")
    assert main(["schema", "-o", str(tmp_path / "a-file" / "x.json")]) == 2
    assert "cannot be written" in capsys.readouterr().err
