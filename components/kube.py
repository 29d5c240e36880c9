"""Small helpers the components share to describe Kubernetes objects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes import _utilities as k8s_utilities

from components.labels import PART_OF

# The package the components are published as (``components/PulumiPlugin.yaml``). Pulumi's Python
# component provider puts every component in module ``index`` (pulumi.provider.experimental.analyzer).
PACKAGE = "gigafactory"

# Helm waits for every object of a release; operator and driver rollouts across thousands of nodes are slow.
RELEASE_TIMEOUT_S = 1800
POD_SECURITY_MODES = ("enforce", "audit", "warn")


def meta(
    name: str,
    namespace: str | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> Any:
    """Object metadata with the ``part-of: gigafactory`` label, keys in a stable order."""
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    metadata["labels"] = {**PART_OF, **dict(sorted((labels or {}).items()))}
    if annotations:
        metadata["annotations"] = dict(sorted(annotations.items()))
    return metadata


def pod_security_labels(
    level: str, *, version: str | None = None, modes: tuple[str, ...] = POD_SECURITY_MODES
) -> dict[str, str]:
    """Namespace labels applying the Pod Security ``level`` in ``modes``, pinned to ``version`` if given."""
    labels = {f"pod-security.kubernetes.io/{mode}": level for mode in modes}
    if version is not None:
        labels |= {f"pod-security.kubernetes.io/{mode}-version": version for mode in modes}
    return labels


def helm_release(
    resource_name: str,
    *,
    release: str,
    chart: str,
    version: str,
    namespace: pulumi.Input[str],
    values: Mapping[str, Any],
    repo: str | None,
    opts: pulumi.ResourceOptions,
) -> k8s.helm.v3.Release:
    """A Helm release pinned to ``version`` of ``chart`` (from ``repo``, or an OCI or local chart path)."""
    return k8s.helm.v3.Release(
        resource_name,
        name=release,
        chart=chart,
        version=version,
        repository_opts={"repo": repo} if repo else None,
        namespace=namespace,
        values=dict(values),
        timeout=RELEASE_TIMEOUT_S,
        opts=opts,
    )


def custom_resource(
    name: str,
    api_version: str,
    kind: str,
    metadata: Any,
    spec: Any,
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    """A custom resource with a ``spec``."""
    return k8s.apiextensions.CustomResource(
        name, api_version=api_version, kind=kind, metadata=metadata, spec=spec, opts=opts
    )


class CustomObject(pulumi.CustomResource):
    """A custom resource whose fields sit beside ``metadata`` instead of in a ``spec``.

    Kueue's ``WorkloadPriorityClass`` carries ``value`` and ``description`` at the top level,
    which ``kubernetes.apiextensions.CustomResource`` cannot express; the provider receives the
    same type token (``kubernetes:<group>/<version>:<Kind>``) and inputs either way.
    """

    def __init__(
        self,
        resource_name: str,
        api_version: str,
        kind: str,
        metadata: Any,
        fields: Mapping[str, Any],
        opts: pulumi.ResourceOptions,
    ) -> None:
        props = {"apiVersion": api_version, "kind": kind, "metadata": metadata, **fields}
        version: str = k8s_utilities.get_version()  # type: ignore[no-untyped-call]
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(version=version))
        super().__init__(f"kubernetes:{api_version}:{kind}", resource_name, props, opts)


def component_type(component: type[pulumi.ComponentResource]) -> str:
    """The type token of ``component`` in the component package: ``gigafactory:index:<ClassName>``."""
    return f"{PACKAGE}:index:{component.__name__}"


def component_options(opts: pulumi.ResourceOptions | None, former_type: str) -> pulumi.ResourceOptions:
    """``opts`` plus an alias from ``former_type``, the token sites were deployed with before the package.

    Pulumi matches the alias to the resource in a stack's state, so a site deployed under the former
    token keeps its component (and, through the parent, every child) instead of replacing them.
    """
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=former_type)]))


def dependencies(opts: pulumi.ResourceOptions | None) -> list[pulumi.Resource]:
    """The resources ``opts.depends_on`` names: what a component's children must wait for."""
    depends_on = opts.depends_on if opts is not None else None
    if depends_on is None:
        return []
    if isinstance(depends_on, pulumi.Resource):
        return [depends_on]
    if isinstance(depends_on, Sequence):
        return [d for d in depends_on if isinstance(d, pulumi.Resource)]
    raise TypeError("depends_on must be a resource or a list of resources")


def child_options(
    parent: pulumi.Resource, opts: pulumi.ResourceOptions | None, *extra: pulumi.Resource
) -> pulumi.ResourceOptions:
    """Options for a child of ``parent`` that waits for what ``parent`` was told to wait for, and ``extra``.

    Pulumi does not pass a component's ``depends_on`` to its children, so a component built by
    another program (``depends_on`` on the component) forwards it here.
    """
    return pulumi.ResourceOptions(parent=parent, depends_on=[*dependencies(opts), *extra])
