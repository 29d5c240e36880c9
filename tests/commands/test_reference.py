"""The README's command reference is what ``--help`` prints, so it cannot drift from the parser."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.cli import COMMANDS
from infra.commands.reference import BEGIN, END, main, reference_text, with_reference

REPO = Path(__file__).resolve().parents[2]


def test_readme_block_is_the_generated_reference() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert with_reference(readme) == readme, "run: .venv/bin/python -m infra.commands.reference --write README.md"


def test_reference_has_every_command_at_a_fixed_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    text = reference_text()
    for module in COMMANDS:
        assert f"#### `gigafactory {module.replace('_', '-')}`" in text
    assert all(len(line) <= 80 for line in text.splitlines() if not line.startswith(("#### ", "  gigafactory "))), (
        "wrapped at 80 columns whatever the terminal"
    )
    monkeypatch.setenv("COLUMNS", "60")
    assert reference_text() == text


def test_write_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{BEGIN}\nstale\n{END}\n\nafter\n", encoding="utf-8")
    assert main(["--check", str(readme)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert main(["--write", str(readme)]) == 0
    assert main(["--check", str(readme)]) == 0
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# x\n\n") and text.endswith(f"{END}\n\nafter\n") and "stale" not in text
    readme.write_text("no markers\n", encoding="utf-8")
    assert main(["--check", str(readme)]) == 2
