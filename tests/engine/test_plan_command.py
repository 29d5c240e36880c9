"""``gigafactory plan`` and ``render`` on the bundled pilot site: determinism, no secrets, clean failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.cli import main
from infra.config.loader import load_site
from infra.engine.planner import plan_site
from infra.engine.recording import RecordedPlan
from infra.engine.render import render_files
from infra.engine.report import diff_plans, to_json, to_markdown, to_text
from infra.site import planning_secret_values

ROOT = Path(__file__).resolve().parents[2]
PILOT = ROOT / "site-configs" / "eu-pilot.yaml"
SECRET_TOKEN = "zq-DISTINCTIVE-7c41-secret"


@pytest.fixture(scope="module")
def pilot_plans(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The pilot planned twice through the command line."""
    folder = tmp_path_factory.mktemp("plans")
    first, second = folder / "first.json", folder / "second.json"
    assert main(["plan", str(PILOT), "-o", str(first)]) == 0
    assert main(["plan", str(PILOT), "-o", str(second)]) == 0
    return first, second


def test_two_plans_of_the_pilot_are_byte_identical(pilot_plans: tuple[Path, Path]) -> None:
    first, second = pilot_plans
    assert first.read_bytes() == second.read_bytes(), "plan output must not depend on registration order"


def test_plan_records_the_whole_pilot(pilot_plans: tuple[Path, Path]) -> None:
    plan = RecordedPlan.read(pilot_plans[0])
    assert plan.stack == "eu-pilot" and plan.site["gpus"] == 1024
    types = {r.type for r in plan.resources}
    assert "kubernetes:helm.sh/v3:Release" in types and "kubernetes:core/v1:NodePatch" not in types
    rules = [r for r in plan.resources if r.type == "kubernetes:nfd.k8s-sigs.io/v1alpha1:NodeFeatureRule"]
    assert len(rules) == 4, "one NodeFeatureRule per scalable unit, none per node"
    assert all(r.component != "(stack)" for r in plan.resources if r.type != "pulumi:providers:kubernetes")
    assert plan.site["fabric"]["switches"]["total"] == 48, "4-SU SuperPOD: 32 leaves + 16 spines"
    protected = [r for r in plan.resources if r.protect]
    assert protected and all("Storage" in plan.component_label(r.component) for r in protected), [
        r.urn for r in protected
    ]


def test_plan_summary(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["plan", str(PILOT)]) == 0
    out = capsys.readouterr().out
    for expected in (
        "site eu-pilot (eu-north, NO): 1,024 GPUs on 128 nodes",
        "h100-train     96 nodes  768 x H100-SXM-80GB",
        "switches: 48 (32 leaf, 16 spine, 0 core)",
        "1.63 MW of the 2.50 MW envelope",
        "oslo-hospital   regulated  pkey 0x8201",
        "Resources per component",
    ):
        assert expected in out, f"summary lacks {expected!r}"
    assert "\r" not in out, "no progress line when stdout is not a terminal"
    assert list(tmp_path.iterdir()) == [], "nothing is written without -o"


def test_no_secret_value_in_plan_render_or_diff(tmp_path: Path) -> None:
    config = load_site(PILOT)
    stand_ins = planning_secret_values(config)
    assert stand_ins, "the pilot reads secrets (UFM, Ceph object store credentials)"
    secrets = {name: value.replace("planned-without-secret", SECRET_TOKEN) for name, value in stand_ins.items()}
    plan = plan_site(config, secret_values=secrets)
    text = plan.to_json()
    assert SECRET_TOKEN not in text
    assert "[secret]" in text, "secret inputs are recorded, as [secret]"
    files = render_files(plan)
    leaked = [name for name, content in files.items() if SECRET_TOKEN in content]
    assert leaked == [], f"secret value in rendered files {leaked}"
    changed = plan_site(config, secret_values={n: v.replace("7c41", "8d52") for n, v in secrets.items()})
    diff = diff_plans(plan, changed)
    for report in (to_text(diff), to_markdown(diff), to_json(diff)):
        assert SECRET_TOKEN not in report and "8d52" not in report
    assert not diff.components, "a rotated secret is invisible in the plan, so nothing changes"


BAD_EDITS = [
    ("nodes: 96", "nodes: -4", "node_pools[0].nodes"),
    ("power_envelope_mw: 2.5", "power_mw: 2.5", "site.power_mw"),
]


@pytest.mark.parametrize(("old", "new", "field"), BAD_EDITS)
def test_bad_site_gives_errors_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, old: str, new: str, field: str
) -> None:
    sites = tmp_path / "site-configs"
    (sites / "base").mkdir(parents=True)
    (sites / "base" / "eu.yaml").write_text((ROOT / "site-configs" / "base" / "eu.yaml").read_text())
    text = PILOT.read_text()
    assert old in text
    bad = sites / "eu-pilot.yaml"
    bad.write_text(text.replace(old, new, 1))
    out_dir = tmp_path / "out"
    monkeypatch.chdir(tmp_path)
    assert main(["plan", str(bad), "-o", str(out_dir / "plan.json")]) == 1
    assert main(["render", str(bad), "-o", str(out_dir / "rendered")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "site-configs/eu-pilot.yaml:" in err and field in err, err
    assert "nothing planned" in err
    assert not out_dir.exists(), "a failed plan or render leaves no output behind"


def test_valid_site_that_cannot_be_planned_gives_the_planner_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # 8,256 rail-optimized H100 nodes on 64-port switches: 66,048 endpoints, beyond a 3-tier fat tree.
    sites = tmp_path / "site-configs"
    (sites / "base").mkdir(parents=True)
    (sites / "base" / "eu.yaml").write_text((ROOT / "site-configs" / "base" / "eu.yaml").read_text())
    text = (
        PILOT.read_text()
        .replace("nodes: 96", "nodes: 8224")
        .replace("power_envelope_mw: 2.5", "power_envelope_mw: 200")
    )
    for rail in range(8):
        text = text.replace(f"subnet: 10.100.{8 * rail}.0/21", f"subnet: 10.{2 * rail}.0.0/15")
    (sites / "eu-pilot.yaml").write_text(text.replace("subnet: 10.101.0.0/23", "subnet: 10.101.0.0/16"))
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "site-configs/eu-pilot.yaml"]) == 0, "the config itself is valid"
    assert main(["plan", "site-configs/eu-pilot.yaml", "-o", "out/plan.json"]) == 1
    err = capsys.readouterr().err
    assert "site-configs/eu-pilot.yaml:" in err and "node_pools: 66,048 HCA ports" in err, err
    assert "hint:" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_render_from_a_plan_file(pilot_plans: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "rendered"
    assert main(["render", str(pilot_plans[0]), "-o", str(out)]) == 0
    again = tmp_path / "again"
    assert main(["render", str(PILOT), "-o", str(again)]) == 0, "rendering the site plans it first"
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again).as_posix() for p in again.rglob("*") if p.is_file())
    assert all((out / f).read_bytes() == (again / f).read_bytes() for f in files), "render is deterministic"
    assert "index.yaml" in files and "helm/releases.yaml" in files
    assert not any(f.startswith("patches/") for f in files), "nothing patches a Node"
    assert sum(f.startswith("manifests/_cluster/nodefeaturerule.nfd.k8s-sigs.io--") for f in files) == 4


def test_render_refuses_a_broken_plan_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "plan.json"
    broken.write_text(json.dumps({"format": "gigafactory-plan/1"}))
    assert main(["render", str(broken), "-o", str(tmp_path / "out")]) == 2
    assert "malformed plan" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_render_refuses_to_replace_a_folder_it_did_not_write(
    pilot_plans: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "todo.txt").write_text("keep me")
    assert main(["render", str(pilot_plans[0]), "-o", str(mine)]) == 2
    assert "todo.txt: not written by `gigafactory render`" in capsys.readouterr().err
    assert (mine / "todo.txt").read_text() == "keep me"
    rendered = tmp_path / "rendered"
    assert main(["render", str(pilot_plans[0]), "-o", str(rendered)]) == 0
    assert main(["render", str(pilot_plans[0]), "-o", str(rendered)]) == 0, "an earlier render is replaced"
