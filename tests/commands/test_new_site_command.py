"""``gigafactory new-site``: writes a fork with placeholders, refuses to overwrite, exits 1 on mistakes."""

from __future__ import annotations

import os
import re
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.cli import main
from infra.config.loader import load_layers

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of site-configs/ under a temp working directory, with umask 022."""
    shutil.copytree(REPO / "site-configs", tmp_path / "site-configs")
    monkeypatch.chdir(tmp_path)
    previous = os.umask(0o022)
    try:
        yield tmp_path
    finally:
        os.umask(previous)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_new_site_then_validate_then_fill(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "new-site", "eu-south", "--from", "site-configs/eu-pilot.yaml")
    assert (code, err) == (0, "")
    assert out == (
        "wrote site-configs/eu-south.yaml: 28 values to fill in; "
        "`gigafactory validate site-configs/eu-south.yaml` lists what is left\n"
    )
    written = workdir / "site-configs" / "eu-south.yaml"
    assert stat.S_IMODE(written.stat().st_mode) == 0o644, "a site file is readable like any file the user writes"
    assert [p.name for p in written.parent.iterdir() if p.name.startswith(".")] == [], "no temporary file left"

    code, out, err = run(capsys, "validate", "site-configs/eu-south.yaml")
    lines = err.splitlines()
    assert (code, out) == (1, "") and lines[-1] == "site-configs/eu-south.yaml: 28 errors"
    problems = [line for line in lines[:-1] if not line.startswith("  hint: ")]
    assert len(problems) == 28 and all(": still a placeholder: <fill: " in p for p in problems), problems

    # Fill each placeholder with the pilot's own value (the text after the field path names it).
    source, _ = load_layers(Path("site-configs/eu-pilot.yaml"))
    assert source is not None
    rows = written.read_text().splitlines(keepends=True)
    # Each problem reads file:line:col: field: ...; fill the last first, so columns before it hold.
    located = [(int(p.split(":")[1]), int(p.split(":")[2]), p.split(": ")[1]) for p in problems]
    for row, column, field in sorted(located, reverse=True):
        value = source.data
        for part in re.findall(r"[^.\[\]]+", field):
            value = value[int(part)] if part.isdigit() else value[part]
        if field.endswith("node_name_pattern"):
            value = value.replace("pilot-", "south-")  # the pilot's own names are taken
        literal = f"0x{value:04x}" if isinstance(value, int) else f'"{value}"'
        match = re.compile(r"'<fill:(?:[^']|'')*'").match(rows[row - 1], column - 1)
        assert match is not None, f"{field}: no placeholder at {row}:{column}"
        rows[row - 1] = rows[row - 1][: column - 1] + literal + rows[row - 1][match.end() :]
    written.write_text("".join(rows))
    code, out, err = run(capsys, "validate", "site-configs/eu-south.yaml")
    assert (code, err) == (0, "")
    assert out == "ok  site-configs/eu-south.yaml: site eu-south, 1,024 GPUs on 128 nodes, 2 pools, 3 tenants\n"


def test_new_site_refuses_to_overwrite(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (workdir / "site-configs" / "eu-gigafactory.yaml").read_bytes()
    code, out, err = run(capsys, "new-site", "eu-gigafactory", "--from", "site-configs/eu-pilot.yaml")
    assert (code, out) == (2, "")
    assert err == "site-configs/eu-gigafactory.yaml: already exists; new-site never overwrites a site file\n"
    assert (workdir / "site-configs" / "eu-gigafactory.yaml").read_bytes() == before


def test_new_site_user_mistakes(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "new-site", "EU", "--from", "site-configs/eu-pilot.yaml") == (
        2,
        "",
        "new site name 'EU': must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending "
        "with a letter or digit, at most 63 characters (got 'EU')\n",
    )
    assert run(capsys, "new-site", "eu-x", "--from", "nowhere.yaml") == (
        2,
        "",
        "nowhere.yaml: file not found\nnowhere.yaml: 1 error; fix the source site first\n",
    )
    (workdir / "blocker").write_text("a file where a folder should be\n")
    assert run(capsys, "new-site", "eu-x", "--from", "site-configs/eu-pilot.yaml", "--dir", "blocker/sites") == (
        2,
        "",
        "blocker/sites/eu-x.yaml: cannot be written: --dir blocker/sites is not a folder\n",
    )
    # /proc takes no new files (even from root); the error names the file asked for, not the
    # temporary file it would have been written through.
    assert run(capsys, "new-site", "eu-x", "--from", "site-configs/eu-pilot.yaml", "--dir", "/proc") == (
        2,
        "",
        "/proc/eu-x.yaml: cannot be written: No such file or directory\n",
    )
    assert sorted(p.name for p in (workdir / "site-configs").iterdir()) == [
        "base",
        "eu-gigafactory.yaml",
        "eu-pilot.yaml",
        "site-layer.schema.json",
    ]


def test_new_site_writes_into_another_folder(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "new-site", "eu-far", "--from", "site-configs/eu-gigafactory.yaml", "--dir", "forks")
    assert code == 0 and out.startswith("wrote forks/eu-far.yaml: 53 values to fill in;")
    assert "\nextends: ../site-configs/base/eu.yaml\n" in (workdir / "forks" / "eu-far.yaml").read_text()


def test_new_site_usage_errors_exit_2(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new-site", "eu-x"]) == 2
    assert "the following arguments are required: --from" in capsys.readouterr().err


def test_two_sites_may_not_share_node_names(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pilot = (workdir / "site-configs" / "eu-pilot.yaml").read_text()
    twin = pilot.replace("name: eu-pilot", "name: eu-twin").replace("pilot-clin-", "twin-clin-")
    (workdir / "site-configs" / "eu-twin.yaml").write_text(twin)
    line = next(i for i, text in enumerate(twin.splitlines(), 1) if "pilot-gpu-{index:03d}" in text)
    code, out, err = run(capsys, "validate", "site-configs/eu-twin.yaml")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"site-configs/eu-twin.yaml:{line}:24: node_pools[0].node_name_pattern: node name 'pilot-gpu-001' is also "
        "a node of site-configs/eu-pilot.yaml (pool h100-train); two sites in one repository may not share node names",
        "  hint: give this site's nodes their own prefix, e.g. its site name",
        "site-configs/eu-twin.yaml: 1 error",
    ]
    # The pilot itself is refused too, naming the twin, until one of them is renamed.
    assert run(capsys, "validate", "site-configs/eu-pilot.yaml")[0] == 1
    (workdir / "site-configs" / "eu-twin.yaml").write_text(twin.replace("pilot-gpu-", "twin-gpu-"))
    assert run(capsys, "validate", "site-configs/eu-twin.yaml", "site-configs/eu-pilot.yaml")[0] == 0


def test_from_takes_a_site_name_and_supernet_carves_the_rails(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "new-site", "eu-east", "--from", "eu-pilot", "--ipoib-supernet", "10.200.0.0/16")
    assert (code, err) == (0, ""), err
    text = (workdir / "site-configs" / "eu-east.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=site-layer.schema.json\n")
    # 128 nodes x 8 virtual functions = 1,024 pod addresses per rail: a /21 each, aligned, in rail order.
    assert [f"{{rail: {r}, subnet: 10.200.{8 * r}.0/21}}" in text for r in range(8)] == [True] * 8
    assert "<fill: /23 or larger: 256 storage ports (nodes x hcas.storage)>" in text
    assert run(capsys, "new-site", "eu-west", "--from", "eu-pilot", "--ipoib-supernet", "10.200.0.0/22") == (
        2,
        "",
        "--ipoib-supernet 10.200.0.0/22: too small for the 8 compute rails, which need 16,384 addresses in all; "
        "give a /18 or larger\n",
    )
    assert not (workdir / "site-configs" / "eu-west.yaml").exists()
