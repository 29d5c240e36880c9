"""What isolates each regulated tenant: every guarantee and the objects that enforce it.

Pure (no Pulumi, no I/O): read from the site config, with the names the components give the
enforcing objects. ``gigafactory plan`` prints it per regulated tenant; the plan diff compares it
to mark a change that weakens a guarantee.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from components.isolation.policies import (
    dedicated_nodes,
    no_external_ips,
    node_isolation,
    priority_classes,
    tenant_claims,
    tenant_networks,
)
from components.labels import ISOLATION_POOL_LABEL
from components.network.naming import format_pkey
from components.operators.cluster_operators import kueue_configuration
from components.scheduling.scheduling import CLINICAL_PRIORITY_CLASSES
from infra.config.model import SiteConfig
from infra.config.schema import StorageSystem as StorageConfig
from infra.config.schema import Tenant

VAP = "ValidatingAdmissionPolicy"


@dataclass(frozen=True)
class Guarantee:
    """One promise to a tenant and what keeps it."""

    name: str
    """Stable key: dedicated-nodes, node-identity, partition, network, storage, access, priority, queueing."""

    statement: str
    """The promise, in one sentence."""

    enforced_by: tuple[str, ...]
    """The objects (``Kind/[namespace/]name``) and controls that enforce it."""

    holds: bool = True
    """False when the site does not (yet) give what the guarantee needs; ``statement`` says what is missing."""

    def to_json(self) -> dict[str, Any]:
        """The guarantee as plan-file JSON."""
        return {"statement": self.statement, "enforced_by": list(self.enforced_by), "holds": self.holds}


def _policy(name: str) -> str:
    return f"{VAP}/{name}"


def _encryption_at_rest(system: StorageConfig) -> str:
    # A VAST or EXAScaler system's encryption is its own setting, which nothing in the cluster
    # checks: say whose word it is (StorageDriver.encryption_at_rest).
    if system.encryption_attested:
        return f"{system.name}: the {system.kind} system's own encryption at rest (attested by the site, not checked)"
    return f"StorageClass/{system.name} (encrypted)"


def tenant_guarantees(config: SiteConfig, tenant: Tenant) -> tuple[Guarantee, ...]:
    """Every guarantee ``tenant`` has, and what enforces each."""
    from infra.site import isolation_rules  # the composition's own mapping of the site onto the policies

    rules = isolation_rules(config)
    name = tenant.name
    pools = [p for p in config.node_pools if p.dedicated_to == name]
    made: list[Guarantee] = []
    if pools:
        listed = ", ".join(f"{p.name} ({p.nodes} nodes)" for p in pools)
        taints = ", ".join(f"{t.key}={t.value}:{t.effect}" for p in pools for t in p.taints)
        made.append(
            Guarantee(
                "dedicated-nodes",
                f"only {name}'s pods run on {listed}, and its pods run nowhere else",
                (
                    _policy(dedicated_nodes(rules).name),
                    "Kueue: its ClusterQueue admits only into its own pools' flavors",
                    f"node taints {taints} (NodeFeatureRule and kubelet --register-with-taints)",
                    *(f"ResourceFlavor/{p.name} ({ISOLATION_POOL_LABEL})" for p in pools),
                ),
            )
        )
        made.append(
            Guarantee(
                "node-identity",
                "no node can label or untaint itself into or out of its pools",
                (_policy(node_isolation(rules).name), "NodeRestriction admission plugin (API server)"),
            )
        )
    else:
        made.append(Guarantee("dedicated-nodes", f"{name} has no pool dedicated to it", (), holds=False))
    fabric = config.fabrics.compute
    partition_files = "partitions.conf" if fabric.subnet_manager != "ufm" else "ufm-partitions.json"
    if tenant.isolation.own_partition:
        made.append(
            Guarantee(
                "partition",
                f"its InfiniBand ports are in no partition another tenant uses (its own, {format_pkey(tenant.pkey)}); "
                "exact once the fabric's GUID map is applied (gigafactory fabric --guid-map)",
                (
                    f"{partition_files} (gigafactory fabric)",
                    _policy(tenant_networks(rules).name),
                    "NicClusterPolicy/nic-cluster-policy (Multus namespaceIsolation)",
                    f"ResourceQuota/{name}/tenant-quota (no shared RDMA devices)",
                ),
            )
        )
    closed = tenant.isolation.egress == "deny"
    made.append(
        Guarantee(
            "network",
            "no pod of another namespace reaches its pods; "
            + ("nothing leaves its namespace but DNS" if closed else "it reaches only the internet, never the site"),
            (
                f"NetworkPolicy/{name}/default-deny",
                f"NetworkPolicy/{name}/allow-same-namespace",
                f"NetworkPolicy/{name}/allow-cluster-dns",
                _policy(no_external_ips(rules).name),
            ),
        )
    )
    systems = {s.name: s for s in config.storage}
    shares = [systems[q.system] for q in tenant.storage if q.system in systems]
    plain = [s.name for s in shares if not s.encrypted]
    made.append(
        Guarantee(
            "storage",
            (
                f"its data ({', '.join(s.name for s in shares) or 'none'}) is encrypted at rest and no other tenant "
                "can claim or bind it"
            )
            if not plain
            else f"unencrypted storage: {', '.join(plain)}",
            (
                *(_encryption_at_rest(s) for s in shares if s.encrypted),
                _policy(tenant_claims(rules).name),
                "ResourceQuota of every other tenant (0 on its classes)",
            ),
            holds=not plain,
        )
    )
    made.append(
        Guarantee(
            "access",
            f"only identity-provider group {tenant.group} works in its namespace, under Pod Security restricted",
            (f"RoleBinding/{name}/tenant-members", f"Role/{name}/tenant-member", f"Namespace/{name} (Pod Security)"),
        )
    )
    made.append(
        Guarantee(
            "priority",
            f"no other tenant takes {', '.join(CLINICAL_PRIORITY_CLASSES)} (regulated tenants only) or a Pod "
            "PriorityClass to preempt its work",
            (
                _policy(priority_classes(rules).name),
                f"ClusterQueue/{name}" + (" (no cohort)" if tenant.cohort is None else ""),
            ),
        )
    )
    managed = bool(yaml.safe_load(kueue_configuration()).get("manageJobsWithoutQueueName"))
    made.append(
        Guarantee(
            "queueing",
            "every workload in a tenant namespace waits for Kueue, with or without a queue name",
            ("Kueue Configuration manageJobsWithoutQueueName (release kueue-system/kueue)",),
            holds=managed,
        )
    )
    return tuple(made)


def isolation_guarantees(config: SiteConfig) -> dict[str, tuple[Guarantee, ...]]:
    """Per regulated tenant, each guarantee and what enforces it (config order)."""
    return {t.name: tenant_guarantees(config, t) for t in config.tenants if t.kind == "regulated"}


def summary_lines(config: SiteConfig) -> list[str]:
    """The isolation summary ``gigafactory plan`` prints."""
    lines: list[str] = []
    for tenant, guarantees in isolation_guarantees(config).items():
        lines.append(f"isolation of {tenant}:")
        for g in guarantees:
            mark = "" if g.holds else " (NOT MET)"
            lines.append(f"  {g.name}{mark}: {g.statement}")
            if g.enforced_by:
                lines.append(f"    enforced by: {'; '.join(g.enforced_by)}")
    return lines
