"""Which recorded resources are Kubernetes objects, and the manifest each one is."""

from __future__ import annotations

from typing import Any

from infra.engine.runtime import RecordedResource

# Registered by pulumi-kubernetes but not API objects: the provider itself and Helm releases
# (a Release is one resource holding chart + values; its objects are rendered by Helm at apply).
_NOT_OBJECTS = ("pulumi:providers:kubernetes", "kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart")


def is_kubernetes_object(resource: RecordedResource) -> bool:
    """True for resources that are one Kubernetes API object (built-in or custom)."""
    return (
        resource.custom
        and resource.type.startswith("kubernetes:")
        and resource.type not in _NOT_OBJECTS
        and "apiVersion" in resource.inputs
        and "kind" in resource.inputs
    )


def manifest(resource: RecordedResource) -> dict[str, Any]:
    """The Kubernetes object a resource applies: apiVersion, kind, then the rest, keys sorted."""
    body = {k: v for k, v in resource.inputs.items() if k not in ("apiVersion", "kind")}
    return {"apiVersion": resource.inputs["apiVersion"], "kind": resource.inputs["kind"], **dict(sorted(body.items()))}
