"""Moving a site's resources between Pulumi stacks without deleting anything: the old->new URN map.

Aliases cannot move a resource to another stack; ``pulumi state move`` can. It rewrites only the
stack (and project) part of each moved URN, keeps the type chain (``...GigafactorySite$...``) and
the name, moves every child of a moved resource with it, copies the resources' provider to the
destination, and re-parents a resource whose parent stays behind onto the destination's root stack
(pulumi ``pkg/cmd/pulumi/state/state_move.go``: ``renameStackAndProject``, "include all children").
So a resource of the old plan is the same resource in the new plan exactly when their URNs agree
after the stack segment; that is the whole map.

The map file (``gigafactory-urn-map/1``, JSON with sorted keys, written atomically) holds:

- ``moves``: ``{old URN: new URN}`` for every resource that changes stack (the reviewer's diff reads
  these as moves, not as a delete plus a create);
- ``kept``: URNs in both plans unchanged (they stay in their stack);
- ``dropped``: old URNs with no counterpart (``pulumi up`` would delete them; see ``state_delete``);
- ``created``: new URNs with no counterpart;
- ``stacks``: the new stacks in deployment order.

``state_move_commands`` turns a map into the commands to run, in order.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.engine.recording import RecordedPlan
from infra.errors import BadInputError

URN_MAP_FORMAT = "gigafactory-urn-map/1"
_PREFIX = "urn:pulumi:"


class UrnMapError(BadInputError):
    """A file that is not a URN map, or two plans that cannot be mapped."""


def urn_stack(urn: str) -> str:
    """The stack segment of ``urn`` (``urn:pulumi:<stack>::<project>::<types>::<name>``)."""
    if not urn.startswith(_PREFIX) or "::" not in urn:
        raise UrnMapError(f"not a Pulumi URN: {urn!r}")
    return urn[len(_PREFIX) :].split("::", 1)[0]


def _tail(urn: str) -> str:
    """Everything after the stack segment: what ``pulumi state move`` keeps."""
    return urn[len(_PREFIX) :].split("::", 1)[1]


def renamed_types(plan: RecordedPlan) -> dict[str, str]:
    """Component type token -> the token it replaced, from the components' aliases (``Alias(type_=...)``).

    Only components: a kubernetes resource's aliases are the SDK's other API versions of its kind
    (``ValidatingAdmissionPolicy`` v1 carries v1alpha1 and v1beta1), not a rename of ours; reading them
    as one would give every such resource a former type it never had.
    """
    return {r.type: former for r in plan.resources if not r.custom for former in r.alias_types}


def former_tail(urn: str, renamed: Mapping[str, str]) -> str:
    """The tail ``urn`` had before the type tokens in ``renamed`` replaced their former ones.

    The Pulumi engine gives every child the aliases of its parent (``pkg/resource/deploy/
    step_generator.go``, ``generateAliases`` with the parent's alias specs): a type renamed in the
    chain of a resource's URN is renamed for all of its descendants too.
    """
    tail = _tail(urn)
    project, chain_and_name = tail.split("::", 1)
    chain, _, name = chain_and_name.partition("::")
    former = "$".join(renamed.get(segment, segment) for segment in chain.split("$"))
    return f"{project}::{former}::{name}"


def alias_moves(old: RecordedPlan, new: RecordedPlan) -> dict[str, str]:
    """Old URN -> new URN for resources of ``new`` that ``old`` has under a former type token, in one stack.

    What the engine finds through the aliases, with nothing to run (a move between stacks is
    ``urn_map``'s).
    """
    renamed = renamed_types(new)
    if not renamed:
        return {}
    old_urns, new_urns = {r.urn for r in old.resources}, {r.urn for r in new.resources}
    moves = {}
    for resource in new.resources:
        before = f"{_PREFIX}{urn_stack(resource.urn)}::{former_tail(resource.urn, renamed)}"
        if before != resource.urn and before in old_urns and before not in new_urns:
            moves[before] = resource.urn
    return moves


def in_stack(urn: str, stack: str) -> str:
    """``urn`` with its stack segment replaced by ``stack``, as ``pulumi state move`` rewrites it."""
    urn_stack(urn)
    return f"{_PREFIX}{stack}::{_tail(urn)}"


@dataclass(frozen=True)
class UrnMap:
    """Which old URN is which new URN; see the module docstring for each field."""

    site: str
    moves: Mapping[str, str]
    kept: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    created: tuple[str, ...] = ()
    stacks: tuple[str, ...] = ()
    types: Mapping[str, str] = field(default_factory=dict, compare=False)
    """Type token of every old URN (dropped ones included), for the commands' comments."""

    def new_urn(self, old: str) -> str | None:
        """The URN ``old`` has after the moves (itself when kept), None when it is dropped."""
        if old in self.moves:
            return self.moves[old]
        return old if old in set(self.kept) else None

    def to_json(self) -> str:
        """The map as deterministic JSON text."""
        document = {
            "format": URN_MAP_FORMAT,
            "site": self.site,
            "stacks": list(self.stacks),
            "moves": dict(sorted(self.moves.items())),
            "kept": sorted(self.kept),
            "dropped": sorted(self.dropped),
            "created": sorted(self.created),
        }
        return json.dumps(document, sort_keys=True, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str, *, source: str = "urn map") -> UrnMap:
        """Parse a map file; ``UrnMapError`` naming ``source`` when it is not one."""
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise UrnMapError(f"{source}:{error.lineno}:{error.colno}: not valid JSON: {error.msg}") from None
        if not isinstance(document, dict) or document.get("format") != URN_MAP_FORMAT:
            raise UrnMapError(
                f"{source}: not a URN map (expected format {URN_MAP_FORMAT!r})\n"
                "  hint: write one with `gigafactory migrate OLD.plan.json NEW.plan.json -o DIR`"
            )
        try:
            moves = {str(k): str(v) for k, v in dict(document["moves"]).items()}
            return cls(
                site=str(document["site"]),
                moves=moves,
                kept=tuple(str(u) for u in document.get("kept", ())),
                dropped=tuple(str(u) for u in document.get("dropped", ())),
                created=tuple(str(u) for u in document.get("created", ())),
                stacks=tuple(str(s) for s in document.get("stacks", ())),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise UrnMapError(f"{source}: malformed URN map: {type(error).__name__}: {error}") from None

    @classmethod
    def read(cls, path: Path) -> UrnMap:
        """Read a map file; ``UrnMapError`` with the path when it cannot."""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise UrnMapError(f"{path}: cannot read: {error}") from None
        return cls.from_json(text, source=str(path))


def urn_map(old: RecordedPlan, new: RecordedPlan, stacks: Sequence[str] = ()) -> UrnMap:
    """The map from ``old``'s URNs to ``new``'s: the same resource when the URN tails agree.

    ``stacks`` is the new plan's stack order (default: the stacks its URNs name, sorted). An old
    resource whose URN the new plan has stays where it is; one that could go to several stacks is
    refused (``UrnMapError``). A new resource whose type chain holds a token with an alias
    (``renamed_types``) also matches the old resource of its former tail: the same resource, found
    by the engine through the alias (a move within one stack is such a rename alone).
    """
    new_urns = {r.urn for r in new.resources}
    renamed = renamed_types(new)
    by_tail: dict[str, list[str]] = {}
    for resource in new.resources:
        tails = {_tail(resource.urn), former_tail(resource.urn, renamed)} if renamed else {_tail(resource.urn)}
        for tail in tails:
            by_tail.setdefault(tail, []).append(resource.urn)
    moves: dict[str, str] = {}
    kept: list[str] = []
    dropped: list[str] = []
    matched: set[str] = set()
    for resource in old.resources:
        if resource.urn in new_urns:
            # Stays in its stack; every stack has its own root component and provider of this name.
            kept.append(resource.urn)
            matched.add(resource.urn)
            continue
        targets = by_tail.get(_tail(resource.urn), [])
        if not targets:
            dropped.append(resource.urn)
            continue
        if len(targets) > 1:
            raise UrnMapError(f"{resource.urn} could move to any of {', '.join(sorted(targets))}: cannot map")
        matched.add(targets[0])
        moves[resource.urn] = targets[0]
    created = [r.urn for r in new.resources if r.urn not in matched]
    order = tuple(stacks) or tuple(sorted({urn_stack(r.urn) for r in new.resources}))
    return UrnMap(
        site=new.stack,
        moves=moves,
        kept=tuple(kept),
        dropped=tuple(dropped),
        created=tuple(created),
        stacks=order,
        types={r.urn: r.type for r in old.resources},
    )


def top_moves(mapping: UrnMap, old: RecordedPlan) -> dict[str, list[str]]:
    """Destination stack -> the old URNs to name in its ``pulumi state move`` (children follow).

    A resource is named only when its parent does not move to the same stack: ``pulumi state
    move`` takes every child of a named resource with it.
    """
    found: dict[str, list[str]] = {}
    for resource in old.resources:
        target = mapping.moves.get(resource.urn)
        if target is None:
            continue
        stack = urn_stack(target)
        parent_target = mapping.moves.get(resource.parent)
        if parent_target is not None and urn_stack(parent_target) == stack:
            continue
        found.setdefault(stack, []).append(resource.urn)
    return found


# Objects the old program patched and the new one leaves to another writer (nfd-master): dropped
# from the state, never deleted, since deleting a Patch resource relinquishes its fields and the
# Nodes would lose their labels and taints until nfd-master's next pass (node_identity.py).
RELEASED_TYPES = ("kubernetes:core/v1:NodePatch",)


def state_move_commands(mapping: UrnMap, old: RecordedPlan) -> list[str]:
    """The shell commands that split ``old``'s stack as ``mapping`` says, in the order to run them.

    Back up the source state; create each destination stack with the source's config (its secrets
    included); drop from the source state, in one export and import (``pulumi state delete`` takes
    one URN and rewrites the whole state each time), the patches the new program no longer declares,
    leaving the objects on the cluster; move each stack's top-level resources (children and
    providers follow); then preview every stack in order: nothing may be deleted or replaced.
    """
    source = old.stack
    quoted = shlex.quote(source)
    moves = top_moves(mapping, old)
    lines = [
        "set -euo pipefail",
        f"# Split stack {source} into {len(mapping.stacks)} stacks; {len(mapping.moves):,} resources move.",
        f"pulumi stack export --stack {quoted} --file {shlex.quote(source + '.before-split.json')}",
    ]
    for stack in mapping.stacks:
        if stack != source:
            lines.append(f"pulumi stack init {shlex.quote(stack)} --copy-config-from {quoted}")
    released = [u for u in mapping.dropped if mapping.types.get(u) in RELEASED_TYPES]
    kinds = " or ".join(f'.type == "{t}"' for t in RELEASED_TYPES)
    # Always: a plan of the deployed site made with this code (``plan --single-stack``) has no
    # NodePatches, but the deployed state made by older code does; the filter is idempotent.
    lines += [
        f"# NodePatches ({len(released):,} in the old plan) leave the state; labels and taints stay on the Nodes.",
        f"pulumi stack export --stack {quoted} | jq 'del(.deployment.resources[] | select({kinds}))' "
        f"> {shlex.quote(source + '.released.json')}",
        f"pulumi stack import --stack {quoted} --file {shlex.quote(source + '.released.json')}",
    ]
    for urn in mapping.dropped:
        if mapping.types.get(urn) not in RELEASED_TYPES:
            lines.append(f"# the new program no longer declares {urn}: `pulumi up` of {source} deletes it")
    for stack in mapping.stacks:
        urns = moves.get(stack, [])
        if urns:
            named = " ".join(shlex.quote(u) for u in urns)
            lines.append(f"pulumi state move --source {quoted} --dest {shlex.quote(stack)} --yes {named}")
    for stack in mapping.stacks:
        lines.append(f"pulumi preview --stack {shlex.quote(stack)} --diff   # expect no delete, no replace")
    return lines


def migration_document(mapping: UrnMap, old: RecordedPlan) -> dict[str, Any]:
    """A summary of the migration for people: counts per destination stack."""
    per_stack: dict[str, int] = {}
    for target in mapping.moves.values():
        per_stack[urn_stack(target)] = per_stack.get(urn_stack(target), 0) + 1
    return {
        "source": old.stack,
        "stacks": list(mapping.stacks),
        "moves": dict(sorted(per_stack.items())),
        "kept": len(mapping.kept),
        "dropped": len(mapping.dropped),
        "created": len(mapping.created),
    }
