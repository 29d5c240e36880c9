"""Plan a site as it was at a git ref: a temporary worktree of that commit, planned by its own code.

``git show REF:site.yaml`` would lose the site's ``extends:`` base and plan the old file with
today's code; a worktree holds the commit's site files, bases and code together, and a subprocess
run in it imports that tree's ``infra`` (the working directory comes first on ``sys.path``, before
the installed package). The worktree is removed afterwards, whatever happened.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from infra.errors import BadInputError

# Runs the tree's own CLI whatever its version (older trees have no ``python -m infra.cli``).
_PLAN_AT_REF = "import sys; from infra.cli import main; sys.exit(main(sys.argv[1:]))"


class HistoryError(BadInputError):
    """A ref or a site file git cannot resolve, or a worktree that cannot be made."""


@dataclass(frozen=True)
class OldPlan:
    """The outcome of planning one site at the ref: the plan file, or why there is none."""

    site: Path
    relative: str
    plan: Path | None
    missing: bool = False
    log: str = ""


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise HistoryError((done.stderr or done.stdout).strip() or f"git {' '.join(args)} failed")
    return done.stdout.strip()


def repository_of(sites: list[Path]) -> tuple[Path, list[str]]:
    """The git repository holding every site file, and each file's path inside it."""
    if shutil.which("git") is None:
        raise HistoryError("git is not installed")
    roots, relatives = set(), []
    for site in sites:
        root = Path(_git(site.resolve().parent, "rev-parse", "--show-toplevel")).resolve()
        roots.add(root)
        relatives.append(site.resolve().relative_to(root).as_posix())
    if len(roots) != 1:
        raise HistoryError("the site files belong to different git repositories: diff them one repository at a time")
    return roots.pop(), relatives


@contextmanager
def worktree_at(root: Path, ref: str) -> Iterator[Path]:
    """A detached worktree of ``ref`` in a temporary folder, removed on exit."""
    try:
        commit = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except HistoryError:
        raise HistoryError(f"{ref}: not a commit of {root} (a branch, tag or commit id)") from None
    scratch = Path(tempfile.mkdtemp(prefix="gigafactory-against-"))
    tree = scratch / "tree"
    try:
        _git(root, "worktree", "add", "--detach", "--quiet", str(tree), commit)
        yield tree
    finally:
        if tree.exists():
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(tree)], cwd=root, capture_output=True, check=False
            )
        shutil.rmtree(scratch, ignore_errors=True)
        subprocess.run(["git", "worktree", "prune"], cwd=root, capture_output=True, check=False)


def plan_in_tree(tree: Path, site: Path, relative: str, output: Path) -> OldPlan:
    """Plan ``relative`` inside ``tree`` with the tree's own code, writing the plan to ``output``."""
    if not (tree / relative).is_file():
        return OldPlan(site, relative, None, missing=True)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONSAFEPATH"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tree), env.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [sys.executable, "-c", _PLAN_AT_REF, "plan", relative, "-o", str(output)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not output.is_file():
        return OldPlan(site, relative, None, log=(done.stderr or done.stdout).strip())
    return OldPlan(site, relative, output)
