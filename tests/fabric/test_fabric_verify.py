"""`gigafactory fabric verify`: a discovery in ibnetdiscover's format against the plan.

The discoveries here are the plan's own cabling file with faults injected (``Rewired``): the same
format ibnetdiscover prints. ``test_fabric_asbuilt_ibsim.py`` runs the real ibnetdiscover on ibsim.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fabric_sites import PILOT, pool, write_site
from ibsim_harness import Rewired

from infra.cli import main
from infra.config.loader import load_site
from infra.plan.fabric import End, FabricPlan, plan_fabric
from infra.plan.fabric.asbuilt import compare, identify
from infra.plan.fabric.discovery import parse_discovery
from infra.plan.fabric.labels import cable_label, link_at
from infra.plan.fabric.netfile import Cabling, net_chunks


def discovery_text(cabling: Cabling, speed: str = "4xNDR") -> str:
    return "".join(net_chunks(cabling, speed))


def findings(plan: FabricPlan, cabling: Cabling, **options: bool) -> list[tuple[str, tuple[str, ...]]]:
    discovery = parse_discovery(discovery_text(cabling).splitlines())
    result = compare(plan, discovery, identify(plan, discovery), **options)
    return [(finding.kind, finding.labels) for finding in result.findings]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FabricPlan]:
    """Two pools, 28 of 32 leaf ports used (free ports to move a cable to), 2 tiers."""
    site = write_site(tmp_path_factory.mktemp("site"), [pool("h100", 28), pool("b200", 60, model="B200")])
    return site, plan_fabric(load_site(site))


def label(plan: FabricPlan, end: End) -> str:
    link = link_at(plan, end)
    assert link is not None
    return cable_label(plan, link)


def test_labels_are_unique_and_follow_the_link_order(small: tuple[Path, FabricPlan]) -> None:
    _, plan = small
    labels = [cable_label(plan, link) for link in plan.links()]
    assert len(set(labels)) == len(labels) == plan.cables.total
    assert labels[0] == "NL-000001" and labels[plan.cables.node_leaf] == "LS-000001"
    for link in plan.links():
        assert link_at(plan, link.upper) == link and link_at(plan, link.lower) == link


def test_the_plan_itself_matches(small: tuple[Path, FabricPlan]) -> None:
    _, plan = small
    assert findings(plan, plan) == []


def test_each_injected_fault_is_one_finding(small: tuple[Path, FabricPlan]) -> None:
    _, plan = small
    a, b = End(plan.hca("h100", 0, 0), 1), End(plan.hca("h100", 3, 0), 1)
    leaf_a, leaf_b = plan.hca_port("h100", 0, 0), plan.hca_port("h100", 3, 0)
    uplinked = plan.leaves[2]
    up0, up1 = plan.uplink(uplinked, 0), plan.uplink(uplinked, 1)
    unplugged = End(plan.hca("h100", 7, 5), 1)
    h100_leaf = plan.hca_port("h100", 9, 1)
    wrong_port = End(plan.hca("h100", 9, 1), 1)
    rewired = Rewired(
        plan,
        [
            (a, leaf_b),
            (b, leaf_a),
            (End(uplinked, 33), up1),
            (End(uplinked, 34), up0),
            (wrong_port, End(h100_leaf.device, 30)),
        ],
    )
    rewired.changes[(unplugged.device, 1)] = None
    leaf_of_unplugged = plan.hca_port("h100", 7, 5)
    rewired.changes[(leaf_of_unplugged.device, leaf_of_unplugged.port)] = None
    got = findings(plan, rewired)
    assert sorted(got) == sorted(
        [
            ("swapped pair (crossed at h100-su000-leaf-r0)", tuple(sorted((label(plan, a), label(plan, b))))),
            (
                f"swapped pair (crossed at {uplinked.name})",
                tuple(sorted((label(plan, End(uplinked, 33)), label(plan, End(uplinked, 34))))),
            ),
            ("wrong port", (label(plan, wrong_port),)),
            ("missing", (label(plan, unplugged),)),
        ]
    )


def test_wrong_leaf_extra_and_degraded(small: tuple[Path, FabricPlan]) -> None:
    _, plan = small
    hca = End(plan.hca("h100", 2, 4), 1)
    other_leaf = plan.hca_port("h100", 2, 5).device
    extra = (End(plan.leaves[0], 29), End(plan.leaves[1], 29))
    rewired = Rewired(plan, [(hca, End(other_leaf, 31)), extra])
    assert sorted(findings(plan, rewired)) == [("extra", ()), ("wrong leaf", (label(plan, hca),))]
    # ibsim-style speeds: every link SDR. Flagged, unless the speed check is off.
    text = discovery_text(plan, "4xSDR")
    discovery = parse_discovery(text.splitlines())
    slow = compare(plan, discovery, identify(plan, discovery))
    assert {f.kind for f in slow.findings} == {"below planned speed"} and len(slow.findings) == plan.cables.total
    assert compare(plan, discovery, identify(plan, discovery), check_speed=False).findings == []
    narrow = parse_discovery(discovery_text(plan, "1xNDR").splitlines())
    assert {f.kind for f in compare(plan, narrow, identify(plan, narrow), check_speed=False).findings} == {
        "below planned width"
    }


def test_vendor_named_switches_are_identified_through_their_hcas(small: tuple[Path, FabricPlan]) -> None:
    _, plan = small
    text = discovery_text(plan)
    renamed = text
    for number, switch in enumerate(plan.switches()):
        renamed = renamed.replace(f'"{switch.name}"', f'"MF0;quantum2-{number:04d}:MQM9700/U1"')
    discovery = parse_discovery(renamed.splitlines())
    identity = identify(plan, discovery)
    assert len(identity) == len(discovery.nodes)
    assert {identity[s.nodeid] for s in plan.switches()} == {s.name for s in plan.switches()}
    assert compare(plan, discovery, identity).findings == []


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["fabric", "verify", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_command_exit_codes_json_and_guid_map(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = plan_fabric(load_site(PILOT))
    good = tmp_path / "good.net"
    good.write_text(discovery_text(plan))
    guids = tmp_path / "guids.json"
    code, out, err = run(capsys, str(PILOT), "--discovered", str(good), "--write-guids", str(guids))
    assert code == 0, err
    assert out.splitlines()[-1].endswith("2,048 links found, 2,048 planned; cabled as planned")
    learned = json.loads(guids.read_text())
    hca = plan.hca("h100-train", 0, 0)
    assert learned["pilot-gpu-001 mlx5_0"] == {
        "kind": "hca",
        "node_description": "pilot-gpu-001 mlx5_0",
        "node_guid": f"0x{hca.guid:016x}",
        "port_guid": f"0x{hca.port_guid:016x}",
    }
    assert len(learned) == plan.endpoints + plan.switches_total
    unplugged = End(plan.hca("h100-train", 1, 1), 1)
    leaf = plan.hca_port("h100-train", 1, 1)
    rewired = Rewired(plan, [])
    rewired.changes[(unplugged.device, 1)] = None
    rewired.changes[(leaf.device, leaf.port)] = None
    bad = tmp_path / "bad.net"
    bad.write_text(discovery_text(rewired))
    code, out, _ = run(capsys, str(PILOT), "--discovered", str(bad), "--format", "json")
    report = json.loads(out)
    assert code == 1 and report["matches"] is False and len(report["findings"]) == 1
    assert report["findings"][0]["labels"] == [label(plan, unplugged)]
    # Each end with its rack and U: the node in the first GPU rack, its leaf in the SU's network rack.
    line = report["findings"][0]["line"]
    assert "pilot-gpu-002 mlx5_3 port 1 (r000-00 U9) <-> h100-train-su000-leaf-r1 port 2 (r000-08 U2)" in line
    not_discovery = tmp_path / "bom.csv"
    not_discovery.write_text("category,item\n")
    code, _, err = run(capsys, str(PILOT), "--discovered", str(not_discovery))
    assert code == 2 and f"{not_discovery}:1: not an ibnetdiscover line" in err
    code, _, err = run(capsys, str(PILOT), "--discovered", str(tmp_path / "absent.net"))
    assert code == 2 and err == f"{tmp_path / 'absent.net'}: file not found\n"


def test_guid_names_file_names_renamed_switches(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = write_site(tmp_path, [pool("h100", 32)])
    plan = plan_fabric(load_site(site))
    text = discovery_text(plan)
    # Cross two leaves' names: by name they would be wrong; the GUID map names them right.
    a, b = plan.leaves[0].name, plan.leaves[1].name
    text = text.replace(f'"{a}"', '"@A@"').replace(f'"{b}"', f'"{a}"').replace('"@A@"', f'"{b}"')
    found = tmp_path / "found.net"
    found.write_text(text)
    assert run(capsys, str(site), "--discovered", str(found))[0] == 1
    names = tmp_path / "names.map"
    names.write_text(f'# node-name-map\n0x{plan.leaves[0].guid:016x} "{a}"\n0x{plan.leaves[1].guid:016x} "{b}"\n')
    code, out, err = run(capsys, str(site), "--discovered", str(found), "--guid-names", str(names))
    assert code == 0, out + err
    names.write_text("nonsense\n")
    code, _, err = run(capsys, str(site), "--discovered", str(found), "--guid-names", str(names))
    assert code == 2 and f"{names}:1: not a node-name-map line" in err
