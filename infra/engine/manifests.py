"""Which recorded resources are Kubernetes objects, and the manifest each one is."""

from __future__ import annotations

from typing import Any, Protocol


class ResourceLike(Protocol):
    """What these functions read of a resource: a ``RecordedResource`` or a plan's ``PlannedResource``."""

    @property
    def type(self) -> str: ...

    @property
    def custom(self) -> bool: ...

    @property
    def inputs(self) -> dict[str, Any]: ...


# Registered by pulumi-kubernetes but not API objects: the provider itself and Helm releases
# (a Release is one resource holding chart + values; its objects are rendered by Helm at apply).
HELM_TYPES = ("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart")
_NOT_OBJECTS = ("pulumi:providers:kubernetes", *HELM_TYPES)


def is_kubernetes_object(resource: ResourceLike) -> bool:
    """True for resources that are one Kubernetes API object (built-in or custom), or a patch of one."""
    return (
        resource.custom
        and resource.type.startswith("kubernetes:")
        and resource.type not in _NOT_OBJECTS
        and "apiVersion" in resource.inputs
        and "kind" in resource.inputs
    )


def is_patch(resource: ResourceLike) -> bool:
    """True for pulumi-kubernetes ``...Patch`` resources (server-side apply of part of an object)."""
    return resource.type.startswith("kubernetes:") and resource.type.endswith("Patch")


def manifest(resource: ResourceLike) -> dict[str, Any]:
    """The Kubernetes object a resource applies: apiVersion, kind, metadata, then the rest; keys sorted."""
    inputs = resource.inputs
    head: dict[str, Any] = {"apiVersion": inputs["apiVersion"], "kind": inputs["kind"]}
    if "metadata" in inputs:
        head["metadata"] = sorted_deep(inputs["metadata"])
    body = {k: sorted_deep(v) for k, v in sorted(inputs.items()) if k not in ("apiVersion", "kind", "metadata")}
    return {**head, **body}


def sorted_deep(value: Any) -> Any:
    """``value`` with every mapping's keys in sorted order (lists keep their order)."""
    if isinstance(value, dict):
        return {k: sorted_deep(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [sorted_deep(v) for v in value]
    return value
