"""Who is a member of which InfiniBand partition: one model for OpenSM's partitions.conf and UFM.

The InfiniBand rule (IBTA vol. 1, 10.9 "Partitioning"): two ports communicate when they share a
partition and at least one of them is a full member. A tenant with its own partition on pools
dedicated to it (a hospital) is isolated only when its ports are in no partition other tenants use,
the default partition included. So, once the fabric's port GUIDs are known (a GUID map from
``gigafactory fabric verify --write-guids``):

- the default partition lists every other compute port as a full member, with the switches and
  the subnet manager (``ALL_SWITCHES``, ``SELF``), and never the isolated tenant's ports;
- the isolated tenant's partition lists its own ports as full members, with the switches and the
  subnet manager (its ports still need the SA for path records and IPoIB multicast);
- every other tenant partition keeps no static members: ib-kubernetes adds each pod's virtual
  function GUID through UFM when the pod starts.

Before discovery there are no GUIDs: the default partition is ``ALL=full`` and the isolated ports
are listed as pending (the fabric command says so). The hospital's nodes reach the Kubernetes
network and Ceph over Ethernet and the storage fabric, which are separate networks.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass

from components.network.naming import PKEY_MASK, format_pkey, network_pkey
from infra.config.model import SiteConfig
from infra.config.types import SHARED_PKEY
from infra.errors import BadInputError
from infra.plan.fabric.plan import FabricPlan

DEFAULT_PKEY = 0x7FFF
# The partition every port but the isolated ones shares once GUIDs are known (SHARED_PKEY): it carries
# the base IPoIB interfaces (index 0 of the P_Key table) that the default partition carried before.
SHARED_NAME = "shared"
# Full membership is the top bit of a partition key (IBTA: P_Key membership type).
FULL_MEMBER_BIT = 0x8000
ALL, ALL_CAS, ALL_SWITCHES, SELF = "ALL", "ALL_CAS", "ALL_SWITCHES", "SELF"


@dataclass(frozen=True)
class Member:
    """A static member: a port GUID (``0x`` and 16 hex digits) or OpenSM's ``ALL``, ``ALL_SWITCHES``, ``SELF``."""

    id: str
    membership: str


@dataclass(frozen=True)
class Partition:
    """One partition and its static members."""

    name: str
    pkey: int
    """The partition key as written in the site (membership bit included for tenants)."""

    defmember: str
    """Membership of ports added without one (ib-kubernetes' pod GUIDs): ``full`` or ``limited``."""

    members: tuple[Member, ...]
    tenant: str | None = None
    kind: str = ""
    isolated: bool = False
    """The tenant's own ports are in no other partition."""

    index0: bool = False
    """Put the key at index 0 of its members' P_Key tables (their base IPoIB interface uses it)."""

    @property
    def base(self) -> int:
        """The 15-bit partition number (membership bit cleared): what UFM and ib-kubernetes name it by."""
        return self.pkey & PKEY_MASK


@dataclass(frozen=True)
class PartitionPlan:
    """Every partition of the compute fabric, and what the GUID map could not settle."""

    partitions: tuple[Partition, ...]
    pending: tuple[str, ...] = ()
    """Isolated tenants' ports (device names) still in the default partition: no GUID map yet."""

    missing: tuple[str, ...] = ()
    """Other ports the GUID map lacks: with a map, they would lose the default partition."""

    discovered: bool = False


class GuidMapError(BadInputError, ValueError):
    """A GUID map that cannot be read."""


def read_guid_map(text: str) -> dict[str, int]:
    """Port GUID by device name, from ``fabric verify --write-guids`` JSON or a CSV of ``name,port_guid``."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise GuidMapError(f"line {exc.lineno}: not JSON: {exc.msg}") from None
        entries = [
            (name, (value or {}).get("port_guid") if isinstance(value, dict) else value) for name, value in data.items()
        ]
    else:
        rows = [r for r in csv.reader(io.StringIO(text)) if r and not r[0].startswith("#")]
        if rows and rows[0][:2] == ["name", "port_guid"]:
            rows = rows[1:]
        entries = []
        for number, row in enumerate(rows, 1):
            if len(row) != 2:
                raise GuidMapError(f"row {number}: expected name,port_guid (got {len(row)} fields)")
            entries.append((row[0].strip(), row[1].strip()))
    guids: dict[str, int] = {}
    for name, value in entries:
        try:
            guids[name] = int(str(value), 16)
        except ValueError:
            raise GuidMapError(f"{name}: port_guid {value!r} is not a hexadecimal GUID") from None
    return guids


def _guid(value: int) -> str:
    return f"0x{value:016x}"


def plan_partitions(config: SiteConfig, plan: FabricPlan, guids: Mapping[str, int] | None = None) -> PartitionPlan:
    """The partitions of ``config``'s compute fabric; with ``guids``, exact port membership."""
    isolating = {t.name for t in config.tenants if t.isolation.own_partition}
    isolated: dict[str, list[str]] = {}
    for pool in config.node_pools:
        if pool.dedicated_to in isolating:
            for position in range(pool.nodes):
                for rail in range(plan.layout(pool.name).rails):
                    isolated.setdefault(pool.dedicated_to, []).append(plan.hca(pool.name, position, rail).name)
    fenced = {name for names in isolated.values() for name in names}
    missing: list[str] = []
    partitions: list[Partition] = []
    if guids is None or not fenced:
        partitions.append(Partition("Default", DEFAULT_PKEY, "full", (Member(ALL, "full"),)))
    else:
        # Every port stays a limited member of the default partition (OpenSM adds 0x7fff to each
        # port so it reaches the subnet administrator); only the SM and the switches are full
        # there, so no two compute ports can talk in it.
        partitions.append(
            Partition(
                "Default",
                DEFAULT_PKEY,
                "limited",
                # Later entries win in OpenSM: the CAs first, then the SM's own port as full.
                (Member(ALL_CAS, "limited"), Member(ALL_SWITCHES, "full"), Member(SELF, "full")),
            )
        )
        shared = []
        for hca in plan.hcas():
            if hca.name in fenced:
                continue
            if hca.name in guids:
                shared.append(Member(_guid(guids[hca.name]), "full"))
            else:
                missing.append(hca.name)
        partitions.append(Partition(SHARED_NAME, SHARED_PKEY, "full", tuple(shared), index0=True))
    for tenant in config.tenants:
        ports = isolated.get(tenant.name, [])
        members: tuple[Member, ...] = ()
        if ports and guids is not None:
            members = tuple(Member(_guid(guids[p]), "full") for p in ports if p in guids)
        partitions.append(
            Partition(
                tenant.name,
                tenant.pkey,
                "full" if tenant.pkey & FULL_MEMBER_BIT else "limited",
                members,
                tenant=tenant.name,
                kind=tenant.kind,
                isolated=bool(ports),
                index0=bool(members),
            )
        )
    pending = tuple(sorted(fenced)) if guids is None else tuple(sorted(p for p in fenced if p not in guids))
    return PartitionPlan(tuple(partitions), pending, tuple(missing), discovered=guids is not None)


def ufm_partitions(partitions: PartitionPlan, mtu_code: int) -> dict[str, object]:
    """UFM's REST calls for the same partitions, in order (UFM does not read partitions.conf).

    Per partition: create the pkey (``POST /ufmRest/resources/pkeys/add``), then set its static
    GUID members per membership (``POST /ufmRest/resources/pkeys``). OpenSM's ``ALL_CAS`` is spelt
    out as every compute port of the GUID map; ``ALL``, the switches and the SM's own port are UFM's
    defaults and need no call. Bodies and GUID spelling (16 hex digits, no ``0x``; a 15-bit pkey,
    membership apart) as ib-kubernetes sends them (Mellanox/ib-kubernetes pkg/sm/plugins/ufm/ufm.go).
    """
    compute = sorted({m.id for p in partitions.partitions for m in p.members if m.id.startswith("0x")})
    calls: list[dict[str, object]] = []
    for partition in partitions.partitions:
        pkey = network_pkey(partition.pkey)
        # The default partition holds index 0 unless another partition took it (the shared one).
        index0 = partition.index0 or (
            partition.base == DEFAULT_PKEY and not any(p.index0 for p in partitions.partitions)
        )
        body = {"pkey": pkey, "index0": index0, "ip_over_ib": True, "mtu_limit": mtu_code}
        calls.append({"method": "POST", "path": "/ufmRest/resources/pkeys/add", "body": body})
        by_membership: dict[str, list[str]] = {}
        for member in partition.members:
            ids = compute if member.id == ALL_CAS else [member.id] if member.id.startswith("0x") else []
            for guid in ids:
                by_membership.setdefault(member.membership, []).append(guid[2:])
        for membership, guids in sorted(by_membership.items()):
            calls.append(
                {
                    "method": "POST",
                    "path": "/ufmRest/resources/pkeys",
                    "body": {
                        "pkey": pkey,
                        "guids": guids,
                        "membership": membership,
                        "index0": index0,
                        "ip_over_ib": True,
                    },
                }
            )
    return {"format": "gigafactory-ufm-partitions/1", "calls": calls}


def tenant_pkey_text(partition: Partition) -> str:
    """The partition key as partitions.conf writes it."""
    return format_pkey(partition.pkey)
