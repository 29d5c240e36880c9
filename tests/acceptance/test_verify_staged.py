"""``gigafactory verify`` over real SSH against staged nodes: the healthy ones pass, the faulty one
reports exactly its injected faults (a port down, a wrong driver, a missing mount, a missing GPU).

These run the command itself (``infra.cli.main``), the code path used against real nodes; only the
nodes are staged (chroots behind real sshd, see staged_site.py).
"""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from staged_site import CLINICAL, FAULTY, HEALTHY, PILOT, StagedSite, run_staged_site, why_not_staged
from staged_sshd import keygen

from infra.cli import main

pytestmark = pytest.mark.slow


# Here rather than in a conftest.py: several test folders import helpers `from conftest`, and a
# second conftest module would shadow theirs depending on collection order.
@pytest.fixture(scope="module")
def staged_site() -> Iterator[StagedSite]:
    """Three staged nodes of the pilot site, each served by its own sshd on 127.0.0.1."""
    reason = why_not_staged()
    if reason is not None:
        pytest.skip(reason)
    with run_staged_site() as site:
        yield site


# The injected faults and how each must read: check name -> start of its message.
INJECTED = {
    "gpu.count": "nvidia-smi -L lists 7 GPUs, expected 8 NVIDIA H100 80GB HBM3 (gpu_model H100-SXM-80GB, "
    "pool h100-train)",
    "gpu.driver_version": "NVIDIA driver 580.126.20 is loaded, expected 595.91.07 "
    "(operators.gpu_operator.driver_version)",
    "hca.mlx5_5.port": "mlx5_5 port 1 is DOWN, expected ACTIVE at 400 Gb/s (pool h100-train, rail 3); "
    "physical state 3: Disabled",
    "mount./lustre/shared": "/lustre/shared is not mounted, expected lustre (storage lustre-shared, "
    "10.101.1.10@o2ib:/exafs, for tenants nordic-llm-lab, fjord-ai)",
}


def _by_status(node: dict[str, Any], status: str) -> dict[str, str]:
    return {c["name"]: c["message"] for c in node["checks"] if c["status"] == status}


def test_verify_passes_healthy_and_names_every_injected_fault(
    staged_site: StagedSite, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "result.json"
    argv = ["verify", str(PILOT), "--hosts", f"{FAULTY},{HEALTHY},{CLINICAL}", "--ssh-config",
            str(staged_site.ssh_config), "--workers", "3", "--label-script", str(tmp_path / "label.sh"),
            "-o", str(out)]  # fmt: skip
    assert main(argv) == 1, "a failing node makes verify exit 1"
    document = json.loads(out.read_text(encoding="utf-8"))
    nodes = {n["node"]: n for n in document["nodes"]}
    assert list(nodes) == [HEALTHY, FAULTY, CLINICAL], "results come in site order, not command-line order"

    for name in (HEALTHY, CLINICAL):
        assert nodes[name]["status"] == "pass", f"{name}: {_by_status(nodes[name], 'fail')}"
        assert {c["status"] for c in nodes[name]["checks"]} == {"pass"}, f"{name}: every check runs and passes"
    assert len(nodes[HEALTHY]["checks"]) == 54, "9 node/GPU + 8 HCAs x 5 + mount + 2 services + memlock + sysctl"

    faulty = nodes[FAULTY]
    failures = _by_status(faulty, "fail")
    assert set(failures) == set(INJECTED), f"{FAULTY} must fail exactly the injected faults"
    for check, start in INJECTED.items():
        assert failures[check].startswith(start), f"{FAULTY} {check}: {failures[check]}"
    assert _by_status(faulty, "skip") == {"hca.mlx5_5.pkeys": "skipped: hca.mlx5_5.port did not pass"}
    assert _by_status(faulty, "error") == {}
    observed = {c["name"]: c["observed"] for c in faulty["checks"]}
    assert observed["gpu.count"] == "7 GPUs" and observed["gpu.driver_version"] == "580.126.20"
    assert observed["hca.mlx5_5.port"] == "1: DOWN; 3: Disabled; 10 Gb/sec (4X SDR)"

    assert document["summary"] == [
        {"pool": "h100-train", "nodes": 2, "passed": 1, "failed": 1, "errors": 0},
        {"pool": "h100-clinical", "nodes": 1, "passed": 1, "failed": 0, "errors": 0},
    ]
    printed = capsys.readouterr().out
    for start in INJECTED.values():
        assert f"  {FAULTY}: {start}" in printed, "each fault is printed as one line naming the node"
    assert "pool h100-train: 2 nodes verified, 1 passed, 1 failed, 0 could not be checked" in printed
    assert "kubectl " not in printed, "the label commands are not mixed into the report"
    groups = printed.split("problems by check (4):\n", 1)[1].splitlines()
    assert f"  mlx5_5 port 1 is DOWN, expected ACTIVE at 400 Gb/s: 1 node: {FAULTY}" in groups
    assert f"label commands for 1 node: {tmp_path / 'label.sh'} (review, then run it)" in printed
    script = (tmp_path / "label.sh").read_text(encoding="utf-8")
    assert subprocess.run(["sh", "-n", str(tmp_path / "label.sh")], check=False).returncode == 0
    labels = [line for line in script.splitlines() if line.startswith("kubectl ")]
    assert labels == [
        f"kubectl --context eu-pilot-admin label node {FAULTY} gigafactory.eu/acceptance=failed --overwrite",
        f"kubectl --context eu-pilot-admin taint node {FAULTY} gigafactory.eu/acceptance=failed:NoSchedule --overwrite",
        f"kubectl --context eu-pilot-admin annotate node {FAULTY} gigafactory.eu/acceptance-failures="
        "gpu.count,gpu.driver_version,hca.mlx5_5.port,mount./lustre/shared --overwrite",
    ], "label advice names only the failing node"


def test_healthy_nodes_exit_0_with_junit(staged_site: StagedSite, tmp_path: Path) -> None:
    out = tmp_path / "result.xml"
    argv = ["verify", str(PILOT), "--hosts", f"{HEALTHY},{CLINICAL}", "--ssh-config", str(staged_site.ssh_config),
            "--format", "junit", "-o", str(out), "--label-script", str(tmp_path / "label.sh")]  # fmt: skip
    assert main(argv) == 0
    root = ET.fromstring(out.read_text(encoding="utf-8"))
    assert (root.get("failures"), root.get("errors"), root.get("skipped")) == ("0", "0", "0")
    assert [s.get("name") for s in root.findall("testsuite")] == [HEALTHY, CLINICAL]
    assert int(root.get("tests") or 0) == 54 + 53, "h100-clinical declares no sysctl"
    script = (tmp_path / "label.sh").read_text(encoding="utf-8").splitlines()
    assert not [line for line in script if line.startswith("kubectl")], "every node passed: nothing to run"


def test_inventory_and_openssh_backend(staged_site: StagedSite, tmp_path: Path) -> None:
    """Reach the nodes the way an Ansible inventory says (ansible_host/port/user) with OpenSSH, which
    checks their host keys against known_hosts."""
    inventory = tmp_path / "inventory.yaml"
    lines = ["all:", "  vars: {ansible_user: root, ansible_host: 127.0.0.1}", "  children:"]
    for group, names in (("pool_h100_train", (HEALTHY, FAULTY)), ("pool_h100_clinical", (CLINICAL,))):
        lines += [f"    {group}:", "      hosts:"]
        lines += [f"        {n}: {{ansible_port: {staged_site.servers[n].port}}}" for n in names]
    inventory.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = tmp_path / "ssh_config"
    config.write_text(
        f"Host 127.0.0.1\n  IdentityFile {staged_site.identity}\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {staged_site.workdir / 'known_hosts'}\n  GlobalKnownHostsFile /dev/null\n"
        "  StrictHostKeyChecking yes\n  BatchMode yes\n",
        encoding="utf-8",
    )
    out = tmp_path / "result.json"
    argv = ["verify", str(PILOT), "--inventory", str(inventory), "--limit", "pool_h100_train", "--ssh-config",
            str(config), "--connect", "ssh://{target}", "-o", str(out)]  # fmt: skip
    assert main(argv) == 1
    nodes = {n["node"]: n for n in json.loads(out.read_text(encoding="utf-8"))["nodes"]}
    assert list(nodes) == [HEALTHY, FAULTY], "--limit keeps the training pool only"
    assert nodes[HEALTHY]["status"] == "pass", _by_status(nodes[HEALTHY], "fail")
    assert set(_by_status(nodes[FAULTY], "fail")) == set(INJECTED)


def test_wrong_host_key_is_refused_by_openssh(staged_site: StagedSite, tmp_path: Path) -> None:
    """With OpenSSH, a node whose host key is not the recorded one is not checked at all."""
    known_hosts = tmp_path / "known_hosts"
    healthy, faulty = staged_site.servers[HEALTHY], staged_site.servers[FAULTY]
    known_hosts.write_text(f"[127.0.0.1]:{healthy.port} {faulty.host_key}\n", encoding="utf-8")
    config = tmp_path / "ssh_config"
    config.write_text(healthy.ssh_config(staged_site.identity, known_hosts), encoding="utf-8")
    out = tmp_path / "result.json"
    argv = ["verify", str(PILOT), "--hosts", HEALTHY, "--ssh-config", str(config), "--connect", "ssh://{target}",
            "-o", str(out)]  # fmt: skip
    assert main(argv) == 1
    node = json.loads(out.read_text(encoding="utf-8"))["nodes"][0]
    assert node["status"] == "error"
    message = node["checks"][0]["message"]
    assert message.startswith("cannot reach the node: host key not accepted ("), message
    assert " at 0x" not in message


@pytest.mark.parametrize("connect", ["ssh://{target}", "paramiko://{target}"])
def test_refused_key_reads_as_authentication(staged_site: StagedSite, tmp_path: Path, connect: str) -> None:
    """A node that does not accept the key says authentication, in words, with either client."""
    stranger = tmp_path / "stranger"
    keygen(stranger)
    healthy = staged_site.servers[HEALTHY]
    config = tmp_path / "ssh_config"
    config.write_text(healthy.ssh_config(stranger, staged_site.workdir / "known_hosts"), encoding="utf-8")
    out = tmp_path / "result.json"
    argv = ["verify", str(PILOT), "--hosts", HEALTHY, "--ssh-config", str(config), "--connect", connect,
            "-o", str(out)]  # fmt: skip
    assert main(argv) == 1
    message = json.loads(out.read_text(encoding="utf-8"))["nodes"][0]["checks"][0]["message"]
    assert message.startswith("cannot reach the node: authentication failed ("), message
