"""The summary ``gigafactory plan`` prints: what a person wants to know about a planned site."""

from __future__ import annotations

from typing import Any

from infra.config.catalog import GPU_SYSTEMS, GpuModel
from infra.engine.recording import RecordedPlan
from infra.engine.stackplan import by_stack


def _n(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    """Left-aligned columns; the last column is not padded."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        lines.append(indent + "  ".join([*cells, row[-1]]).rstrip())
    return lines


def summary_lines(plan: RecordedPlan) -> list[str]:
    """Lines describing ``plan``: pools, fabric, storage, power, tenants and resources per component."""
    site = plan.site
    lines = [
        f"site {site['name']} ({site['region']}, {site['country']}): {_n(site['gpus'])} GPUs on "
        f"{_n(site['nodes'])} nodes, Kubernetes {site['kubernetes_version']}",
        "",
        "GPU pools",
    ]
    lines += _table(
        [
            [
                name,
                f"{_n(pool['nodes'])} nodes",
                f"{_n(pool['gpus'])} x {pool['gpu_model']}",
                f"{_n(pool.get('booked_gpus', 0))} booked",
                f"{pool['scalable_units']} SU",
                _pool_note(pool),
            ]
            for name, pool in site["pools"].items()
        ]
    )
    warnings = warning_lines(site["pools"])
    if warnings:
        lines += ["", "Warnings", *warnings]
    lines += ["", "Node labels and taints, per pool", *_identity_lines(site["pools"])]
    lines += ["", "Compute fabric", *_fabric_lines(site["fabric"])]
    lines += ["", "Storage", *_storage_lines(site["storage"])]
    lines += ["", "Power", "  " + _power_line(site["power"])]
    lines += ["", "Tenants", *_tenant_lines(site["tenants"])]
    if plan.stacks:
        lines += ["", f"Stacks, in deployment order ({len(plan.stacks)})"]
        lines += _table([[name, f"{len(found):,} resources"] for name, found in by_stack(plan).items()])
    counts = plan.component_counts()
    lines += ["", f"Resources per component ({len(plan.resources):,} in all)"]
    lines += _table([[plan.component_label(name), f"{count:,}"] for name, count in counts.items()])
    return lines


def warning_lines(pools: dict[str, Any]) -> list[str]:
    """Known gaps a reviewer must see: pools whose racks are NVLink domains this site does not build."""
    lines = []
    for name, pool in pools.items():
        model = GpuModel(pool["gpu_model"])
        rack = GPU_SYSTEMS[model].rack_nodes
        if rack is not None:
            per_node = GPU_SYSTEMS[model].gpus_per_node
            lines.append(
                f"  ! pool {name}: {model.value} racks are NVLink domains of {rack} nodes, but no ComputeDomain is "
                f"deployed (GPU Operator v26.7.0 offers them only through its experimental GPUCluster stack): "
                f"jobs get NVLink within one node ({per_node} GPUs) and InfiniBand between nodes"
            )
    return lines


def _pool_note(pool: dict[str, Any]) -> str:
    notes = [pool["purpose"]]
    if pool.get("dedicated_to"):
        notes.append(f"dedicated to {pool['dedicated_to']}")
    sharing = pool.get("gpu_sharing") or {}
    units = f" = {_n(pool['gpu_units'])} nvidia.com/gpu" if "gpu_units" in pool else ""
    if sharing.get("mode") == "mig":
        notes.append(f"MIG {sharing.get('mig_profile')}{units}")
    elif sharing.get("mode") == "time-slicing":
        notes.append(f"time-sliced x{sharing.get('replicas')}{units}")
    upgrade = pool.get("driver_upgrade") or {}
    if upgrade:
        drain = "drain" if upgrade.get("drain") else "NO drain"
        notes.append(f"driver roll {upgrade.get('max_unavailable')} at a time, {drain}")
    return ", ".join(notes)


def _identity_lines(pools: dict[str, Any]) -> list[str]:
    lines = []
    for name, pool in pools.items():
        identity = pool.get("identity")
        if not identity:
            continue
        labels = ", ".join(f"{k}={v}" for k, v in identity["labels"].items())
        topology = ", ".join(identity["topology_labels"])
        lines.append(f"  {name} ({identity['first_node']} .. {identity['last_node']})")
        lines.append(f"    labels: {labels}; per node: {topology}")
        lines.append(f"      written by {identity['labels_written_by']}")
        taints = ", ".join(identity["taints"]) or "none"
        writers = " and ".join(identity["taints_written_by"])
        lines.append(f"    taints: {taints}" + (f"; written by {writers}" if writers else ""))
    return lines


def _fabric_lines(fabric: dict[str, Any]) -> list[str]:
    head = (
        f"  {fabric['generation']} {fabric['switch_model']} (radix {fabric['radix']}), {fabric['rails']} rails, "
        f"oversubscription {fabric['oversubscription']:g}:1, subnet manager {fabric['subnet_manager']}"
    )
    lines = [head]
    switches = fabric.get("switches")
    cables = fabric.get("cables")
    if isinstance(switches, dict):
        tiers = ", ".join(f"{_n(v)} {k}" for k, v in switches.items() if k != "total")
        lines.append(f"  switches: {_n(switches['total'])} ({tiers})")
    if isinstance(cables, dict):
        tiers = ", ".join(f"{_n(v)} {k}" for k, v in cables.items() if k != "total")
        lines.append(f"  cables:   {_n(cables['total'])} ({tiers})")
    return lines


def _storage_lines(storage: dict[str, Any]) -> list[str]:
    if not storage:
        return ["  none"]
    total = sum(s["capacity_tb"] for s in storage.values())
    rows = [
        [
            name,
            s["kind"],
            s["interface"],
            f"{_n(s['capacity_tb'])} TB ({_n(s.get('booked_tb', 0))} booked)",
            f"read {_n(s['read_gb_per_s'])} / write {_n(s['write_gb_per_s'])} GB/s",
            ", ".join(
                [f"reclaim {s['reclaim_policy']}"]
                + (["encrypted"] if s["encrypted"] else [])
                + [f"tenants: {', '.join(s['tenants']) or 'none'}"]
            ),
        ]
        for name, s in storage.items()
    ]
    plural = "s" if len(storage) != 1 else ""
    return [*_table(rows), f"  {_n(total)} TB in {len(storage)} system{plural}"]


def _power_line(power: dict[str, Any]) -> str:
    envelope = power["envelope_kw"]
    facility = power["facility_kw"]
    share = facility / envelope * 100 if envelope else 0.0
    return (
        f"{power['it_load_kw'] / 1000:,.2f} MW GPU nodes at full load x PUE {power['pue']:g} = "
        f"{facility / 1000:,.2f} MW of the {envelope / 1000:,.2f} MW envelope ({share:.0f} %, "
        f"{(envelope - facility) / 1000:,.2f} MW headroom)"
    )


def _tenant_lines(tenants: dict[str, Any]) -> list[str]:
    if not tenants:
        return ["  none"]
    rows = []
    for name, tenant in tenants.items():
        quotas = []
        for pool, quota in tenant["gpu_quotas"].items():
            text = f"{pool} {_n(quota['gpus'])} GPUs"
            limits = []
            if quota.get("borrowing_limit") is not None:
                limits.append(f"borrow {_n(quota['borrowing_limit'])}")
            if quota.get("lending_limit") is not None:
                limits.append(f"lend {_n(quota['lending_limit'])}")
            quotas.append(text + (f" ({', '.join(limits)})" if limits else ""))
        storage = [f"{system} {_n(tb)} TB" for system, tb in tenant["storage_quotas_tb"].items()]
        cohort = f"cohort {tenant['cohort']}" if tenant.get("cohort") else "no cohort"
        rows.append(
            [
                name,
                tenant["kind"],
                f"pkey {tenant['pkey']}",
                cohort,
                "; ".join(quotas or ["no GPU quota"]) + (" | " + ", ".join(storage) if storage else ""),
            ]
        )
    return _table(rows)


SUMMARY_FORMAT = "gigafactory-plan-summary/1"


def summary_json(plan: RecordedPlan) -> dict[str, Any]:
    """The summary as ``gigafactory-plan-summary/1``: what ``summary_lines`` prints, as data (no timing, so
    the same site gives the same bytes)."""
    site = plan.site
    return {
        "format": SUMMARY_FORMAT,
        "site": {key: site[key] for key in ("name", "region", "country", "gpus", "nodes", "kubernetes_version")},
        "pools": site["pools"],
        "warnings": [line.strip().removeprefix("! ") for line in warning_lines(site["pools"])],
        "fabric": site["fabric"],
        "storage": site["storage"],
        "power": site["power"],
        "tenants": site["tenants"],
        "stacks": [{"name": name, "resources": len(found)} for name, found in by_stack(plan).items()]
        if plan.stacks
        else [],
        "resources": {
            "total": len(plan.resources),
            "per_component": {plan.component_label(name): count for name, count in plan.component_counts().items()},
        },
    }
