"""What a plan change means for the site, and which parts of it are dangerous.

Intent comes from the plans' ``site`` sections (facts derived from the site configs): GPUs per
pool, tenants and their quotas, partition keys, operator and driver versions, drain policy.
Dangers combine those facts with the resource changes:

- ``protected-storage``: a protected resource, or a PersistentVolume(Claim), deleted or replaced
  (the data on it goes, and ``pulumi up`` stops at a protected resource anyway);
- ``quota-capacity``: a pool loses GPUs that tenants hold nominal quota on (more GPUs removed than
  the pool had unbooked);
- ``driver-without-drain``: the GPU driver changes while a pool's driver upgrade policy does not
  drain nodes (running jobs lose their GPUs mid-step);
- ``partition-key``: a tenant's InfiniBand partition key changes (its running pods' GUIDs stay in
  the old partition until they restart: jobs stall or talk across tenants' partitions).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from infra.engine.diff import DELETE, REPLACE, ResourceChange

STATEFUL_KINDS = ("PersistentVolumeClaim", "PersistentVolume")
DANGER_KINDS = ("protected-storage", "quota-capacity", "driver-without-drain", "partition-key")


@dataclass(frozen=True)
class Finding:
    """One line of the summary: a ``kind`` (see module doc), its subject and a sentence."""

    kind: str
    subject: str
    message: str

    def to_json(self) -> dict[str, str]:
        """JSON form."""
        return {"kind": self.kind, "subject": self.subject, "message": self.message}


def _n(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _signed(value: float) -> str:
    return ("+" if value > 0 else "-") + _n(abs(value))


def _paired(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[tuple[str, Any, Any]]:
    """``(key, old value, new value)`` for every key of either side, sorted; None where a side lacks it."""
    for key in sorted(set(old) | set(new)):
        yield key, old.get(key), new.get(key)


def intents(old: dict[str, Any], new: dict[str, Any]) -> list[Finding]:
    """The intent-level summary from ``old`` to ``new`` site facts, in a fixed order."""
    found: list[Finding] = []
    found += _pool_intents(old.get("pools", {}), new.get("pools", {}))
    found += _tenant_intents(old.get("tenants", {}), new.get("tenants", {}))
    found += _operator_intents(old, new)
    found += _storage_intents(old.get("storage", {}), new.get("storage", {}))
    found += _fabric_and_power(old, new)
    return found


def _pool_intents(old: dict[str, Any], new: dict[str, Any]) -> list[Finding]:
    found = []
    for name, before, after in _paired(old, new):
        if before is None:
            found.append(
                Finding(
                    "gpus",
                    f"pool {name}",
                    f"new pool {name}: {_signed(after['gpus'])} GPUs "
                    f"({_n(after['nodes'])} x {after['gpu_model']} nodes)",
                )
            )
        elif after is None:
            found.append(Finding("gpus", f"pool {name}", f"pool {name} removed: {_signed(-before['gpus'])} GPUs"))
        elif before["gpus"] != after["gpus"]:
            found.append(
                Finding(
                    "gpus",
                    f"pool {name}",
                    f"pool {name}: {_signed(after['gpus'] - before['gpus'])} GPUs "
                    f"({_n(before['nodes'])} -> {_n(after['nodes'])} nodes)",
                )
            )
        if before and after and before.get("driver_upgrade") != after.get("driver_upgrade"):
            found.append(
                Finding(
                    "drain-policy",
                    f"pool {name}",
                    f"pool {name}: driver upgrade policy {_policy(before)} -> {_policy(after)}",
                )
            )
        if before and after and before.get("gpu_sharing") != after.get("gpu_sharing"):
            found.append(
                Finding(
                    "gpu-sharing",
                    f"pool {name}",
                    f"pool {name}: GPU sharing {_sharing(before)} -> {_sharing(after)} "
                    "(the GPU Operator reconfigures and restarts GPU workloads on every node)",
                )
            )
    return found


def _policy(pool: dict[str, Any]) -> str:
    upgrade = pool.get("driver_upgrade") or {}
    drain = "drain" if upgrade.get("drain") else "no drain"
    return f"{upgrade.get('max_unavailable')} at a time, {upgrade.get('max_parallel_upgrades')} parallel, {drain}"


def _sharing(pool: dict[str, Any]) -> str:
    sharing = pool.get("gpu_sharing") or {}
    mode = sharing.get("mode", "none")
    detail = sharing.get("mig_profile") or sharing.get("replicas")
    return f"{mode} {detail}" if detail else str(mode)


def _tenant_intents(old: dict[str, Any], new: dict[str, Any]) -> list[Finding]:
    found = []
    for name, before, after in _paired(old, new):
        if before is None:
            quotas = ", ".join(f"{pool} {_n(q['gpus'])}" for pool, q in after["gpu_quotas"].items()) or "none"
            found.append(
                Finding("tenants", f"tenant {name}", f"new tenant {name} ({after['kind']}), GPU quotas: {quotas}")
            )
            continue
        if after is None:
            found.append(Finding("tenants", f"tenant {name}", f"tenant {name} removed"))
            continue
        for pool, a, b in _paired(before["gpu_quotas"], after["gpu_quotas"]):
            if a != b:
                found.append(
                    Finding("quotas", f"tenant {name}", f"tenant {name} quota on {pool}: {_quota(a)} -> {_quota(b)}")
                )
        for system, a_tb, b_tb in _paired(before.get("storage_quotas_tb", {}), after.get("storage_quotas_tb", {})):
            if a_tb != b_tb:
                message = f"tenant {name} storage quota on {system}: {_tb(a_tb)} -> {_tb(b_tb)}"
                found.append(Finding("quotas", f"tenant {name}", message))
        if before.get("cohort") != after.get("cohort"):
            found.append(
                Finding(
                    "tenants",
                    f"tenant {name}",
                    f"tenant {name} cohort {before.get('cohort') or 'none'} -> {after.get('cohort') or 'none'}",
                )
            )
        if before.get("isolation") != after.get("isolation"):
            found.append(Finding("tenants", f"tenant {name}", f"tenant {name} isolation settings change"))
        if before["pkey"] != after["pkey"]:
            found.append(
                Finding("pkeys", f"tenant {name}", f"tenant {name} partition key {before['pkey']} -> {after['pkey']}")
            )
    return found


def _quota(quota: dict[str, Any] | None) -> str:
    if quota is None:
        return "none"
    extra = [
        f"{label} {_n(quota[key])}"
        for key, label in (("borrowing_limit", "borrow"), ("lending_limit", "lend"))
        if quota.get(key) is not None
    ]
    return f"{_n(quota['gpus'])} GPUs" + (f" ({', '.join(extra)})" if extra else "")


def _tb(value: float | None) -> str:
    return "none" if value is None else f"{_n(value)} TB"


def _operator_intents(old: dict[str, Any], new: dict[str, Any]) -> list[Finding]:
    found = []
    before, after = old.get("operators", {}), new.get("operators", {})
    for name, a, b in _paired(before, after):
        a, b = a or {}, b or {}
        if a.get("version") != b.get("version"):
            found.append(
                Finding("upgrades", name, f"{name.replace('_', ' ')} {a.get('version')} -> {b.get('version')}")
            )
    driver_old, driver_new = _driver(old), _driver(new)
    if driver_old != driver_new:
        pools = new.get("pools", {})
        rolls = "; ".join(f"{pool} {_policy(p)}" for pool, p in pools.items()) or "no GPU pools"
        found.append(
            Finding(
                "upgrades",
                "GPU driver",
                f"GPU driver {driver_old} -> {driver_new}: the GPU Operator re-installs the driver on every "
                f"GPU node, pool by pool ({rolls})",
            )
        )
    ofed_old = (before.get("network_operator") or {}).get("doca_ofed_version")
    ofed_new = (after.get("network_operator") or {}).get("doca_ofed_version")
    if ofed_old != ofed_new:
        found.append(
            Finding(
                "upgrades",
                "DOCA-OFED driver",
                f"DOCA-OFED driver {ofed_old} -> {ofed_new}: the Network Operator reloads the InfiniBand driver "
                "on every node",
            )
        )
    return found


def _driver(facts: dict[str, Any]) -> str:
    gpu = (facts.get("operators") or {}).get("gpu_operator") or {}
    return f"{gpu.get('driver_version')} ({gpu.get('kernel_module_type')})"


_STORAGE_FIELDS = {
    "capacity_tb": ("capacity", " TB"),
    "booked_tb": ("booked by tenants", " TB"),
    "read_gb_per_s": ("read", " GB/s"),
    "write_gb_per_s": ("write", " GB/s"),
    "read_gb_per_s_per_node": ("read per node", " GB/s"),
}


def _storage_intents(old: dict[str, Any], new: dict[str, Any]) -> list[Finding]:
    found = []
    for name, before, after in _paired(old, new):
        if before is None:
            found.append(Finding("storage", name, f"new storage {name}: {after['kind']} {_tb(after['capacity_tb'])}"))
            continue
        if after is None:
            found.append(Finding("storage", name, f"storage {name} removed ({_tb(before['capacity_tb'])})"))
            continue
        changes = []
        for key, a, b in _paired(before, after):
            if a == b or a is None or b is None:
                continue
            label, unit = _STORAGE_FIELDS.get(key, (key.replace("_", " "), ""))
            if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
                changes.append(f"{label} {_n(a)} -> {_n(b)}{unit}")
            else:
                changes.append(f"{label} {a} -> {b}")
        if changes:
            found.append(Finding("storage", name, f"storage {name}: " + ", ".join(changes)))
    return found


def _fabric_and_power(old: dict[str, Any], new: dict[str, Any]) -> list[Finding]:
    found = []
    for key, label in (("switches", "switches"), ("cables", "cables")):
        a = (old.get("fabric") or {}).get(key) or {}
        b = (new.get("fabric") or {}).get(key) or {}
        if a.get("total") != b.get("total") and a and b:
            found.append(
                Finding(
                    "fabric",
                    label,
                    f"fabric {label}: {_n(a['total'])} -> {_n(b['total'])} ({_signed(b['total'] - a['total'])})",
                )
            )
    a_power, b_power = old.get("power") or {}, new.get("power") or {}
    if a_power.get("facility_kw") != b_power.get("facility_kw") and a_power and b_power:
        found.append(
            Finding(
                "power",
                "power",
                f"facility power at full load {a_power['facility_kw'] / 1000:,.2f} -> "
                f"{b_power['facility_kw'] / 1000:,.2f} MW of {b_power['envelope_kw'] / 1000:,.2f} MW",
            )
        )
    return found


def dangers(old: dict[str, Any], new: dict[str, Any], changes: list[ResourceChange]) -> list[Finding]:
    """Dangerous changes, most severe kinds first (the order of ``DANGER_KINDS``)."""
    found = _storage_dangers(changes)
    found += _capacity_dangers(old, new)
    found += _driver_dangers(old, new)
    found += _pkey_dangers(old, new)
    return found


def _storage_dangers(changes: list[ResourceChange]) -> list[Finding]:
    found = []
    for change in changes:
        stateful = change.kind in STATEFUL_KINDS
        if change.op not in (DELETE, REPLACE) or not (change.protected or stateful):
            continue
        what = f"{change.kind or change.type} {change.name}"
        guard = "protected: `pulumi up` stops at it" if change.protected else "not protected"
        consequence = "; the data it holds would be lost" if stateful else "; everything bound to it goes with it"
        why = f" (replaced because {'; '.join(change.replace_reasons)})" if change.op == REPLACE else ""
        found.append(
            Finding(
                "protected-storage",
                change.urn,
                f"{change.op} of {what} in {change.component} ({guard}){consequence}{why}",
            )
        )
    return found


def _booked(tenants: dict[str, Any], pool: str) -> dict[str, int]:
    return {
        name: int(t["gpu_quotas"][pool]["gpus"])
        for name, t in sorted(tenants.items())
        if pool in t.get("gpu_quotas", {}) and t["gpu_quotas"][pool]["gpus"] > 0
    }


def _capacity_dangers(old: dict[str, Any], new: dict[str, Any]) -> list[Finding]:
    found = []
    old_pools, new_pools = old.get("pools", {}), new.get("pools", {})
    for name, before in sorted(old_pools.items()):
        after_gpus = (new_pools.get(name) or {}).get("gpus", 0)
        removed = before["gpus"] - after_gpus
        if removed <= 0:
            continue
        holders = _booked(old.get("tenants", {}), name)
        unbooked = before["gpus"] - sum(holders.values())
        if holders and removed > unbooked:
            held = ", ".join(f"{tenant} {_n(gpus)}" for tenant, gpus in holders.items())
            found.append(
                Finding(
                    "quota-capacity",
                    f"pool {name}",
                    f"pool {name} loses {_n(removed)} GPUs but only {_n(max(unbooked, 0))} were unbooked: "
                    f"tenants hold quota on it ({held}); their running jobs lose nodes",
                )
            )
    return found


def _driver_dangers(old: dict[str, Any], new: dict[str, Any]) -> list[Finding]:
    if _driver(old) == _driver(new):
        return []
    found = []
    for name, pool in sorted(new.get("pools", {}).items()):
        if name in old.get("pools", {}) and not (pool.get("driver_upgrade") or {}).get("drain"):
            found.append(
                Finding(
                    "driver-without-drain",
                    f"pool {name}",
                    f"GPU driver {_driver(old)} -> {_driver(new)} on pool {name}, whose driver upgrade policy does "
                    "not drain nodes: running jobs lose their GPUs mid-run (set driver_upgrade.drain: true)",
                )
            )
    return found


def _pkey_dangers(old: dict[str, Any], new: dict[str, Any]) -> list[Finding]:
    found = []
    for name, before in sorted(old.get("tenants", {}).items()):
        after = new.get("tenants", {}).get(name)
        if after is None or after["pkey"] == before["pkey"]:
            continue
        same = int(before["pkey"], 16) & 0x7FFF == int(after["pkey"], 16) & 0x7FFF
        what = "membership bit" if same else "partition"
        found.append(
            Finding(
                "partition-key",
                f"tenant {name}",
                f"tenant {name} partition key {before['pkey']} -> {after['pkey']} (changes its {what}): running "
                "pods keep the old key until restarted, so its jobs lose InfiniBand connectivity mid-run",
            )
        )
    return found
