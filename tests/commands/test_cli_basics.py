"""The command line's own surface: --version and shell completion, run in real shells."""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

import pytest

from infra.cli import COMMANDS, build_parser, main
from infra.commands.examples import EXAMPLES


def test_version_names_the_package_and_the_pinned_sdks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    out = capsys.readouterr().out.strip()
    assert out == (
        f"gigafactory {metadata.version('gigafactory')} "
        f"(pulumi {metadata.version('pulumi')}, pulumi-kubernetes {metadata.version('pulumi-kubernetes')})"
    )


def _script(shell: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["completion", shell]) == 0
    return capsys.readouterr().out


def _bash_complete(script: Path, words: list[str]) -> list[str]:
    """What real bash offers for ``words`` (the last one being completed) with ``script`` loaded."""
    line = " ".join(words)
    program = (
        f"source {script}\n"
        f"COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
        f"COMP_LINE={line!r}; COMP_POINT=${{#COMP_LINE}}\n"
        "fn=$(complete -p gigafactory | sed -E 's/.*-F ([^ ]+).*/\\1/')\n"
        '"$fn" gigafactory "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    result = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True, timeout=30)
    return sorted(set(result.stdout.split()))


def test_bash_completes_commands_and_their_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "gigafactory.bash"
    script.write_text(_script("bash", capsys))
    every = _bash_complete(script, ["gigafactory", ""])
    for module in COMMANDS:
        assert module.replace("_", "-") in every, f"bash does not complete the command {module}"
    assert _bash_complete(script, ["gigafactory", "pl"]) == ["plan"]
    assert "--format" in _bash_complete(script, ["gigafactory", "diff", "--fo"])
    assert _bash_complete(script, ["gigafactory", "completion", "z"]) == ["zsh"]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed (tests/run.sh installs it)")
def test_zsh_script_parses_and_lists_every_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = _script("zsh", capsys)
    script = tmp_path / "_gigafactory"
    script.write_text(text)
    subprocess.run(["zsh", "-n", str(script)], check=True, timeout=30)
    assert text.startswith("#compdef gigafactory")
    for module in COMMANDS:
        name = module.replace("_", "-")
        assert re.search(rf"^\s+{name}\) _arguments", text, re.MULTILINE), f"zsh does not complete {name}"


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    actions = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(actions[0].choices)


def test_every_command_help_ends_with_examples_that_parse(capsys: pytest.CaptureFixture[str]) -> None:
    for name, parser in _subcommands().items():
        examples = EXAMPLES.get(name, ())
        assert 2 <= len(examples) <= 3, f"{name}: give 2 or 3 real examples in infra/commands/examples.py"
        assert parser.format_help().rstrip().endswith(examples[-1]), f"{name}: --help must end with its examples"
        for example in examples:
            words = shlex.split(example)
            words = words[: next((i for i, w in enumerate(words) if w.startswith(">")), len(words))]
            assert words[0] == "gigafactory" and words[1] == name, example
            build_parser().parse_args(words[1:])  # exits 2 (failing the test) on a malformed example
    assert set(EXAMPLES) == set(_subcommands()), "an example for a command that does not exist"


def test_an_unusable_input_a_command_did_not_catch_keeps_the_contract(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import infra.commands.validate as validate
    from infra.commands import exit_codes
    from infra.engine.recording import PlanFileError

    def run(args: argparse.Namespace) -> int:
        raise PlanFileError("old.plan.json: not a gigafactory plan")

    monkeypatch.setattr(validate, "run", run)
    assert main(["validate", "site-configs/eu-pilot.yaml"]) == exit_codes.BAD_INPUT
    assert capsys.readouterr().err == "old.plan.json: not a gigafactory plan\n"


def test_any_other_error_that_escapes_a_command_is_an_internal_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import infra.commands.validate as validate
    from infra.cli import EXIT_INTERNAL

    def run(args: argparse.Namespace) -> int:
        raise KeyError("pool")

    monkeypatch.setattr(validate, "run", run)
    assert main(["validate", "site-configs/eu-pilot.yaml"]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "gigafactory validate: internal error" in err and "KeyError" in err and "Traceback" not in err
