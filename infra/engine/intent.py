"""What a plan change means for the site: the intent summary, read from the plans' typed facts.

GPUs per pool, what the nodes of each pool must become (``node_intent.py``), tenants and their
quotas, partition keys, operator and driver versions, drain policy, storage, fabric and power.
Each line names the ``file:line:col`` of the value that changed (in the site or its base). Which
of these changes are dangerous is ``dangers.py``'s registry.
"""

from __future__ import annotations

from collections.abc import Mapping

from infra.engine.facts import PoolFacts, QuotaFacts, SiteFacts, StorageFacts, TenantFacts
from infra.engine.findings import DRAIN, Finding, n, paired, signed, where
from infra.engine.migration import urn_stack
from infra.engine.node_intent import node_intents


def intents(old: SiteFacts, new: SiteFacts) -> list[Finding]:
    """The intent-level summary from ``old`` to ``new`` site facts, in a fixed order."""
    found: list[Finding] = []
    found += _pool_intents(old, new)
    found += node_intents(old, new)
    found += _tenant_intents(old, new)
    found += _operator_intents(old, new)
    found += _storage_intents(old, new)
    found += _fabric_and_power(old, new)
    return found


def move_intents(moved: Mapping[str, str]) -> list[Finding]:
    """One line per destination stack of the resources that move (an old -> new URN map applied).

    A URN that changes within its stack can only have been matched through an alias (a renamed
    type token, ``migration.urn_map``): the engine follows the alias, nothing is to be run.
    """
    by_stack: dict[tuple[str, str], int] = {}
    for before, after in moved.items():
        key = (urn_stack(before), urn_stack(after))
        by_stack[key] = by_stack.get(key, 0) + 1
    found = []
    for (source, target), count in sorted(by_stack.items()):
        message = (
            f"{n(count)} resource{'s' if count != 1 else ''} move from stack {source} to {target}"
            if source != target
            else f"{n(count)} resource{'s' if count != 1 else ''} of stack {source} keep their identity through "
            "aliases: their component's type token changed (nothing to run)"
        )
        if source != target:
            message += (
                " (run the moves `gigafactory migrate` writes before `pulumi up`, or they are deleted and created)"
            )
        found.append(Finding("moves", target, message))
    return found


def _pool_intents(old: SiteFacts, new: SiteFacts) -> list[Finding]:
    found = []
    for name, before, after in paired(old.pools, new.pools):
        subject, at = f"pool {name}", f"pools.{name}"
        if after is not None and before is None:
            message = f"new pool {name}: {signed(after.gpus)} GPUs ({n(after.nodes)} x {after.gpu_model} nodes)"
            found.append(Finding("gpus", subject, message, where(at, new, old)))
        elif before is not None and after is None:
            found.append(
                Finding("gpus", subject, f"pool {name} removed: {signed(-before.gpus)} GPUs", where(at, new, old))
            )
        if before is None or after is None:
            continue
        if before.gpus != after.gpus:
            message = (
                f"pool {name}: {signed(after.gpus - before.gpus)} GPUs ({n(before.nodes)} -> {n(after.nodes)} nodes)"
            )
            found.append(Finding("gpus", subject, message, where(f"{at}.nodes", new, old)))
        if before.driver_upgrade != after.driver_upgrade:
            message = f"pool {name}: driver upgrade policy {policy(before)} -> {policy(after)}"
            found.append(Finding("drain-policy", subject, message, where(f"{at}.driver_upgrade", new, old)))
        if before.identity is not None and after.identity is not None:
            found += _identity_intents(name, before, after, old, new)
        if before.gpu_sharing != after.gpu_sharing:
            message = (
                f"pool {name}: GPU sharing {_sharing(before)} -> {_sharing(after)} "
                "(the GPU Operator reconfigures and restarts GPU workloads on every node)"
            )
            found.append(Finding("gpu-sharing", subject, message, where(f"{at}.gpu_sharing", new, old), needs=DRAIN))
    return found


def _identity_intents(name: str, before: PoolFacts, after: PoolFacts, old: SiteFacts, new: SiteFacts) -> list[Finding]:
    """Label and taint changes on every node of pool ``name`` (nfd-master rewrites them in place)."""
    assert before.identity is not None and after.identity is not None
    found = []
    subject, at = f"pool {name}", f"pools.{name}"
    old_labels, new_labels = before.identity.labels, after.identity.labels
    changed = [
        f"{key} {old_labels.get(key, '(none)')} -> {new_labels.get(key, '(none)')}"
        for key in sorted(set(old_labels) | set(new_labels))
        if old_labels.get(key) != new_labels.get(key)
    ]
    if changed:
        message = f"pool {name}: node labels {'; '.join(changed)}"
        found.append(Finding("node-labels", subject, message, where(f"{at}.labels", new, old)))
    old_taints, new_taints = before.identity.taints, after.identity.taints
    if old_taints != new_taints:
        message = (
            f"pool {name}: node taints {', '.join(old_taints) or 'none'} -> {', '.join(new_taints) or 'none'} "
            "(nfd-master changes them on every joined node; a new NoExecute taint evicts pods that do not "
            "tolerate it)"
        )
        found.append(Finding("node-taints", subject, message, where(f"{at}.taints", new, old)))
    return found


def policy(pool: PoolFacts) -> str:
    """``12% at a time, 4 parallel, drain``: a pool's driver upgrade policy."""
    upgrade = pool.driver_upgrade
    drain = "drain" if upgrade.get("drain") else "no drain"
    return f"{upgrade.get('max_unavailable')} at a time, {upgrade.get('max_parallel_upgrades')} parallel, {drain}"


def _sharing(pool: PoolFacts) -> str:
    sharing = pool.gpu_sharing
    mode = sharing.get("mode", "none")
    detail = sharing.get("mig_profile") or sharing.get("replicas")
    return f"{mode} {detail}" if detail else str(mode)


def _tenant_intents(old: SiteFacts, new: SiteFacts) -> list[Finding]:
    found = []
    for name, before, after in paired(old.tenants, new.tenants):
        subject, at = f"tenant {name}", f"tenants.{name}"
        if before is None and after is not None:
            quotas = ", ".join(f"{pool} {n(q.gpus)}" for pool, q in after.gpu_quotas.items()) or "none"
            message = f"new tenant {name} ({after.kind}), GPU quotas: {quotas}"
            found.append(Finding("tenants", subject, message, where(at, new, old)))
            continue
        if after is None or before is None:
            found.append(Finding("tenants", subject, f"tenant {name} removed", where(at, new, old)))
            continue
        found += _tenant_changes(name, before, after, old, new)
    return found


def _tenant_changes(
    name: str, before: TenantFacts, after: TenantFacts, old: SiteFacts, new: SiteFacts
) -> list[Finding]:
    found = []
    subject, at = f"tenant {name}", f"tenants.{name}"
    for pool, a, b in paired(before.gpu_quotas, after.gpu_quotas):
        if a != b:
            message = f"tenant {name} quota on {pool}: {_quota(a)} -> {_quota(b)}"
            found.append(Finding("quotas", subject, message, where(f"{at}.gpu_quotas.{pool}", new, old)))
    for system, a_tb, b_tb in paired(before.storage_quotas_tb, after.storage_quotas_tb):
        if a_tb != b_tb:
            message = f"tenant {name} storage quota on {system}: {_tb(a_tb)} -> {_tb(b_tb)}"
            found.append(
                Finding("quotas", subject, message, where(f"{at}.storage_quotas_tb.{system}.quota_tb", new, old))
            )
    if before.cohort != after.cohort:
        message = f"tenant {name} cohort {before.cohort or 'none'} -> {after.cohort or 'none'}"
        found.append(Finding("tenants", subject, message, where(f"{at}.cohort", new, old)))
    for key, a, b in paired(before.isolation, after.isolation):
        if a != b:
            message = f"tenant {name} isolation {key}: {a} -> {b}"
            found.append(Finding("isolation", subject, message, where(f"{at}.isolation.{key}", new, old)))
    if before.pkey != after.pkey:
        message = f"tenant {name} partition key {before.pkey} -> {after.pkey}"
        found.append(Finding("pkeys", subject, message, where(f"{at}.pkey", new, old)))
    return found


def _quota(quota: QuotaFacts | None) -> str:
    if quota is None:
        return "none"
    extra = [
        f"{label} {n(value)}"
        for value, label in ((quota.borrowing_limit, "borrow"), (quota.lending_limit, "lend"))
        if value is not None
    ]
    return f"{n(quota.gpus)} GPUs" + (f" ({', '.join(extra)})" if extra else "")


def _tb(value: float | None) -> str:
    return "none" if value is None else f"{n(value)} TB"


def _operator_intents(old: SiteFacts, new: SiteFacts) -> list[Finding]:
    found = []
    for name, a, b in paired(old.operators, new.operators):
        a, b = a or {}, b or {}
        if a.get("version") != b.get("version"):
            message = f"{name.replace('_', ' ')} {a.get('version')} -> {b.get('version')}"
            found.append(Finding("upgrades", name, message, where(f"operators.{name}.version", new, old)))
    if old.gpu_driver() != new.gpu_driver():
        rolls = "; ".join(f"{pool} {policy(p)}" for pool, p in new.pools.items()) or "no GPU pools"
        drains = all(p.driver_upgrade.get("drain") for p in new.pools.values())
        message = (
            f"GPU driver {old.gpu_driver()} -> {new.gpu_driver()}: the GPU Operator re-installs the driver on every "
            f"GPU node, pool by pool ({rolls})"
        )
        at = where("operators.gpu_operator.driver_version", new, old)
        found.append(Finding("upgrades", "GPU driver", message, at, needs=DRAIN if drains else ""))
    ofed_old = (old.operators.get("network_operator") or {}).get("doca_ofed_version")
    ofed_new = (new.operators.get("network_operator") or {}).get("doca_ofed_version")
    if ofed_old != ofed_new:
        message = (
            f"DOCA-OFED driver {ofed_old} -> {ofed_new}: the Network Operator reloads the InfiniBand driver "
            "on every node"
        )
        at = where("operators.network_operator.doca_ofed_version", new, old)
        found.append(Finding("upgrades", "DOCA-OFED driver", message, at, needs=DRAIN))
    return found


_STORAGE_FIELDS = {
    "capacity_tb": ("capacity", " TB"),
    "booked_tb": ("booked by tenants", " TB"),
    "read_gb_per_s": ("read", " GB/s"),
    "write_gb_per_s": ("write", " GB/s"),
    "read_gb_per_s_per_node": ("read per node", " GB/s"),
    "nodes": ("nodes using it", ""),
}
# Derived figures are located at the value they come from.
_STORAGE_SOURCES = {"booked_tb": "tenants", "read_gb_per_s_per_node": "read_gb_per_s", "nodes": "tenants"}


def _storage_intents(old: SiteFacts, new: SiteFacts) -> list[Finding]:
    found = []
    for name, before, after in paired(old.storage, new.storage):
        at = f"storage.{name}"
        if before is None and after is not None:
            message = f"new storage {name}: {after.kind} {_tb(after.capacity_tb)}"
            found.append(Finding("storage", name, message, where(at, new, old)))
        elif after is None and before is not None:
            message = f"storage {name} removed ({_tb(before.capacity_tb)})"
            found.append(Finding("storage", name, message, where(at, new, old)))
        elif before is not None and after is not None:
            found += _storage_changes(name, before, after, old, new, _resized(old, new))
    return found


def _storage_changes(
    name: str, before: StorageFacts, after: StorageFacts, old: SiteFacts, new: SiteFacts, resized: str
) -> list[Finding]:
    changes, first = [], ""
    a_json, b_json = before.to_json(), after.to_json()
    for key, a, b in paired(a_json, b_json):
        if a == b or a is None or b is None:
            continue
        label, unit = _STORAGE_FIELDS.get(key, (key.replace("_", " "), ""))
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
            changes.append(f"{label} {n(a)} -> {n(b)}{unit}")
        else:
            changes.append(f"{label} {a} -> {b}")
        # Nodes using a system (and so its per-node figure) follow the pools' sizes when a pool changed.
        derived = resized if key in ("nodes", "read_gb_per_s_per_node") and resized else ""
        first = first or derived or where(f"storage.{name}.{_STORAGE_SOURCES.get(key, key)}", new, old)
    if not changes:
        return []
    return [Finding("storage", name, f"storage {name}: " + ", ".join(changes), first)]


def _resized(old: SiteFacts, new: SiteFacts) -> str:
    """Where the first pool that grew, shrank, came or went is written: the cause of derived changes."""
    for name, before, after in paired(old.pools, new.pools):
        if (before.nodes if before else 0) != (after.nodes if after else 0):
            return where(f"pools.{name}.nodes" if before and after else f"pools.{name}", new, old)
    return ""


def _fabric_and_power(old: SiteFacts, new: SiteFacts) -> list[Finding]:
    found = []
    cause = _resized(old, new)
    for label, a, b in (
        ("switches", old.fabric.switches, new.fabric.switches),
        ("cables", old.fabric.cables, new.fabric.cables),
    ):
        if a and b and a.get("total") != b.get("total"):
            message = f"fabric {label}: {n(a['total'])} -> {n(b['total'])} ({signed(b['total'] - a['total'])})"
            found.append(Finding("fabric", label, message, cause or where("fabric", new, old)))
    a_power, b_power = old.power, new.power
    if a_power.facility_kw != b_power.facility_kw:
        message = (
            f"facility power at full load {a_power.facility_kw / 1000:,.2f} -> "
            f"{b_power.facility_kw / 1000:,.2f} MW of {b_power.envelope_kw / 1000:,.2f} MW"
        )
        found.append(Finding("power", "power", message, cause or where("power", new, old)))
    return found
