"""``build_report``: the as-built report of a site as one self-contained HTML file.

Everything comes from the site config and its ``SitePlan`` (fabric, capacity, addressing), plus
optionally node acceptance results and a diff against an older plan. No network, no framework, no
timestamp: the same inputs give the same bytes. Large sites are drawn as aggregates (scalable
units, spine groups, rows of racks), and a row's rack elevations are drawn by a little vanilla
JavaScript only when the reader opens the row, from a compact table embedded in the page.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from components.network.naming import network_pkey
from infra.config.model import SiteConfig
from infra.engine.isolation import tenant_guarantees
from infra.errors import BadInputError
from infra.inputs import MIB, InputError, parse_json_bounded, read_text_bounded
from infra.plan.fabric.bom import bom_rows
from infra.plan.fabric.cabling import CablePlan
from infra.plan.floor import FloorPlan, plan_floor
from infra.plan.site_plan import SitePlan
from infra.report.topology import draw_topology, tenant_colours_of

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
TEMPLATE = "report.html.j2"


@dataclass(frozen=True)
class NodeOutcome:
    """A node's acceptance result as ``gigafactory verify`` wrote it."""

    status: str
    failed_checks: tuple[str, ...]


@dataclass(frozen=True)
class ReportInputs:
    """What a report is drawn from."""

    config: SiteConfig
    plan: SitePlan
    acceptance: Mapping[str, NodeOutcome] = field(default_factory=dict)
    diff_lines: Sequence[str] = ()
    danger_lines: Sequence[str] = ()
    changed_pools: frozenset[str] = frozenset()
    chart_objects: Mapping[str, int] = field(default_factory=dict)


# A result of the 100k site with every check of every node is about 40 MB of JSON.
ACCEPTANCE_LIMIT = 256 * MIB


class AcceptanceFileError(BadInputError, ValueError):
    """An acceptance results file that is not what ``gigafactory verify`` writes."""


def read_acceptance(path: Path) -> dict[str, NodeOutcome]:
    """Node outcomes from a ``gigafactory verify --format json`` result file (read bounded: a device,
    a FIFO or a huge file is refused, never read until memory runs out)."""
    what = "acceptance result (`gigafactory verify --format json`)"
    try:
        document = parse_json_bounded(read_text_bounded(path, ACCEPTANCE_LIMIT, what), str(path), what)
    except InputError as exc:
        raise AcceptanceFileError(str(exc)) from None
    try:
        return {
            str(n["node"]): NodeOutcome(
                str(n["status"]),
                tuple(str(c["name"]) for c in n.get("checks", []) if c.get("status") in ("fail", "error")),
            )
            for n in document["nodes"]
        }
    except (KeyError, TypeError, AttributeError) as exc:
        raise AcceptanceFileError(
            f"{path}: not an acceptance result of `gigafactory verify --format json` ({exc.__class__.__name__}: {exc})"
        ) from None


def _pools(inputs: ReportInputs) -> list[dict[str, Any]]:
    config, capacity = inputs.config, inputs.plan.capacity
    rows = []
    for pool in config.node_pools:
        cap = capacity.pool(pool.name)
        holders = [(t.name, q.gpus) for t in config.tenants for q in t.gpu_quotas if q.pool == pool.name]
        rows.append(
            {
                "name": pool.name,
                "model": pool.gpu_model.value,
                "nodes": pool.nodes,
                "gpus": cap.gpus,
                "booked": cap.booked_gpus,
                "free": max(cap.gpus - cap.booked_gpus, 0),
                "booked_pct": min(100.0, 100.0 * cap.booked_gpus / cap.gpus) if cap.gpus else 0.0,
                "sus": pool.scalable_units,
                "kw": cap.it_load_kw,
                "holders": holders,
                "dedicated_to": pool.dedicated_to or "",
                "changed": pool.name in inputs.changed_pools,
            }
        )
    return rows


def _floor_rows(inputs: ReportInputs, floor: FloorPlan) -> list[dict[str, Any]]:
    """The floor plan by row: each rack with kW against the limit and its devices bottom up.

    A device is ``[name, lowest U, height U, status]`` (status: the node's acceptance result, ``switch``
    for a switch, '' for a node not verified). One pass over nodes and switches, so the 100k site's
    ~3,000 racks cost no more than their devices.
    """
    limit = floor.floor.rack_power_kw
    devices: list[list[list[Any]]] = [[] for _ in floor.racks]
    for switch in floor.fabric.switches():
        place = floor.switch(switch)
        devices[place.rack.index].append([switch.name, place.u, place.height, "switch"])
    for pool in inputs.config.node_pools:
        for position in range(pool.nodes):
            place = floor.node(pool.name, position)
            name = pool.node_name(position)
            outcome = inputs.acceptance.get(name)
            devices[place.rack.index].append([name, place.u, place.height, outcome.status if outcome else ""])
    rows: list[dict[str, Any]] = []
    for rack, kw, contents in zip(floor.racks, floor.rack_kw, devices, strict=True):
        if rack.row == len(rows):
            rows.append({"row": rack.row, "racks": [], "kw": 0.0, "over": 0, "failed": 0, "verified": 0, "gpu": 0})
        row = rows[rack.row]
        row["racks"].append(
            {
                "name": rack.name,
                "kind": rack.kind,
                "purpose": rack.purpose,
                "kw": round(kw, 1),
                "devices": sorted(contents, key=lambda d: d[1]),
            }
        )
        row["kw"] = round(row["kw"] + kw, 1)
        row["over"] += kw > limit
        row["gpu"] += rack.kind == "gpu"
        statuses = [d[3] for d in contents if d[3] not in ("", "switch")]
        row["verified"] += len(statuses)
        row["failed"] += sum(s != "pass" for s in statuses)
    return rows


def _tenants(config: SiteConfig) -> list[dict[str, Any]]:
    rows = []
    for tenant in config.tenants:
        # The same guarantees `gigafactory plan` prints, from the one place that derives them.
        guarantees = [
            (g.name + ("" if g.holds else " (NOT MET)"), g.statement, "; ".join(g.enforced_by))
            for g in tenant_guarantees(config, tenant)
        ]
        rows.append(
            {
                "name": tenant.name,
                "kind": tenant.kind,
                "cohort": tenant.cohort or "",
                "pkey": network_pkey(tenant.pkey),
                "quotas": [
                    {
                        "pool": q.pool,
                        "gpus": q.gpus,
                        "borrow": "" if q.borrowing_limit is None else q.borrowing_limit,
                        "lend": "" if q.lending_limit is None else q.lending_limit,
                    }
                    for q in tenant.gpu_quotas
                ],
                "storage": [(s.system, s.quota_tb) for s in tenant.storage],
                "guarantees": guarantees,
            }
        )
    return rows


def _storage(inputs: ReportInputs) -> list[dict[str, Any]]:
    return [
        {
            "name": s.name,
            "kind": s.kind,
            "capacity": s.capacity_tb,
            "booked": s.booked_tb,
            "booked_pct": min(100.0, 100.0 * s.booked_tb / s.capacity_tb) if s.capacity_tb else 0.0,
            "read": s.read_gb_per_s,
            "write": s.write_gb_per_s,
            "per_node": s.read_gb_per_s_per_node,
        }
        for s in inputs.plan.capacity.storage
    ]


def _versions(config: SiteConfig) -> list[tuple[str, str]]:
    operators = config.operators.model_dump(mode="json")
    rows = []
    for name, settings in sorted(operators.items()):
        if isinstance(settings, dict) and "version" in settings:
            rows.append((name.replace("_", " "), str(settings["version"])))
    return rows


def build_report(inputs: ReportInputs) -> str:
    """The report's HTML text."""
    config, plan = inputs.config, inputs.plan
    topology = draw_topology(config, plan.fabric, inputs.changed_pools)
    capacity = plan.capacity
    floor = plan_floor(config, plan.fabric)
    rows = _floor_rows(inputs, floor)
    cabling = CablePlan(plan.fabric, floor)
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        keep_trailing_newline=True,
    )
    failing = sorted(
        (node, outcome.failed_checks) for node, outcome in inputs.acceptance.items() if outcome.status != "pass"
    )
    return environment.get_template(TEMPLATE).render(
        site=config.site,
        fabric=plan.fabric,
        fabric_lines=plan.fabric.summary_lines(),
        topology=topology,
        tenant_colours=tenant_colours_of(config),
        pools=_pools(inputs),
        floor=floor.floor,
        floor_rows=rows,
        rack_count=len(floor.racks),
        # "</" never appears in the embedded JSON, so no value can close its <script> element.
        rack_data=json.dumps(
            {"units": floor.floor.rack_units, "limit": floor.floor.rack_power_kw, "rows": [r["racks"] for r in rows]},
            separators=(",", ":"),
        ).replace("</", "<\\/"),
        power={
            "it": capacity.it_load_kw,
            "facility": capacity.facility_kw,
            "envelope": capacity.envelope_kw,
            "it_pct": min(100.0, 100.0 * capacity.it_load_kw / capacity.envelope_kw),
            "facility_pct": min(100.0, 100.0 * capacity.facility_kw / capacity.envelope_kw),
            "pue": capacity.pue,
        },
        tenants=_tenants(config),
        storage=_storage(inputs),
        bom=bom_rows(plan.fabric, cabling, config.floor.spares_percent),
        versions=_versions(config),
        acceptance=bool(inputs.acceptance),
        failing=failing,
        diff_lines=list(inputs.diff_lines),
        danger_lines=list(inputs.danger_lines),
        chart_objects=sorted(inputs.chart_objects.items()),
    )
