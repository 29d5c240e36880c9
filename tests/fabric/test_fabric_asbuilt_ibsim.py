"""Proof with the real tools: ibsim serves the fabric as cabled, the real ``ibnetdiscover`` reads it.

The planned fabric, and variants with faults injected into the cabling file ibsim loads (two
cables swapped, one unplugged, one moved to a free port, one leaf's uplinks crossed, switches
that report vendor names), are discovered by infiniband-diags' ``ibnetdiscover`` through
umad2sim; ``gigafactory fabric verify`` must report exactly the injected faults and nothing else.
ibsim 0.10 reports links faster than EDR as SDR, so the speed check is off (``--no-speed-check``);
width and cabling are still checked.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from fabric_sites import pool, write_site
from ibsim_harness import Rewired, SimLimits, missing_tools, simulator

from infra.cli import main
from infra.config.loader import load_site
from infra.plan.fabric import End, FabricPlan, plan_fabric
from infra.plan.fabric.labels import cable_label, link_at
from infra.plan.fabric.netfile import Cabling, net_chunks

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(missing_tools()) or shutil.which("ibnetdiscover") is None,
        reason="needs ibsim, ibnetdiscover and libumad2sim (tests/run.sh installs them)",
    ),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FabricPlan]:
    """60 DGX H100 in two SUs (the second with 28 nodes, so its leaves have free ports): 16 leaves, 8 spines."""
    path = write_site(tmp_path_factory.mktemp("site"), [pool("h100", 60)])
    return path, plan_fabric(load_site(path))


def label(plan: FabricPlan, end: End) -> str:
    link = link_at(plan, end)
    assert link is not None
    return cable_label(plan, link)


def discover(tmp_path: Path, plan: FabricPlan, cabling: Cabling, rename: Callable[[str], str] | None = None) -> Path:
    """Load ``cabling`` into ibsim and return the file the real ibnetdiscover wrote."""
    text = "".join(net_chunks(cabling, "4xNDR"))
    if rename is not None:
        text = rename(text)
    net = tmp_path / "cabled.net"
    net.write_text(text)
    host = plan.hca(plan.layouts[0].pool.name, 0, 0).nodeid
    with simulator(net, host, SimLimits.of(plan)) as sim:
        done = sim.run(["ibnetdiscover"], timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    found = tmp_path / "discovered.net"
    found.write_text(done.stdout)
    return found


def verify(capsys: pytest.CaptureFixture[str], site: Path, found: Path) -> tuple[int, list[tuple[str, list[str]]]]:
    code = main(["fabric", "verify", str(site), "--discovered", str(found), "--no-speed-check", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return code, sorted((f["kind"], f["labels"]) for f in report["findings"])


def test_the_planned_fabric_matches(
    tmp_path: Path, site: tuple[Path, FabricPlan], capsys: pytest.CaptureFixture[str]
) -> None:
    path, plan = site
    found = discover(tmp_path, plan, plan)
    assert found.read_text().count("\nCa\t") == plan.endpoints
    assert verify(capsys, path, found) == (0, [])
    # Without --no-speed-check ibsim's SDR links are all below NDR: the check is real.
    assert main(["fabric", "verify", str(path), "--discovered", str(found)]) == 1
    assert capsys.readouterr().out.count("below planned speed") == plan.cables.total


def test_two_cables_swapped(tmp_path: Path, site: tuple[Path, FabricPlan], capsys: pytest.CaptureFixture[str]) -> None:
    path, plan = site
    a, b = End(plan.hca("h100", 3, 2), 1), End(plan.hca("h100", 40, 6), 1)
    rewired = Rewired(plan, [(a, plan.hca_port("h100", 40, 6)), (b, plan.hca_port("h100", 3, 2))])
    code, findings = verify(capsys, path, discover(tmp_path, plan, rewired))
    assert (code, findings) == (1, [("swapped pair", sorted([label(plan, a), label(plan, b)]))])


def test_one_cable_unplugged(tmp_path: Path, site: tuple[Path, FabricPlan], capsys: pytest.CaptureFixture[str]) -> None:
    path, plan = site
    leaf = plan.leaves[5]
    uplink = End(leaf, plan.shape.leaf_down_ports + 4)
    rewired = Rewired(plan, [])
    spine = plan.peer(leaf, uplink.port)
    assert spine is not None
    rewired.changes[(leaf, uplink.port)] = None
    rewired.changes[(spine.device, spine.port)] = None
    code, findings = verify(capsys, path, discover(tmp_path, plan, rewired))
    assert (code, findings) == (1, [("missing", [label(plan, uplink)])])


def test_one_cable_in_the_wrong_port(
    tmp_path: Path, site: tuple[Path, FabricPlan], capsys: pytest.CaptureFixture[str]
) -> None:
    path, plan = site
    hca = End(plan.hca("h100", 45, 1), 1)  # second SU: leaf ports 29..32 are free
    leaf = plan.hca_port("h100", 45, 1).device
    code, findings = verify(capsys, path, discover(tmp_path, plan, Rewired(plan, [(hca, End(leaf, 31))])))
    assert (code, findings) == (1, [("wrong port", [label(plan, hca)])])


def test_one_leafs_uplinks_crossed(
    tmp_path: Path, site: tuple[Path, FabricPlan], capsys: pytest.CaptureFixture[str]
) -> None:
    path, plan = site
    leaf = plan.leaves[9]
    first, second = plan.shape.leaf_down_ports + 1, plan.shape.leaf_down_ports + 2
    rewired = Rewired(plan, [(End(leaf, first), plan.uplink(leaf, 1)), (End(leaf, second), plan.uplink(leaf, 0))])
    code, findings = verify(capsys, path, discover(tmp_path, plan, rewired))
    expected = sorted([label(plan, End(leaf, first)), label(plan, End(leaf, second))])
    assert (code, findings) == (1, [(f"swapped pair (crossed at {leaf.name})", expected)])


def test_vendor_named_switches_with_a_cable_on_the_wrong_leaf(
    tmp_path: Path, site: tuple[Path, FabricPlan], capsys: pytest.CaptureFixture[str]
) -> None:
    """Real switches report their vendor's description: they are found through their HCAs and leaves."""
    path, plan = site
    hca = End(plan.hca("h100", 50, 0), 1)
    other_leaf = plan.hca_port("h100", 50, 1).device
    rewired = Rewired(plan, [(hca, End(other_leaf, 30))])

    def rename(text: str) -> str:
        for number, switch in enumerate(plan.switches()):
            text = text.replace(f'"{switch.name}"', f'"MF0;qm9700-{number:03d}:MQM9700/U1"')
        return text

    code, findings = verify(capsys, path, discover(tmp_path, plan, rewired, rename))
    assert (code, findings) == (1, [("wrong leaf", [label(plan, hca)])])


def test_one_link_below_planned_width(
    tmp_path: Path, site: tuple[Path, FabricPlan], capsys: pytest.CaptureFixture[str]
) -> None:
    """ibsim honours the width (and EDR or slower speeds) written in the topology: a 1x link is degraded."""
    path, plan = site
    hca = plan.hca("h100", 12, 3)
    leaf = plan.hca_port("h100", 12, 3)

    def narrow(text: str) -> str:
        lines = text.split("\n")
        for n, line in enumerate(lines):
            if line.startswith(f'[{leaf.port}]\t"{hca.nodeid}"') or line.startswith(f"[1]({hca.port_guid:x})"):
                lines[n] = line.replace("4xNDR", "1xEDR")
        return "\n".join(lines)

    code, findings = verify(capsys, path, discover(tmp_path, plan, plan, narrow))
    assert (code, findings) == (1, [("below planned width", [label(plan, End(hca, 1))])])
