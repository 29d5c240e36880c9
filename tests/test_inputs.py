"""Hostile inputs are one located line (exit 2), bounded while read: regressions of issue 11's findings."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from infra.acceptance.inventory import InventoryError, read_inventory
from infra.cli import main
from infra.inputs import InputError, parse_json_bounded, read_text_bounded

REPO = Path(__file__).resolve().parents[1]
PILOT = str(REPO / "site-configs" / "eu-pilot.yaml")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err, err
    return code, err


@pytest.fixture(scope="module")
def pilot_plan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    path = tmp_path_factory.mktemp("plan") / "plan.json"
    assert main(["plan", PILOT, "-o", str(path)]) == 0
    document: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return document


@pytest.mark.parametrize("command", [["validate"], ["plan"], ["inventory"]])
def test_dev_zero_as_a_site_is_refused_quickly(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    code, err = run(capsys, *command, "/dev/zero")
    assert code == 2 and "/dev/zero: is larger than 512 KiB, which no site config file is" in err
    assert time.monotonic() - started < 10


def test_dev_zero_as_a_plan_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(capsys, "diff", "/dev/zero", "/dev/zero")
    assert code == 2 and "/dev/zero: is larger than 128 MiB, which no plan file is" in err


def test_a_fifo_without_a_writer_reads_as_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "site.yaml"
    os.mkfifo(fifo)
    code, err = run(capsys, "validate", str(fifo))
    assert code == 2 and f"{fifo}:1:1: file is empty" in err


def test_a_million_item_list_stops_while_reading(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site.yaml"
    site.write_text("site: [" + "1," * 200_000 + "1]\n")
    code, err = run(capsys, "validate", str(site))
    assert code == 2 and ": holds more than 100,000 values" in err


def test_huge_integers_are_located(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site.yaml"
    site.write_text("site:\n  name: x\n  power_envelope_mw: " + "9" * 5000 + "\n")
    code, err = run(capsys, "validate", str(site))
    assert code == 1 and f"{site}:3:22: site.power_envelope_mw: a number of 5,000 digits" in err
    plan = tmp_path / "plan.json"
    plan.write_text('{"format": "gigafactory-plan/2",\n "n": ' + "9" * 5000 + "}")
    code, err = run(capsys, "diff", str(plan), str(plan))
    assert code == 2 and f"{plan}:2:7: a number of 5,000 digits" in err
    assert parse_json_bounded('{"s": "' + "1" * 100 + '"}', "x", "a plan") == {"s": "1" * 100}, "digits in a string"


def test_deep_json_is_bounded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text("[" * 100_000 + "]" * 100_000)
    code, err = run(capsys, "render", str(plan), "-o", str(tmp_path / "out"))
    assert code == 2 and f"{plan}: nests deeper than 64 levels" in err
    with pytest.raises(InputError, match="nests deeper"):
        parse_json_bounded('{"a":' * 70 + "1" + "}" * 70, "x", "a plan")


def test_control_characters_are_located_by_line_and_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site.yaml"
    site.write_text("site:\n  name: a\x00b\n")
    code, err = run(capsys, "validate", str(site))
    assert code == 2 and err.startswith(f"{site}:2:10: control character \\x00 is not allowed in YAML")
    assert "<unicode string>" not in err


def test_escape_sequences_from_a_file_are_escaped_in_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(
        (REPO / "site-configs" / "eu-pilot.yaml").read_text().replace("site:\n", 'site:\n  "\\e[2J\\e[31mx": 1\n', 1)
    )
    site.with_name("base").symlink_to(REPO / "site-configs" / "base")
    code, err = run(capsys, "validate", str(site))
    assert code == 1 and "\x1b" not in err and "\\x1b[2J\\x1b[31mx" in err


def test_symlink_loops_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop)
    code, err = run(capsys, "validate", str(loop))
    assert code == 2 and f"{loop}: cannot be read: Too many levels of symbolic links" in err
    site = tmp_path / "site.yaml"
    site.write_text("extends: loop.yaml\nsite:\n  name: x\n")
    code, err = run(capsys, "validate", str(site))
    assert code == 1 and f"{site}:1:10: extends: base file loop.yaml not found" in err
    code, err = run(capsys, "render", str(loop), "-o", str(tmp_path / "out"))
    assert code == 2
    code, err = run(capsys, "new-site", "eu-x", "--from", PILOT, "--dir", str(loop))
    assert code == 2 and str(loop) in err


def test_aliased_inventory_groups_are_bounded(tmp_path: Path) -> None:
    text = "g0: &g0 {hosts: {pilot-gpu-001: {}}}\n" + "".join(
        f"g{i}: &g{i} {{children: {{a{i}: *g{i - 1}, b{i}: *g{i - 1}}}}}\n" for i in range(1, 30)
    )
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(text)
    started = time.monotonic()
    with pytest.raises(InventoryError, match="expand to more than 200,000 group memberships"):
        read_inventory(inventory)
    assert time.monotonic() - started < 20


def test_deeply_nested_inventory_groups_do_not_overflow(tmp_path: Path) -> None:
    body = "{hosts: {pilot-gpu-001: {}}}"
    for i in range(1200):
        body = f"{{children: {{g{i}: {body}}}}}"
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(f"all: {body}\n")
    with pytest.raises(InventoryError, match="groups nest deeper than 64 levels"):
        read_inventory(inventory)


def test_read_text_bounded_names_the_path_as_shown(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^shown\.yaml: file not found$"):
        read_text_bounded(tmp_path / "x", 10, "a site config file", "shown.yaml")
    (tmp_path / "big").write_bytes(b"x" * 11)
    with pytest.raises(InputError, match="is larger than 0 KiB"):
        read_text_bounded(tmp_path / "big", 10, "a site config file")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.__setitem__("site", [1]), "malformed plan: site must be an object (got list)"),
        (lambda d: d["resources"][0].__setitem__("inputs", 5), "inputs must be an object (got int)"),
        (lambda d: d.__setitem__("resources", [{"urn": 1}]), "a resource: urn must be a string (got int)"),
        (lambda d: d["resources"][0].__setitem__("options", {"depends_on": 3}), "options.depends_on must be a list"),
    ],
)
def test_plans_with_wrong_types_are_refused_by_field(
    pilot_plan: dict[str, object], tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: object, message: str
) -> None:
    document = json.loads(json.dumps(pilot_plan))
    edit(document)  # type: ignore[operator]
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(document))
    for argv in (["render", str(plan), "-o", str(tmp_path / "out")], ["diff", str(plan), str(plan)]):
        code, err = run(capsys, *argv)
        assert code == 2 and message in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("namespace", "../../etc", "inputs.metadata.namespace must be a Kubernetes name (got '../../etc')"),
        ("name", "a/b", "inputs.metadata.name must be a Kubernetes name (got 'a/b')"),
        ("metadata", [1], "inputs.metadata must be an object (got list)"),
    ],
)
def test_render_refuses_names_that_are_not_kubernetes_names(
    pilot_plan: dict[str, object],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    field: str,
    value: object,
    message: str,
) -> None:
    document = json.loads(json.dumps(pilot_plan))
    role = next(r for r in document["resources"] if ":Role::" in r["urn"])
    if field == "metadata":
        role["inputs"]["metadata"] = value
    else:
        role["inputs"]["metadata"][field] = value
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(document))
    code, err = run(capsys, "render", str(plan), "-o", str(tmp_path / "out"))
    assert code == 2 and err.startswith(f"{plan}: malformed plan: {role['urn']}: {message}"), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"], "nothing written, nothing outside"
