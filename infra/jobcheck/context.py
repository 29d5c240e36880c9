"""What the stages share: the job, the site, the tenant, each pod's requests, and what earlier stages decided."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from infra.config.errors import Location, dotted_path
from infra.config.yamldoc import ConfigPath
from infra.jobcheck.quantity import parse_quantity
from infra.jobcheck.reader import JobDocument, PodSet
from infra.jobcheck.site import Pool, SiteView

QUEUE_LABEL = "kueue.x-k8s.io/queue-name"  # Kueue v0.19.2 pkg/controller/constants/constants.go
PRIORITY_LABEL = "kueue.x-k8s.io/priority-class"  # same file, WorkloadPriorityClassLabel


@dataclass(frozen=True)
class Reason:
    """Why a stage refuses the job: where in JOB.yaml, what, which object of the site decides, the fix."""

    location: Location
    field: str
    message: str
    decided_by: str
    fix: str

    def __str__(self) -> str:
        head = f"{self.location}: {self.field}: {self.message}" if self.field else f"{self.location}: {self.message}"
        return f"{head}\n  decided by: {self.decided_by}\n  fix: {self.fix}"

    def to_json(self) -> dict[str, str]:
        """The reason as a JSON object."""
        return {
            "location": str(self.location),
            "field": self.field,
            "message": self.message,
            "decided_by": self.decided_by,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class PodRequests:
    """What one pod of a pod set requests, per resource, and where each request is written."""

    amounts: dict[str, Decimal]
    where: dict[str, ConfigPath]


def pod_requests(pod_set: PodSet) -> PodRequests:
    """A pod's effective requests: containers summed, the largest init container if larger.

    A container's limit stands for its request where it gives none (the API server defaults requests
    to limits); the pod's need is max(sum of containers, any init container) as the scheduler counts
    it (kubernetes ``pkg/api/v1/resource/helpers.go``, PodRequests).
    """
    amounts: dict[str, Decimal] = {}
    where: dict[str, ConfigPath] = {}
    spec = pod_set.spec
    for index, container in enumerate(spec.get("containers") or []):
        for name, (amount, path) in _container_requests(
            container, (*pod_set.path, "spec", "containers", index)
        ).items():
            amounts[name] = amounts.get(name, Decimal(0)) + amount
            where.setdefault(name, path)
    for index, container in enumerate(spec.get("initContainers") or []):
        for name, (amount, path) in _container_requests(
            container, (*pod_set.path, "spec", "initContainers", index)
        ).items():
            if amount > amounts.get(name, Decimal(0)):
                amounts[name] = amount
                where.setdefault(name, path)
    return PodRequests(amounts, where)


def _container_requests(container: Any, path: ConfigPath) -> dict[str, tuple[Decimal, ConfigPath]]:
    resources = container.get("resources") if isinstance(container, dict) else None
    if not isinstance(resources, dict):
        return {}
    found: dict[str, tuple[Decimal, ConfigPath]] = {}
    for kind in ("limits", "requests"):  # requests win where both are written
        for name, value in (resources.get(kind) or {}).items():
            amount = parse_quantity(value)
            if amount is not None:
                found[str(name)] = (amount, (*path, "resources", kind, str(name)))
    return found


@dataclass
class Context:
    """One job's check against one site."""

    job: JobDocument
    site: SiteView
    namespace: str | None
    requests: list[PodRequests]
    queue: str | None = None
    cluster_queue: dict[str, Any] | None = None
    flavor: dict[str, Any] | None = None
    pools: list[Pool] = field(default_factory=list)
    placement: dict[str, Any] = field(default_factory=dict)
    assumptions: list[str] = field(default_factory=list)

    def reason(self, path: ConfigPath, message: str, decided_by: str, fix: str) -> Reason:
        """A reason located at ``path`` of the job (or the nearest value written above it)."""
        return Reason(self.job.locate(path), dotted_path(path), message, decided_by, fix)

    def assume(self, text: str) -> None:
        """Record an assumption the verdict rests on (once)."""
        if text not in self.assumptions:
            self.assumptions.append(text)

    def total(self, resource: str) -> Decimal:
        """What all pods of the job request of ``resource`` together."""
        return sum(
            (
                r.amounts.get(resource, Decimal(0)) * p.count
                for r, p in zip(self.requests, self.job.pod_sets, strict=True)
            ),
            Decimal(0),
        )

    def requested(self) -> list[str]:
        """Every resource some pod requests a positive amount of, sorted."""
        return sorted({name for r in self.requests for name, amount in r.amounts.items() if amount > 0})

    def request_path(self, resource: str) -> ConfigPath:
        """Where the first pod set that requests ``resource`` writes it."""
        for requests in self.requests:
            if resource in requests.where:
                return requests.where[resource]
        return self.job.pod_sets[0].path if self.job.pod_sets else ()

    @property
    def tenant_pkey(self) -> str | None:
        """The tenant's partition key as the plan's facts record it (the tenant is the namespace)."""
        tenant = (self.site.plan.site.get("tenants") or {}).get(self.namespace or "")
        return str(tenant["pkey"]) if isinstance(tenant, dict) and tenant.get("pkey") else None
