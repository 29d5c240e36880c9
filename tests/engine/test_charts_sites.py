"""The 100,000-GPU site rendered with the vendored charts (``--charts ../shared/charts``; EXAScaler's
chart is not vendored): every chart renders, every contract holds, every object validates."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kube_schemas import ObjectValidator, default_charts_dir, default_crds_dir

from infra.cli import main

pytest.importorskip("helm_python")

ROOT = Path(__file__).resolve().parents[2]
CHARTS = default_charts_dir()


# The pilot does the same in the fast suite (test_charts_command.py renders it with --charts).
@pytest.mark.slow
@pytest.mark.skipif(CHARTS is None, reason="the vendored charts (../shared/charts) are absent")
@pytest.mark.parametrize("site", ["eu-gigafactory"])
def test_the_site_renders_with_its_charts_keeps_every_contract_and_validates(
    site: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / site
    status = main(["render", str(ROOT / "site-configs" / f"{site}.yaml"), "-o", str(out), "--charts", str(CHARTS)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "violations" in captured.out and " 0 violations" in captured.out
    index = yaml.safe_load((out / "index.yaml").read_text())
    files = [out / e["file"] for e in index["chart_objects"] + index["objects"]]
    documents = [yaml.safe_load(f.read_text()) for f in files]
    crds = [d for d in documents if d["kind"] == "CustomResourceDefinition"]
    validator = ObjectValidator("1.35", default_crds_dir(), crds)
    problems = [
        f"{f.relative_to(out)}: {e}" for f, d in zip(files, documents, strict=True) for e in validator.errors(d)
    ]
    assert not problems, problems[:20]
