"""``gigafactory diff``: formats, the pull-request comment, exit codes, and no secret in any output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from synthetic_site import Shape, synthetic_plan

from infra.cli import main
from infra.engine.report import diff_plans, to_markdown

SECRET = "dIsTiNcTiVe-SeCrEt-7731"


@pytest.fixture
def plans(tmp_path: Path) -> tuple[Path, Path]:
    """A before/after pair: the protected PVC and StorageClass renamed (dangerous), a node added; a secret."""
    old = tmp_path / "old.json"
    new = tmp_path / "new.json"
    old.write_text(synthetic_plan(secret=SECRET).to_json())
    new.write_text(synthetic_plan(Shape(pvc_class="lustre-2", nodes=4), secret=SECRET + "-rotated").to_json())
    return old, new


def test_exit_codes(plans: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = plans
    assert main(["diff", str(old), str(new)]) == 0, "danger is reported, but only fails when asked"
    assert main(["diff", str(old), str(new), "--fail-on-danger"]) == 3
    assert main(["diff", str(old), str(old), "--fail-on-danger"]) == 0
    not_a_plan = tmp_path / "site.json"
    not_a_plan.write_text('{"site": {}}')
    assert main(["diff", str(old), str(not_a_plan)]) == 2
    assert main(["diff", str(old), str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err
    assert "not a gigafactory plan" in err and "missing.json: file not found" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_no_secret_in_any_format(plans: tuple[Path, Path], capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    old, new = plans
    assert SECRET not in old.read_text() and SECRET not in new.read_text(), "the plan itself holds no secret"
    main(["diff", str(old), str(new), "--format", fmt])
    out = capsys.readouterr().out
    assert SECRET not in out
    assert "synth-lustre-datasets" in out


def test_json_format_is_structured(plans: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    old, new = plans
    main(["diff", str(old), str(new), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert report["dangerous"] is True
    assert report["counts"] == {"create": 1, "update": 0, "replace": 2, "delete": 0}
    assert [d["kind"] for d in report["dangers"]] == ["protected-storage", "protected-storage"]


def test_markdown_is_a_pr_comment(plans: tuple[Path, Path], tmp_path: Path) -> None:
    old, new = plans
    out = tmp_path / "comment.md"
    assert main(["diff", str(old), str(new), "--format", "markdown", "-o", str(out)]) == 0
    text = out.read_text()
    assert text.index("Dangerous changes") < text.index("What this changes") < text.index("Changes by component")
    assert text.count("<details>") == text.count("</details>") == 2, "one collapsible section per component"
    assert "<summary><b>StorageSystem synth-lustre</b>: 2 to replace</summary>" in text
    assert "| +- | PersistentVolumeClaim `synth-lustre-datasets` |" in text


def test_markdown_stays_under_the_comment_limit() -> None:
    diff = diff_plans(synthetic_plan(Shape(nodes=0)), synthetic_plan(Shape(nodes=300)))
    full = to_markdown(diff, limit=10**9)
    assert "synth-node-099" in full and "_... and 200 more resources_" in full, "at most 100 rows per component"
    short = to_markdown(diff, limit=1000)
    assert len(short) <= 1000
    assert "300 to create" in short, "the summary survives shortening"
    assert "synth-node-004" in short and "synth-node-005" not in short, "rows are cut before the summary"
