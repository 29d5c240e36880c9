"""Resource-level and field-level differences between two plans, as Pulumi would act on them.

Resources match by URN. A resource only in the new plan is created, only in the old one deleted;
one in both with different inputs or options is updated in place, or replaced when a changed field
is immutable (``immutable.py``, each rule citing its source) or its provider is replaced.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from infra.engine.immutable import PROVIDER_TYPE, replace_reasons
from infra.engine.recording import PlannedResource, RecordedPlan

CREATE, UPDATE, REPLACE, DELETE = "create", "update", "replace", "delete"
OPS = (CREATE, UPDATE, REPLACE, DELETE)
_MISSING = object()
# A path into a JSON or YAML document held in a string field: ``spec.config{json}.plugins[0].pkey``.
DOCUMENT_MARKERS = ("{json}", "{yaml}")


@dataclass(frozen=True)
class FieldChange:
    """One changed input (dotted path) or option (``options.<name>``); ``None`` side = absent."""

    path: str
    old: Any
    new: Any
    replaces: bool = False
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"path": self.path, "old": self.old, "new": self.new, "replaces": self.replaces, "reason": self.reason}


@dataclass(frozen=True)
class ResourceChange:
    """What happens to one resource."""

    op: str
    urn: str
    type: str
    name: str
    component: str
    protected: bool
    kind: str = ""
    fields: tuple[FieldChange, ...] = ()
    replace_reasons: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "op": self.op,
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "kind": self.kind,
            "component": self.component,
            "protected": self.protected,
            "replace_reasons": list(self.replace_reasons),
            "fields": [f.to_json() for f in self.fields],
        }


def _document(text: str) -> tuple[str, Any] | None:
    """``({json}|{yaml}, parsed)`` when ``text`` holds a JSON or multi-line YAML mapping or list."""
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            parsed = json.loads(stripped)
        except ValueError:
            parsed = None
        if isinstance(parsed, (dict, list)):
            return "{json}", parsed
    if "\n" in stripped:
        try:
            parsed = yaml.safe_load(stripped)
        except yaml.YAMLError:
            return None
        if isinstance(parsed, (dict, list)):
            return "{yaml}", parsed
    return None


def outer_path(path: str) -> str:
    """The input field a path names: ``spec.config`` for ``spec.config{json}.plugins[0].pkey``."""
    cut = min((path.find(marker) for marker in DOCUMENT_MARKERS if marker in path), default=-1)
    return path if cut < 0 else path[:cut]


def field_changes(old: Any, new: Any, prefix: str = "") -> Iterator[tuple[str, Any, Any]]:
    """``(path, old, new)`` for every leaf that differs; lists of equal length compare item by item.

    Strings that both hold a JSON or YAML document of the same format (CNI configs, Helm values,
    ConfigMap data) are compared as documents: ``spec.config{json}.plugins[0].pkey``, not two blobs.
    """
    if isinstance(old, str) and isinstance(new, str) and old != new and prefix:
        before, after = _document(old), _document(new)
        if before is not None and after is not None and before[0] == after[0]:
            yield from field_changes(before[1], after[1], prefix + before[0])
            return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            a, b = old.get(key, _MISSING), new.get(key, _MISSING)
            if a is _MISSING:
                yield path, None, b
            elif b is _MISSING:
                yield path, a, None
            else:
                yield from field_changes(a, b, path)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            yield from field_changes(a, b, f"{prefix}[{index}]")
    elif old != new or type(old) is not type(new):
        yield prefix, old, new


def _options(resource: PlannedResource) -> dict[str, Any]:
    # The provider is compared without its ID, which the mock engine derives from the name.
    return {**resource.options(), "provider": resource.provider_urn}


def _kind(resource: PlannedResource) -> str:
    """The Kubernetes kind (``NodePatch`` for a patch of a Node), '' for anything else."""
    if not resource.type.startswith("kubernetes:") or "kind" not in resource.inputs:
        return ""
    kind = str(resource.inputs["kind"])
    return f"{kind}Patch" if resource.type.endswith("Patch") else kind


def _ignored(path: str, ignore_changes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith((f"{p}.", f"{p}[")) for p in ignore_changes)


def _compare(old: PlannedResource, new: PlannedResource) -> ResourceChange | None:
    changes = [
        (path, a, b)
        for path, a, b in field_changes(old.inputs, new.inputs)
        if not _ignored(outer_path(path), new.ignore_changes)
    ]
    outer = sorted({outer_path(p) for p, _, _ in changes})
    replaced = dict(replace_reasons(new.type, old.inputs, new.inputs, outer, new.replace_on_changes))
    fields = [
        FieldChange(path, a, b, outer_path(path) in replaced, replaced.get(outer_path(path), ""))
        for path, a, b in changes
    ]
    fields += [FieldChange(f"options.{path}", a, b) for path, a, b in field_changes(_options(old), _options(new))]
    if not fields:
        return None
    reasons = {f"{path}: {source}" for path, source in replaced.items()}
    return _change(REPLACE if replaced else UPDATE, new, protected=old.protect, fields=fields, reasons=reasons)


def _change(
    op: str,
    resource: PlannedResource,
    *,
    protected: bool | None = None,
    fields: Iterable[FieldChange] = (),
    reasons: Iterable[str] = (),
) -> ResourceChange:
    """The change ``op`` of ``resource``; ``protected`` defaults to the resource's own ``protect``."""
    return ResourceChange(
        op=op,
        urn=resource.urn,
        type=resource.type,
        name=resource.name,
        component=resource.component,
        protected=resource.protect if protected is None else protected,
        kind=_kind(resource),
        fields=tuple(fields),
        replace_reasons=tuple(sorted(set(reasons))),
    )


def moves_applied(old: RecordedPlan, new: RecordedPlan, moved: Mapping[str, str]) -> dict[str, str]:
    """The entries of an old -> new URN map that apply: the old URN is in ``old``, the new one in ``new``."""
    return {a: b for a, b in moved.items() if a != b and old.resource(a) is not None and new.resource(b) is not None}


def _renamed(plan: RecordedPlan, moved: Mapping[str, str]) -> RecordedPlan:
    """``plan`` with every URN (its own, parent, provider, dependencies) read through ``moved``."""

    def urn(value: str) -> str:
        return moved.get(value, value)

    def provider(value: str) -> str:
        base, _, ident = value.rpartition("::") if value.count("::") > 3 else (value, "", "")
        return f"{urn(base)}::{ident}" if ident else urn(value)

    resources = tuple(
        dataclasses.replace(
            r,
            urn=urn(r.urn),
            parent=urn(r.parent),
            provider=provider(r.provider),
            # Recorded sorted (the runtime): a renamed dependency may sort elsewhere, which is no change.
            depends_on=tuple(sorted(urn(d) for d in r.depends_on)),
        )
        for r in plan.resources
    )
    return dataclasses.replace(plan, resources=tuple(sorted(resources, key=lambda r: r.urn)), _by_urn={})


def resource_changes(
    old: RecordedPlan, new: RecordedPlan, moved: Mapping[str, str] | None = None
) -> list[ResourceChange]:
    """Every create, update, replace and delete from ``old`` to ``new``, ordered by component then URN.

    ``moved`` maps old URNs to new ones (a stack split or a new parent, deployed with aliases): a
    moved resource is matched with its new URN and reported as an update of ``urn``, not as a
    delete plus a create.
    """
    applied = moves_applied(old, new, moved or {})
    if applied:
        return _with_moves(resource_changes(_renamed(old, applied), new), new, applied)
    changes: dict[str, ResourceChange] = {}
    for resource in new.resources:
        before = old.resource(resource.urn)
        if before is None:
            changes[resource.urn] = _change(CREATE, resource)
        else:
            change = _compare(before, resource)
            if change is not None:
                changes[resource.urn] = change
    for resource in old.resources:
        if new.resource(resource.urn) is None:
            changes[resource.urn] = _change(DELETE, resource)
    _cascade_provider_replacements(old, new, changes)
    return sorted(changes.values(), key=lambda c: (c.component, c.urn))


def _with_moves(changes: list[ResourceChange], new: RecordedPlan, moved: Mapping[str, str]) -> list[ResourceChange]:
    """``changes`` with the move as the first field of every moved resource that also changes.

    A moved resource that changes nothing else is no change: the moves are summed up per stack in
    the intent (a stack split moves thousands of resources, one line each would bury the rest).
    """
    back = {after: before for before, after in moved.items()}
    return [
        dataclasses.replace(c, fields=(FieldChange("urn", back[c.urn], c.urn), *c.fields)) if c.urn in back else c
        for c in changes
    ]


def _cascade_provider_replacements(old: RecordedPlan, new: RecordedPlan, changes: dict[str, ResourceChange]) -> None:
    """A replaced provider replaces every resource it manages (pulumi step_generator providerChanged)."""
    replaced = {c.urn for c in changes.values() if c.type == PROVIDER_TYPE and c.op == REPLACE}
    if not replaced:
        return
    for resource in new.resources:
        before = old.resource(resource.urn)
        if before is None or before.provider_urn not in replaced:
            continue
        reason = f"provider {before.provider_urn.rsplit('::', 1)[-1]} is replaced"
        current = changes.get(resource.urn)
        changes[resource.urn] = _change(
            REPLACE,
            resource,
            protected=before.protect,
            fields=current.fields if current else (),
            reasons=(*(current.replace_reasons if current else ()), reason),
        )
