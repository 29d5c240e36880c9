"""A plan's stacks: which resources each holds, which stacks a change touches, what a ``pulumi up`` costs.

The cost is a model of the self-managed (DIY) backend, read from pulumi's
``pkg/backend/snapshot.go``: every step that changes state (create, update, delete) saves the
whole checkpoint twice, when it begins (the pending operation) and when it ends; a step that
changes nothing (``same``) saves nothing. A checkpoint holds, per resource, its URN, type, ID,
parent, provider, dependencies, inputs and outputs (pulumi ``apitype.ResourceV3``); for
Kubernetes objects the outputs are the inputs plus what the API server adds, so the model counts
each resource's recorded inputs twice plus its identity fields. It is a lower bound: live
outputs (status, managed fields) only add to it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from infra.engine.recording import PlannedResource, RecordedPlan

# The checkpoint's envelope: version, manifest (time, magic, plugins), secrets provider, root Stack.
_CHECKPOINT_BASE_BYTES = 2_000
_WRITES_PER_STEP = 2  # begin and end of every step that changes state


def stack_of(urn: str) -> str:
    """The stack a URN names (``urn:pulumi:<stack>::...``)."""
    return urn.removeprefix("urn:pulumi:").split("::", 1)[0]


def by_stack(plan: RecordedPlan) -> dict[str, list[PlannedResource]]:
    """The plan's resources per stack, stacks in deployment order (then any other, sorted)."""
    found: dict[str, list[PlannedResource]] = {name: [] for name in plan.stacks}
    for resource in plan.resources:
        found.setdefault(stack_of(resource.urn), []).append(resource)
    return dict(found)


def state_bytes(resource: PlannedResource) -> int:
    """Modelled bytes of ``resource`` in a checkpoint (see the module docstring)."""
    inputs = len(json.dumps(resource.inputs, separators=(",", ":")))
    identity = sum(len(text) for text in (resource.urn, resource.type, resource.parent, resource.provider))
    dependencies = sum(len(urn) for urn in resource.depends_on)
    return 2 * inputs + identity + dependencies + 200  # 200: keys, id, flags, timestamps


@dataclass(frozen=True)
class StackCost:
    """What a real ``pulumi up`` of one stack costs, modelled from the plan."""

    stack: str
    resources: int
    steps: int
    """Steps of a first ``pulumi up`` (every resource and the stack itself created)."""
    state_bytes: int
    """The checkpoint once deployed."""
    first_up_bytes: int
    """Checkpoint bytes written by the first ``pulumi up``."""
    per_change_bytes: int
    """Checkpoint bytes written for each resource a later ``pulumi up`` changes."""


def stack_cost(stack: str, resources: Sequence[PlannedResource]) -> StackCost:
    """The modelled cost of deploying ``resources`` as stack ``stack``."""
    size = _CHECKPOINT_BASE_BYTES
    written = 0
    for resource in resources:
        before = size
        size += state_bytes(resource)
        written += before + size  # begin (pending operation) and end (resource added)
    written += 2 * _CHECKPOINT_BASE_BYTES  # the root Stack resource's own step
    return StackCost(
        stack=stack,
        resources=len(resources),
        steps=len(resources) + 1,
        state_bytes=size,
        first_up_bytes=written,
        per_change_bytes=_WRITES_PER_STEP * size,
    )


def plan_costs(plan: RecordedPlan) -> list[StackCost]:
    """The cost of each of the plan's stacks, in deployment order."""
    return [stack_cost(stack, resources) for stack, resources in by_stack(plan).items()]


def one_stack_cost(plan: RecordedPlan) -> StackCost:
    """The cost of the same resources deployed as one stack (the layout before the split)."""
    return stack_cost(plan.stack, list(plan.resources))


def _digest(resources: Iterable[PlannedResource]) -> str:
    body = json.dumps([r.to_json() for r in sorted(resources, key=lambda r: r.urn)], sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def touched_stacks(old: RecordedPlan, new: RecordedPlan) -> list[str]:
    """The stacks whose resources differ between ``old`` and ``new``: the ones a change must preview.

    In ``new``'s deployment order; a stack only ``old`` has (a removed pool) comes last, since its
    resources are destroyed.
    """
    before, after = by_stack(old), by_stack(new)
    touched = [s for s in after if s not in before or _digest(after[s]) != _digest(before[s])]
    return touched + sorted(s for s in before if s not in after and before[s])


def cost_lines(plan: RecordedPlan) -> list[str]:
    """The ``plan --stats`` table: per stack, steps and checkpoint bytes of a real ``pulumi up``."""
    rows = [["stack", "resources", "steps", "state", "first up writes", "per changed resource"]]
    costs = plan_costs(plan)
    for cost in [*costs, one_stack_cost(plan)]:
        name = cost.stack if cost in costs else f"(as one stack: {plan.stack})"
        rows.append(
            [
                name,
                f"{cost.resources:,}",
                f"{cost.steps:,}",
                _mb(cost.state_bytes),
                _mb(cost.first_up_bytes),
                _mb(cost.per_change_bytes),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0]), *(cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True))]
        lines.append("  " + "  ".join(cells))
    return lines


def _mb(value: int) -> str:
    return f"{value / 1e6:,.2f} MB" if value < 10e9 else f"{value / 1e9:,.1f} GB"
