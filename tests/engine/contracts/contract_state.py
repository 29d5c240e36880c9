"""Small rendered states for the contract tests: the pilot's facts, objects written in the test."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from infra.config.loader import load_site
from infra.engine.charts.render import ChartRendering, HelmRelease
from infra.engine.contracts.model import ClusterState, StateObject
from infra.engine.facts import SiteFacts
from infra.engine.planner import plan_site
from infra.engine.recording import RecordedPlan

ROOT = Path(__file__).resolve().parents[3]
PILOT = ROOT / "site-configs" / "eu-pilot.yaml"


@cache
def pilot_plan() -> RecordedPlan:
    """The bundled pilot, planned once per test session."""
    return plan_site(load_site(PILOT), source=PILOT)


def release(chart: str, values: Mapping[str, Any] | None = None, namespace: str = "ops") -> HelmRelease:
    """A Helm release of ``chart``."""
    return HelmRelease(chart, namespace, chart, chart, "1.0.0", None, dict(values or {}), f"urn:{chart}", "s-operators")


def obj(
    kind: str,
    name: str,
    *,
    api: str = "v1",
    namespace: str = "",
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A Kubernetes object."""
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = dict(labels)
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {"apiVersion": api, "kind": kind, "metadata": metadata, **fields}


def state(
    project: list[dict[str, Any]] = (),  # type: ignore[assignment]
    chart: list[tuple[HelmRelease, dict[str, Any]]] = (),  # type: ignore[assignment]
    *,
    releases: tuple[HelmRelease, ...] = (),
    charts: bool = False,
    partitions: Mapping[str, int] | None = None,
    facts: SiteFacts | None = None,
) -> ClusterState:
    """A state of ``project`` objects and ``chart`` objects (with the releases they came from)."""
    objects = [StateObject(d) for d in project] + [StateObject(d, r) for r, d in chart]
    every = tuple({r.name: r for r in (*releases, *(r for r, _ in chart))}.values())
    rendering = ChartRendering((), every, ()) if charts or chart else None
    return ClusterState(tuple(objects), every, facts or pilot_plan().facts, rendering, dict(partitions or {}))
