"""The repository holds the project's own files: no environment, and no link out of the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tracked() -> list[tuple[str, str]]:
    """(mode, path) of every tracked file; skips outside a git checkout (a source archive)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listing = subprocess.run(
        ["git", "ls-files", "-s", "-z"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    entries = []
    for entry in filter(None, listing.split("\0")):
        meta, path = entry.split("\t", 1)
        entries.append((meta.split()[0], path))
    return entries


def test_no_virtual_environment_is_tracked() -> None:
    # A worktree that linked .venv to another checkout's once committed the link: a clone then
    # ran with that other checkout's packages, or with none.
    tracked = [path for _, path in _tracked() if path.split("/")[0] in {".venv", "venv", "env"}]
    assert not tracked, f"virtual environments are built by infra/bootstrap.sh, not tracked: {tracked}"


def test_tracked_links_stay_inside_the_checkout() -> None:
    for mode, path in _tracked():
        if mode != "120000":  # a symbolic link
            continue
        target = os.readlink(ROOT / path)
        resolved = (ROOT / path).parent.joinpath(target).resolve()
        inside = not os.path.isabs(target) and resolved.is_relative_to(ROOT)
        assert inside, f"{path} links out of the checkout: {target}"
