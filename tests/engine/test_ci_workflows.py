"""The CI workflows for site repositories: they parse, use the documented actions (pinned to commits)
and inputs, keep secrets out of the fork-safe path, let the base branch judge, count an
acknowledgement only after the last push, and their changed-site detection picks the right sites."""

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
    assert action["uses"] == "pulumi/actions@8e5e406f4007fca908480587cb9893c07090f58d"
    inputs = action["with"]
    assert inputs["command"] == "preview" and inputs["comment-on-pr"] is True and inputs["diff"] is True
    assert inputs["stack-name"] == "${{ matrix.stack }}", "one preview per touched stack"
    assert inputs["cloud-url"] == "${{ vars.PULUMI_BACKEND_URL }}"
    assert action["env"]["PULUMI_CONFIG_PASSPHRASE"] == "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"
    preview = workflow["jobs"]["preview"]
    assert preview["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.stacks.outputs.stacks) }}"
    assert preview["environment"] == "${{ matrix.site }}"
    touched = next(s["run"] for s in workflow["jobs"]["stacks"]["steps"] if s.get("id") == "touched")
    assert "--against" in touched and "--touched" in touched, "CI previews only the stacks a change touches"
    assert "head.repo.full_name == github.repository" in workflow["jobs"]["sites"]["if"], "forks get no secrets"


def test_plan_diff_is_offline_and_fork_safe() -> None:
    workflow = load("plan-diff.yml")
    text = (WORKFLOWS / "plan-diff.yml").read_text()
    assert "secrets." not in text, "the fork-safe review must not need any secret"
    assert set(workflow["permissions"].values()) == {"read"}, "read-only: forks get a read-only token anyway"
    runs = "\n".join(s.get("run", "") for s in steps(workflow))
    assert '"$head_code" plan' in runs and '"$judge" plan' in runs and "--format markdown --fail-on-danger" in runs
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
    """The script's GITHUB_OUTPUT lines (``sites=...``, and for plan-diff ``code=...``)."""
    output = repo.parent / "github_output"
    output.write_text("")
    env = {**os.environ, "BASE_SHA": base, "GITHUB_OUTPUT": str(output)}
    subprocess.run(["bash", "-c", script], cwd=repo, env=env, check=True, capture_output=True, text=True)
    return output.read_text().strip()


def _outputs(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines())


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
    found = _outputs(_run(_changed_sites_script("plan-diff.yml"), repo, base))
    assert found["sites"] == plan_diff
    assert found["code"] == ("true" if "infra/x.py" in change else "false"), (
        "code changes plan each side with its own code"
    )


_FAKE_GIGAFACTORY = """#!/bin/sh
case "$1" in
  plan) echo '{}' > "$4" ;;
  diff) echo "diff report"; exit "$FAKE_DIFF_STATUS" ;;
  report) echo "<html>$*</html>" > "$4" ;;
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
    env.update(CODE="false", NUMBER="7", ACTION="opened", RUN_URL="7")
    env["FAKE_DIFF_STATUS"] = str(status)
    done = subprocess.run(
        ["bash", "-e", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert " ".join(output.read_text().split()) == verdict
    # The head's report rides in the same artifact, drawn against the base's plan, and the comment links it.
    report = (tmp_path / "out" / "reports" / "a.html").read_text()
    assert "--diff" in report and report.split("--diff ")[1].split("<")[0].endswith("out/plans/a.base.json")
    comment = (tmp_path / "out" / "comment.md").read_text()
    assert "reports/a.html" in comment and "[this run](7)" in comment


# -- pinned actions ---------------------------------------------------------------------------

# Current majors (tags read from each action's repository); the comment names the release.
CURRENT_MAJORS = {
    "actions/checkout": 7,
    "actions/setup-python": 7,
    "actions/upload-artifact": 7,
    "actions/download-artifact": 8,
    "actions/github-script": 8,
    "pulumi/actions": 7,
}
USES = re.compile(r"^\s*-?\s*uses:\s*(?P<action>[^@\s]+)@(?P<ref>\S+)(?:\s+#\s*(?P<comment>.*))?$")


@pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS.glob("*.yml")))
def test_actions_are_pinned_to_commits_at_their_current_major(name: str) -> None:
    lines = [m for line in (WORKFLOWS / name).read_text().splitlines() if (m := USES.match(line))]
    assert lines, f"{name}: uses no action?"
    for match in lines:
        action, ref, comment = match["action"], match["ref"], match["comment"] or ""
        assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{name}: {action}@{ref} is not pinned to a full commit SHA"
        version = re.fullmatch(r"v(\d+)\.\d+\.\d+", comment.strip())
        assert version, f"{name}: {action}@{ref} needs its release in a comment (# vX.Y.Z), got {comment!r}"
        assert int(version[1]) == CURRENT_MAJORS[action], f"{name}: {action} {comment} is not the current major"


# -- the required check and the base branch as judge --------------------------------------------


def test_required_check_has_no_paths_filter_and_skips_inside_the_job() -> None:
    on = triggers(load("plan-diff.yml"))["pull_request"]
    assert "paths" not in on and "paths-ignore" not in on, "a required check must always report"
    assert {"opened", "synchronize", "reopened", "labeled", "unlabeled"} <= set(on["types"])
    gated = [s for s in steps(load("plan-diff.yml")) if s.get("name") not in (None, "Sites this pull request changes")]
    gated = [s for s in gated if not str(s.get("name", "")).startswith("Base of")]
    assert all(s.get("if") == "steps.changed.outputs.sites != ''" for s in gated[1:]), "skip inside the job"


def test_the_base_branch_judges_and_the_head_is_the_merge_ref() -> None:
    workflow = load("plan-diff.yml")
    checkout = next(s for s in steps(workflow) if str(s.get("uses", "")).startswith("actions/checkout@"))
    assert "ref" not in checkout["with"], "the pull_request event checks out refs/pull/N/merge"
    assert checkout["with"]["fetch-depth"] >= 2
    runs = "\n".join(s.get("run", "") for s in steps(workflow))
    assert "git worktree add --detach ../base HEAD^1" in runs, "compared with the merge commit's first parent"
    assert "base.sha" not in (WORKFLOWS / "plan-diff.yml").read_text(), "not the merge base"
    diff_step = next(s for s in steps(workflow) if s.get("id") == "diff")["run"]
    assert 'judge="$PWD/base/.venv/bin/gigafactory"' in diff_step
    assert '(cd base && "$judge" diff "$base_plan" "$head_plan" --format markdown --fail-on-danger)' in diff_step
    assert 'head_code="$judge"' in diff_step, "site-only changes are planned by the base's code"
    assert 'if [ "$CODE" = true ]' in diff_step and 'head_code="$PWD/head/.venv/bin/gigafactory"' in diff_step


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_merge_ref_is_compared_with_its_first_parent(site_repo: tuple[Path, str]) -> None:
    """main moved on (b changed) after the pull request branched (a changed): only a is the PR's."""
    repo, base = site_repo
    _git(repo, "checkout", "-q", "-b", "pr")
    (repo / "site-configs/a.yaml").write_text("x: 2\n")
    _git(repo, "commit", "-qam", "pr")
    _git(repo, "checkout", "-q", "-")
    (repo / "site-configs/b.yaml").write_text("x: 3\n")
    _git(repo, "commit", "-qam", "main moved")
    _git(repo, "merge", "-q", "--no-ff", "-m", "merge pr", "pr")  # what refs/pull/N/merge is
    assert _outputs(_run(_changed_sites_script("plan-diff.yml"), repo, base))["sites"] == "a"
    assert _run(_changed_sites_script("preview.yml"), repo, base) == 'sites=["a"]'


# -- the acknowledgement must postdate the last push -----------------------------------------------


def _verdict(repo: Path, tmp_path: Path, action: str, labeled_at: str | None, labeled: bool = True) -> int:
    script = next(s for s in steps(load("plan-diff.yml")) if s.get("name") == "Verdict")["run"]
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    events = [{"event": "labeled", "label": {"name": "danger-acknowledged"}, "created_at": labeled_at}]
    jq = '.[] | select(.event == "labeled" and .label.name == "danger-acknowledged") | .created_at'
    answer = "\n".join(e["created_at"] for e in events if labeled_at) + "\n"
    (fake / "gh").write_text(f"#!/bin/sh\n# stands in for: gh api ... --jq '{jq}'\nprintf '%s' '{answer}'\n")
    (fake / "gh").chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{fake}:{os.environ['PATH']}",
        "DANGER": "1",
        "BROKEN": "0",
        "ACTION": action,
        "LABELED": "true" if labeled else "false",
        "NUMBER": "7",
        "REPOSITORY": "o/r",
        "GH_TOKEN": "x",
    }
    return subprocess.run(["bash", "-c", script], cwd=repo, env=env, capture_output=True, text=True).returncode


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_acknowledgement_counts_only_after_the_last_push(site_repo: tuple[Path, str], tmp_path: Path) -> None:
    repo, _ = site_repo
    env = {"GIT_COMMITTER_DATE": "2026-12-01T12:00:00Z", "GIT_AUTHOR_DATE": "2026-12-01T12:00:00Z"}
    _git(repo, "checkout", "-q", "-b", "pr")
    (repo / "site-configs/a.yaml").write_text("x: 2\n")
    subprocess.run(
        ["git", "commit", "-qam", "pr"],
        cwd=repo,
        env={
            **os.environ,
            **env,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
        },
        check=True,
    )
    _git(repo, "checkout", "-q", "-")
    _git(repo, "merge", "-q", "--no-ff", "-m", "merge", "pr")
    assert _verdict(repo, tmp_path, "labeled", "2026-12-01T13:00:00Z") == 0, "label added after the push"
    assert _verdict(repo, tmp_path, "labeled", "2026-12-01T11:00:00Z") == 1, "label older than the push"
    assert _verdict(repo, tmp_path, "synchronize", "2026-12-01T13:00:00Z") == 1, "a push run never counts it"
    assert _verdict(repo, tmp_path, "labeled", None, labeled=False) == 1, "no label"
    comment = (WORKFLOWS / "plan-diff-comment.yml").read_text()
    assert "read('event-action') === 'synchronize'" in comment and "removeLabel" in comment, (
        "the workflow with write access removes a label given before the push"
    )


# -- preview: only the stacks a change touches ----------------------------------------------------

_FAKE_BOOTSTRAP = """#!/bin/sh
# Stands in for infra/bootstrap.sh: a gigafactory whose plan lists two stacks per site and, with
# --against, touches the second one only.
mkdir -p .venv/bin
cat > .venv/bin/gigafactory <<'TOOL'
#!/bin/sh
site=$(basename "$2" .yaml)
case "$*" in
  *--against*) printf '%s.pool-x\\n' "$site" > "$6" ;;
  *) printf '{"stacks": ["%s", "%s.pool-x"]}' "$site" "$site" > "$4" ;;
esac
TOOL
chmod +x .venv/bin/gigafactory
"""


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_preview_lists_the_touched_stacks_of_changed_sites_and_every_stack_of_new_ones(
    site_repo: tuple[Path, str],
) -> None:
    repo, _ = site_repo
    (repo / "infra" / "bootstrap.sh").write_text(_FAKE_BOOTSTRAP)
    (repo / "infra" / "bootstrap.sh").chmod(0o755)
    (repo / ".gitignore").write_text(".venv/\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "bootstrap")
    base = _git(repo, "rev-parse", "HEAD").strip()
    (repo / "site-configs" / "c.yaml").write_text("x: 1\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "new site c")
    script = next(s["run"] for s in load("preview.yml")["jobs"]["stacks"]["steps"] if s.get("id") == "touched")
    output = repo / "github_output"
    output.write_text("")
    temp = repo.parent / "runner-temp"
    temp.mkdir()
    env = {**os.environ, "BASE_SHA": base, "GITHUB_OUTPUT": str(output), "RUNNER_TEMP": str(temp)}
    env["SITES"] = '["a", "c"]'
    done = subprocess.run(["bash", "-e", "-c", script], cwd=repo, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    found = json.loads(output.read_text().strip().removeprefix("stacks="))
    assert found == [
        {"site": "a", "stack": "a.pool-x"},
        {"site": "c", "stack": "c"},
        {"site": "c", "stack": "c.pool-x"},
    ], "a changed site previews what it touches; a new site all its stacks"
