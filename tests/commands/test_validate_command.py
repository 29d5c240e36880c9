"""``gigafactory validate``: ok lines and exit 0, or every error and exit 1; never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from infra.cli import main

REPO = Path(__file__).resolve().parents[2]
PILOT_OK = "ok  site-configs/eu-pilot.yaml: site eu-pilot, 1,024 GPUs on 128 nodes, 2 pools, 3 tenants"
GIGAFACTORY_OK = (
    "ok  site-configs/eu-gigafactory.yaml: site eu-gigafactory, 100,800 GPUs on 13,896 nodes, 5 pools, 12 tenants"
)


def test_bundled_sites_validate(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(REPO)
    code = main(["validate", "site-configs/eu-pilot.yaml", "site-configs/eu-gigafactory.yaml"])
    out, err = capsys.readouterr()
    assert (code, out.splitlines(), err) == (0, [PILOT_OK, GIGAFACTORY_OK], "")


def test_bad_site_prints_every_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    base_text = (REPO / "site-configs" / "base" / "eu.yaml").read_text()
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "eu.yaml").write_text(base_text)
    text = (REPO / "site-configs" / "eu-pilot.yaml").read_text()
    text = text.replace("    nodes: 96\n", "    nodes: -4\n").replace("pkey: 0x8102", "pkey: 0x7fff")
    (tmp_path / "x.yaml").write_text(text)
    code = main(["validate", "x.yaml"])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err.splitlines() == [
        "x.yaml:16:12: node_pools[0].nodes: must be greater than 0 (got -4)",
        "x.yaml:102:11: tenants[1].pkey: must name a partition 0x0001-0x7FFE (0x7FFF is the default partition; the "
        "top bit 0x8000 only marks full membership) (got 0x7fff)",
        "x.yaml: 2 errors",
    ]


def test_missing_file_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code = main(["validate", "nowhere.yaml"])
    out, err = capsys.readouterr()
    assert (code, out, err) == (2, "", "nowhere.yaml: file not found\nnowhere.yaml: 1 error\n")


def test_one_bad_site_fails_the_run_but_all_are_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    broken = tmp_path / "broken.yaml"
    broken.write_text("site: [\n")
    code = main(["validate", str(broken), "site-configs/eu-pilot.yaml"])
    out, err = capsys.readouterr()
    assert code == 2 and out.splitlines() == [PILOT_OK], "a file that is not YAML: exit 2"
    assert err.splitlines() == [
        f"{broken}:2:1: not valid YAML: expected the node content, but found '<stream end>'",
        "  hint: fix the YAML syntax at that position",
        f"{broken}: 1 error",
    ]


@pytest.mark.slow
def test_console_entry_point_exit_codes(tmp_path: Path) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "infra.cli", "validate", "site-configs/eu-pilot.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (ok.returncode, ok.stdout.strip()) == (0, PILOT_OK), ok.stderr
    (tmp_path / "bad.yaml").write_bytes(b"\xff\xfe")
    bad = subprocess.run(
        [sys.executable, "-m", "infra.cli", "validate", str(tmp_path / "bad.yaml")],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr, bad.stderr
    assert bad.stderr.startswith(f"{tmp_path / 'bad.yaml'}:1:1: is not UTF-8 text (byte 0xff)\n  hint: save the file")
