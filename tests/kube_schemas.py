"""Test-only: validate one Kubernetes object against its real schema (jsonschema, kubernetes-validate).

Built-in kinds are checked against the Kubernetes OpenAPI schema of the site's Kubernetes
version as ``kubernetes-validate`` ships it, in strict mode (unknown fields are errors). Custom
resources are checked against the operator's own CRD from ``../shared/crds`` (or
``$GIGAFACTORY_CRDS_DIR``): the ``spec.versions[]`` entry matching the object's group and
version, its ``openAPIV3Schema`` turned into JSON Schema:

- ``x-kubernetes-int-or-string`` accepts an integer or a string;
- ``nullable`` accepts null;
- an object schema that lists ``properties`` rejects other fields, as the API server's strict
  field validation does, unless it says ``x-kubernetes-preserve-unknown-fields`` or
  ``additionalProperties``;
- ``metadata`` is checked against the Kubernetes ``ObjectMeta`` schema.

Not evaluated: CEL rules (``x-kubernetes-validations``), list-map key uniqueness and formats.
Schemas are compiled once per kind and reused, so validating thousands of objects is cheap.

The vendored Helm charts the tests render are found beside the CRDs (``default_charts_dir``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from kubernetes_validate import utils as kv
from referencing import Registry, Resource

from infra.engine.charts.capabilities import kubernetes_schema_version

CRDS_ENV = "GIGAFACTORY_CRDS_DIR"
CHARTS_ENV = "GIGAFACTORY_CHARTS_DIR"
_OBJECT_META = "https://kubernetes.io/api/_definitions.json#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


class SchemaNotFoundError(LookupError):
    """No built-in schema and no CRD describes the object's apiVersion and kind."""


class CrdsUnavailableError(SchemaNotFoundError):
    """The object is a custom resource but the CRD folder is missing."""


def repo_root() -> Path:
    """The repository root (the folder holding ``infra/``)."""
    return Path(__file__).resolve().parents[1]


def _shared_dir(env: str, name: str) -> Path | None:
    configured = os.environ.get(env)
    path = Path(configured) if configured else repo_root().parent / "shared" / name
    return path if path.is_dir() else None


def default_crds_dir() -> Path | None:
    """``$GIGAFACTORY_CRDS_DIR``, else ``<repo>/../shared/crds``; None when that folder is absent."""
    return _shared_dir(CRDS_ENV, "crds")


def default_charts_dir() -> Path | None:
    """``$GIGAFACTORY_CHARTS_DIR``, else ``<repo>/../shared/charts`` (the vendored charts); None when absent."""
    return _shared_dir(CHARTS_ENV, "charts")


def _split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def _format_error(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "(object)"
    return f"{where}: {error.message}"


@cache
def _definitions(schema_version: str) -> Resource[Any]:
    contents = kv.schema_contents(
        f"kubernetes-json-schema/v{schema_version}-local-strict/_definitions.json", schema_version
    )
    return Resource.from_contents(contents)


@cache
def _builtin_validator(schema_version: str, api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
    name = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = f"kubernetes-json-schema/v{schema_version}-local-strict/{kind.lower()}-{name}.json"
    try:
        schema = kv.schema_contents(path, schema_version)
    except FileNotFoundError:
        return None
    registry: Registry[Any] = Resource.from_contents(schema) @ Registry()
    registry = _definitions(schema_version) @ registry
    return jsonschema.Draft202012Validator(schema, registry=registry)


def _openapi_to_jsonschema(node: Any) -> Any:
    """A CRD's structural OpenAPI v3 schema as JSON Schema with Kubernetes' strictness."""
    if isinstance(node, list):
        return [_openapi_to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _openapi_to_jsonschema(value) for key, value in node.items() if not key.startswith("x-kubernetes-")}
    out.pop("nullable", None)
    if node.get("x-kubernetes-int-or-string") and "type" not in node and "anyOf" not in node:
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in node:
        out["type"] = [node["type"], "null"]
    if (
        "properties" in node
        and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


class CrdIndex:
    """The CRDs of a folder laid out ``<project>/<version>/<Kind>.yaml``, parsed when first needed."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def find(self, group: str, kind: str) -> dict[str, Any] | None:
        """The CRD of ``group``/``kind``, if the folder has one.

        Where several files define it (two copies of the NetworkAttachmentDefinition CRD, SR-IOV
        CRDs from upstream and from the Network Operator chart) the first in path order is used:
        they accept the same objects, and the Network Operator's copy sorts first.
        """
        for path in sorted(self.root.glob(f"*/*/{kind}.yaml")):
            crd = _load_crd(path)
            if crd.get("spec", {}).get("group") == group:
                return crd
        # Charts vendored beside the CRD folder ship their own (``charts/<chart>/crds/``, and their
        # subcharts' ``charts/<chart>/charts/<sub>/crds/``), several to a file: Node Feature
        # Discovery's NodeFeatureRule and the SR-IOV operator's SriovNetworkPoolConfig are only there.
        # Subcharts' files are read only when named after the group (controller-gen's
        # `<group>_<plural>.yaml`): other CRD files there hold YAML tags PyYAML cannot read.
        subcharts = self.root.parent.glob(f"charts/*/charts/*/crds/{group}_*.yaml")
        paths = [*self.root.parent.glob("charts/*/crds/*.yaml"), *subcharts]
        for path in sorted(paths):
            for crd in _load_crds(path):
                spec = crd.get("spec", {})
                if spec.get("group") == group and spec.get("names", {}).get("kind") == kind:
                    return crd
        return None


@cache
def _load_crds(path: Path) -> tuple[dict[str, Any], ...]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    documents = yaml.load_all(path.read_text(encoding="utf-8"), Loader=loader)
    return tuple(d for d in documents if isinstance(d, dict) and d.get("kind") == "CustomResourceDefinition")


@cache
def _load_crd(path: Path) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    return document if isinstance(document, dict) else {}


def _crd_validator(crd: dict[str, Any], version: str, schema_version: str) -> jsonschema.protocols.Validator | None:
    for entry in crd["spec"]["versions"]:
        if entry["name"] != version:
            continue
        schema = _openapi_to_jsonschema(entry["schema"]["openAPIV3Schema"])
        properties = schema.setdefault("properties", {})
        properties["metadata"] = {"$ref": _OBJECT_META}
        group = crd["spec"]["group"]
        properties["apiVersion"] = {"const": f"{group}/{version}"}
        properties["kind"] = {"const": crd["spec"]["names"]["kind"]}
        registry: Registry[Any] = _definitions(schema_version) @ Registry()
        return jsonschema.Draft202012Validator(schema, registry=registry)
    return None


class ObjectValidator:
    """Validates Kubernetes objects for one Kubernetes version and one CRD folder."""

    def __init__(
        self, kubernetes_version: str, crds_dir: Path | None = None, crds: Iterable[Mapping[str, Any]] = ()
    ) -> None:
        """``crds``: CRD objects that come first (those the site's charts install), then ``crds_dir``'s."""
        self.kubernetes_version = kubernetes_version
        self.schema_version = kubernetes_schema_version(kubernetes_version)
        self.crds_dir = crds_dir
        self._crds = CrdIndex(crds_dir) if crds_dir is not None else None
        self._given = {
            (str(c["spec"]["group"]), str(c["spec"]["names"]["kind"])): dict(c)
            for c in reversed(list(crds))
            if c.get("kind") == "CustomResourceDefinition"
        }
        self._validators: dict[tuple[str, str, str], jsonschema.protocols.Validator] = {}

    def errors(self, obj: Mapping[str, Any]) -> list[str]:
        """Every schema violation of ``obj`` as ``path: message``; empty when it is valid.

        Raises ``SchemaNotFoundError`` when nothing describes the object's kind, and
        ``CrdsUnavailableError`` for a custom resource when there is no CRD folder.
        """
        return [_format_error(e) for e in self._iter_errors(obj)]

    def _iter_errors(self, obj: Mapping[str, Any]) -> Iterator[jsonschema.ValidationError]:
        api_version, kind = str(obj["apiVersion"]), str(obj["kind"])
        validator = _builtin_validator(self.schema_version, api_version, kind)
        if validator is None:
            validator = self._custom_validator(api_version, kind)
        yield from sorted(validator.iter_errors(dict(obj)), key=lambda e: list(map(str, e.absolute_path)))

    def _custom_validator(self, api_version: str, kind: str) -> jsonschema.protocols.Validator:
        group, version = _split_api_version(api_version)
        if self._crds is None and (group, kind) not in self._given:
            raise CrdsUnavailableError(f"{kind} ({api_version}) is a custom resource and there is no CRD folder")
        key = (group, version, kind)
        if key not in self._validators:
            crd = self._given.get((group, kind)) or (self._crds.find(group, kind) if self._crds else None)
            if crd is None:
                raise SchemaNotFoundError(
                    f"no Kubernetes schema and no CRD in {self.crds_dir} for {kind} ({api_version})"
                )
            validator = _crd_validator(crd, version, self.schema_version)
            if validator is None:
                raise SchemaNotFoundError(f"the {kind} CRD in {self.crds_dir} does not serve version {version}")
            self._validators[key] = validator
        return self._validators[key]


def validate_object(obj: Mapping[str, Any], kubernetes_version: str, crds_dir: Path | None = None) -> list[str]:
    """Schema violations of one object (see ``ObjectValidator.errors``); CRDs from ``default_crds_dir()``."""
    return ObjectValidator(kubernetes_version, crds_dir if crds_dir is not None else default_crds_dir()).errors(obj)
