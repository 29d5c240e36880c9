"""Splitting a deployed one-stack site: the old->new URN map and the `pulumi state move` commands.

Both plans come from the mock runtime: the site composed as one stack (today's layout) and as its
stacks. The moves are replayed as pulumi's ``state move`` applies them (pkg/cmd/pulumi/state/
state_move.go: named resources and all their children move, each URN keeps everything but its
stack segment), and must give exactly the resources the split program declares.
"""

from __future__ import annotations

import dataclasses
import shlex
from functools import cache
from pathlib import Path

import pytest

from infra.config.loader import load_site
from infra.engine.migration import UrnMap, UrnMapError, in_stack, state_move_commands, top_moves, urn_map, urn_stack
from infra.engine.planner import plan_site
from infra.engine.recording import PlannedResource, RecordedPlan

PILOT = Path(__file__).resolve().parents[2] / "site-configs" / "eu-pilot.yaml"


@cache
def plans() -> tuple[RecordedPlan, RecordedPlan]:
    config = load_site(PILOT)
    return plan_site(config, single_stack=True), plan_site(config)


def _replay(old: RecordedPlan, moves: dict[str, list[str]]) -> set[str]:
    """The URNs after running the moves the way `pulumi state move` does."""
    children: dict[str, list[str]] = {}
    for resource in old.resources:
        children.setdefault(resource.parent, []).append(resource.urn)
    after = {r.urn for r in old.resources}
    for stack, named in moves.items():
        pending, moving = list(named), set()
        while pending:
            urn = pending.pop()
            if urn not in moving:
                moving.add(urn)
                pending += children.get(urn, [])
        after -= moving
        after |= {in_stack(urn, stack) for urn in moving}
    return after


def test_every_resource_of_the_one_stack_site_maps_to_one_in_the_split_site() -> None:
    old, new = plans()
    mapping = urn_map(old, new, new.stacks)
    assert mapping.dropped == (), "the split deletes nothing"
    assert set(mapping.moves) | set(mapping.kept) == {r.urn for r in old.resources}
    kept_types = {old.resource(u).type for u in mapping.kept}  # type: ignore[union-attr]
    assert "gigafactory:index:ClusterOperators" in kept_types, "the operators stay in the site's stack"
    assert {urn_stack(u) for u in mapping.kept} == {"eu-pilot"}
    created = {new.resource(u).type for u in mapping.created}  # type: ignore[union-attr]
    assert created == {"pulumi:providers:kubernetes", "gigafactory:site:GigafactorySite"}, "each stack's own roots"
    assert mapping.new_urn(next(iter(mapping.moves))) in {r.urn for r in new.resources}


def test_replaying_the_moves_gives_the_split_program_s_resources() -> None:
    old, new = plans()
    mapping = urn_map(old, new, new.stacks)
    moves = top_moves(mapping, old)
    assert set(moves) == set(new.stacks) - {"eu-pilot"}
    # Only top-level components are named; their children follow them.
    named = [old.resource(u) for urns in moves.values() for u in urns]
    assert all(r is not None and r.type.startswith("gigafactory:") for r in named)
    after = _replay(old, moves)
    created = set(mapping.created)
    assert after == {r.urn for r in new.resources} - created


def test_commands_back_up_create_move_then_preview_in_order() -> None:
    old, new = plans()
    mapping = urn_map(old, new, new.stacks)
    lines = state_move_commands(mapping, old)
    commands = [line for line in lines if line.startswith("pulumi")]
    assert commands[0] == "pulumi stack export --stack eu-pilot --file eu-pilot.before-split.json"
    inits = [c for c in commands if c.startswith("pulumi stack init")]
    assert inits[0] == "pulumi stack init eu-pilot.fabric --copy-config-from eu-pilot"
    moved = [shlex.split(c) for c in commands if c.startswith("pulumi state move")]
    assert [m[m.index("--dest") + 1] for m in moved] == [s for s in new.stacks if s != "eu-pilot"]
    assert commands.index(inits[-1]) < commands.index(next(c for c in commands if "state move" in c))
    assert commands[-1].startswith("pulumi preview --stack eu-pilot.storage")


def test_node_patches_leave_the_state_without_being_deleted() -> None:
    old, new = plans()
    pool = next(r for r in old.resources if r.type == "gigafactory:index:GpuNodePool")
    patch = PlannedResource(
        urn=f"urn:pulumi:eu-pilot::gigafactory::{pool.type}$kubernetes:core/v1:NodePatch::{pool.name}-pilot-gpu-001",
        type="kubernetes:core/v1:NodePatch",
        name=f"{pool.name}-pilot-gpu-001",
        custom=True,
        parent=pool.urn,
        provider=pool.provider,
        inputs={"metadata": {"name": "pilot-gpu-001"}},
        component=pool.component,
    )
    before = dataclasses.replace(old, resources=(*old.resources, patch), _by_urn={})
    mapping = urn_map(before, new, new.stacks)
    assert mapping.dropped == (patch.urn,)
    lines = state_move_commands(mapping, before)
    text = "\n".join(lines)
    assert "pulumi state delete" not in text and "pulumi destroy" not in text
    assert 'select(.type == "kubernetes:core/v1:NodePatch")' in text
    released = next(i for i, line in enumerate(lines) if "stack import" in line)
    assert released < next(i for i, line in enumerate(lines) if "state move" in line), "drop before moving"


def test_map_file_round_trips_and_refuses_other_files(tmp_path: Path) -> None:
    old, new = plans()
    mapping = urn_map(old, new, new.stacks)
    path = tmp_path / "urn-map.json"
    path.write_text(mapping.to_json(), encoding="utf-8")
    again = UrnMap.read(path)
    assert again.moves == mapping.moves and again.stacks == new.stacks and again.to_json() == mapping.to_json()
    path.write_text(old.to_json(), encoding="utf-8")
    with pytest.raises(UrnMapError, match="not a URN map"):
        UrnMap.read(path)


def test_the_diff_reads_the_split_as_moves_not_deletes() -> None:
    """The reviewer's diff of a site before and after its split: moves per stack, nothing deleted."""
    from infra.engine.report import diff_plans

    old, new = plans()
    diff = diff_plans(old, new)
    ops = {c.op for g in diff.components for c in g.changes}
    assert "delete" not in ops, "the split deletes nothing that state move carries"
    assert not any(d.kind == "protected-storage" for d in diff.dangers)
    moves = [i for i in diff.intents if i.kind == "moves"]
    assert moves and all("move from stack eu-pilot to eu-pilot." in i.message for i in moves)
    assert sum(int(i.message.split(" ")[0].replace(",", "")) for i in moves) == len(urn_map(old, new).moves)
    # Without the map the same change reads as a delete of everything that moves.
    unmapped = diff_plans(old, new, {})
    assert sum(c.op == "delete" for g in unmapped.components for c in g.changes) >= len(urn_map(old, new).moves)
