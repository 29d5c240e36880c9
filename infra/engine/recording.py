"""The engine's recording of a site (``RecordedPlan``, the ``*.plan.json`` file): every resource its program
registers, plus the site facts a reviewer reasons with. Not the ``SitePlan`` (``infra/plan``), which the
program composes from.

A plan is written as JSON with sorted keys, resources ordered by URN and no timestamps, so the same
site config always gives byte-identical output. Its ``site`` section holds facts derived from the
site config (pools, GPUs, quotas, partition keys, driver and drain policy; see ``facts.py``): the
diff's intent summary reads them from there rather than re-parsing resource inputs.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.engine.factjson import FactsError
from infra.engine.facts import SiteFacts
from infra.engine.registration import RecordedResource, Registration
from infra.errors import BadInputError
from infra.inputs import MIB, InputError, parse_json_bounded, read_text_bounded

# The 100,000-GPU site's plan is 19 MB; a file beyond this is not a plan (or not one to hold in memory).
MAX_PLAN_BYTES = 128 * MIB
PLAN_FORMAT = "gigafactory-plan/2"
PLAN_FORMAT_FAMILY = "gigafactory-plan/"
# Formats this code reads: /1 lacks node facts and locations (read as absent); a newer one is read
# for what this code knows, and the diff reports it as not judged (``RecordedPlan.newer_format``).
PLAN_FORMAT_VERSION = 2
# Resources that are not under the site component (the stack's own children, e.g. a provider
# created at the top level) are grouped under this name.
STACK_COMPONENT = "(stack)"


class PlanFileError(BadInputError):
    """A plan file that cannot be read: missing, not JSON, or not a gigafactory plan."""


@dataclass(frozen=True, kw_only=True)
class PlannedResource(Registration):
    """One recorded resource as the plan keeps it: the registration and the component it belongs to."""

    component: str

    @property
    def provider_urn(self) -> str:
        """The provider's URN without its ``::id`` suffix ('' for the default provider)."""
        return self.provider.rsplit("::", 1)[0] if self.provider.count("::") > 3 else self.provider

    def to_json(self) -> dict[str, Any]:
        """The JSON object for this resource."""
        found: dict[str, Any] = {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "component": self.component,
            "parent": self.parent,
            "provider": self.provider,
            "custom": self.custom,
            "inputs": self.inputs,
            "options": self.options(),
        }
        if self.alias_types:
            found["alias_types"] = list(self.alias_types)
        return found

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PlannedResource:
        """Read one resource object (``PlanFileError`` naming the field when a known field has the wrong type)."""
        if not isinstance(data, dict):
            raise PlanFileError("a resource must be a JSON object")
        for key, kind in _RESOURCE_FIELDS.items():
            if key in data and not isinstance(data[key], kind):
                label = data.get("urn") if isinstance(data.get("urn"), str) else "a resource"
                raise PlanFileError(f"{label}: {key} must be {_KIND_NAMES[kind]} (got {type(data[key]).__name__})")
        options = data.get("options") or {}
        for key in ("depends_on", "ignore_changes", "replace_on_changes"):
            if not isinstance(options.get(key, []), list):
                raise PlanFileError(f"{data.get('urn', 'a resource')}: options.{key} must be a list")
        if not isinstance(data.get("alias_types", []), list):
            raise PlanFileError(f"{data.get('urn', 'a resource')}: alias_types must be a list")
        return cls(
            urn=str(data["urn"]),
            type=str(data["type"]),
            name=str(data["name"]),
            component=str(data["component"]),
            parent=str(data.get("parent", "")),
            provider=str(data.get("provider", "")),
            custom=bool(data.get("custom", False)),
            inputs=dict(data.get("inputs") or {}),
            protect=bool(options.get("protect", False)),
            retain_on_delete=bool(options.get("retain_on_delete", False)),
            delete_before_replace=bool(options.get("delete_before_replace", False)),
            depends_on=tuple(options.get("depends_on", ())),
            ignore_changes=tuple(options.get("ignore_changes", ())),
            replace_on_changes=tuple(options.get("replace_on_changes", ())),
            alias_types=tuple(str(t) for t in data.get("alias_types", ())),
        )


_RESOURCE_FIELDS: dict[str, type] = {
    "urn": str,
    "type": str,
    "name": str,
    "component": str,
    "parent": str,
    "provider": str,
    "custom": bool,
    "inputs": dict,
    "options": dict,
}
_KIND_NAMES = {str: "a string", bool: "true or false", dict: "an object", list: "a list"}


@dataclass(frozen=True)
class RecordedPlan:
    """A site's plan: its name, the facts from its config and every resource, ordered by URN."""

    project: str
    stack: str
    site: dict[str, Any]
    resources: tuple[PlannedResource, ...]
    format: str = PLAN_FORMAT
    """The format the plan was written in (a newer one when read from newer code's plan)."""
    stacks: tuple[str, ...] = ()
    """The site's Pulumi stacks in deployment order (``infra.stacks``); empty for a one-stack plan."""
    _by_urn: dict[str, PlannedResource] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_urn.update((r.urn, r) for r in self.resources)

    @property
    def facts(self) -> SiteFacts:
        """The ``site`` section as typed facts (``PlanFileError`` when its known fields are malformed)."""
        try:
            return SiteFacts.from_json(self.site, "site")
        except FactsError as error:
            raise PlanFileError(f"{self.stack}: malformed plan facts: {error}") from None

    @property
    def newer_format(self) -> bool:
        """True when the plan was written by newer code, in a format this code does not fully know."""
        return _format_version(self.format) > PLAN_FORMAT_VERSION

    def resource(self, urn: str) -> PlannedResource | None:
        """The resource with ``urn``, if the plan has it."""
        return self._by_urn.get(urn)

    def component_counts(self) -> dict[str, int]:
        """Resources per component, the component resource itself included."""
        return dict(sorted(Counter(r.component for r in self.resources).items()))

    def component_label(self, component: str) -> str:
        """``GpuNodePool h100-train``: the component's type name and its resource name."""
        for resource in self.resources:
            if resource.name == component and resource.component == component and not resource.custom:
                return f"{resource.type.rsplit(':', 1)[-1]} {component}"
        return component

    def to_json(self) -> str:
        """The plan as deterministic JSON text (sorted keys, resources by URN, trailing newline)."""
        document = {
            "format": self.format,
            "project": self.project,
            "stack": self.stack,
            "site": self.site,
            "stacks": list(self.stacks),
            "resources": [r.to_json() for r in self.resources],
        }
        return json.dumps(document, sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False) + "\n"

    @classmethod
    def from_json(cls, text: str, *, source: str = "plan") -> RecordedPlan:
        """Parse plan JSON; raises ``PlanFileError`` naming ``source`` when it is not a plan."""
        try:
            document = parse_json_bounded(text, source, "a plan")
        except InputError as error:
            raise PlanFileError(str(error)) from None
        if not isinstance(document, dict) or _format_version(document.get("format")) < 1:
            found = document.get("format") if isinstance(document, dict) else type(document).__name__
            found = found if isinstance(found, str) and len(found) <= 40 else type(found).__name__
            raise PlanFileError(
                f"{source}: not a gigafactory plan (format {found!r}, expected {PLAN_FORMAT!r})\n"
                "  hint: write one with `gigafactory plan SITE.yaml -o plan.json`"
            )
        for key, kind in (("project", str), ("stack", str), ("site", dict), ("resources", list)):
            if not isinstance(document.get(key), kind):
                raise PlanFileError(
                    f"{source}: malformed plan: {key} must be {_KIND_NAMES[kind]} "
                    f"(got {type(document.get(key)).__name__})"
                )
        try:
            resources = tuple(PlannedResource.from_json(r) for r in document["resources"])
            return cls(
                project=str(document["project"]),
                stack=str(document["stack"]),
                site=dict(document["site"]),
                resources=tuple(sorted(resources, key=lambda r: r.urn)),
                format=str(document["format"]),
                stacks=tuple(str(name) for name in document.get("stacks") or ()),
            )
        except PlanFileError as error:
            raise PlanFileError(f"{source}: malformed plan: {error}") from None
        except KeyError as error:
            raise PlanFileError(f"{source}: malformed plan: a resource has no {error}") from None
        except (TypeError, AttributeError, ValueError) as error:
            raise PlanFileError(f"{source}: malformed plan: {type(error).__name__}: {error}") from None

    @classmethod
    def read(cls, path: Path) -> RecordedPlan:
        """Read a plan file; raises ``PlanFileError`` with the path when it cannot."""
        try:
            text = read_text_bounded(path, MAX_PLAN_BYTES, "a plan file")
        except InputError as error:
            raise PlanFileError(str(error)) from None
        return cls.from_json(text, source=str(path))


def _format_version(value: object) -> int:
    """N of ``gigafactory-plan/N``; 0 for anything else."""
    if not isinstance(value, str) or not value.startswith(PLAN_FORMAT_FAMILY):
        return 0
    number = value.removeprefix(PLAN_FORMAT_FAMILY)
    return int(number) if number.isdigit() else 0


def component_of(urn: str, parents: Mapping[str, str], stack_urn: str) -> str:
    """Name of the top-level child of the site component that ``urn`` sits under.

    The site component is the stack's child at the root of the tree; a resource directly under
    the stack (or the site component itself) is grouped as ``(stack)`` or the site's own name.
    """
    chain = [urn]
    while True:
        parent = parents.get(chain[-1], "")
        if not parent or parent == stack_urn or parent not in parents:
            break
        chain.append(parent)
    if len(chain) == 1:
        return STACK_COMPONENT if not _is_component_urn(urn) else _urn_name(urn)
    return _urn_name(chain[-2])


def _urn_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _is_component_urn(urn: str) -> bool:
    # urn:pulumi:stack::project::parentType$type::name; the site is a gigafactory component.
    return urn.split("::")[2].rsplit("$", 1)[-1].startswith("gigafactory:")


def build_recorded_plan(
    records: Iterable[RecordedResource],
    *,
    project: str,
    stack: str,
    site: SiteFacts | Mapping[str, Any],
    stacks: Iterable[str] = (),
) -> RecordedPlan:
    """Turn recorded registrations into a RecordedPlan: components assigned, resources sorted by URN.

    ``records`` may come from several stacks of one site (``stacks``, in deployment order): each
    resource's component is found under its own stack's root.
    """
    site = site.to_json() if isinstance(site, SiteFacts) else site
    records = list(records)
    parents = {r.urn: r.parent for r in records}
    resources = [
        PlannedResource(component=component_of(r.urn, parents, _stack_urn(r.urn, project)), **r.registration())
        for r in records
    ]
    return RecordedPlan(
        project=project,
        stack=stack,
        site=dict(site),
        resources=tuple(sorted(resources, key=lambda r: r.urn)),
        stacks=tuple(stacks),
    )


def _stack_urn(urn: str, project: str) -> str:
    stack = urn.removeprefix("urn:pulumi:").split("::", 1)[0]
    return f"urn:pulumi:{stack}::{project}::pulumi:pulumi:Stack::{project}-{stack}"
