"""``gigafactory inventory`` and ``gigafactory verify``: outputs, bad input, unreachable nodes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from staged_sshd import free_port

from infra.cli import main

REPO = Path(__file__).resolve().parents[2]
PILOT = str(REPO / "site-configs" / "eu-pilot.yaml")


def test_inventory_to_stdout_and_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inventory", PILOT]) == 0
    printed = capsys.readouterr().out
    assert "pilot-gpu-096:" in printed and yaml.safe_load(printed)["all"]["vars"]["gigafactory_site"] == "eu-pilot"
    out = tmp_path / "inv" / "pilot.yaml"
    assert main(["inventory", PILOT, "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == printed, "file and stdout carry the same inventory"
    assert "wrote" in capsys.readouterr().out


def test_inventory_bad_site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "site.yaml"
    bad.write_text("site: {name: x}\n", encoding="utf-8")
    out = tmp_path / "inv.yaml"
    assert main(["inventory", str(bad), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "site.yaml" in err and "Traceback" not in err
    assert not out.exists(), "nothing is written for a bad config"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--hosts", "pilot-gpu-999,pilot-gpu-001"], "pilot-gpu-999: not a node of site eu-pilot; its nodes are "
         "pilot-gpu-001..pilot-gpu-096 (pool h100-train), pilot-clin-001..pilot-clin-032 (pool h100-clinical)"),
        (["--hosts", "pilot-gpu-001,,pilot-gpu-002"], "empty host name"),
        (["--hosts", "pilot-gpu-001", "--workers", "0"], "--workers: must be between 1 and 1024 (got 0)"),
        (["--hosts", "pilot-gpu-001", "--ssh-config", "/nonexistent/ssh_config"], "--ssh-config: /nonexistent"),
        (["--hosts", "pilot-gpu-001", "--connect", "telnet://{target}"], "unknown testinfra backend"),
        (["--hosts", "pilot-gpu-001", "--connect", "ssh://{host}"], "may use only the fields {node} and {target}"),
        (["--hosts", "pilot-gpu-001", "--limit", "pool_h100_train"], "--limit: selects a group of --inventory"),
        (["--hosts", "pilot-gpu-001", "--hca-devices", "h100-train=mlx5_0"], "pool h100-train has 8 compute HCAs"),
        (["--hosts", "pilot-gpu-001", "--hca-devices", "gpu=mlx5_0"], "no pool called 'gpu'"),
        (["--inventory", "/nonexistent/inventory.yaml"], "/nonexistent/inventory.yaml: file not found"),
    ],
)  # fmt: skip
def test_verify_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str) -> None:
    out = tmp_path / "result.json"
    assert main(["verify", PILOT, *extra, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert "Traceback" not in err
    assert not out.exists(), "bad input writes no result"


def test_verify_bad_site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(tmp_path / "missing.yaml"), "--hosts", "n1"]) == 2
    assert "missing.yaml" in capsys.readouterr().err


def test_verify_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", PILOT, "--hosts", "a", "--inventory", "b"]) == 2
    assert main(["verify", PILOT]) == 2
    assert "one of the arguments --hosts --inventory is required" in capsys.readouterr().err


def test_unreachable_node_is_reported_not_raised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "ssh_config"
    config.write_text(f"Host pilot-gpu-001\n  HostName 127.0.0.1\n  Port {free_port()}\n  User root\n")
    out = tmp_path / "result.json"
    code = main(["verify", PILOT, "--hosts", "pilot-gpu-001", "--ssh-config", str(config), "-o", str(out)])
    assert code == 1
    printed = capsys.readouterr().out
    assert "pool h100-train: 1 node verified, 0 passed, 0 failed, 1 could not be checked" in printed
    node = json.loads(out.read_text(encoding="utf-8"))["nodes"][0]
    assert node["status"] == "error"
    first, *rest = node["checks"]
    assert first["name"] == "node.reachable" and first["message"].startswith("cannot reach the node:")
    assert {c["status"] for c in rest} == {"skip"}, "nothing else runs on a node that cannot be reached"


def test_hosts_of_another_site_are_summarised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hosts = ",".join(f"gf-b200-{i:05d}" for i in range(1, 31))
    assert main(["verify", PILOT, "--hosts", hosts, "-o", str(tmp_path / "r.json")]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 21 and lines[-1] == "... and 10 more hosts not in the site"
    assert lines[0].startswith("gf-b200-00001: not a node of site eu-pilot")
