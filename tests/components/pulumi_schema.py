"""A Pulumi package schema's types as JSON Schema, to check a program's properties with jsonschema.

Pulumi package schemas describe properties with a JSON-Schema-like subset (``type``, ``items``,
``additionalProperties``, ``$ref`` to ``#/types/<token>``; "Pulumi Package Schema" reference).
Translating that subset lets the real ``jsonschema`` validator check a Pulumi YAML program's
``properties`` against the schema the component analyzer inferred.
"""

from __future__ import annotations

from typing import Any

_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}


def _defname(token: str) -> str:
    return token.replace(":", "_")


def _property(spec: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in spec:
        ref = str(spec["$ref"])
        if ref.startswith("#/types/"):
            return {"$ref": f"#/$defs/{_defname(ref.removeprefix('#/types/'))}"}
        return {}  # Any, Asset, Archive, or another package's type: unconstrained here
    kind = spec.get("type")
    if kind == "array":
        return {"type": "array", "items": _property(spec.get("items", {}))}
    if kind == "object":
        return {"type": "object", "additionalProperties": _property(spec.get("additionalProperties", {}))}
    return {"type": _TYPES[str(kind)]} if kind in _TYPES else {}


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: _property(spec) for name, spec in properties.items()},
        "required": sorted(required),
        "additionalProperties": False,
    }


def input_schema(package: dict[str, Any], token: str) -> dict[str, Any]:
    """JSON Schema of the ``properties`` a program may give resource ``token`` of ``package``."""
    resource = package["resources"][token]
    document = _object(resource.get("inputProperties", {}), resource.get("requiredInputs", []))
    document["$defs"] = {
        _defname(name): _object(spec.get("properties", {}), spec.get("required", []))
        for name, spec in package.get("types", {}).items()
    }
    return document
