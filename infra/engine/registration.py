"""What a program registered for one resource, as the recorder keeps it and a plan stores it.

Kept apart from the recorder (``runtime.py``, which needs the Pulumi SDK) so that reading a plan
file needs no Pulumi import.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Registration:
    """What a program registered for one resource: its identity, inputs and the options a plan keeps."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    provider: str
    inputs: dict[str, Any]
    protect: bool = False
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    depends_on: tuple[str, ...] = ()
    ignore_changes: tuple[str, ...] = ()
    replace_on_changes: tuple[str, ...] = ()
    alias_types: tuple[str, ...] = ()
    """Type tokens the resource was registered under before (its ``Alias(type_=...)`` options): a
    deployed resource of one of these types is this resource, and so are its children."""

    def options(self) -> dict[str, Any]:
        """The resource options, JSON-ready (lists for tuples)."""
        return {
            "protect": self.protect,
            "retain_on_delete": self.retain_on_delete,
            "delete_before_replace": self.delete_before_replace,
            "depends_on": list(self.depends_on),
            "ignore_changes": list(self.ignore_changes),
            "replace_on_changes": list(self.replace_on_changes),
        }

    def registration(self) -> dict[str, Any]:
        """The ``Registration`` fields by name, to build another kind of record from this one."""
        return {item.name: getattr(self, item.name) for item in fields(Registration)}


@dataclass(frozen=True, kw_only=True)
class RecordedResource(Registration):
    """One resource as the program registered it."""

    additional_secret_outputs: tuple[str, ...] = ()
