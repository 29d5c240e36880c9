"""The danger rules a plan diff is judged by: one ordered registry, most severe first.

Each rule reads the old and new typed facts and the resource changes and returns its dangers;
each danger names the ``file:line:col`` of the value that caused it and says how to accept it.
In CI the rules come from the base branch (README, "CI for site repositories"): a pull request
cannot rewrite the rules it is judged by. Facts this code does not know (written by newer code)
are never passed silently: the ``not-judged`` rule lists them for a person to acknowledge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from components.network.naming import PKEY_MASK
from infra.engine.diff import DELETE, REPLACE, ResourceChange
from infra.engine.factjson import Facts
from infra.engine.facts import SiteFacts
from infra.engine.findings import Finding, n, where
from infra.engine.recording import PLAN_FORMAT, RecordedPlan

STATEFUL_KINDS = ("PersistentVolumeClaim", "PersistentVolume")
ACKNOWLEDGE = "label the pull request danger-acknowledged after the last push (locally: diff without --fail-on-danger)"


@dataclass(frozen=True)
class DiffInput:
    """What a danger rule reads: both plans, their typed facts and the resource changes."""

    old: RecordedPlan
    new: RecordedPlan
    old_facts: SiteFacts
    new_facts: SiteFacts
    changes: tuple[ResourceChange, ...]


@dataclass(frozen=True)
class DangerRule:
    """One kind of dangerous change: its name, what it catches, how to accept it and its check."""

    kind: str
    catches: str
    accept: str
    check: Callable[[DiffInput], Iterator[tuple[str, str, str]]]
    """Yields ``(subject, message, where)`` per danger."""

    def findings(self, data: DiffInput) -> list[Finding]:
        """This rule's dangers in ``data``."""
        return [
            Finding(self.kind, subject, message, at, accept=f"{self.accept}; then {ACKNOWLEDGE}")
            for subject, message, at in self.check(data)
        ]


def _resource_where(change: ResourceChange, data: DiffInput) -> str:
    """The site value a resource was built from: the pool, storage system or tenant its name carries."""
    best, found = 0, ""
    for facts in (data.new_facts, data.old_facts):
        for section, names in (("pools", facts.pools), ("storage", facts.storage), ("tenants", facts.tenants)):
            for name in names:
                named = f"-{name}-" in f"{change.name}-" or change.component.endswith(f"-{name}")
                if named and len(name) > best:
                    best, found = len(name), where(f"{section}.{name}", data.new_facts, data.old_facts)
    return found


def _protected_storage(data: DiffInput) -> Iterator[tuple[str, str, str]]:
    for change in data.changes:
        stateful = change.kind in STATEFUL_KINDS
        if change.op not in (DELETE, REPLACE) or not (change.protected or stateful):
            continue
        what = f"{change.kind or change.type} {change.name}"
        guard = "protected: `pulumi up` stops at it" if change.protected else "not protected"
        consequence = "; the data it holds would be lost" if stateful else "; everything bound to it goes with it"
        why = f" (replaced because {'; '.join(change.replace_reasons)})" if change.op == REPLACE else ""
        message = f"{change.op} of {what} in {change.component} ({guard}){consequence}{why}"
        yield change.urn, message, _resource_where(change, data)


def _booked(facts: SiteFacts, pool: str) -> dict[str, int]:
    return {
        name: tenant.gpu_quotas[pool].gpus
        for name, tenant in sorted(facts.tenants.items())
        if pool in tenant.gpu_quotas and tenant.gpu_quotas[pool].gpus > 0
    }


def _quota_capacity(data: DiffInput) -> Iterator[tuple[str, str, str]]:
    old, new = data.old_facts, data.new_facts
    for name, before in sorted(old.pools.items()):
        after = new.pools.get(name)
        removed = before.gpus - (after.gpus if after else 0)
        holders = _booked(old, name)
        unbooked = before.gpus - sum(holders.values())
        if removed <= 0 or not holders or removed <= unbooked:
            continue
        held = ", ".join(f"{tenant} {n(gpus)}" for tenant, gpus in holders.items())
        message = (
            f"pool {name} loses {n(removed)} GPUs but only {n(max(unbooked, 0))} were unbooked: "
            f"tenants hold quota on it ({held}); their running jobs lose nodes"
        )
        yield f"pool {name}", message, where(f"pools.{name}.nodes" if after else f"pools.{name}", new, old)


# Isolation settings a tenant asks for, and the value that is the weaker one (infra/config/tenants.py).
_WEAKER = {"dedicated_nodes": False, "own_partition": False, "encrypted_storage": False, "egress": "allow"}


def _isolation(data: DiffInput) -> Iterator[tuple[str, str, str]]:
    old, new = data.old_facts, data.new_facts
    for name, before in sorted(old.tenants.items()):
        after = new.tenants.get(name)
        if after is None:
            continue
        for key, weaker in _WEAKER.items():
            a, b = before.isolation.get(key), after.isolation.get(key)
            if a != b and b == weaker:
                message = f"tenant {name} isolation {key}: {a} -> {b}: a guarantee the tenant was given is withdrawn"
                yield f"tenant {name}", message, where(f"tenants.{name}.isolation.{key}", new, old)
        if not after.isolation.get("encrypted_storage"):
            continue
        for system, facts in sorted(new.storage.items()):
            was = old.storage.get(system)
            if (
                name in facts.tenants
                and not facts.encrypted
                and (was is None or was.encrypted or name not in was.tenants)
            ):
                message = (
                    f"tenant {name} requires encrypted storage but storage {system} it uses is not encrypted at rest"
                )
                yield f"tenant {name}", message, where(f"storage.{system}.encrypted", new, old)
    for pool, before_pool in sorted(old.pools.items()):
        after_pool = new.pools.get(pool)
        if after_pool is None or not before_pool.dedicated_to or after_pool.dedicated_to == before_pool.dedicated_to:
            continue
        message = (
            f"pool {pool} dedicated to {before_pool.dedicated_to} -> {after_pool.dedicated_to or 'shared'}: "
            f"other tenants' jobs may run on the nodes {before_pool.dedicated_to} had to itself"
        )
        yield f"pool {pool}", message, where(f"pools.{pool}.dedicated_to", new, old)


def _driver_without_drain(data: DiffInput) -> Iterator[tuple[str, str, str]]:
    old, new = data.old_facts, data.new_facts
    if old.gpu_driver() == new.gpu_driver():
        return
    for name, pool in sorted(new.pools.items()):
        if name in old.pools and not pool.driver_upgrade.get("drain"):
            message = (
                f"GPU driver {old.gpu_driver()} -> {new.gpu_driver()} on pool {name}, whose driver upgrade policy "
                "does not drain nodes: running jobs lose their GPUs mid-run"
            )
            yield f"pool {name}", message, where("operators.gpu_operator.driver_version", new, old)


def _partition_key(data: DiffInput) -> Iterator[tuple[str, str, str]]:
    old, new = data.old_facts, data.new_facts
    for name, before in sorted(old.tenants.items()):
        after = new.tenants.get(name)
        if after is None or after.pkey == before.pkey:
            continue
        same = int(before.pkey, 16) & PKEY_MASK == int(after.pkey, 16) & PKEY_MASK
        what = "membership bit" if same else "partition"
        message = (
            f"tenant {name} partition key {before.pkey} -> {after.pkey} (changes its {what}): running "
            "pods keep the old key until restarted, so its jobs lose InfiniBand connectivity mid-run"
        )
        yield f"tenant {name}", message, where(f"tenants.{name}.pkey", new, old)


def unknown_facts(facts: Any, path: str = "") -> dict[str, Any]:
    """Every fact this code does not know (kept in ``extra`` when read), by dotted path."""
    found: dict[str, Any] = {}
    if isinstance(facts, Facts):
        found.update({f"{path}.{key}".lstrip("."): value for key, value in facts.extra.items()})
        for name in facts.__dataclass_fields__:
            if name != "extra":
                found.update(unknown_facts(getattr(facts, name), f"{path}.{name}".lstrip(".")))
    elif isinstance(facts, dict):
        for key, value in facts.items():
            if isinstance(value, Facts):
                found.update(unknown_facts(value, f"{path}.{key}"))
    return found


def _not_judged(data: DiffInput) -> Iterator[tuple[str, str, str]]:
    for plan in (data.old, data.new):
        if plan.newer_format:
            message = (
                f"plan {plan.stack} is format {plan.format}, newer than this code's {PLAN_FORMAT}: "
                "what it adds is not judged by the base: acknowledge"
            )
            yield plan.format, message, ""
    before, after = unknown_facts(data.old_facts), unknown_facts(data.new_facts)
    for path in sorted(set(before) | set(after)):
        if before.get(path) != after.get(path):
            message = (
                f"{path}: {_short(before.get(path))} -> {_short(after.get(path))}: "
                "a fact this code does not know; not judged by the base: acknowledge"
            )
            yield path, message, where(path, data.new_facts, data.old_facts)


def _short(value: Any, limit: int = 60) -> str:
    shown = "(none)" if value is None else str(value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


DANGER_RULES: tuple[DangerRule, ...] = (
    DangerRule(
        "protected-storage",
        "delete or replace of a protected resource or of any PersistentVolume(Claim)",
        "copy the data off (or keep the resource: undo the change that removes or replaces it)",
        _protected_storage,
    ),
    DangerRule(
        "quota-capacity",
        "a pool loses more GPUs than were unbooked (tenants hold nominal quota on them)",
        "tell the tenants that hold quota on the pool first (their running jobs lose nodes) and drain the nodes "
        "that go",
        _quota_capacity,
    ),
    DangerRule(
        "isolation",
        "a tenant's isolation weakened: dedicated nodes, own partition, encrypted storage or closed egress "
        "withdrawn, a dedicated pool shared, or unencrypted storage given to a tenant that requires encryption",
        "get the tenant's written agreement (regulated tenants: their data protection officer) before applying",
        _isolation,
    ),
    DangerRule(
        "driver-without-drain",
        "the GPU driver changes while a pool's driver_upgrade.drain is false",
        "set driver_upgrade.drain: true on the pool, or schedule the upgrade when the pool is idle",
        _driver_without_drain,
    ),
    DangerRule(
        "partition-key",
        "a tenant's partition key changes (partition or membership bit)",
        "stop the tenant's jobs before applying and restart them after",
        _partition_key,
    ),
    DangerRule(
        "not-judged",
        "facts or a plan format the judging code does not know (written by newer code)",
        "read what the fact means in the pull request's code",
        _not_judged,
    ),
)
DANGER_KINDS = tuple(rule.kind for rule in DANGER_RULES)


def dangers(data: DiffInput) -> list[Finding]:
    """Every danger in ``data``, rule by rule in registry order."""
    return [finding for rule in DANGER_RULES for finding in rule.findings(data)]
