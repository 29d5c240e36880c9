"""Progress on standard error: phase, count and total; silent off a terminal unless --progress."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from infra.cli import main
from infra.engine.progress import Progress

REPO = Path(__file__).resolve().parents[2]
PILOT = "site-configs/eu-pilot.yaml"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_nothing_is_written_when_the_stream_is_not_a_terminal() -> None:
    quiet = io.StringIO()
    progress = Progress(quiet, "planning", interval=0.0)
    progress.stage("stack", 1, 3)
    for count in range(1, 500):
        progress(count)
    progress.count("cables", 10, 10)
    progress.close()
    assert quiet.getvalue() == ""


def test_forced_off_a_terminal_writes_whole_lines_with_phase_count_and_total() -> None:
    log = io.StringIO()
    progress = Progress(log, "planning eu-x", interval=0.0, enabled=True)
    progress.stage("stack", 3, 7)
    progress(812)
    progress.count("cables", 120_000, 326_016)
    progress.close()
    assert log.getvalue().splitlines() == [
        "planning eu-x: stack 3/7",
        "planning eu-x: stack 3/7, 812 resources",
        "planning eu-x: cables 120,000/326,016",
    ]


def test_on_a_terminal_one_line_is_redrawn_then_erased() -> None:
    tty = _Terminal()
    progress = Progress(tty, "verify", interval=3600.0)
    progress.count("nodes", 1, 64)
    progress.count("nodes", 2, 64)  # within the interval: not drawn
    progress.count("nodes", 64, 64)  # the last one always is
    progress.close()
    text = tty.getvalue()
    assert "\n" not in text
    assert text.startswith("\rverify: nodes 1/64") and "\rverify: nodes 64/64" in text
    assert "2/64" not in text and text.endswith("\r")


def test_plan_reports_each_stack_with_progress_and_nothing_without(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    assert main(["plan", PILOT]) == 0
    assert capsys.readouterr().err == ""
    assert main(["plan", PILOT, "--progress"]) == 0
    out, err = capsys.readouterr()
    stages = [line for line in err.splitlines() if ", " not in line]  # the resource counts follow ", "
    total = len(stages)
    assert total > 1 and stages == [f"planning eu-pilot: stack {n}/{total}" for n in range(1, total + 1)]
    counts = [line for line in err.splitlines() if ", " in line]  # as many as the interval lets through
    assert all(re.fullmatch(rf"planning eu-pilot: stack [1-{total}]/{total}, [0-9,]+ resources?", c) for c in counts)
    assert "planning eu-pilot:" not in out


def test_fabric_counts_cables_to_the_plans_total(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    assert main(["fabric", PILOT, "-o", str(tmp_path / "f"), "--progress"]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("fabric:")]
    rows = len((tmp_path / "f" / "cables.csv").read_text().splitlines()) - 1
    assert err and err[-1] == f"fabric: cables {rows:,}/{rows:,}"


def test_on_a_terminal_the_command_line_does_not_escape_the_carriage_return(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command line escapes control characters on stderr; the status line's own \\r must pass."""
    monkeypatch.chdir(REPO)
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert main(["fabric", PILOT, "-o", str(tmp_path / "f")]) == 0
    text = terminal.getvalue()
    assert "\rfabric: cables " in text and "\\x0d" not in text
