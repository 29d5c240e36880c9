"""``plan --charts`` and ``render --charts`` on the bundled sites with the vendored charts (../shared/charts).

Every chart object validates against the Kubernetes 1.35 schema or a CRD (the charts' own, then
../shared/crds); each file names its release; a chart that refuses its values is an error at the
site-config field behind them and nothing is written; with ``--gitops`` the HelmReleases own the
charts' objects, which are not written beside them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from kube_schemas import ObjectValidator, default_charts_dir, default_crds_dir

from infra.cli import main

pytest.importorskip("helm_python")

ROOT = Path(__file__).resolve().parents[2]
PILOT = ROOT / "site-configs" / "eu-pilot.yaml"
CHARTS = default_charts_dir()
pytestmark = pytest.mark.skipif(CHARTS is None, reason="the vendored charts (../shared/charts) are absent")


@pytest.fixture(scope="module")
def pilot_render(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("render") / "pilot"
    assert main(["render", str(PILOT), "-o", str(out), "--charts", str(CHARTS)]) == 0
    return out


def test_every_chart_object_of_the_pilot_validates(pilot_render: Path) -> None:
    index = yaml.safe_load((pilot_render / "index.yaml").read_text())
    files = [pilot_render / e["file"] for e in index["chart_objects"]]
    documents = [yaml.safe_load(f.read_text()) for f in files]
    crds = [d for d in documents if d["kind"] == "CustomResourceDefinition"]
    validator = ObjectValidator("1.35", default_crds_dir(), crds)
    problems = {
        f"{f.relative_to(pilot_render)}: {e}"
        for f, d in zip(files, documents, strict=True)
        for e in validator.errors(d)
    }
    assert not problems
    releases = {e["release"] for e in index["chart_objects"]}
    assert {
        "gpu-operator/gpu-operator",
        "kueue-system/kueue",
        "rook-ceph/rook-ceph",
        "cert-manager/cert-manager",
    } <= releases
    assert len(files) > 300


def test_each_chart_file_names_its_release(pilot_render: Path) -> None:
    index = yaml.safe_load((pilot_render / "index.yaml").read_text())
    for entry in index["chart_objects"]:
        namespace, name = entry["release"].split("/")
        assert entry["file"].startswith(f"charts/{namespace}--{name}/"), entry
        head = (pilot_render / entry["file"]).read_text().splitlines()[0]
        assert head.startswith(f"# release {entry['release']}: chart ") and entry["source"] in head
    assert index["charts"]["not_rendered"][0]["release"] == "exa-csi/exa-csi", "EXAScaler's chart is not vendored"
    generated = [w for w in index["withheld"] if "generates at install" in w.get("reason", "")]
    assert {w["name"] for w in generated} >= {"kube-prometheus-stack-grafana"}, "Grafana's random admin password"


def test_with_gitops_the_releases_own_what_their_charts_create(pilot_render: Path, tmp_path: Path) -> None:
    assert any((pilot_render / "charts").rglob("*.yaml")), "without GitOps the charts' objects are written"
    flux = tmp_path / "flux"
    assert main(["render", str(PILOT), "-o", str(flux), "--charts", str(CHARTS), "--gitops", "flux"]) == 0
    assert not (flux / "charts").exists(), "each object has one owner: its HelmRelease"
    assert yaml.safe_load((flux / "index.yaml").read_text())["chart_objects"] == []


@pytest.mark.slow
def test_render_with_charts_is_byte_identical(pilot_render: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    assert main(["plan", str(PILOT), "-o", str(plan)]) == 0
    again = tmp_path / "again"
    assert main(["render", str(plan), "-o", str(again), "--charts", str(CHARTS)]) == 0
    ours = sorted(p.relative_to(pilot_render) for p in pilot_render.rglob("*") if p.is_file())
    theirs = sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert ours == theirs
    assert all((pilot_render / p).read_bytes() == (again / p).read_bytes() for p in ours)


def test_a_chart_refusing_the_values_is_an_error_at_the_config_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert CHARTS is not None
    charts = tmp_path / "charts"
    charts.mkdir()
    for entry in CHARTS.iterdir():
        if entry.is_dir() and entry.name != "values":
            (charts / entry.name).symlink_to(entry)
    kueue = charts / "kueue-0.19.2"
    kueue.unlink()
    shutil.copytree(CHARTS / "kueue-0.19.2", kueue)
    (kueue / "templates" / "zz-required.yaml").write_text(
        '{{ required "managerConfig.site is required" .Values.managerConfig.site }}\n'
    )
    out = tmp_path / "out"
    assert main(["render", str(PILOT), "-o", str(out), "--charts", str(charts)]) == 1
    err = capsys.readouterr().err
    base = ROOT / "site-configs" / "base" / "eu.yaml"  # the pilot's kueue settings are written in its base
    lines = base.read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.strip() == "kueue:") + 1  # its first setting
    assert f"base/eu.yaml:{line}:" in err and "operators.kueue: chart kueue 0.19.2 (release kueue-system/kueue)" in err
    assert "managerConfig.site is required" in err
    assert not out.exists(), "nothing is written"


def test_a_folder_without_a_release_chart_is_exit_2_with_the_pull_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", str(PILOT), "--charts", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "helm pull gpu-operator --repo https://helm.ngc.nvidia.com/nvidia --version v26.7.0" in err


def test_without_charts_the_commands_say_chart_contents_were_not_rendered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", str(PILOT), "-o", str(tmp_path / "p.json")]) == 0
    assert "chart contents not rendered: pass --charts DIR" in capsys.readouterr().out
    assert main(["render", str(tmp_path / "p.json"), "-o", str(tmp_path / "r")]) == 0
    assert "chart contents not rendered" in capsys.readouterr().out
    index = yaml.safe_load((tmp_path / "r" / "index.yaml").read_text())
    assert index["charts"]["rendered"] is False and index["chart_objects"] == []
    assert not (tmp_path / "r" / "releases").exists()
