"""The CI workflows for site repositories: they parse, use the documented actions and inputs, keep
secrets out of the fork-safe path, and their changed-site detection picks the right sites."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


def load(name: str) -> dict[Any, Any]:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(document, dict), name
    return document


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    # YAML 1.1 (PyYAML) reads the bare key `on` as the boolean True; GitHub reads it as "on".
    found = workflow.get("on", workflow.get(True))
    assert isinstance(found, dict)
    return found


def steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


@pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS.glob("*.yml")))
def test_every_workflow_parses_with_jobs_and_steps(name: str) -> None:
    workflow = load(name)
    assert workflow.get("name"), f"{name}: needs a name"
    assert triggers(workflow), f"{name}: needs triggers"
    for job_name, job in workflow["jobs"].items():
        assert job.get("runs-on") and job.get("steps"), f"{name}: job {job_name} needs runs-on and steps"
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), f"{name}: job {job_name}: a step uses an action or runs"


def test_preview_runs_pulumi_preview_per_site_with_self_managed_backend() -> None:
    workflow = load("preview.yml")
    assert "pull_request" in triggers(workflow)
    action = next(s for s in steps(workflow) if str(s.get("uses", "")).startswith("pulumi/actions@"))
    assert action["uses"] == "pulumi/actions@v7"
    inputs = action["with"]
    assert inputs["command"] == "preview" and inputs["comment-on-pr"] is True and inputs["diff"] is True
    assert inputs["stack-name"] == "${{ matrix.site }}"
    assert inputs["cloud-url"] == "${{ vars.PULUMI_BACKEND_URL }}"
    assert action["env"]["PULUMI_CONFIG_PASSPHRASE"] == "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"
    preview = workflow["jobs"]["preview"]
    assert preview["strategy"]["matrix"]["site"] == "${{ fromJSON(needs.sites.outputs.sites) }}"
    assert "head.repo.full_name == github.repository" in workflow["jobs"]["sites"]["if"], "forks get no secrets"


def test_plan_diff_is_offline_and_fork_safe() -> None:
    workflow = load("plan-diff.yml")
    text = (WORKFLOWS / "plan-diff.yml").read_text()
    assert "secrets." not in text, "the fork-safe review must not need any secret"
    assert workflow["permissions"] == {"contents": "read"}
    runs = "\n".join(s.get("run", "") for s in steps(workflow))
    assert "gigafactory plan" in runs and "--format markdown --fail-on-danger" in runs
    assert "pulumi " not in runs, "no Pulumi CLI in the offline review"
    comment = load("plan-diff-comment.yml")
    assert triggers(comment)["workflow_run"]["workflows"] == [workflow["name"]]
    assert not any("actions/checkout" in str(s.get("uses", "")) for s in steps(comment)), (
        "the commenting workflow runs with write access: it must not run the pull request's code"
    )


def _changed_sites_script(workflow: str) -> str:
    return next(s["run"] for s in steps(load(workflow)) if s.get("name") == "Sites this pull request changes")


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@t"
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def site_repo(tmp_path: Path) -> tuple[Path, str]:
    """A site repository with two sites and a base; returns it and the base commit."""
    repo = tmp_path / "repo"
    (repo / "site-configs" / "base").mkdir(parents=True)
    (repo / "infra").mkdir()
    for name in ("site-configs/a.yaml", "site-configs/b.yaml", "site-configs/base/eu.yaml", "infra/x.py"):
        (repo / name).write_text("x: 1\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "base")
    return repo, _git(repo, "rev-parse", "HEAD").strip()


def _run(script: str, repo: Path, base: str) -> str:
    output = repo / "github_output"
    output.write_text("")
    env = {**os.environ, "BASE_SHA": base, "GITHUB_OUTPUT": str(output)}
    subprocess.run(["bash", "-c", script], cwd=repo, env=env, check=True, capture_output=True, text=True)
    return output.read_text().strip()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
@pytest.mark.parametrize(
    ("change", "preview", "plan_diff"),
    [
        ({"site-configs/a.yaml": "x: 2\n"}, '["a"]', "a"),
        ({"site-configs/base/eu.yaml": "x: 2\n"}, '["a", "b"]', "a b"),
        ({"infra/x.py": "x = 2\n"}, '["a", "b"]', "a b"),
        ({"README.md": "docs\n"}, "[]", ""),
        ({"site-configs/c.yaml": "x: 1\n"}, '["c"]', "c"),
        ({"site-configs/b.yaml": None}, "[]", ""),
    ],
)
def test_changed_site_detection(
    site_repo: tuple[Path, str], change: dict[str, str | None], preview: str, plan_diff: str
) -> None:
    repo, base = site_repo
    for name, content in change.items():
        if content is None:
            (repo / name).unlink()
        else:
            (repo / name).write_text(content)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "change")
    assert _run(_changed_sites_script("preview.yml"), repo, base) == f"sites={preview}"
    assert json.loads(preview) == sorted(json.loads(preview))
    assert _run(_changed_sites_script("plan-diff.yml"), repo, base) == f"sites={plan_diff}"


_FAKE_GIGAFACTORY = """#!/bin/sh
case "$1" in
  plan) echo '{}' > "$4" ;;
  diff) echo "diff report"; exit "$FAKE_DIFF_STATUS" ;;
esac
"""


@pytest.mark.parametrize(
    ("status", "verdict"), [(0, "danger=0 broken=0"), (3, "danger=1 broken=0"), (2, "danger=0 broken=1")]
)
def test_plan_diff_reads_the_exit_contract_under_bash_e(tmp_path: Path, status: int, verdict: str) -> None:
    # GitHub runs `run:` scripts with `bash -e`: a diff exiting 3 (danger) or 2 (not a plan) must be
    # read by the script, not end the step before the comment and the verdict are written.
    script = next(s["run"] for s in steps(load("plan-diff.yml")) if s.get("id") == "diff")
    script = re.sub(r"\$\{\{[^}]*\}\}", "7", script)
    for side in ("head", "base"):
        (tmp_path / side / "site-configs").mkdir(parents=True)
        (tmp_path / side / "site-configs" / "a.yaml").write_text("x: 1\n")
        tool = tmp_path / side / ".venv" / "bin" / "gigafactory"
        tool.parent.mkdir(parents=True)
        tool.write_text(_FAKE_GIGAFACTORY)
        tool.chmod(0o755)
    output = tmp_path / "github_output"
    env = {**os.environ, "SITES": "a", "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary")}
    env["FAKE_DIFF_STATUS"] = str(status)
    done = subprocess.run(
        ["bash", "-e", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert " ".join(output.read_text().split()) == verdict
