"""What `gigafactory fabric` writes: ibnetdiscover cabling plan, OpenSM files, BOM, summary."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fabric_sites import GIGAFACTORY, PILOT, SiteFactory, pool, tenant

from infra.acceptance.expectations import site_expectations
from infra.atomic_write import manifest_name
from infra.cli import main
from infra.config.loader import load_site
from infra.config.model import SiteConfig
from infra.plan.fabric import FabricPlan, plan_fabric
from infra.plan.fabric.artifacts import FABRIC_FILES, fabric_artifacts

HEADER = re.compile(r'^(Switch|Ca)\t(\d+) "([SH]-[0-9a-f]{16})"\t\t# "([^"]*)"')
PORT = re.compile(r'^\[(\d+)\](?:\(([0-9a-f]+)\))?\s*\t"([SH]-[0-9a-f]{16})"\[(\d+)\]')


def parse_net(text: str) -> tuple[dict[str, tuple[str, int, str]], dict[tuple[str, int], tuple[str, int]]]:
    """Nodes (id -> kind, ports, description) and cabling ((id, port) -> (peer id, peer port))."""
    nodes: dict[str, tuple[str, int, str]] = {}
    cabling: dict[tuple[str, int], tuple[str, int]] = {}
    current = ""
    guid_line = ""
    for line in text.splitlines():
        if line.startswith(("switchguid=", "caguid=")):
            guid_line = line
        elif header := HEADER.match(line):
            kind, ports, current, description = header.groups()
            assert guid_line.split("=")[1].startswith(f"0x{current[2:]}"), f"{current}: GUID line {guid_line}"
            assert current not in nodes, f"{current} listed twice"
            nodes[current] = (kind, int(ports), description)
        elif port := PORT.match(line):
            local, _, peer, peer_port = port.groups()
            assert (current, int(local)) not in cabling, f"{current} port {local} listed twice"
            cabling[(current, int(local))] = (peer, int(peer_port))
            assert line.endswith(" lid 0 4xNDR"), line
    return nodes, cabling


def write(config_path: Path, out: Path) -> dict[str, bytes]:
    assert main(["fabric", str(config_path), "-o", str(out)]) == 0
    return {name: (out / name).read_bytes() for name in sorted(p.name for p in out.iterdir())}


def test_outputs_are_deterministic(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from fabric_sites import PILOT

    first = write(PILOT, tmp_path / "a")
    second = write(PILOT, tmp_path / "b")
    assert sorted(first) == sorted([*FABRIC_FILES, manifest_name("fabric")])
    assert first == second, "two runs, different bytes"
    capsys.readouterr()


def test_net_file_lists_every_link_from_both_ends(pilot: SiteConfig) -> None:
    plan = plan_fabric(pilot)
    text = "".join(fabric_artifacts(pilot, plan)["fabric.net"])
    nodes, cabling = parse_net(text)
    assert sum(kind == "Switch" for kind, _, _ in nodes.values()) == plan.switches_total
    assert sum(kind == "Ca" for kind, _, _ in nodes.values()) == plan.endpoints
    assert len(cabling) == 2 * plan.cables.total
    for (node, port), (peer, peer_port) in cabling.items():
        assert cabling[(peer, peer_port)] == (node, port), f"{node}[{port}] -> {peer}[{peer_port}] not listed back"
        assert port <= nodes[node][1], f"{node}: port {port} beyond its {nodes[node][1]}"
    hca = plan.hca("h100-clinical", 3, 6)
    leaf = plan.hca_port("h100-clinical", 3, 6)
    assert nodes[hca.nodeid] == ("Ca", 1, "pilot-clin-004 mlx5_10")
    assert cabling[(hca.nodeid, 1)] == (leaf.device.nodeid, leaf.port)
    assert nodes[plan.spines[0].nodeid] == ("Switch", 64, "spine-000")
    assert all(len(line) < 256 for line in text.splitlines()), "ibsim reads lines of at most 255 characters"


def test_partitions_conf(make_site: SiteFactory) -> None:
    config = make_site(
        [pool("h100", 32)],
        ipoib_mtu=2048,
        tenants=[tenant("lab", 0x8101), tenant("guests", 0x0102, kind="startup")],
    )
    text = str(fabric_artifacts(config, plan_fabric(config))["partitions.conf"])
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert lines == [
        "Default=0x7fff,ipoib,mtu=4 : ALL=full ;",
        "lab=0x8101,ipoib,rate=21,mtu=4,defmember=full : ;",
        "guests=0x0102,ipoib,rate=21,mtu=4,defmember=limited : ;",
    ]


def test_partitions_conf_xdr_rate_and_regulated_note() -> None:
    config = load_site(GIGAFACTORY)
    text = str(fabric_artifacts(config, plan_fabric(config))["partitions.conf"])
    assert "rhine-university-hospital=0x800b,ipoib,rate=23,mtu=5,defmember=full : ;" in text
    assert "# tenant rhine-university-hospital (regulated): its own partition" in text
    assert text.count(",ipoib,rate=23,mtu=5,") == len(config.tenants)


# IBTA MTU codes (opensm(8): "mtu=4 for 2048"), written out here rather than taken from the code.
IBTA_MTU = {1: 256, 2: 512, 3: 1024, 4: 2048, 5: 4096}


@pytest.mark.parametrize("site", [PILOT, GIGAFACTORY], ids=lambda p: p.stem)
def test_every_ipoib_group_has_the_mtu_node_acceptance_expects(site: Path) -> None:
    """The default partition too: its broadcast group sets the MTU of each HCA's base IPoIB interface,
    which `gigafactory verify` checks against fabrics.compute.ipoib_mtu less the 4-byte IPoIB header."""
    config = load_site(site)
    text = str(fabric_artifacts(config, plan_fabric(config))["partitions.conf"])
    definitions = [line.split(":")[0] for line in text.splitlines() if line and not line.startswith("#")]
    assert definitions[0].startswith("Default=0x7fff,"), definitions[0]
    expected = {e.ipoib_netdev_mtu for e in site_expectations(config).values()}
    for definition in definitions:
        flags = dict(flag.partition("=")[::2] for flag in definition.split(",")[1:])
        assert "ipoib" in flags and "mtu" in flags, f"{site.name}: {definition} sets no IPoIB MTU (OpenSM: 2048)"
        assert {IBTA_MTU[int(flags["mtu"])] - 4} == expected, f"{site.name}: {definition} vs IPoIB MTU {expected}"


def opensm_files(config: SiteConfig) -> tuple[FabricPlan, str, str]:
    plan = plan_fabric(config)
    files = fabric_artifacts(config, plan)
    return plan, str(files["opensm.conf"]), str(files["root-guids.conf"])


def test_opensm_conf_pure_tree_lets_ftree_find_its_roots(pilot: SiteConfig) -> None:
    plan, conf, roots = opensm_files(pilot)
    settings = [line for line in conf.splitlines() if line and not line.startswith("#")]
    assert settings == ["routing_engine ftree", "partition_config_file /etc/opensm/partitions.conf"]
    assert roots.splitlines() == [f"0x{spine.guid:016x}" for spine in plan.spines]


def test_opensm_conf_names_the_core_as_roots_when_pods_are_partial() -> None:
    plan, conf, roots = opensm_files(load_site(GIGAFACTORY))
    assert "root_guid_file /etc/opensm/root-guids.conf" in conf.splitlines()
    assert roots.splitlines() == [f"0x{core.guid:016x}" for core in plan.cores]
    assert len(roots.splitlines()) == 864


def test_summary(pilot: SiteConfig) -> None:
    summary = str(fabric_artifacts(pilot, plan_fabric(pilot))["summary.txt"])
    assert summary.splitlines() == [
        "compute fabric of eu-pilot: rail-optimized fat tree, 2 tiers",
        "switch: QM9700, 64 ports of NDR 400 Gb/s",
        "endpoints: 1,024 HCA ports on 128 nodes, 8 rails",
        "scalable units: 4 (h100-train 3 x 32, 8 rails; h100-clinical 1 x 32, 8 rails)",
        "leaf: 32 switches, 32 node ports + 32 uplinks each (oversubscription 1:1, configured 1)",
        "spine: 16 switches, every leaf to every spine with 2 links",
        "core: none (two tiers reach every endpoint)",
        "switches: 48",
        "cables: node-leaf 1,024, leaf-spine 1,024; total 2,048",
        "floor: 37 racks in 2 rows of up to 20 (32 GPU, 5 network), 48U, limit 60 kW per rack",
        "  gpu h100-clinical: 8 racks at 40.8 kW",
        "  gpu h100-train: 24 racks at 40.8 kW",
        "  network leaves: 4 racks at 13.8 kW",
        "  network spines: 1 rack at 27.5 kW",
        "  highest: 40.8 kW in r000-00 (h100-train SU 0)",
    ]
