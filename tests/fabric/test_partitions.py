"""Partition membership: one model, written for OpenSM (partitions.conf) and UFM (REST calls), saying the same.

The InfiniBand rule checked here: two ports communicate when they share a partition and at least
one of them is a full member.
"""

from __future__ import annotations

import json
import re
from itertools import combinations

import pytest
from fabric_sites import GIGAFACTORY, PILOT

from infra.config.loader import load_site
from infra.plan.fabric import plan_fabric
from infra.plan.fabric.artifacts import UFM_FILE, fabric_artifacts
from infra.plan.fabric.partitions import (
    ALL,
    ALL_CAS,
    GuidMapError,
    PartitionPlan,
    plan_partitions,
    read_guid_map,
    ufm_partitions,
)

Membership = dict[int, dict[str, str]]  # 15-bit pkey -> port GUID (hex, no 0x) -> full|limited


def conf_membership(text: str, ports: list[str]) -> Membership:
    """Compute ports' memberships as partitions.conf states them (ALL and ALL_CAS expanded)."""
    found: Membership = {}
    body = re.sub(r"#[^\n]*", "", text)
    for definition in body.split(";"):
        if ":" not in definition:
            continue
        head, members = definition.split(":", 1)
        pkey = int(head.split(",")[0].split("=")[1], 16) & 0x7FFF
        table = found.setdefault(pkey, {})
        for item in filter(None, (m.strip() for m in members.split(","))):
            who, _, membership = item.partition("=")
            for guid in ports if who in (ALL, ALL_CAS) else [who[2:]] if who.startswith("0x") else []:
                table[guid] = membership
    return found


def ufm_membership(calls: dict[str, object], ports: list[str]) -> Membership:
    """The same, as the UFM calls leave it (UFM starts with every port a full member of 0x7fff)."""
    found: Membership = {0x7FFF: dict.fromkeys(ports, "full")}
    for call in calls["calls"]:  # type: ignore[attr-defined]
        body = call["body"]
        table = found.setdefault(int(body["pkey"], 16), {})
        for guid in body.get("guids", []):
            table[guid] = body["membership"]
    return found


def talk(membership: Membership, a: str, b: str) -> bool:
    """Whether ports ``a`` and ``b`` share a partition in which one of them is a full member."""
    return any(a in table and b in table and "full" in (table[a], table[b]) for table in membership.values())


def pilot_model(with_guids: bool) -> tuple[PartitionPlan, list[str], set[str]]:
    config = load_site(PILOT)
    plan = plan_fabric(config)
    guids = {h.name: h.port_guid for h in plan.hcas()} if with_guids else None
    model = plan_partitions(config, plan, guids)
    ports = [f"{h.port_guid:016x}" for h in plan.hcas()]
    hospital = {f"{h.port_guid:016x}" for h in plan.hcas() if h.hostname.startswith("pilot-clin-")}
    return model, ports, hospital


def test_after_discovery_the_hospitals_ports_talk_only_to_each_other() -> None:
    model, ports, hospital = pilot_model(with_guids=True)
    config = load_site(PILOT)
    plan = plan_fabric(config)
    from infra.plan.fabric.opensm import render_partitions

    membership = conf_membership(render_partitions(config, plan, model), ports)
    others = [p for p in ports if p not in hospital]
    some_hospital = sorted(hospital)[:8]
    some_others = others[:8] + others[-8:]
    for a in some_hospital:
        for b in some_others:
            assert not talk(membership, a, b), (a, b)
    for a, b in combinations(some_hospital, 2):
        assert talk(membership, a, b), (a, b)
    for a, b in combinations(some_others, 2):
        assert talk(membership, a, b), "everyone else keeps a shared partition (base IPoIB)"
    # Each hospital port: a limited member of the default partition (to reach the SA) and a full
    # member of its own; in nothing else.
    for port in some_hospital:
        assert {k: t[port] for k, t in membership.items() if port in t} == {0x7FFF: "limited", 0x0201: "full"}


def test_before_discovery_nothing_is_listed_and_the_ports_are_pending() -> None:
    model, _, hospital = pilot_model(with_guids=False)
    assert [m.id for m in model.partitions[0].members] == [ALL]
    assert len(model.pending) == len(hospital) == 256
    assert all(not p.members for p in model.partitions[1:])


@pytest.mark.parametrize("with_guids", [False, True])
def test_opensm_and_ufm_files_say_the_same(with_guids: bool) -> None:
    config = load_site(PILOT)
    plan = plan_fabric(config)
    model, ports, _ = pilot_model(with_guids)
    files = fabric_artifacts(config, plan, model)
    from_conf = conf_membership(str(files["partitions.conf"]), ports)
    from_ufm = ufm_membership(json.loads(str(files[UFM_FILE])), ports)
    assert {k: v for k, v in from_conf.items() if v} == {k: v for k, v in from_ufm.items() if v}


def test_ufm_calls_as_ib_kubernetes_spells_them() -> None:
    model, _, hospital = pilot_model(with_guids=True)
    calls = ufm_partitions(model, 5)["calls"]
    assert isinstance(calls, list)
    created = [c["body"]["pkey"] for c in calls if c["path"].endswith("/add")]
    assert created == ["0x7fff", "0x7ffe", "0x0101", "0x0102", "0x0201"]
    members = [c for c in calls if c["path"] == "/ufmRest/resources/pkeys" and c["body"]["pkey"] == "0x0201"]
    assert len(members) == 1 and set(members[0]["body"]["guids"]) == hospital
    assert members[0]["body"]["membership"] == "full" and members[0]["body"]["index0"] is True
    assert all(re.fullmatch(r"[0-9a-f]{16}", g) for c in calls for g in c["body"].get("guids", []))


def test_guid_map_forms() -> None:
    json_map = '{"n1 mlx5_0": {"kind": "hca", "port_guid": "0x00000000000000aa"}, "n2 mlx5_0": {"port_guid": "0xbb"}}'
    assert read_guid_map(json_map) == {"n1 mlx5_0": 0xAA, "n2 mlx5_0": 0xBB}
    assert read_guid_map("name,port_guid\nn1 mlx5_0,0xaa\n# comment\nn2 mlx5_0,bb\n") == {
        "n1 mlx5_0": 0xAA,
        "n2 mlx5_0": 0xBB,
    }
    with pytest.raises(GuidMapError, match="row 1"):
        read_guid_map("n1,0xaa,extra\n")
    with pytest.raises(GuidMapError, match="not a hexadecimal GUID"):
        read_guid_map('{"n1": {"port_guid": "zz"}}')


def test_gigafactory_regulated_ports_are_pending_before_discovery() -> None:
    config = load_site(GIGAFACTORY)
    plan = plan_fabric(config)
    model = plan_partitions(config, plan)
    isolated = {p.tenant for p in model.partitions if p.isolated}
    owners = {p.dedicated_to for p in config.node_pools if p.dedicated_to}
    assert isolated == {t.name for t in config.tenants if t.isolation.own_partition and t.name in owners}
    assert model.pending
