"""Node acceptance agrees with the partition plan: the P_Key tables it writes pass, and only those.

The P_Key table of each compute port is derived from ``plan_partitions`` as OpenSM applies it
(a port is in a partition when the partition lists its GUID, ``ALL`` or ``ALL_CAS``; the key carries
the full-member bit when that entry is ``full``), then read by the acceptance check through a
``NodeReader`` whose sysfs is that table. The partition model is infra/plan/fabric/partitions.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.acceptance.checks import checks_for
from infra.acceptance.expectations import PoolExpectations, site_expectations
from infra.acceptance.reader import NodeReader
from infra.config.loader import load_site
from infra.config.model import SiteConfig
from infra.plan.fabric import plan_fabric
from infra.plan.fabric.devices import Hca
from infra.plan.fabric.partitions import ALL, ALL_CAS, FULL_MEMBER_BIT, PartitionPlan, plan_partitions
from infra.plan.fabric.plan import FabricPlan

PILOT = Path(__file__).resolve().parents[2] / "site-configs" / "eu-pilot.yaml"
Pilot = tuple[SiteConfig, FabricPlan]


class TableReader(NodeReader):
    """A node whose compute ports show the given P_Key tables (device -> keys) and nothing else."""

    def __init__(self, tables: dict[str, tuple[int, ...]]) -> None:
        super().__init__(host=None)
        self._tables = tables

    def read_many(self, paths: tuple[str, ...]) -> dict[str, str]:
        return {
            f"/sys/class/infiniband/{device}/ports/1/pkeys/{index}": f"0x{key:04x}"
            for device, keys in self._tables.items()
            for index, key in enumerate(keys)
        }


def table(model: PartitionPlan, guid: int) -> tuple[int, ...]:
    """The P_Key table the subnet manager gives the port ``guid`` (later entries win, as in OpenSM)."""
    keys: dict[int, int] = {}
    for partition in model.partitions:
        for member in partition.members:
            if member.id in (ALL, ALL_CAS) or member.id == f"0x{guid:016x}":
                keys[partition.base] = partition.base | (FULL_MEMBER_BIT if member.membership == "full" else 0)
    return tuple(keys.values())


def pkey_failures(expect: PoolExpectations, tables: dict[str, tuple[int, ...]]) -> dict[str, str]:
    reader = TableReader(tables)
    found: dict[str, str] = {}
    for check in checks_for(expect):
        if check.name.endswith(".pkeys"):
            verdict = check.probe(reader)
            if not verdict.passed:
                found[check.name] = verdict.message
    return found


def node_tables(model: PartitionPlan, hcas: list[Hca], expect: PoolExpectations) -> dict[str, tuple[int, ...]]:
    # A tenant partition of a shared pool has no static members: ib-kubernetes adds its pods' GUIDs
    # when they run, which is when acceptance sees its key on the port (the check's `partitions`).
    pods = tuple(p.pkey for p in expect.partitions) if expect.isolated_for is None else ()
    return {h.device: (*table(model, h.port_guid), *pods) for h in hcas}


@pytest.fixture(scope="module")
def pilot() -> Pilot:
    config = load_site(PILOT)
    return config, plan_fabric(config)


@pytest.mark.parametrize("discovered", [False, True], ids=["before-discovery", "after-discovery"])
def test_the_tables_the_plan_writes_pass_on_shared_pools(pilot: Pilot, discovered: bool) -> None:
    config, plan = pilot
    guids = {h.name: h.port_guid for h in plan.hcas()} if discovered else None
    model = plan_partitions(config, plan, guids)
    expect = site_expectations(config)["h100-train"]
    assert expect.isolated_for is None
    node = [h for h in plan.hcas() if h.pool == "h100-train" and h.position == 0]
    assert pkey_failures(expect, node_tables(model, node, expect)) == {}


def test_the_hospitals_ports_pass_only_once_the_exact_partitions_are_applied(pilot: Pilot) -> None:
    config, plan = pilot
    expect = site_expectations(config)["h100-clinical"]
    assert expect.isolated_for == "oslo-hospital"
    node = [h for h in plan.hcas() if h.pool == "h100-clinical" and h.position == 0]
    exact = plan_partitions(config, plan, {h.name: h.port_guid for h in plan.hcas()})
    tables = node_tables(exact, node, expect)
    assert set(tables.values()) == {(0x7FFF, 0x8201)}, "limited in the default partition, full in its own"
    assert pkey_failures(expect, tables) == {}
    # Before discovery (ALL=full) the hospital's ports share the default partition with everyone.
    pending = plan_partitions(config, plan)
    failures = pkey_failures(expect, node_tables(pending, node, expect))
    assert set(failures) == {f"hca.{h.device}.pkeys" for h in node}
    assert all("is a full member of the default partition 0xffff" in m for m in failures.values()), failures


def test_a_hospital_port_in_the_shared_partition_fails(pilot: Pilot) -> None:
    expect = site_expectations(pilot[0])["h100-clinical"]
    failures = pkey_failures(expect, {h.device: (0x8201, 0x7FFF, 0xFFFE) for h in expect.hcas})
    assert len(failures) == len(expect.hcas)
    assert all("is a member of the shared partition 0xfffe" in m for m in failures.values()), failures


def test_a_shared_port_in_neither_base_partition_fails(pilot: Pilot) -> None:
    expect = site_expectations(pilot[0])["h100-train"]
    failures = pkey_failures(expect, {h.device: (0x7FFF, 0x8101, 0x8102) for h in expect.hcas})
    assert len(failures) == len(expect.hcas)
    assert all("full member of neither the default partition 0xffff" in m for m in failures.values()), failures
