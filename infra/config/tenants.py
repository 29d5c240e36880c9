"""Tenants: who uses the site, with their quotas, partition key and isolation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, Literal

from pydantic import Field

from infra.config.modelbase import Model
from infra.config.rules import rule
from infra.config.types import DnsLabel, Flag, Integer, Number, PKey, environment
from infra.errors import Problem


class Isolation(Model):
    """What a tenant requires to be kept apart from others."""

    dedicated_nodes: Flag = Field(False, description="Runs only on pools dedicated to it.")
    own_partition: Flag = Field(False, description="Has an InfiniBand partition no one else joins.")
    encrypted_storage: Flag = Field(False, description="Uses only storage encrypted at rest.")
    egress: Literal["allow", "deny"] = Field("allow", description="Traffic leaving the cluster.")


class GpuQuota(Model):
    """A tenant's nominal GPUs in one pool."""

    pool: DnsLabel = Field(description="Node pool name.")
    gpus: Integer = Field(ge=0, description="Nominal GPU quota.")
    borrowing_limit: Integer | None = Field(None, ge=0, description="GPUs it may borrow from its cohort.")
    lending_limit: Integer | None = Field(None, ge=0, description="GPUs of its quota others may borrow.")


class StorageQuota(Model):
    """A tenant's share of one storage system."""

    system: DnsLabel = Field(description="Storage system name.")
    quota_tb: Number = Field(gt=0, description="Quota, TB.")


# kube-* and default are Kubernetes' own (kubernetes.io/docs/concepts/overview/working-with-objects/
# namespaces); openshift-* OpenShift's; gigafactory-* is kept for the platform's own.
KUBERNETES_NAMESPACES = frozenset({"default"})
RESERVED_PREFIXES = ("kube-", "openshift-", "gigafactory-")
# Every namespace the composition itself uses: the operators' (components/operators/cluster_operators.py
# OperatorNamespaces) and the storage drivers' (components/storage/drivers.py); a Rook Ceph cluster's
# own namespace comes from its endpoint (SiteConfig's rule). components/ imports this package, so the
# names are listed here; tests/config/test_tenant_namespaces.py keeps the two lists equal.
SITE_NAMESPACES = frozenset(
    {
        "gpu-operator",
        "nvidia-network-operator",
        "node-feature-discovery",
        "cert-manager",
        "kueue-system",
        "monitoring",
        "exa-csi",
        "csi-wekafs",
        "vast-csi",
        "rook-ceph",
    }
)


class Tenant(Model):
    """An organisation using the site: its quotas, partition and isolation."""

    name: DnsLabel = Field(description="Tenant name; also its namespace.")
    kind: Literal["research", "startup", "industry", "regulated"] = Field(description="Tenant kind.")
    group: str = environment("Identity-provider group granted access to the namespace.", min_length=1)
    pkey: PKey = environment("InfiniBand partition key, hex, e.g. 0x8001.")
    cohort: DnsLabel | None = Field(None, description="Kueue cohort it borrows and lends in.")
    gpu_quotas: tuple[GpuQuota, ...] = Field((), description="GPU quotas per pool.")
    storage: tuple[StorageQuota, ...] = Field((), description="Storage quotas.")
    isolation: Isolation = Field(default_factory=Isolation, description="Isolation it requires.")

    RENAMED: ClassVar[dict[str, str]] = {"partition_key": "pkey", "quotas": "gpu_quotas"}

    @rule
    def borrowing_needs_cohort(self) -> Iterator[Problem]:
        # Kueue refuses both limits on a ClusterQueue without a cohort, and a lendingLimit above
        # the nominalQuota (ClusterQueue webhook: "must be nil when cohort is empty", "must be
        # less than or equal to the nominalQuota").
        for i, quota in enumerate(self.gpu_quotas):
            if quota.borrowing_limit is not None and self.cohort is None:
                yield Problem(
                    ("gpu_quotas", i, "borrowing_limit"),
                    "borrowing needs a cohort to borrow from, but cohort is not set",
                    "set cohort on the tenant, or remove borrowing_limit",
                )
            if quota.lending_limit is not None and self.cohort is None:
                yield Problem(
                    ("gpu_quotas", i, "lending_limit"),
                    "lending needs a cohort to lend to, but cohort is not set",
                    "set cohort on the tenant, or remove lending_limit",
                )
            if quota.lending_limit is not None and quota.lending_limit > quota.gpus:
                yield Problem(
                    ("gpu_quotas", i, "lending_limit"),
                    f"lends {quota.lending_limit} GPUs but the quota's gpus is {quota.gpus}",
                    f"set lending_limit to at most {quota.gpus}",
                )

    @rule
    def one_quota_per_pool_and_system(self) -> Iterator[Problem]:
        entries: list[tuple[str, str, list[str]]] = [
            ("gpu_quotas", "pool", [q.pool for q in self.gpu_quotas]),
            ("storage", "system", [q.system for q in self.storage]),
        ]
        for section, key, names in entries:
            for i, name in enumerate(names):
                if name in names[:i]:
                    yield Problem(
                        (section, i, key),
                        f"{name} already has a quota in {section}[{names.index(name)}]",
                        f"give the tenant one quota per {key}; add the two together",
                    )

    @rule
    def name_is_not_a_system_namespace(self) -> Iterator[Problem]:
        # The tenant's namespace carries its name, and with it a Role granting pods/exec and secrets,
        # a quota and a NetworkPolicy: in an operator's namespace (rook-ceph holds Ceph's admin keys)
        # that is the operator's secrets handed to the tenant.
        if self.name in KUBERNETES_NAMESPACES or self.name.startswith(RESERVED_PREFIXES):
            yield Problem(
                ("name",),
                f"{self.name} is a namespace Kubernetes or the platform reserves for itself",
                "name the tenant after the organisation, e.g. oslo-hospital",
            )
        elif self.name in SITE_NAMESPACES:
            yield Problem(
                ("name",),
                f"{self.name} is the namespace of a component of the site; a tenant there would get its secrets",
                "name the tenant after the organisation, e.g. oslo-hospital",
            )

    @rule
    def regulated_is_isolated(self) -> Iterator[Problem]:
        if self.kind != "regulated":
            return
        required = {
            "dedicated_nodes": self.isolation.dedicated_nodes,
            "own_partition": self.isolation.own_partition,
            "encrypted_storage": self.isolation.encrypted_storage,
        }
        for name, value in required.items():
            if not value:
                yield Problem(
                    ("isolation", name),
                    f"a regulated tenant must have isolation.{name}: true",
                    f"set isolation.{name}: true, or change kind if the tenant is not regulated",
                )
        if self.isolation.egress != "deny":
            yield Problem(
                ("isolation", "egress"),
                "a regulated tenant must have isolation.egress: deny",
                "set isolation.egress: deny",
            )
        if self.cohort is not None:
            yield Problem(
                ("cohort",),
                "a regulated tenant may not share capacity through a cohort",
                "remove cohort from the regulated tenant",
            )
