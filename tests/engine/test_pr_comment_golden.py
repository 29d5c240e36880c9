"""The pull-request comment of a combined change on the pilot, compared with a golden file.

One change shrinks a pool (and the quota on it), moves a tenant to another partition key, raises a
sysctl, bumps the GPU driver in the shared base and removes a storage system. The comment must read
top to bottom: the dangers with where each was written and how to accept it, then what changes
(node-level changes marked reboot or drain), then the resources per component, the partition key
seen inside the network definitions' CNI config. Regenerate after an intended change with
``GIGAFACTORY_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/engine/test_pr_comment_golden.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from infra.config.loader import load_site
from infra.engine.planner import plan_site
from infra.engine.report import diff_plans, to_markdown

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden" / "pr-comment-combined.md"
EDITS = {
    "site-configs/eu-pilot.yaml": [
        ("    nodes: 96\n", "    nodes: 64\n"),  # pool shrink
        ("{pool: h100-train, gpus: 512,", "{pool: h100-train, gpus: 256,"),  # its quota follows
        ("pkey: 0x8102", "pkey: 0x8103"),  # pkey change
        ('vm.max_map_count: "1048576"', 'vm.max_map_count: "2097152"'),  # sysctl change
        (  # storage removal: ceph-objects and the quotas on it
            "  - name: ceph-objects\n    kind: rook-ceph\n    interface: object\n    capacity_tb: 2000\n"
            "    read_gb_per_s: 60\n    write_gb_per_s: 30\n    tenants: [nordic-llm-lab, fjord-ai]\n"
            "    endpoint: rook-ceph/objects\n    credentials_secret: cephObjectsAdmin\n",
            "",
        ),
        ("      - {system: ceph-objects, quota_tb: 1000}\n", ""),
        ("      - {system: ceph-objects, quota_tb: 500}\n", ""),
    ],
    "site-configs/base/eu.yaml": [('driver_version: "595.91.07"', 'driver_version: "595.100.02"')],  # driver bump
}


def _tree(where: Path, edited: bool) -> None:
    for name, edits in EDITS.items():
        text = (ROOT / name).read_text()
        for before, after in edits if edited else ():
            assert before in text, f"{name}: {before!r} is not in the bundled site any more"
            text = text.replace(before, after)
        (where / name).parent.mkdir(parents=True, exist_ok=True)
        (where / name).write_text(text)


def test_combined_change_comment_matches_the_golden_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plans = []
    for side, edited in (("old", False), ("new", True)):
        (tmp_path / side).mkdir()
        _tree(tmp_path / side, edited)
        monkeypatch.chdir(tmp_path / side)
        site = Path("site-configs/eu-pilot.yaml")
        plans.append(plan_site(load_site(site), source=site))
    comment = to_markdown(diff_plans(plans[0], plans[1]))
    if os.environ.get("GIGAFACTORY_UPDATE_GOLDEN"):
        GOLDEN.write_text(comment)
    assert comment == GOLDEN.read_text(), f"the comment changed; see {GOLDEN.name} (module docstring: regenerate)"
    # What a reviewer reads first, in order: the dangers, located, each with how to accept it.
    order = [
        "**protected-storage**: delete of CephObjectStore",
        "**quota-capacity**",
        "**partition-key**",
        "#### What this changes",
        "**[drain]** GPU driver 595.91.07 (open) -> 595.100.02 (open)",
        "#### Changes by component",
    ]
    positions = [comment.index(marker) for marker in order]
    assert positions == sorted(positions)
    assert "pool h100-train nodes: sysctl vm.max_map_count 1048576 -> 2097152" in comment
    assert "storage ceph-objects removed (2,000 TB)" in comment
    assert "`spec.config{json}.plugins[0].pkey`: `0x0102` → `0x0103`" in comment
    # Lines moved up with the removed storage system: the new file's line, not the old one's.
    assert "mid-run (`site-configs/eu-pilot.yaml:92:11`)" in comment, "the pkey danger names where it was written"
    assert "(`site-configs/eu-pilot.yaml:68:5 (before the change)`)" in comment, "a removed system: where it was"
    assert comment.count("\n- ") >= 15, "one intent per line"
