"""``gigafactory check-job``: exit 0 admitted, 1 would not run, 2 not a job or a malformed command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.cli import main
from infra.config.loader import load_site
from infra.engine.planner import plan_site

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "jobs"

# One node, no InfiniBand devices: what the pilot admits today (the RDMA examples wait on device coverage).
EVAL_JOB = (EXAMPLES / "fjord-ai-eval.yaml").read_text()


@pytest.fixture(scope="module")
def plan_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plan") / "eu-pilot.plan.json"
    path.write_text(plan_site(load_site(REPO / "site-configs" / "eu-pilot.yaml")).to_json())
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["check-job", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_admitted_job_exits_0_and_says_where_it_runs(
    tmp_path: Path, plan_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = tmp_path / "eval.yaml"
    job.write_text(EVAL_JOB)
    code, out, err = _run(capsys, str(job), "--plan", str(plan_file))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"{job}: Job fjord-ai/eval-checkpoint: admitted"
    assert "  LocalQueue fjord-ai/default -> ClusterQueue fjord-ai, flavor h100-train" in lines
    assert "  pod set main: 1 pods on 1 node(s) of pool h100-train, 1 per node" in lines
    assert "  storage: lustre-shared (lustre-shared)" in lines
    assert any(line.startswith("  assumed: no other workload holds quota or nodes") for line in lines)


def test_refused_job_exits_1_with_located_reason(plan_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    job = EXAMPLES / "refused" / "storage-class-not-granted.yaml"
    code, out, err = _run(capsys, str(job), "--plan", str(plan_file))
    assert code == 1 and err == f"{job}: 1 of 1 job would not run\n"
    assert out.splitlines()[:4] == [
        f"{job}: Job fjord-ai/prep-scratch: would not run: refused at stage storage",
        f"{job}:45:17: spec.template.spec.volumes[1].ephemeral.volumeClaimTemplate.spec.storageClassName: "
        "tenant fjord-ai is not granted StorageClass ceph-clinical",
        "  decided by: ResourceQuota of fjord-ai (ceph-clinical.storageclass.storage.k8s.io/requests.storage: 0)",
        "  fix: use a class the tenant is granted: lustre-shared",
    ]


def test_json_format_and_several_documents(tmp_path: Path, plan_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refused = (EXAMPLES / "refused" / "networks-missing-devices.yaml").read_text()
    job = tmp_path / "two.yaml"
    job.write_text(EVAL_JOB + "---\n" + refused)
    code, out, _ = _run(capsys, str(job), "--plan", str(plan_file), "--format", "json")
    report = json.loads(out)
    assert code == 1 and report["admitted"] is False
    assert [(j["name"], j["admitted"], j["stage"]) for j in report["jobs"]] == [
        ("eval-checkpoint", True, None),
        ("eval-no-devices", False, "networks"),
    ]
    reason = report["jobs"][1]["reasons"][0]
    line = int(reason["location"].split(":")[1])
    assert "limits:" in job.read_text().splitlines()[line - 1], "located in the second document"


def test_tenant_option_checks_as_another_namespace(
    tmp_path: Path, plan_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = tmp_path / "eval.yaml"
    job.write_text(EVAL_JOB.replace("  namespace: fjord-ai\n", ""))
    code, out, _ = _run(capsys, str(job), "--plan", str(plan_file))
    assert code == 1 and "the job names no namespace" in out and "pass --tenant NAME" in out
    code, out, _ = _run(capsys, str(job), "--plan", str(plan_file), "--tenant", "nordic-llm-lab")
    assert code == 0, out
    assert "LocalQueue nordic-llm-lab/default -> ClusterQueue nordic-llm-lab, flavor h100-train" in out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n",
            "apps/v1 Deployment is not a job check-job reads",
        ),
        ("apiVersion: batch/v1\nkind: Job\nspec: [\n", "not valid YAML"),
        ("- a\n- b\n", "must be a YAML mapping of a Kubernetes job"),
        (
            "apiVersion: batch/v1\nkind: Job\nmetadata: {name: x}\nspec: {template: {spec: {}}}\n",
            "needs a list of containers",
        ),
        ("", "file is empty"),
    ],
)
def test_not_a_job_exits_2(
    tmp_path: Path, plan_file: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    job = tmp_path / "x.yaml"
    job.write_text(text)
    code, out, err = _run(capsys, str(job), "--plan", str(plan_file))
    assert (code, out) == (2, "")
    assert message in err and str(job) in err


def test_not_a_plan_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    job = tmp_path / "eval.yaml"
    job.write_text(EVAL_JOB)
    bad = tmp_path / "plan.json"
    bad.write_text("{}")
    code, _, err = _run(capsys, str(job), "--plan", str(bad))
    assert code == 2 and "not a gigafactory plan" in err


def test_plan_without_node_facts_exits_2(tmp_path: Path, plan_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = json.loads(plan_file.read_text())
    for pool in document["site"]["pools"].values():
        pool["node"] = None
    old = tmp_path / "old.plan.json"
    old.write_text(json.dumps(document))
    job = tmp_path / "eval.yaml"
    job.write_text(EVAL_JOB)
    code, out, err = _run(capsys, str(job), "--plan", str(old))
    assert (code, out) == (2, "")
    assert "records no node labels, taints or resources for pool(s) h100-clinical, h100-train" in err
    assert "write it again with `gigafactory plan" in err


def test_malformed_command_line_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-job", "job.yaml"]) == 2  # neither --site nor --plan
    assert main(["check-job", "job.yaml", "--site", "a.yaml", "--plan", "b.json"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_site_option_plans_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    job = tmp_path / "eval.yaml"
    job.write_text(EVAL_JOB)
    code, out, _ = _run(capsys, str(job), "--site", "site-configs/eu-pilot.yaml")
    assert code == 0 and "admitted" in out
