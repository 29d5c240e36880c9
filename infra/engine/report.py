"""The plan diff as a reviewer reads it: dangers first, then intent, then changes per component.

Three formats: ``markdown`` (a pull-request comment, one collapsible section per component, kept
under GitHub's 65,536-character comment limit), ``text`` (a terminal) and ``json`` (tools).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from infra.engine.dangers import DiffInput, dangers
from infra.engine.diff import OPS, ResourceChange, moves_applied, resource_changes
from infra.engine.findings import Finding
from infra.engine.intent import intents, move_intents
from infra.engine.migration import UrnMapError, alias_moves, urn_map
from infra.engine.recording import RecordedPlan

DIFF_FORMAT = "gigafactory-plan-diff/1"
# GitHub refuses comments over 65,536 characters; leave room for the workflow's own header.
MARKDOWN_LIMIT = 60_000
_SYMBOL = {"create": "+", "update": "~", "replace": "+-", "delete": "-"}
_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@dataclass(frozen=True)
class ComponentChanges:
    """The changes under one component of the site."""

    component: str
    label: str
    changes: tuple[ResourceChange, ...]

    def counts(self) -> dict[str, int]:
        """Changes per operation, in the order create, update, replace, delete (zeros left out)."""
        counted = Counter(c.op for c in self.changes)
        return {op: counted[op] for op in OPS if counted[op]}


@dataclass(frozen=True)
class PlanDiff:
    """Everything ``gigafactory diff`` reports."""

    old_stack: str
    new_stack: str
    dangers: tuple[Finding, ...]
    intents: tuple[Finding, ...]
    components: tuple[ComponentChanges, ...]

    def counts(self) -> dict[str, int]:
        """Changes per operation over the whole site (every operation, zeros included)."""
        counted = Counter(c.op for group in self.components for c in group.changes)
        return {op: counted[op] for op in OPS}

    @property
    def dangerous(self) -> bool:
        """True when at least one dangerous change was found."""
        return bool(self.dangers)


def diff_plans(old: RecordedPlan, new: RecordedPlan, moved: Mapping[str, str] | None = None) -> PlanDiff:
    """Compare two plans of a site; ``moved`` maps old URNs to new ones (see ``resource_changes``).

    Without a map, plans of different stack layouts (a site split into stacks) are matched by the
    map ``gigafactory migrate`` writes for them (``infra/engine/migration.py``): what ``pulumi state
    move`` moves is the same resource, not a delete plus a create. So are resources the new plan
    reaches through an alias (a component's renamed type token), in one stack or across stacks.
    """
    if moved is None and old.stacks != new.stacks:
        try:
            moved = urn_map(old, new, new.stacks).moves
        except UrnMapError:
            moved = None
    elif moved is None:
        moved = alias_moves(old, new)
    applied = moves_applied(old, new, moved or {})
    changes = resource_changes(old, new, applied)
    old_facts, new_facts = old.facts, new.facts
    groups: dict[str, list[ResourceChange]] = {}
    for change in changes:
        groups.setdefault(change.component, []).append(change)
    components = tuple(
        ComponentChanges(name, _label(name, new, old), tuple(items)) for name, items in sorted(groups.items())
    )
    return PlanDiff(
        old_stack=old.stack,
        new_stack=new.stack,
        dangers=tuple(dangers(DiffInput(old, new, old_facts, new_facts, tuple(changes)))),
        intents=tuple(move_intents(applied) + intents(old_facts, new_facts)),
        components=components,
    )


def _label(component: str, *plans: RecordedPlan) -> str:
    for plan in plans:
        label = plan.component_label(component)
        if label != component:
            return label
    return component


def value_text(value: Any, limit: int = 80) -> str:
    """A short one-line rendering of an input value."""
    if value is None:
        return "(none)"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _summary_line(diff: PlanDiff) -> str:
    counts = diff.counts()
    parts = [f"{counts['create']:,} to create", f"{counts['update']:,} to update"]
    parts += [f"{counts['replace']:,} to replace", f"{counts['delete']:,} to delete"]
    touched = sum(1 for group in diff.components if group.changes)
    return ", ".join(parts) + f" in {touched} component{'s' if touched != 1 else ''}"


def to_json(diff: PlanDiff) -> str:
    """The diff as JSON (sorted keys)."""
    document = {
        "format": DIFF_FORMAT,
        "old_stack": diff.old_stack,
        "new_stack": diff.new_stack,
        "dangerous": diff.dangerous,
        "counts": diff.counts(),
        "dangers": [d.to_json() for d in diff.dangers],
        "intents": [i.to_json() for i in diff.intents],
        "components": [
            {
                "component": group.component,
                "label": group.label,
                "counts": group.counts(),
                "changes": [c.to_json() for c in group.changes],
            }
            for group in diff.components
        ],
    }
    return json.dumps(document, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def to_text(diff: PlanDiff, *, max_fields: int = 20) -> str:
    """The diff for a terminal: every change, at most ``max_fields`` field changes per resource."""
    lines = [f"plan diff {diff.old_stack} -> {diff.new_stack}: {_summary_line(diff)}"]
    if diff.dangers:
        lines += ["", f"DANGER ({len(diff.dangers)})"]
        for danger in diff.dangers:
            lines.append(f"  ! [{danger.kind}] {_located(danger)}")
            lines.append(f"      to accept: {danger.accept}")
    if diff.intents:
        lines += ["", "What changes"]
        lines += [f"  - {_needs(i)}{_located(i)}" for i in diff.intents]
    for group in diff.components:
        counts = ", ".join(f"{_SYMBOL[op]}{n}" for op, n in group.counts().items())
        lines += ["", f"{group.label} ({counts})"]
        for change in group.changes:
            what = f"{change.kind} " if change.kind else ""
            lines.append(f"  {_SYMBOL[change.op]:<2} {what}{change.name}  [{change.type}]")
            lines += [f"       replaces: {reason}" for reason in change.replace_reasons]
            for item in change.fields[:max_fields]:
                mark = " (replaces)" if item.replaces else ""
                lines.append(f"       {item.path}: {value_text(item.old)} -> {value_text(item.new)}{mark}")
            if len(change.fields) > max_fields:
                lines.append(f"       ... {len(change.fields) - max_fields} more fields")
    if not diff.components:
        lines += ["", "no resource changes"]
    return "\n".join(lines) + "\n"


def _located(finding: Finding) -> str:
    return f"{finding.where}: {finding.message}" if finding.where else finding.message


def _needs(finding: Finding) -> str:
    return f"[{finding.needs}] " if finding.needs else ""


def _md_code(value: Any, limit: int = 60) -> str:
    text = value_text(value, limit).replace("`", "'").replace("|", "\\|")
    return f"`{text}`"


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["code"] = _md_code
    environment.filters["needs"] = _needs
    return environment


def to_markdown(diff: PlanDiff, *, limit: int = MARKDOWN_LIMIT) -> str:
    """The diff as a pull-request comment, shortened (fewer rows per component) to fit ``limit``."""
    template = _environment().get_template("pr-comment.md.j2")
    text = ""
    for max_rows, max_fields in ((100, 8), (25, 3), (5, 1), (0, 0)):
        text = template.render(
            diff=diff,
            summary=_summary_line(diff),
            symbol=_SYMBOL,
            max_rows=max_rows,
            max_fields=max_fields,
        )
        if len(text) <= limit:
            return text
    # Even one line per component is too long (thousands of components): cut, and say so.
    cut = text[: limit - 200]
    return cut[: cut.rfind("\n") + 1] + "\n_(comment cut to fit; run `gigafactory diff` for the full report)_\n"
