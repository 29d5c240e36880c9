"""``infra/atomic_write.py``: outputs appear whole, replace only what the command wrote, write through devices."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.atomic_write import (
    OutputRefused,
    clean_stale_temporaries,
    manifest_name,
    ownership_problem,
    write_file_atomic,
    write_output,
    write_tree_atomic,
)
from infra.cli import main
from infra.plan.fabric.artifacts import FABRIC_FILES

REPO = Path(__file__).resolve().parents[1]
PILOT = str(REPO / "site-configs" / "eu-pilot.yaml")
FILES = {"index.yaml": "format: gigafactory-render/1\n", "manifests/ns/a.yaml": "a: 1\n"}


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_manifest_lists_every_file_with_its_hash_and_sha256sum_agrees(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree_atomic(out, FILES, owner="render")
    assert sorted(tree(out)) == sorted([*FILES, manifest_name("render")])
    checked = subprocess.run(
        ["sha256sum", "-c", "--strict", manifest_name("render")], cwd=out, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    write_tree_atomic(out, {"index.yaml": "other\n"}, owner="render")
    assert sorted(tree(out)) == sorted(["index.yaml", manifest_name("render")]), (
        "its own earlier output is replaced whole"
    )


@pytest.mark.parametrize(
    ("intruder", "named"),
    [
        (".git/HEAD", ".git/: not written by `gigafactory render`"),
        ("README.md", "README.md: not written by `gigafactory render`"),
        ("manifests/ns/mine.yaml", "manifests/ns/mine.yaml: not written by `gigafactory render`"),
    ],
)
def test_anything_the_command_did_not_write_is_refused_by_name(tmp_path: Path, intruder: str, named: str) -> None:
    out = tmp_path / "out"
    write_tree_atomic(out, FILES, owner="render")
    (out / intruder).parent.mkdir(parents=True, exist_ok=True)
    (out / intruder).write_text("a person's work\n")
    before = tree(out)
    with pytest.raises(OutputRefused, match=named.replace("(", r"\(")):
        write_tree_atomic(out, FILES, owner="render")
    assert tree(out) == before


def test_an_edited_file_of_the_command_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree_atomic(out, FILES, owner="render")
    (out / "manifests/ns/a.yaml").write_text("a: 2  # tuned by hand\n")
    problem = ownership_problem(out, "render")
    assert problem is not None and "manifests/ns/a.yaml: edited since `gigafactory render` wrote it" in problem
    with pytest.raises(OutputRefused):
        write_tree_atomic(out, FILES, owner="render")
    assert (out / "manifests/ns/a.yaml").read_text() == "a: 2  # tuned by hand\n"


def test_a_folder_that_only_mentions_the_format_is_not_taken_as_a_render(tmp_path: Path) -> None:
    # Regression: render used to replace any folder whose index.yaml held the format string.
    out = tmp_path / "project"
    out.mkdir()
    (out / "index.yaml").write_text("notes: we use format: gigafactory-render/1 here\n")
    (out / "README.md").write_text("mine\n")
    problem = ownership_problem(out, "render")
    assert problem is not None and "README.md: not written by `gigafactory render`" in problem
    assert "has no .gigafactory-render.sha256" in problem


def test_another_commands_folder_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree_atomic(out, {"fabric.net": "x\n"}, owner="fabric")
    problem = ownership_problem(out, "render")
    assert problem is not None and "fabric.net: not written by `gigafactory render`" in problem


def test_fabric_refuses_a_folder_named_like_one_of_its_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Regression: fabric checked entry names only, so a folder called bom.csv was deleted with its contents.
    out = tmp_path / "fabric"
    (out / "bom.csv").mkdir(parents=True)
    (out / "bom.csv" / "quote-from-vendor.pdf").write_bytes(b"%PDF")
    assert main(["fabric", PILOT, "-o", str(out)]) == 2
    assert "bom.csv: not written by `gigafactory fabric`" in capsys.readouterr().err
    assert (out / "bom.csv" / "quote-from-vendor.pdf").read_bytes() == b"%PDF"


def test_fabric_rewrites_its_own_output_and_refuses_an_edit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "fabric"
    assert main(["fabric", PILOT, "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted([*FABRIC_FILES, manifest_name("fabric")])
    assert main(["fabric", PILOT, "-o", str(out)]) == 0
    (out / "partitions.conf").write_text((out / "partitions.conf").read_text() + "# site-specific\n")
    capsys.readouterr()
    assert main(["fabric", PILOT, "-o", str(out)]) == 2
    assert "partitions.conf: edited since `gigafactory fabric` wrote it" in capsys.readouterr().err
    assert (out / "partitions.conf").read_text().endswith("# site-specific\n")


def test_paths_outside_the_folder_are_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputRefused, match="outside the output folder"):
        write_tree_atomic(tmp_path / "out", {"../escape.yaml": "x"}, owner="render")
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "nothing written, no staging left"


def test_folder_outputs_refuse_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fabric", PILOT, "-o", "-"]) == 2
    assert "-o -: `gigafactory fabric` writes a folder" in capsys.readouterr().err


def test_devices_are_written_through_not_replaced(tmp_path: Path) -> None:
    write_file_atomic(Path("/dev/null"), "discarded\n")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode), "/dev/null is still the device"
    assert not any(p.name.startswith(".null.") for p in Path("/dev").iterdir())


def test_a_fifo_is_written_through(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    write_file_atomic(fifo, "through the pipe\n")
    reader.join(timeout=10)
    assert received == [b"through the pipe\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO is still a FIFO"


def test_a_symlink_stays_and_its_target_is_replaced(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    os.chmod(real, 0o640)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_file_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640, "the replaced file keeps its mode"


def test_a_symlink_loop_is_an_error_naming_the_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(OSError) as raised:
        write_file_atomic(loop, "x")
    assert raised.value.filename == str(loop) and "symbolic links" in str(raised.value.strerror)
    assert main(["plan", PILOT, "-o", str(loop)]) == 2
    assert (
        capsys.readouterr().err.splitlines()[-1] == f"{loop}: cannot write the plan: Too many levels of symbolic links"
    )


def test_dash_writes_single_file_outputs_to_stdout(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    write_output("-", "to standard output\n")
    assert capfd.readouterr().out == "to standard output\n"
    assert main(["inventory", PILOT, "-o", "-"]) == 0
    out, _ = capfd.readouterr()
    assert out.startswith("# Ansible inventory of site eu-pilot") and "wrote" not in out


def _stale(folder: Path, name: str) -> Path:
    path = folder / name
    path.mkdir()
    (path / "fabric.net").write_text("half")
    return path


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_temporaries_of_dead_writers_are_removed(tmp_path: Path) -> None:
    dead = _dead_pid()
    staging = _stale(tmp_path, f".out.gf{dead}-abc123.staging")
    temporary = tmp_path / f".out.gf{dead}-x_y.tmp"
    temporary.write_text("half")
    alive = _stale(tmp_path, f".out.gf{os.getppid()}-abc123.staging")
    other_target = _stale(tmp_path, f".other.gf{dead}-abc123.staging")
    foreign = _stale(tmp_path, ".out.backup")
    assert sorted(clean_stale_temporaries(tmp_path / "out")) == sorted([staging, temporary])
    assert alive.exists() and other_target.exists() and foreign.exists()


def test_a_previous_output_moved_aside_by_a_killed_writer_is_put_back(tmp_path: Path) -> None:
    aside = _stale(tmp_path, f".out.gf{_dead_pid()}-abc123.old")
    assert clean_stale_temporaries(tmp_path / "out") == [aside]
    assert (tmp_path / "out" / "fabric.net").read_text() == "half"


_WRITER = """
import os, signal, sys
from pathlib import Path
from infra.cli import main
from infra.commands.streams import terminate_as_interrupt
from infra.atomic_write import write_tree_atomic

def chunks():
    yield "first half\\n"
    os.kill(os.getpid(), getattr(signal, sys.argv[2]))
    yield "second half\\n"

with terminate_as_interrupt():
    try:
        write_tree_atomic(Path(sys.argv[1]), {"fabric.net": chunks(), "bom.csv": "x\\n"}, owner="fabric")
    except KeyboardInterrupt as stop:
        print(type(stop).__name__)
        sys.exit(143)
"""


def test_sigterm_during_a_write_leaves_the_previous_output_and_no_temporaries(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree_atomic(out, {"fabric.net": "previous\n"}, owner="fabric")
    before = tree(out)
    done = subprocess.run(
        [sys.executable, "-c", _WRITER, str(out), "SIGTERM"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout.strip()) == (143, "Terminated"), done.stderr
    assert tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], "no staging folder left"


def test_a_crash_leaves_temporaries_that_the_next_run_removes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-c", _WRITER, str(out), "SIGKILL"], cwd=REPO, check=False)
    assert done.returncode == -signal.SIGKILL
    assert any(".staging" in p.name for p in tmp_path.iterdir()), "SIGKILL cannot be cleaned up after"
    write_tree_atomic(out, {"fabric.net": "next run\n"}, owner="fabric")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_failed_stream_removes_its_staging(tmp_path: Path) -> None:
    def broken() -> Iterator[str]:
        yield "half"
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_tree_atomic(tmp_path / "out", {"fabric.net": broken()}, owner="fabric")
    assert list(tmp_path.iterdir()) == []
