"""What a contract reads (``ClusterState``) and what it reports (``Violation``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from infra.engine.charts.render import ChartRendering, HelmRelease
from infra.engine.facts import SiteFacts


@dataclass(frozen=True)
class StateObject:
    """One object of the rendered state: the project's (``release`` None) or a chart's."""

    document: Mapping[str, Any]
    release: HelmRelease | None = None

    @property
    def kind(self) -> str:
        return str(self.document.get("kind", ""))

    @property
    def group(self) -> str:
        return str(self.document.get("apiVersion", "")).rpartition("/")[0]

    @property
    def metadata(self) -> Mapping[str, Any]:
        return self.document.get("metadata") or {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace") or "")

    @property
    def labels(self) -> Mapping[str, str]:
        return self.metadata.get("labels") or {}

    @property
    def spec(self) -> Mapping[str, Any]:
        return self.document.get("spec") or {}

    def describe(self) -> str:
        """``Kind namespace/name`` (and the release that creates it)."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        origin = f" (release {self.release.namespace}/{self.release.name})" if self.release else ""
        return f"{self.kind} {where}{origin}"


@dataclass(frozen=True)
class ClusterState:
    """Everything the site applies: project objects, chart objects when rendered, releases, facts."""

    objects: tuple[StateObject, ...]
    releases: tuple[HelmRelease, ...]
    facts: SiteFacts
    charts: ChartRendering | None = None
    partitions: Mapping[str, int] = field(default_factory=dict)
    """Partition name -> pkey as ``partitions.conf`` defines them (tenant partitions are named after tenants)."""

    def of_kind(self, kind: str, group: str | None = None) -> Iterator[StateObject]:
        """Objects of ``kind`` (in ``group`` when given)."""
        return (o for o in self.objects if o.kind == kind and (group is None or o.group == group))

    def release(self, chart: str) -> HelmRelease | None:
        """The release of ``chart``, if the site installs it."""
        return next((r for r in self.releases if r.chart == chart), None)


@dataclass(frozen=True)
class Violation:
    """One broken contract: the object, what is wrong, the fix, and the config fact behind it."""

    subject: str
    message: str
    hint: str
    fact: str
    """Fact path of the site config value behind it (``tenants.fjord-ai.pkey``), located through the plan."""


@dataclass(frozen=True)
class Contract:
    """A rule one operator enforces, the file it lives in upstream, and its check."""

    id: str
    rule: str
    source: str
    check: Callable[[ClusterState], Iterable[Violation]]
    needs_charts: str = ""
    """Why the check needs the charts' objects ('' when the project's objects suffice)."""
