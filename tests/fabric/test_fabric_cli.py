"""`gigafactory fabric SITE.yaml -o DIR`: one folder written whole, or a clear error and nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fabric_sites import PILOT, REPO, pool, write_site

from infra.atomic_write import manifest_name
from infra.cli import main
from infra.config.loader import load_site
from infra.config.model import SiteConfig
from infra.plan.fabric import FabricPlan, plan_fabric
from infra.plan.fabric.artifacts import FABRIC_FILES, fabric_artifacts


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["fabric", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_writes_the_folder_and_prints_the_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "fabric"
    code, stdout, stderr = run(capsys, str(PILOT), "-o", str(out))
    assert code == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == sorted([*FABRIC_FILES, manifest_name("fabric")])
    assert "leaf: 32 switches" in stdout and "spine: 16 switches" in stdout
    assert stdout.splitlines()[-1] == f"wrote {out}: {', '.join(FABRIC_FILES)}"
    assert (out / "summary.txt").read_text().splitlines() == stdout.splitlines()[:-1]
    # A second run replaces its own previous output.
    assert run(capsys, str(PILOT), "-o", str(out))[0] == 0


def test_invalid_site_is_reported_and_nothing_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = write_site(tmp_path, [pool("h100", 32)])
    site.write_text(site.read_text().replace("nodes: 32", "nodes: -4"))
    out = tmp_path / "fabric"
    code, _, stderr = run(capsys, str(site), "-o", str(out))
    assert code == 1
    assert "node_pools[0].nodes" in stderr and "site.yaml:" in stderr
    assert stderr.splitlines()[-1].endswith("; nothing written")
    assert not out.exists()


def test_unplannable_site_names_file_line_and_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = write_site(tmp_path, [pool("p" * 55, 32, prefix="n")])
    out = tmp_path / "fabric"
    code, _, stderr = run(capsys, str(site), "-o", str(out))
    assert code == 1
    first = stderr.splitlines()[0]
    line = next(i for i, text in enumerate(site.read_text().splitlines(), 1) if "p" * 55 in text)
    assert first.startswith(f"{site}:{line}:") and ": node_pools[0].name: leaf switch name" in first, first
    assert "hint: shorten the pool name" in stderr
    assert not out.exists()


def test_refuses_to_replace_a_folder_it_did_not_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "home"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code, _, stderr = run(capsys, str(PILOT), "-o", str(out))
    assert code == 2
    assert "notes.txt: not written by `gigafactory fabric` (the folder has no .gigafactory-fabric.sha256)" in stderr
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_unwritable_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, stderr = run(capsys, str(PILOT), "-o", str(blocker))
    assert code == 2 and "exists and is not a folder" in stderr
    code, _, stderr = run(capsys, str(PILOT), "-o", str(blocker / "sub"))
    assert code == 2 and "cannot write" in stderr, stderr
    assert blocker.read_text() == "x"


def test_missing_site_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, stderr = run(capsys, str(tmp_path / "nope.yaml"), "-o", str(tmp_path / "out"))
    assert code == 2 and "nope.yaml" in stderr
    assert not (tmp_path / "out").exists()


def test_console_script_prints_no_traceback(tmp_path: Path) -> None:
    site = write_site(tmp_path, [pool("p" * 55, 32, prefix="n")])
    done = subprocess.run(
        [sys.executable, "-m", "infra.cli", "fabric", str(site), "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "node_pools[0].name" in done.stderr


def test_failure_while_streaming_leaves_the_previous_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "fabric"
    assert run(capsys, str(PILOT), "-o", str(out))[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(
        config: SiteConfig, plan: FabricPlan, partitions: Any = None, floor: Any = None
    ) -> dict[str, str | Iterator[str]]:
        files = fabric_artifacts(config, plan, partitions)

        def chunks() -> Iterator[str]:
            yield "Switch\t64 half a record"
            raise OSError(28, "No space left on device")

        files["fabric.net"] = chunks()
        return files

    monkeypatch.setattr("infra.commands.fabric.fabric_artifacts", broken)
    code, _, stderr = run(capsys, str(PILOT), "-o", str(out))
    assert code == 2 and "No space left on device" in stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before, "the previous output is untouched"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fabric"], "no staging folder left behind"


def test_unwritable_output_is_named_as_given(capsys: pytest.CaptureFixture[str]) -> None:
    # /proc takes no new folders (even from root): the staging folder beside the output cannot be
    # made, and the error names the folder the user asked for, not the staging folder's random name.
    code, _, stderr = run(capsys, str(PILOT), "-o", "/proc/gigafactory-fabric")
    assert code == 2
    assert (
        stderr.splitlines()[0] == "/proc/gigafactory-fabric: cannot write: No such file or directory; nothing written"
    ), stderr
    assert "/proc/." not in stderr and "Traceback" not in stderr


def test_guid_map_gives_exact_partitions_and_a_partial_map_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = load_site(PILOT)
    plan = plan_fabric(config)
    first = run(capsys, str(PILOT), "-o", str(tmp_path / "before"))
    assert first[0] == 0 and "256 ports of dedicated pools" in first[2]
    guids = {h.name: {"kind": "hca", "port_guid": f"0x{h.port_guid:016x}"} for h in plan.hcas()}
    complete = tmp_path / "guids.json"
    complete.write_text(json.dumps(guids))
    code, _, stderr = run(capsys, str(PILOT), "-o", str(tmp_path / "after"), "--guid-map", str(complete))
    assert code == 0, stderr
    assert "dedicated pools" not in stderr
    text = (tmp_path / "after" / "partitions.conf").read_text()
    assert "shared=0x7ffe,ipoib,mtu=5,indx0 :" in text
    del guids["pilot-gpu-007 mlx5_3"]
    complete.write_text(json.dumps(guids))
    code, _, stderr = run(capsys, str(PILOT), "-o", str(tmp_path / "partial"), "--guid-map", str(complete))
    assert code == 1 and "1 compute ports of the plan are not in the GUID map (pilot-gpu-007 mlx5_3)" in stderr
    assert not (tmp_path / "partial").exists()
    complete.write_text("{not json")
    code, _, stderr = run(capsys, str(PILOT), "-o", str(tmp_path / "bad"), "--guid-map", str(complete))
    assert code == 2 and "not JSON" in stderr


def test_an_unreadable_guid_map_is_refused_located(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The GUID map is read bounded, as every input is (infra/inputs.py): exit 2, where and why, nothing written."""
    folder = tmp_path / "guids"
    folder.mkdir()
    code, _, stderr = run(capsys, str(PILOT), "-o", str(tmp_path / "out"), "--guid-map", str(folder))
    assert code == 2 and "guids: is a directory, not a GUID map" in stderr
    binary = tmp_path / "guids.csv"
    binary.write_bytes(b"n1 mlx5_0,0x\xff\n")
    code, _, stderr = run(capsys, str(PILOT), "-o", str(tmp_path / "out"), "--guid-map", str(binary))
    assert code == 2 and "guids.csv:1:13: is not UTF-8 text (byte 0xff)" in stderr
    assert not (tmp_path / "out").exists()
