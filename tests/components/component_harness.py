"""Run components on Pulumi's mock runtime and look at what they registered.

Every test builds the real component code behind a real ``kubernetes.Provider`` on
``infra.engine.runtime.record_program`` (Pulumi's own MockMonitor); nothing here imitates Pulumi.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
from kube_schemas import ObjectValidator, default_crds_dir

from infra.config.loader import load_site
from infra.config.model import SiteConfig
from infra.engine.manifests import is_kubernetes_object, manifest
from infra.engine.runtime import SECRET, RecordedResource, record_program

PROJECT = "gigafactory"
REPO = Path(__file__).resolve().parents[2]
PILOT = REPO / "site-configs" / "eu-pilot.yaml"
GIGAFACTORY = REPO / "site-configs" / "eu-gigafactory.yaml"
# A value no component, plan or manifest could contain unless a secret leaked.
SECRET_VALUE = "Zq7-leak-canary-4b1f9e"
PROVIDER_TYPE = "pulumi:providers:kubernetes"


@cache
def pilot() -> SiteConfig:
    """The bundled pilot site, loaded once."""
    return load_site(PILOT)


@cache
def gigafactory() -> SiteConfig:
    """The bundled 100,000-GPU site, loaded once."""
    return load_site(GIGAFACTORY)


def with_compute(config: SiteConfig, **update: Any) -> SiteConfig:
    """``config`` with fields of ``fabrics.compute`` replaced."""
    compute = config.fabrics.compute.model_copy(update=update)
    return config.model_copy(update={"fabrics": config.fabrics.model_copy(update={"compute": compute})})


def secret_json(fields: Sequence[str]) -> str:
    """A credential secret whose every field holds the canary value."""
    return json.dumps({field: f"{SECRET_VALUE}-{field}" for field in fields})


@dataclass(frozen=True)
class Recording:
    """What one program registered, in registration order."""

    resources: tuple[RecordedResource, ...]

    def of_type(self, type_token: str) -> list[RecordedResource]:
        """Resources whose type token is ``type_token`` or ends with ``:<type_token>``."""
        return [r for r in self.resources if r.type == type_token or r.type.endswith(f":{type_token}")]

    def named(self, name: str) -> RecordedResource:
        """The resource registered as ``name``."""
        found = [r for r in self.resources if r.name == name]
        assert len(found) == 1, f"expected one resource named {name}, found {len(found)}"
        return found[0]

    def kind(self, kind: str, name: str | None = None, namespace: str | None = None) -> list[RecordedResource]:
        """Kubernetes objects of ``kind`` (optionally one name / namespace)."""
        found = []
        for r in self.objects():
            meta = r.inputs.get("metadata") or {}
            if r.inputs.get("kind") != kind:
                continue
            if name is not None and meta.get("name") != name:
                continue
            if namespace is not None and meta.get("namespace") != namespace:
                continue
            found.append(r)
        return found

    def one(self, kind: str, name: str, namespace: str | None = None) -> RecordedResource:
        """The single ``kind`` object called ``name``."""
        found = self.kind(kind, name, namespace)
        assert len(found) == 1, f"expected one {kind} {namespace or ''}/{name}, found {len(found)}"
        return found[0]

    def objects(self) -> Iterator[RecordedResource]:
        """Resources that are Kubernetes objects (or patches of one)."""
        return (r for r in self.resources if is_kubernetes_object(r))

    def component(self, type_token: str) -> RecordedResource:
        """The single component of ``type_token``."""
        found = self.of_type(type_token)
        assert len(found) == 1, f"expected one {type_token}, found {len(found)}"
        return found[0]

    def children(self, parent: RecordedResource) -> list[RecordedResource]:
        """Resources registered with ``parent`` as their parent."""
        return [r for r in self.resources if r.parent == parent.urn]

    def provider(self) -> RecordedResource:
        """The single Kubernetes provider."""
        found = self.of_type(PROVIDER_TYPE)
        assert len(found) == 1, f"expected one Kubernetes provider, found {len(found)}"
        return found[0]


def record(
    build: Callable[[pulumi.ResourceOptions], None],
    *,
    stack: str = "test",
    secrets: Mapping[str, str] | None = None,
    config: Mapping[str, str] | None = None,
) -> Recording:
    """Run ``build(opts)`` with ``opts`` carrying one Kubernetes provider; record everything."""

    def program() -> None:
        provider = k8s.Provider("k8s", context="test-context", enable_server_side_apply=True)
        build(pulumi.ResourceOptions(provider=provider))

    return Recording(tuple(record_program(program, project=PROJECT, stack=stack, secret_config=secrets, config=config)))


def inputs_text(recording: Recording) -> str:
    """Every recorded input of every resource, as one string (for leak checks)."""
    return json.dumps([r.inputs for r in recording.resources], sort_keys=True, default=str)


def assert_parented(recording: Recording, component: RecordedResource) -> None:
    """Every resource below ``component`` descends from it, and custom ones use the test provider."""
    children = recording.children(component)
    assert children, f"{component.urn} registered no children"
    provider = recording.provider()
    for child in children:
        assert child.name.startswith(f"{component.name}-"), f"{child.urn}: child names start with {component.name}-"
        if child.custom:
            assert child.provider.startswith(provider.urn), f"{child.urn}: custom resource without the provider"


def assert_no_secret(recording: Recording) -> None:
    """The canary secret value appears in no input of any resource."""
    assert SECRET_VALUE not in inputs_text(recording), "a secret value reached a resource input"


def unscrub(obj: dict[str, Any]) -> dict[str, Any]:
    """An object as the API server would see it shape-wise, where the recorder hid a secret.

    pulumi-kubernetes marks a Secret's whole ``data`` / ``stringData`` secret, so the recorder
    keeps ``[secret]`` in place of the map; a map of one string stands in for validation.
    """
    fixed = dict(obj)
    for key in ("data", "stringData"):
        if fixed.get(key) == SECRET:
            fixed[key] = {"redacted": SECRET}
    return fixed


def crds_dir_or_skip() -> Path:
    """The CRD folder, or skip: the CRDs are shared data outside this repository."""
    crds = default_crds_dir()
    if crds is None:
        pytest.skip("no CRD folder at ../shared/crds (or $GIGAFACTORY_CRDS_DIR): custom resources cannot be validated")
    return crds


def schema_errors(recording: Recording, kubernetes_version: str) -> list[str]:
    """Every object that fails its schema, one line each with the resource URN."""
    validator = ObjectValidator(kubernetes_version, crds_dir_or_skip())
    problems = []
    for resource in recording.objects():
        body = unscrub(manifest(resource))
        for error in validator.errors(body):
            problems.append(f"{resource.urn}: {error}")
    return problems


def spec(resource: RecordedResource) -> dict[str, Any]:
    """The ``spec`` of a recorded object."""
    value = resource.inputs.get("spec")
    assert isinstance(value, dict), f"{resource.urn} has no spec"
    return value


def labels(resource: RecordedResource) -> dict[str, str]:
    """The labels of a recorded object."""
    return dict((resource.inputs.get("metadata") or {}).get("labels") or {})
