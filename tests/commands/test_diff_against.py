"""``gigafactory diff --against REF SITE.yaml``: the old side is planned from a worktree of REF with
that commit's own site files, base files and code; the worktree is gone afterwards."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from infra.cli import main

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@t"
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A site repository: this project's code and the pilot site with its base, committed once.

    The committed code writes its plans as ``gigafactory-plan/9``: if the old side were planned by
    today's code (or the current tree), no plan of that format could appear in the diff.
    """
    repo = tmp_path / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("infra", "components"):
        shutil.copytree(ROOT / name, repo / name, ignore=ignore)
    shutil.copytree(ROOT / "site-configs" / "base", repo / "site-configs" / "base")
    shutil.copy(ROOT / "site-configs" / "eu-pilot.yaml", repo / "site-configs" / "eu-pilot.yaml")
    plan_py = repo / "infra" / "engine" / "recording.py"
    plan_py.write_text(
        plan_py.read_text().replace('PLAN_FORMAT = "gigafactory-plan/2"', 'PLAN_FORMAT = "gigafactory-plan/9"')
    )
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "pilot")
    # Today: the pkey of fjord-ai changes in the site, the base's driver is bumped.
    site = repo / "site-configs" / "eu-pilot.yaml"
    site.write_text(site.read_text().replace("pkey: 0x8102", "pkey: 0x8103"))
    base = repo / "site-configs" / "base" / "eu.yaml"
    base.write_text(base.read_text().replace('driver_version: "595.91.07"', 'driver_version: "595.100.02"'))
    return repo


def test_against_plans_the_old_side_with_its_own_code_and_base(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(repo)
    code = main(["diff", "--against", "HEAD", "site-configs/eu-pilot.yaml", "--fail-on-danger"])
    out = capsys.readouterr().out
    assert code == 3, out
    assert "! [partition-key] site-configs/eu-pilot.yaml:102:11: tenant fjord-ai partition key 0x8102 -> 0x8103" in out
    assert "! [not-judged]" in out and "gigafactory-plan/9" in out, "the old side ran the committed code"
    assert "site-configs/base/eu.yaml:19:21: GPU driver 595.91.07 (open) -> 595.100.02 (open)" in out, (
        "the old side read its own base file: the driver change in the base is seen"
    )
    assert "spec.config{json}.plugins[0].pkey: 0x0102 -> 0x0103" in out
    assert _git(repo, "worktree", "list").count("\n") == 1, "the temporary worktree is removed"


def test_against_a_ref_that_does_not_exist(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(repo)
    assert main(["diff", "--against", "no-such-branch", "site-configs/eu-pilot.yaml"]) == 2
    err = capsys.readouterr().err
    assert "no-such-branch: not a commit of" in err and "Traceback" not in err


def test_a_site_new_since_the_ref(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(repo)
    shutil.copy("site-configs/eu-pilot.yaml", "site-configs/eu-south.yaml")
    assert main(["diff", "--against", "HEAD", "site-configs/eu-south.yaml"]) == 0
    assert "site-configs/eu-south.yaml: new since HEAD" in capsys.readouterr().out


def test_plain_diff_needs_two_plans(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["diff", str(tmp_path / "one.json")]) == 2
    assert "give OLD.json NEW.json" in capsys.readouterr().err
