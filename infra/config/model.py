"""``SiteConfig``: the whole site, and the rules that bind its parts to each other."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Sequence
from ipaddress import IPv4Network

from pydantic import Field

from components.network.naming import PKEY_MASK, format_pkey
from infra.config.catalog import (
    MAX_CLUSTER_NODES,
    MIN_GPU_OPERATOR_FOR_BLACKWELL,
    SUPPORTED_DRIVER_BRANCHES,
    SWITCH_CHASSIS,
    Architecture,
    version_tuple,
)
from infra.config.errors import dotted_path
from infra.config.rules import rule
from infra.config.schema import (
    Fabrics,
    Floor,
    Model,
    NodePool,
    Operators,
    Site,
    StorageSystem,
    Tenant,
)
from infra.config.storage_nodes import StorageNodePool
from infra.config.types import SHARED_PKEY
from infra.errors import ConfigPath, Problem


class SiteConfig(Model):
    """One gigafactory site: what ``site-configs/<site>.yaml`` describes."""

    site: Site = Field(description="Identity and envelope of the site.")
    node_pools: tuple[NodePool, ...] = Field(min_length=1, description="GPU node pools.")
    fabrics: Fabrics = Field(description="Compute and storage fabrics.")
    storage: tuple[StorageSystem, ...] = Field((), description="Storage systems.")
    storage_nodes: tuple[StorageNodePool, ...] = Field(
        (), description="Storage node pools (no GPUs): where Ceph's daemons and OSDs run."
    )
    operators: Operators = Field(default_factory=Operators, description="Pinned operator versions.")
    tenants: tuple[Tenant, ...] = Field((), description="Tenants and their quotas.")
    floor: Floor = Field(default_factory=Floor, description="Data-hall layout: rows, racks, power per rack.")

    def pool(self, name: str) -> NodePool | None:
        """The node pool called ``name``, if any."""
        return next((p for p in self.node_pools if p.name == name), None)

    def storage_system(self, name: str) -> StorageSystem | None:
        """The storage system called ``name``, if any."""
        return next((s for s in self.storage if s.name == name), None)

    def tenant(self, name: str) -> Tenant | None:
        """The tenant called ``name``, if any."""
        return next((t for t in self.tenants if t.name == name), None)

    @property
    def total_gpus(self) -> int:
        """GPUs across every pool."""
        return sum(p.gpus for p in self.node_pools)

    @property
    def total_nodes(self) -> int:
        """Nodes across every pool."""
        return sum(p.nodes for p in self.node_pools)

    @property
    def it_load_kw(self) -> float:
        """Maximum GPU-node power draw, kW, before PUE."""
        return sum(p.nodes * p.system.node_kw for p in self.node_pools)

    @property
    def rails(self) -> int:
        """Compute rails: the most compute HCAs any node has."""
        return max(p.hcas.compute for p in self.node_pools)

    def rail_pools(self, rail: int) -> tuple[NodePool, ...]:
        """The pools whose nodes have an HCA on ``rail`` (a pool uses rails 0..hcas.compute-1)."""
        return tuple(p for p in self.node_pools if p.hcas.compute > rail)

    def rail_address_need(self, rail: int) -> int:
        """Pod addresses ``rail``'s subnet must hold: every node on the rail times its block."""
        return sum(p.nodes for p in self.rail_pools(rail)) * self.rail_addresses_per_node(rail)

    def storage_address_need(self) -> int:
        """Host addresses the storage subnet must hold: one per storage port of every node."""
        return sum(p.nodes * p.hcas.storage for p in self.node_pools)

    def rail_addresses_per_node(self, rail: int) -> int:
        """Pod addresses each node needs on ``rail``: one per SR-IOV VF, and a node gets one VF per GPU.

        This is NV-IPAM's perNodeBlockSize. It follows the hardware, never the node count: NV-IPAM
        resets every node's allocation when perNodeBlockSize changes, and refuses a block under 2
        (nvidia-k8s-ipam, api/v1alpha1 IPPool.Validate and pkg/ipam-controller/allocator).
        """
        return max((p.gpus_per_node for p in self.rail_pools(rail)), default=0)

    # -- uniqueness ---------------------------------------------------------------------------

    @rule
    def tenants_not_in_storage_namespaces(self) -> Iterator[Problem]:
        # A Rook system's endpoint is `<cluster namespace>/<store>` (components/storage/rook.py): the
        # namespace holding that Ceph cluster's admin keys.
        ceph = {
            s.endpoint.partition("/")[0]: s.name for s in self.storage if s.kind == "rook-ceph" and "/" in s.endpoint
        }
        for i, tenant in enumerate(self.tenants):
            if tenant.name in ceph:
                yield Problem(
                    ("tenants", i, "name"),
                    f"{tenant.name} is the namespace of Ceph cluster {ceph[tenant.name]} (storage endpoint)",
                    "name the tenant after the organisation, e.g. oslo-hospital",
                )

    @rule
    def names_unique(self) -> Iterator[Problem]:
        groups: list[tuple[str, Sequence[NodePool | StorageSystem | Tenant]]] = [
            ("node_pools", self.node_pools),
            ("storage", self.storage),
            ("tenants", self.tenants),
        ]
        for section, items in groups:
            first: dict[str, int] = {}
            for i, item in enumerate(items):
                if item.name in first:
                    yield Problem(
                        (section, i, "name"),
                        f"{item.name!r} is already the name of {section}[{first[item.name]}]",
                        "give each entry its own name",
                    )
                first.setdefault(item.name, i)

    @rule
    def node_names_unique(self) -> Iterator[Problem]:
        # Each name belongs to the first pool that produces it, GPU pools before storage node pools.
        owner: dict[str, tuple[str, int]] = {}
        sections: list[tuple[str, Sequence[NodePool | StorageNodePool]]] = [
            ("node_pools", self.node_pools),
            ("storage_nodes", self.storage_nodes),
        ]
        for section, pools in sections:
            for i, pool in enumerate(pools):
                for name in pool.node_names():
                    first = owner.setdefault(name, (section, i))
                    if first != (section, i):
                        yield Problem(
                            (section, i, "node_name_pattern"),
                            f"node name {name!r} is also produced by {first[0]}[{first[1]}].node_name_pattern",
                            "give each pool its own prefix in node_name_pattern, or move first_index",
                        )
                        break

    @rule
    def ceph_runs_on_storage_nodes(self) -> Iterator[Problem]:
        if self.storage_nodes:
            return
        for i, system in enumerate(self.storage):
            if system.kind == "rook-ceph":
                yield Problem(
                    ("storage", i, "kind"),
                    "rook-ceph runs Ceph on the site's storage nodes, and storage_nodes is empty (Ceph on GPU "
                    "nodes would take their disks and block their drains)",
                    "add a storage_nodes pool: nodes, node_name_pattern and the devices Ceph may take",
                )
                return

    @rule
    def partition_keys_unique(self) -> Iterator[Problem]:
        first: dict[int, int] = {}
        for i, tenant in enumerate(self.tenants):
            partition = tenant.pkey & PKEY_MASK
            if partition == SHARED_PKEY:
                yield Problem(
                    ("tenants", i, "pkey"),
                    f"{format_pkey(tenant.pkey)} names {format_pkey(SHARED_PKEY)}, the site's shared partition (every "
                    "compute port but an isolated tenant's once the fabric is discovered)",
                    "pick another partition key for the tenant",
                )
            elif partition in first:
                other = self.tenants[first[partition]]
                yield Problem(
                    ("tenants", i, "pkey"),
                    f"{format_pkey(tenant.pkey)} names the same partition as tenants[{first[partition]}].pkey "
                    f"{format_pkey(other.pkey)} (tenant {other.name}); the top bit only marks membership",
                    "give each tenant its own partition key",
                )
            first.setdefault(partition, i)

    # -- fabric and addressing ------------------------------------------------------------------

    @rule
    def rails_have_subnets(self) -> Iterator[Problem]:
        subnets = len(self.fabrics.compute.ipoib_subnets)
        for i, pool in enumerate(self.node_pools):
            if pool.hcas.compute > subnets:
                yield Problem(
                    ("node_pools", i, "hcas", "compute"),
                    f"{pool.hcas.compute} compute HCAs need {pool.hcas.compute} rails, but "
                    f"fabrics.compute.ipoib_subnets lists {subnets}",
                    f"add IPoIB subnets for rails {subnets}..{pool.hcas.compute - 1}",
                )
        if subnets > self.rails:
            yield Problem(
                ("fabrics", "compute", "ipoib_subnets", self.rails),
                f"lists {subnets} rails but no node pool has more than {self.rails} compute HCAs",
                f"keep rails 0..{self.rails - 1} only",
            )

    @rule
    def racks_hold_their_nodes(self) -> Iterator[Problem]:
        limit = self.floor.rack_power_kw
        for i, pool in enumerate(self.node_pools):
            kw = pool.nodes_per_rack * pool.system.node_kw
            if kw > limit:
                yield Problem(
                    ("node_pools", i, "nodes_per_rack"),
                    f"a rack of {pool.nodes_per_rack} {pool.gpu_model.value} nodes draws {kw:.1f} kW, over "
                    f"floor.rack_power_kw={limit:g}",
                    f"raise floor.rack_power_kw to at least {math.ceil(kw * 10) / 10:g} (the rack is one "
                    f"{pool.gpu_model.value} product)"
                    if pool.system.rack_nodes is not None
                    else f"put at most {int(limit // pool.system.node_kw)} nodes in a rack, or raise "
                    "floor.rack_power_kw"
                    if limit >= pool.system.node_kw
                    else f"raise floor.rack_power_kw to at least {pool.system.node_kw:g} (one node)",
                )
            height = pool.nodes_per_rack * pool.system.rack_units
            if height > self.floor.rack_units:
                yield Problem(
                    ("node_pools", i, "nodes_per_rack"),
                    f"{pool.nodes_per_rack} {pool.gpu_model.value} nodes take {height}U, more than "
                    f"floor.rack_units={self.floor.rack_units}",
                    f"put at most {self.floor.rack_units // pool.system.rack_units} nodes in a rack",
                )
        switch = SWITCH_CHASSIS[self.fabrics.compute.switch_model]
        if switch.max_kw > limit or switch.rack_units > self.floor.rack_units:
            yield Problem(
                ("floor", "rack_power_kw"),
                f"one {self.fabrics.compute.switch_model.value} switch ({switch.max_kw:g} kW) does not fit a rack "
                f"of {limit:g} kW",
                f"raise floor.rack_power_kw to at least {switch.max_kw:g}",
            )

    @rule
    def scalable_units_fit_leaves(self) -> Iterator[Problem]:
        compute = self.fabrics.compute
        for i, pool in enumerate(self.node_pools):
            if pool.scalable_unit_nodes > compute.leaf_down_ports:
                yield Problem(
                    ("node_pools", i, "scalable_unit_nodes"),
                    f"{pool.scalable_unit_nodes} nodes per SU need {pool.scalable_unit_nodes} leaf ports per "
                    f"rail, but a {compute.switch_model.value} leaf at fabrics.compute.oversubscription="
                    f"{compute.oversubscription:g} has {compute.leaf_down_ports}",
                    f"use at most {compute.leaf_down_ports} nodes per SU, or raise oversubscription",
                )

    @rule
    def subnets_disjoint_and_large_enough(self) -> Iterator[Problem]:
        named: list[tuple[ConfigPath, IPv4Network]] = [
            (("fabrics", "compute", "ipoib_subnets", i, "subnet"), r.subnet)
            for i, r in enumerate(self.fabrics.compute.ipoib_subnets)
        ]
        named.append((("fabrics", "storage", "subnet"), self.fabrics.storage.subnet))
        for a in range(len(named)):
            for b in range(a):
                if named[a][1].overlaps(named[b][1]):
                    yield Problem(
                        named[a][0],
                        f"{named[a][1]} overlaps {dotted_path(named[b][0])} {named[b][1]}",
                        "give every rail and the storage fabric its own subnet",
                    )
        for rail, (path, subnet) in enumerate(named[:-1]):
            # A pool's nodes sit on rails 0..hcas.compute-1 only (a GB200 tray has 4 of 8 rails).
            nodes = sum(p.nodes for p in self.rail_pools(rail))
            block = self.rail_addresses_per_node(rail)
            if subnet.num_addresses - 2 < self.rail_address_need(rail):
                yield Problem(
                    path,
                    f"{subnet} holds {subnet.num_addresses - 2} hosts but the {nodes} nodes with an HCA on rail "
                    f"{rail} need {nodes * block:,} pod addresses ({block} per node, one per GPU's virtual function)",
                    _prefix_hint(nodes * block),
                )
        ports = self.storage_address_need()
        storage_subnet = self.fabrics.storage.subnet
        if storage_subnet.num_addresses - 2 < ports:
            yield Problem(
                ("fabrics", "storage", "subnet"),
                f"{storage_subnet} holds {storage_subnet.num_addresses - 2} hosts but the node pools have "
                f"{ports} storage ports (nodes x hcas.storage)",
                _prefix_hint(ports),
            )

    # -- GPU software ---------------------------------------------------------------------------

    @rule
    def driver_supports_gpus(self) -> Iterator[Problem]:
        gpu_operator = self.operators.gpu_operator
        driver = version_tuple(gpu_operator.driver_version)
        where = ("operators", "gpu_operator", "driver_version")
        if driver[0] not in SUPPORTED_DRIVER_BRANCHES:
            yield Problem(
                where,
                f"driver branch R{driver[0]} is not supported by the pinned GPU Operator line",
                f"use a driver from branch {' or '.join(f'R{b}' for b in SUPPORTED_DRIVER_BRANCHES)}",
            )
        for i, pool in enumerate(self.node_pools):
            system = pool.system
            if driver < version_tuple(system.min_driver):
                yield Problem(
                    where,
                    f"{gpu_operator.driver_version} is older than {system.min_driver}, the first driver for "
                    f"node_pools[{i}].gpu_model {pool.gpu_model.value}",
                    f"use driver {system.min_driver} or newer",
                )
            if system.architecture is Architecture.BLACKWELL and version_tuple(gpu_operator.version) < version_tuple(
                MIN_GPU_OPERATOR_FOR_BLACKWELL
            ):
                yield Problem(
                    ("operators", "gpu_operator", "version"),
                    f"GPU Operator {gpu_operator.version} predates Blackwell support, needed by "
                    f"node_pools[{i}].gpu_model {pool.gpu_model.value}",
                    f"use GPU Operator {MIN_GPU_OPERATOR_FOR_BLACKWELL} or newer",
                )
            if system.needs_open_kernel_modules and gpu_operator.kernel_module_type == "proprietary":
                yield Problem(
                    ("operators", "gpu_operator", "kernel_module_type"),
                    f"node_pools[{i}].gpu_model {pool.gpu_model.value} needs the open kernel modules",
                    "set kernel_module_type: open",
                )

    @rule
    def one_cluster_holds_nodes(self) -> Iterator[Problem]:
        if self.total_nodes > MAX_CLUSTER_NODES:
            largest = max(range(len(self.node_pools)), key=lambda i: self.node_pools[i].nodes)
            yield Problem(
                ("node_pools", largest, "nodes"),
                f"the site has {self.total_nodes:,} nodes in its node pools, more than the {MAX_CLUSTER_NODES:,} "
                "nodes the largest Kubernetes clusters run",
                "split the site into several sites (one cluster each)",
            )

    # -- power ----------------------------------------------------------------------------------

    @rule
    def power_covers_gpus(self) -> Iterator[Problem]:
        facility_kw = self.it_load_kw * self.site.pue
        envelope_kw = self.site.power_envelope_mw * 1000
        if facility_kw > envelope_kw:
            yield Problem(
                ("site", "power_envelope_mw"),
                f"{self.site.power_envelope_mw:g} MW does not cover the GPU nodes: {self.it_load_kw / 1000:.2f} MW "
                f"at full load x site.pue {self.site.pue:g} = {facility_kw / 1000:.2f} MW",
                "raise power_envelope_mw, lower pue, or remove nodes from node_pools",
            )

    # -- tenants --------------------------------------------------------------------------------

    @rule
    def quotas_fit_pools(self) -> Iterator[Problem]:
        booked: dict[str, int] = Counter()
        for t, tenant in enumerate(self.tenants):
            for q, quota in enumerate(tenant.gpu_quotas):
                if self.pool(quota.pool) is None:
                    yield Problem(
                        ("tenants", t, "gpu_quotas", q, "pool"),
                        f"no node pool is called {quota.pool!r}",
                        _choices("node pools", [p.name for p in self.node_pools]),
                    )
                booked[quota.pool] += quota.gpus
        for i, pool in enumerate(self.node_pools):
            if booked[pool.name] > pool.gpus:
                yield Problem(
                    ("node_pools", i, "nodes"),
                    f"tenants' gpu_quotas on pool {pool.name} add up to {booked[pool.name]} GPUs but the pool has "
                    f"{pool.gpus} ({pool.nodes} nodes x {pool.gpus_per_node})",
                    "lower the tenants' gpu_quotas or add nodes to the pool",
                )

    @rule
    def storage_access_consistent(self) -> Iterator[Problem]:
        tenant_names = [t.name for t in self.tenants]
        for s, listed in enumerate(self.storage):
            for k, name in enumerate(listed.tenants):
                if name not in tenant_names:
                    yield Problem(
                        ("storage", s, "tenants", k), f"no tenant is called {name!r}", _choices("tenants", tenant_names)
                    )
        for t, tenant in enumerate(self.tenants):
            for q, share in enumerate(tenant.storage):
                system = self.storage_system(share.system)
                if system is None:
                    yield Problem(
                        ("tenants", t, "storage", q, "system"),
                        f"no storage system is called {share.system!r}",
                        _choices("storage systems", [x.name for x in self.storage]),
                    )
                elif tenant.name not in system.tenants:
                    yield Problem(
                        ("tenants", t, "storage", q, "system"),
                        f"tenant {tenant.name} has a quota on {system.name}, but storage {system.name}.tenants "
                        "does not list it",
                        f"add {tenant.name} to the tenants of storage {system.name}, or remove the quota",
                    )

    @rule
    def storage_quotas_fit_capacity(self) -> Iterator[Problem]:
        booked: dict[str, float] = {}
        for tenant in self.tenants:
            for share in tenant.storage:
                booked[share.system] = booked.get(share.system, 0.0) + share.quota_tb
        for s, system in enumerate(self.storage):
            if booked.get(system.name, 0.0) > system.capacity_tb:
                yield Problem(
                    ("storage", s, "capacity_tb"),
                    f"tenants' storage quotas on {system.name} add up to {booked[system.name]:g} TB but its "
                    f"capacity_tb is {system.capacity_tb:g}",
                    f"lower the tenants' quota_tb on {system.name} or raise its capacity_tb",
                )

    @rule
    def mount_paths_distinct(self) -> Iterator[Problem]:
        mounted = [(s, x.name, x.mount_path) for s, x in enumerate(self.storage) if x.mount_path is not None]
        for a, (s, _, path) in enumerate(mounted):
            for t, other, other_path in mounted[:a]:
                mine, theirs = path.rstrip("/") + "/", other_path.rstrip("/") + "/"
                if mine.startswith(theirs) or theirs.startswith(mine):
                    yield Problem(
                        ("storage", s, "mount_path"),
                        f"{path} {'is' if mine == theirs else 'nests with'} storage[{t}].mount_path {other_path} "
                        f"({other}); one mount would hide the other on every node",
                        "give each filesystem its own mount path beside the others, e.g. /lustre/a and /lustre/b",
                    )
                    break

    @rule
    def dedicated_pools_owned(self) -> Iterator[Problem]:
        for i, pool in enumerate(self.node_pools):
            if pool.dedicated_to is None:
                continue
            owner = self.tenant(pool.dedicated_to)
            if owner is None:
                yield Problem(
                    ("node_pools", i, "dedicated_to"),
                    f"no tenant is called {pool.dedicated_to!r}",
                    _choices("tenants", [t.name for t in self.tenants]),
                )
                continue
            for t, tenant in enumerate(self.tenants):
                for q, quota in enumerate(tenant.gpu_quotas):
                    if quota.pool == pool.name and tenant.name != owner.name:
                        yield Problem(
                            ("tenants", t, "gpu_quotas", q, "pool"),
                            f"pool {pool.name} is dedicated to tenant {owner.name} (node_pools[{i}].dedicated_to)",
                            f"move tenant {tenant.name}'s quota to a shared pool",
                        )

    @rule
    def regulated_tenants_isolated(self) -> Iterator[Problem]:
        for t, tenant in enumerate(self.tenants):
            for q, quota in enumerate(tenant.gpu_quotas):
                pool = self.pool(quota.pool)
                if tenant.isolation.dedicated_nodes and pool is not None and pool.dedicated_to != tenant.name:
                    yield Problem(
                        ("tenants", t, "gpu_quotas", q, "pool"),
                        f"tenant {tenant.name} requires dedicated nodes, but pool {pool.name} is not "
                        f"dedicated to it (its dedicated_to is {pool.dedicated_to or 'unset'})",
                        f"set dedicated_to: {tenant.name} on pool {pool.name}, or use a pool dedicated to it",
                    )
            for q, share in enumerate(tenant.storage):
                system = self.storage_system(share.system)
                if system is None:
                    continue
                if tenant.isolation.encrypted_storage and not system.encrypted:
                    yield Problem(
                        ("tenants", t, "storage", q, "system"),
                        f"tenant {tenant.name} requires encrypted storage, but storage {system.name} has "
                        "encrypted: false",
                        f"set encrypted: true on {system.name}, or give the tenant an encrypted system",
                    )
                shared = [n for n in system.tenants if n != tenant.name]
                if tenant.kind == "regulated" and shared:
                    yield Problem(
                        ("tenants", t, "storage", q, "system"),
                        f"regulated tenant {tenant.name} shares storage {system.name} with {', '.join(shared)}",
                        f"give {tenant.name} a storage system of its own",
                    )
            if tenant.isolation.dedicated_nodes:
                for i, pool in enumerate(self.node_pools):
                    # A regulated-purpose pool's taint is already required by NodePool's own rule.
                    untainted = not any(x.effect in ("NoSchedule", "NoExecute") for x in pool.taints)
                    if pool.dedicated_to == tenant.name and pool.purpose != "regulated" and untainted:
                        yield Problem(
                            ("node_pools", i, "taints"),
                            f"pool {pool.name} is dedicated to tenant {tenant.name}, which requires dedicated "
                            "nodes, but has no NoSchedule or NoExecute taint to keep other pods off",
                            f"add a taint such as {{key: gigafactory.eu/tenant, value: {tenant.name}, "
                            "effect: NoSchedule}",
                        )

    @rule
    def regulated_storage_access(self) -> Iterator[Problem]:
        """A storage system's access list may not let a regulated tenant's data be shared or unencrypted."""
        for s, system in enumerate(self.storage):
            for k, name in enumerate(system.tenants):
                tenant = self.tenant(name)
                # A quota on the system is already reported from the tenant's side.
                if tenant is None or any(share.system == system.name for share in tenant.storage):
                    continue
                others = [n for n in system.tenants if n != name]
                if tenant.kind == "regulated" and others:
                    yield Problem(
                        ("storage", s, "tenants", k),
                        f"regulated tenant {name} is listed on storage {system.name} together with {', '.join(others)}",
                        f"give {name} a storage system of its own",
                    )
                elif tenant.isolation.encrypted_storage and not system.encrypted:
                    yield Problem(
                        ("storage", s, "tenants", k),
                        f"tenant {name} requires encrypted storage, but storage {system.name} has encrypted: false",
                        f"set encrypted: true on {system.name}, or remove {name} from its tenants",
                    )


def prefix_for(hosts: int) -> int | None:
    """The longest IPv4 prefix whose subnet holds ``hosts`` host addresses; None when none does."""
    for prefix in range(30, 0, -1):
        if (1 << (32 - prefix)) - 2 >= hosts:
            return prefix
    return None


def _prefix_hint(hosts: int) -> str:
    """The fix for a subnet too small for ``hosts``: the longest IPv4 prefix that holds them."""
    prefix = prefix_for(hosts)
    if prefix is None:
        return f"no IPv4 subnet holds {hosts} hosts: check the node and HCA counts"
    return f"use a prefix of /{prefix} or shorter"


def _choices(what: str, names: Sequence[str]) -> str:
    return f"known {what}: {', '.join(names)}" if names else f"no {what} are defined"
