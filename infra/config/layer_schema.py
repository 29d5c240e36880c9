"""The JSON Schema of a site-config layer, for editors and other tools that read site files.

A site file is one layer of ``extends:``: it may leave any field to its base, so the schema makes
every field optional while still refusing unknown keys (a misspelt key is the mistake an editor
catches best). Whether the merged site is complete and consistent is ``gigafactory validate``'s
job, not the schema's. Descriptions come from the pydantic model, so the two never drift apart.
"""

from __future__ import annotations

import json
from typing import Any

from infra.config.loader import EXTENDS
from infra.config.model import SiteConfig

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
LAYER_SCHEMA_ID = "urn:gigafactory:schema:site-layer:1"
# Where the bundled copy lives, relative to the repository root; `new-site` points forks at it.
BUNDLED_SCHEMA = "site-configs/site-layer.schema.json"


def _all_optional(node: Any) -> None:
    """Drop every ``required`` list below ``node``: a layer may leave any field to its base."""
    if isinstance(node, dict):
        if isinstance(node.get("properties"), dict):
            node.pop("required", None)
        for value in node.values():
            _all_optional(value)
    elif isinstance(node, list):
        for value in node:
            _all_optional(value)


def layer_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) every site-config file and base file satisfies."""
    schema = SiteConfig.model_json_schema(mode="validation")
    _all_optional(schema)
    schema["properties"] = {
        EXTENDS: {
            "type": "string",
            "description": "A base file this layer builds on, relative to this file (e.g. base/eu.yaml).",
        },
        **schema["properties"],
    }
    schema["title"] = "gigafactory site-config layer"
    schema["$schema"] = JSON_SCHEMA_DIALECT
    schema["$id"] = LAYER_SCHEMA_ID
    return schema


def layer_schema_text() -> str:
    """``layer_schema()`` as deterministic JSON text (sorted keys, two-space indent, final newline)."""
    return json.dumps(layer_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
