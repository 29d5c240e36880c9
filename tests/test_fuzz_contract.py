"""Fuzzing every command against the contract (bounded: well under 3 minutes in all).

For every command and each kind of input it reads (site YAML and its base, plan JSON, inventories,
jobs, special files), hostile variants must give an exit status of the contract (0-3), a located
message on every non-zero exit, never a traceback or internal error, never a partial output or a
temporary left behind, and never a secret planted in the input. Signals during writes are in
``tests/test_atomic_write.py``, hanging peers in ``tests/acceptance/test_verify_deadlines.py``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import select
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.cli import COMMANDS, main

REPO = Path(__file__).resolve().parents[1]
PILOT = REPO / "site-configs" / "eu-pilot.yaml"
JOB = REPO / "examples" / "jobs" / "fjord-ai-eval.yaml"
CANARY = "CANARYsecret7731"
# A message names a file (with line:col where it has one), an option, or is argparse's usage.
LOCATED = re.compile(r"^(usage: |[^\s:]+(:\d+(:\d+)?)?: |--?[\w-]+[ :]|<standard output>: |standard output )")
FUZZ = settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)

Argv = Callable[[Path, Path], list[str]]
# Each registered command with an input a fuzzer can put in its place: (input) file, scratch dir.
SITE_READERS: dict[str, Argv] = {
    "validate": lambda f, o: ["validate", str(f)],
    "new-site": lambda f, o: ["new-site", "eu-fuzz", "--from", str(f), "--dir", str(o)],
    "fabric": lambda f, o: ["fabric", str(f), "-o", str(o / "out")],
    "inventory": lambda f, o: ["inventory", str(f), "-o", str(o / "inv.yaml")],
    "verify": lambda f, o: ["verify", str(f), "--hosts", "no-such-node", "--timeout", "2", "-o", str(o / "r.json")],
    "report": lambda f, o: ["report", str(f), "-o", str(o / "site.html")],
}
PLAN_READERS: dict[str, Argv] = {
    "diff": lambda f, o: ["diff", str(f), str(f)],
    "render": lambda f, o: ["render", str(f), "-o", str(o / "out")],
    "check-job": lambda f, o: ["check-job", str(JOB), "--plan", str(f)],
}
OTHER_READERS: dict[str, Argv] = {
    "fabric-verify": lambda f, o: ["fabric", "verify", str(PILOT), "--discovered", str(f)],
    "check-job-job": lambda f, o: ["check-job", str(f), "--site", str(PILOT)],
    "verify-inventory": lambda f, o: [
        "verify",
        str(PILOT),
        "--inventory",
        str(f),
        "--timeout",
        "2",
        "-o",
        str(o / "r"),
    ],
    "migrate": lambda f, o: ["migrate", str(f)],
    "plan": lambda f, o: ["plan", str(f), "-o", str(o / "p.json")],
    "report-acceptance": lambda f, o: ["report", str(PILOT), "-o", str(o / "site.html"), "--acceptance", str(f)],
}
# Commands that read no file of the user's.
NO_INPUT = {"schema", "completion"}


def registered_commands() -> list[str]:
    """Every sub-command, as typed on the command line."""
    return sorted(name.replace("_", "-") for name in COMMANDS)


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def assert_contract(argv: list[str], scratch: Path) -> None:
    code, out, err = run(argv)
    shown = " ".join(argv)
    assert code in (0, 1, 2, 3), f"{shown}: exit {code}\n{err}"
    assert "Traceback" not in err and "internal error" not in err, f"{shown}:\n{err}"
    if code != 0:
        first = err.strip().splitlines()[0] if err.strip() else ""
        assert LOCATED.match(first), f"{shown}: exit {code} without a located message: {first!r}"
    # Messages may quote a key that holds the planted text; values are held to it in test_secrets_in_fields.
    assert CANARY not in out, f"{shown}: printed the planted secret"
    for path in scratch.rglob("*"):
        if path.name in ("fuzz.yaml", "eu.yaml", "plan.json", "input.yaml"):
            continue
        assert not re.match(r"^\..*\.gf\d+-", path.name), f"{shown}: left a temporary {path}"
        if path.is_file() and path.suffix in (".json", ".yaml", ".html", ".net", ".csv", ".conf", ".txt"):
            assert CANARY not in path.read_text(encoding="utf-8", errors="replace"), f"{shown}: wrote the secret"
    folder = scratch / "out"
    if folder.exists():
        manifests = list(folder.glob(".gigafactory-*.sha256"))
        assert manifests, f"{shown}: an output folder without its manifest (partial output)"
        listed = {line.split("  ", 1)[1] for line in manifests[0].read_text().splitlines()}
        assert {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} == listed | {
            manifests[0].name
        }, f"{shown}: the output folder differs from its manifest"


def test_every_registered_command_is_fuzzed() -> None:
    covered = set(SITE_READERS) | set(PLAN_READERS) | {name.split("-job")[0] for name in OTHER_READERS} | NO_INPUT
    missing = sorted(set(registered_commands()) - covered)
    assert not missing, f"add the inputs of {', '.join(missing)} to the fuzz tables in {__file__}"


# Text a hostile or broken site file might hold: YAML syntax, control characters, huge numbers,
# aliases, credentials, terminal escapes.
_PIECES = st.sampled_from(
    [
        ": ",
        "- ",
        "[",
        "]",
        "{",
        "}",
        "&a ",
        "*a",
        "!!python/object ",
        "<<: ",
        "\t",
        "\x00",
        "\x1b[2J",
        "\u202e",
        "9" * 60,
        "0x" + "f" * 40,
        "-1",
        "1e999",
        "null",
        "~",
        "'",
        '"',
        "\n",
        "\n  ",
        "#",
        "|",
        ">",
        "%",
        "@",
        f"https://admin:{CANARY}@host/x",
        "\\",
        "\ufeff",
        "ä",
        "🚀",
        "../",
        "kube-system",
        "rook-ceph",
    ]
)
_MUTATION = st.tuples(st.floats(0, 1), st.integers(0, 40), st.lists(_PIECES, min_size=1, max_size=4))
_SITE = PILOT.read_text(encoding="utf-8")


def _mutate(text: str, mutations: list[tuple[float, int, list[str]]]) -> str:
    for where, cut, pieces in mutations:
        at = int(where * len(text))
        text = text[:at] + "".join(pieces) + text[at + cut :]
    return text


@pytest.mark.parametrize("command", sorted(SITE_READERS))
@FUZZ
@given(mutations=st.lists(_MUTATION, min_size=1, max_size=3))
def test_site_files(command: str, mutations: list[tuple[float, int, list[str]]]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "sites").mkdir()
        (folder / "sites" / "base").symlink_to(REPO / "site-configs" / "base")
        site = folder / "sites" / "fuzz.yaml"
        site.write_text(_mutate(_SITE, mutations), encoding="utf-8", errors="surrogatepass")
        assert_contract(SITE_READERS[command](site, folder), folder)


@FUZZ
@given(mutations=st.lists(_MUTATION, min_size=1, max_size=3))
def test_base_files(mutations: list[tuple[float, int, list[str]]]) -> None:
    base = (REPO / "site-configs" / "base" / "eu.yaml").read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "base").mkdir()
        (folder / "base" / "eu.yaml").write_text(_mutate(base, mutations), encoding="utf-8", errors="surrogatepass")
        site = folder / "fuzz.yaml"
        site.write_text(_SITE, encoding="utf-8")
        assert_contract(["validate", str(site)], folder)
        assert_contract(["fabric", str(site), "-o", str(folder / "out")], folder)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
    | st.sampled_from(["../../etc", "a/b", "\x1b[31m", "9" * 80, CANARY]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


@pytest.fixture(scope="module")
def pilot_plan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    path = tmp_path_factory.mktemp("plan") / "plan.json"
    assert main(["plan", str(PILOT), "-o", str(path)]) == 0
    document: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _replace_somewhere(document: object, choices: list[int], value: object) -> object:
    """``document`` with the value reached by following ``choices`` through it replaced by ``value``."""
    if not choices or not isinstance(document, (dict, list)) or not document:
        return value
    if isinstance(document, dict):
        key = sorted(document)[choices[0] % len(document)]
        return {**document, key: _replace_somewhere(document[key], choices[1:], value)}
    index = choices[0] % len(document)
    return [*document[:index], _replace_somewhere(document[index], choices[1:], value), *document[index + 1 :]]


@pytest.mark.parametrize("command", sorted(PLAN_READERS))
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(choices=st.lists(st.integers(0, 10_000), max_size=7), value=_JSON)
def test_plan_files(pilot_plan: dict[str, object], command: str, choices: list[int], value: object) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        plan = folder / "plan.json"
        plan.write_text(json.dumps(_replace_somewhere(pilot_plan, choices, value)), encoding="utf-8")
        assert_contract(PLAN_READERS[command](plan, folder), folder)


_YAML_VALUE = st.recursive(
    st.none() | st.integers() | st.text(max_size=12) | st.sampled_from(["pilot-gpu-001", "*a", "&a x"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=15,
)


@pytest.mark.parametrize("command", ["verify-inventory", "fabric-verify", "check-job-job", "migrate"])
@FUZZ
@given(document=_YAML_VALUE, noise=st.lists(_PIECES, max_size=3))
def test_inventories_jobs_and_discoveries(command: str, document: object, noise: list[str]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        path = folder / "input.yaml"
        path.write_text(json.dumps(document) + "".join(noise), encoding="utf-8", errors="surrogatepass")
        assert_contract(OTHER_READERS[command](path, folder), folder)


def _special(kind: str, folder: Path) -> Path:
    path = folder / f"special-{kind}"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "loop":
        path.symlink_to(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "dangling":
        path.symlink_to(folder / "nowhere")
    else:
        return Path(kind)
    return path


@pytest.mark.parametrize("kind", ["/dev/null", "/dev/zero", "fifo", "loop", "folder", "dangling", "/proc/self/mem"])
# Every reader goes through infra/inputs.py (fabric verify streams its discovery line by line,
# bounded too); render sniffs a source without `.json` without waiting for a FIFO's writer.
@pytest.mark.parametrize(
    "command",
    [
        "check-job",
        "check-job-job",
        "diff",
        "fabric",
        "fabric-verify",
        "inventory",
        "migrate",
        "new-site",
        "render",
        "report",
        "report-acceptance",
        "validate",
        "verify",
        "verify-inventory",
    ],
)
@pytest.mark.slow
def test_special_files_as_input(command: str, kind: str) -> None:
    readers = {**SITE_READERS, **PLAN_READERS, **OTHER_READERS}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        assert_contract(readers[command](_special(kind, folder), folder), folder)


@pytest.mark.parametrize("kind", ["/dev/null", "fifo-reader", "loop", "folder", "dangling", "/proc/x", "-"])
@pytest.mark.parametrize("command", ["inventory", "schema", "diff", "fabric", "verify"])
@pytest.mark.slow
def test_special_files_as_output(pilot_plan: dict[str, object], command: str, kind: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        stop = threading.Event()
        if kind == "fifo-reader":
            target = folder / "fifo"
            os.mkfifo(target)
            reader = os.open(target, os.O_RDONLY | os.O_NONBLOCK)  # a reader is there, so writing goes through

            def drain() -> None:
                while not stop.is_set():
                    if select.select([reader], [], [], 0.1)[0]:
                        os.read(reader, 1 << 16)

            drainer = threading.Thread(target=drain, daemon=True)
            drainer.start()
        else:
            target, reader, drainer = _special(kind, folder), -1, None
        plan = folder / "plan.json"  # a real plan, so diff reaches its output
        plan.write_text(json.dumps(pilot_plan), encoding="utf-8")
        argv = {
            "inventory": ["inventory", str(PILOT), "-o", str(target)],
            "schema": ["schema", "-o", str(target)],
            "diff": ["diff", str(plan), str(plan), "-o", str(target)],
            "fabric": ["fabric", str(PILOT), "-o", str(target)],
            "verify": ["verify", str(PILOT), "--hosts", "no-such-node", "-o", str(target)],
        }[command]
        try:
            assert_contract(argv, folder)
        finally:
            stop.set()
            if drainer is not None:
                drainer.join()  # before the close: a read of a closed (or reused) descriptor fails
            if reader >= 0:
                os.close(reader)
        if kind == "/dev/null":
            assert Path("/dev/null").is_char_device()
