"""The one exit-code contract, held against every registered command and against the README's table.

Every command registered in ``infra.cli`` must have its cases in ``CASES`` (a command added without
them fails ``test_every_registered_command_has_cases``): at least a malformed command line and an
input that is not what it reads (both 2), and each verdict the command can give cheaply here.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra.cli import build_parser, main
from infra.commands import exit_codes

REPO = Path(__file__).resolve().parents[2]
PILOT = str(REPO / "site-configs" / "eu-pilot.yaml")


@dataclass(frozen=True)
class Inputs:
    """Files the cases point at (made once per module)."""

    folder: Path
    invalid: str  # YAML, a mapping, but not a valid site: exit 1
    not_yaml: str  # not what any command reads: exit 2
    plan: str
    ssh_config: str  # maps pilot-gpu-001 to a closed port on 127.0.0.1
    discovered: str  # the pilot's planned cabling, as ibnetdiscover would find it


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    folder = tmp_path_factory.mktemp("contract")
    (folder / "invalid.yaml").write_text("site:\n  name: x\n", encoding="utf-8")
    (folder / "not.yaml").write_text("site: [\n", encoding="utf-8")
    (folder / "ssh_config").write_text(
        f"Host pilot-gpu-001\n  HostName 127.0.0.1\n  Port {_closed_port()}\n  User root\n", encoding="utf-8"
    )
    assert main(["plan", PILOT, "-o", str(folder / "plan.json")]) == 0
    assert main(["fabric", PILOT, "-o", str(folder / "fabric")]) == 0
    return Inputs(
        folder,
        str(folder / "invalid.yaml"),
        str(folder / "not.yaml"),
        str(folder / "plan.json"),
        str(folder / "ssh_config"),
        str(folder / "fabric" / "fabric.net"),
    )


Case = tuple[str, Callable[[Inputs, Path], list[str]], int]

CASES: dict[str, list[Case]] = {
    "validate": [
        ("valid", lambda i, o: ["validate", PILOT], exit_codes.OK),
        ("invalid site", lambda i, o: ["validate", i.invalid], exit_codes.REJECTED),
        ("not YAML", lambda i, o: ["validate", i.not_yaml], exit_codes.BAD_INPUT),
        ("no file given", lambda i, o: ["validate"], exit_codes.BAD_INPUT),
    ],
    "new-site": [
        ("forked", lambda i, o: ["new-site", "eu-x", "--from", PILOT, "--dir", str(o)], exit_codes.OK),
        (
            "invalid source",
            lambda i, o: ["new-site", "eu-x", "--from", i.invalid, "--dir", str(o)],
            exit_codes.REJECTED,
        ),
        ("not YAML", lambda i, o: ["new-site", "eu-x", "--from", i.not_yaml, "--dir", str(o)], exit_codes.BAD_INPUT),
        ("bad name", lambda i, o: ["new-site", "EU X", "--from", PILOT, "--dir", str(o)], exit_codes.BAD_INPUT),
        ("no --from", lambda i, o: ["new-site", "eu-x"], exit_codes.BAD_INPUT),
    ],
    "fabric": [
        ("written", lambda i, o: ["fabric", PILOT, "-o", str(o / "f")], exit_codes.OK),
        ("invalid site", lambda i, o: ["fabric", i.invalid, "-o", str(o / "f")], exit_codes.REJECTED),
        ("not YAML", lambda i, o: ["fabric", i.not_yaml, "-o", str(o / "f")], exit_codes.BAD_INPUT),
        ("folder to stdout", lambda i, o: ["fabric", PILOT, "-o", "-"], exit_codes.BAD_INPUT),
        ("no -o", lambda i, o: ["fabric", PILOT], exit_codes.BAD_INPUT),
    ],
    "inventory": [
        ("written", lambda i, o: ["inventory", PILOT, "-o", str(o / "inv.yaml")], exit_codes.OK),
        ("invalid site", lambda i, o: ["inventory", i.invalid], exit_codes.REJECTED),
        ("not YAML", lambda i, o: ["inventory", i.not_yaml], exit_codes.BAD_INPUT),
        ("unknown option", lambda i, o: ["inventory", PILOT, "--bogus"], exit_codes.BAD_INPUT),
    ],
    "verify": [
        (
            "unreachable node",
            lambda i, o: [
                "verify",
                PILOT,
                "--hosts",
                "pilot-gpu-001",
                "--ssh-config",
                i.ssh_config,
                "-o",
                str(o / "r"),
            ],
            exit_codes.REJECTED,
        ),
        ("invalid site", lambda i, o: ["verify", i.invalid, "--hosts", "n1"], exit_codes.REJECTED),
        ("not YAML", lambda i, o: ["verify", i.not_yaml, "--hosts", "n1"], exit_codes.BAD_INPUT),
        ("not an inventory", lambda i, o: ["verify", PILOT, "--inventory", i.plan], exit_codes.BAD_INPUT),
        ("no hosts", lambda i, o: ["verify", PILOT], exit_codes.BAD_INPUT),
    ],
    "plan": [
        ("planned", lambda i, o: ["plan", PILOT, "-o", str(o / "p.json")], exit_codes.OK),
        ("invalid site", lambda i, o: ["plan", i.invalid], exit_codes.REJECTED),
        ("not YAML", lambda i, o: ["plan", i.not_yaml], exit_codes.BAD_INPUT),
        ("unknown option", lambda i, o: ["plan", PILOT, "--bogus"], exit_codes.BAD_INPUT),
        ("against a non-plan", lambda i, o: ["plan", PILOT, "--against", i.not_yaml], exit_codes.BAD_INPUT),
        ("touched without against", lambda i, o: ["plan", PILOT, "--touched", str(o / "t")], exit_codes.BAD_INPUT),
    ],
    "migrate": [
        ("written", lambda i, o: ["migrate", i.plan, i.plan, "-o", str(o / "m")], exit_codes.OK),
        ("not a plan", lambda i, o: ["migrate", i.plan, i.not_yaml, "-o", str(o / "m")], exit_codes.BAD_INPUT),
        ("no folder", lambda i, o: ["migrate", i.plan, i.plan], exit_codes.BAD_INPUT),
        ("unwritable", lambda i, o: ["migrate", i.plan, i.plan, "-o", "/proc/m"], exit_codes.BAD_INPUT),
    ],
    "render": [
        ("rendered", lambda i, o: ["render", i.plan, "-o", str(o / "r")], exit_codes.OK),
        ("invalid site", lambda i, o: ["render", i.invalid, "-o", str(o / "r")], exit_codes.REJECTED),
        ("not a plan", lambda i, o: ["render", i.ssh_config + ".json", "-o", str(o / "r")], exit_codes.BAD_INPUT),
        ("folder to stdout", lambda i, o: ["render", i.plan, "-o", "-"], exit_codes.BAD_INPUT),
    ],
    "diff": [
        ("no danger", lambda i, o: ["diff", i.plan, i.plan], exit_codes.OK),
        ("not a plan", lambda i, o: ["diff", i.plan, i.not_yaml], exit_codes.BAD_INPUT),
        ("unknown format", lambda i, o: ["diff", i.plan, i.plan, "--format", "pdf"], exit_codes.BAD_INPUT),
    ],
    "schema": [
        ("to stdout", lambda i, o: ["schema"], exit_codes.OK),
        ("written", lambda i, o: ["schema", "-o", str(o / "layer.schema.json")], exit_codes.OK),
        ("unwritable", lambda i, o: ["schema", "-o", "/proc/layer.schema.json"], exit_codes.BAD_INPUT),
    ],
    "fabric-verify": [
        ("cabled as planned", lambda i, o: ["fabric", "verify", PILOT, "--discovered", i.discovered], exit_codes.OK),
        (
            "invalid site",
            lambda i, o: ["fabric", "verify", i.invalid, "--discovered", i.discovered],
            exit_codes.REJECTED,
        ),
        ("not a discovery", lambda i, o: ["fabric", "verify", PILOT, "--discovered", i.plan], exit_codes.BAD_INPUT),
        (
            "unwritable GUID map",
            lambda i, o: ["fabric", "verify", PILOT, "--discovered", i.discovered, "--write-guids", "/proc/g.json"],
            exit_codes.BAD_INPUT,
        ),
    ],
    "check-job": [
        ("admitted", lambda i, o: ["check-job", str(REPO / "examples/jobs/fjord-ai-eval.yaml"), "--plan", i.plan], 0),
        (
            "would not run",
            lambda i, o: [
                "check-job",
                str(REPO / "examples/jobs/refused/storage-class-not-granted.yaml"),
                "--plan",
                i.plan,
            ],
            exit_codes.REJECTED,
        ),
        ("not a job", lambda i, o: ["check-job", i.not_yaml, "--plan", i.plan], exit_codes.BAD_INPUT),
        (
            "not a plan",
            lambda i, o: ["check-job", str(REPO / "examples/jobs/fjord-ai-finetune.yaml"), "--plan", i.not_yaml],
            exit_codes.BAD_INPUT,
        ),
        (
            "no site or plan",
            lambda i, o: ["check-job", str(REPO / "examples/jobs/fjord-ai-finetune.yaml")],
            exit_codes.BAD_INPUT,
        ),
    ],
    "report": [
        ("written", lambda i, o: ["report", PILOT, "-o", str(o / "site.html")], exit_codes.OK),
        ("invalid site", lambda i, o: ["report", i.invalid, "-o", str(o / "site.html")], exit_codes.REJECTED),
        ("not YAML", lambda i, o: ["report", i.not_yaml, "-o", str(o / "site.html")], exit_codes.BAD_INPUT),
        (
            "acceptance file is not a result",
            lambda i, o: ["report", PILOT, "-o", str(o / "site.html"), "--acceptance", i.not_yaml],
            exit_codes.BAD_INPUT,
        ),
        (
            "diff against what is not a plan",
            lambda i, o: ["report", PILOT, "-o", str(o / "site.html"), "--diff", i.not_yaml],
            exit_codes.BAD_INPUT,
        ),
        ("unwritable", lambda i, o: ["report", PILOT, "-o", "/proc/site.html"], exit_codes.BAD_INPUT),
        ("no output given", lambda i, o: ["report", PILOT], exit_codes.BAD_INPUT),
    ],
    "completion": [
        ("bash", lambda i, o: ["completion", "bash"], exit_codes.OK),
        ("unknown shell", lambda i, o: ["completion", "fish"], exit_codes.BAD_INPUT),
    ],
}


def registered_commands() -> list[str]:
    """Every sub-command the parser knows, as typed on the command line."""
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(action.choices)


def test_every_registered_command_has_cases() -> None:
    missing = sorted(set(registered_commands()) - set(CASES))
    assert not missing, f"add exit-code cases to CASES in {__file__} for: {', '.join(missing)}"
    for command, cases in CASES.items():
        codes = {code for _, _, code in cases}
        assert exit_codes.BAD_INPUT in codes, f"{command}: no case of a malformed command line or unreadable input"


@pytest.mark.parametrize(
    ("command", "name", "argv", "expected"),
    [(command, name, argv, code) for command, cases in CASES.items() for name, argv, code in cases],
    ids=[f"{command}-{name}" for command, cases in CASES.items() for name, _, _ in cases],
)
def test_command_follows_the_contract(
    command: str,
    name: str,
    argv: Callable[[Inputs, Path], list[str]],
    expected: int,
    inputs: Inputs,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(argv(inputs, tmp_path))
    out, err = capsys.readouterr()
    assert code == expected, f"{command} ({name}): exit {code}, expected {expected}\n{err}"
    assert "Traceback" not in out + err
    if code != exit_codes.OK:
        assert err.strip(), f"{command} ({name}): exit {code} without a message"


def test_readme_table_is_the_contract() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Exit status", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| \*\*(\d)\*\* \| (.+?) \|$", section, flags=re.MULTILINE)
    assert [(int(code), meaning) for code, meaning in rows] == list(exit_codes.CONTRACT)


def test_danger_is_3_only_with_fail_on_danger(
    inputs: Inputs, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(Path(inputs.plan).read_text(encoding="utf-8"))
    protected = [r for r in document["resources"] if r["options"].get("protect")]
    assert protected, "the pilot has protected resources"
    document["resources"] = [r for r in document["resources"] if r["urn"] != protected[0]["urn"]]
    smaller = tmp_path / "smaller.json"
    smaller.write_text(json.dumps(document), encoding="utf-8")
    assert main(["diff", inputs.plan, str(smaller)]) == exit_codes.OK
    assert main(["diff", inputs.plan, str(smaller), "--fail-on-danger"]) == exit_codes.DANGER
    assert "dangerous change" in capsys.readouterr().err
