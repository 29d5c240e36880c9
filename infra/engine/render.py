"""Render a plan for GitOps: one manifest file per Kubernetes object, one values file per Helm release.

Layout of the output folder (every name derives from the objects, so it is deterministic)::

    index.yaml                                   every file, with the URN and component it came from
    manifests/<namespace>/<kind>[.<group>]--<name>.yaml   namespaced objects
    manifests/_cluster/<kind>[.<group>]--<name>.yaml      cluster-scoped objects
    patches/<namespace|_cluster>/<kind>--<name>.yaml      server-side-apply patches (e.g. NodePatch)
    helm/releases.yaml                           chart, version, repository, namespace per release
    helm/<namespace>--<release>.values.yaml      the values each release is installed with
    control-plane/encryption-configuration.yaml  API server encryption at rest (KMS v2) and
    control-plane/audit-policy.yaml              audit policy, for the control plane (not applied)
    charts/<namespace>--<release>/<namespace|_cluster>/<kind>[.<group>]--<name>.yaml
                                                 with --charts: what each release creates

Objects whose inputs hold a secret are not written (their value never reaches a plan); the index
lists them under ``withheld`` with the reason, so a GitOps user provisions them from the secret
store. Helm values that are secret keep the ``[secret]`` marker and are listed per release.
A release's objects are written only when its chart was rendered (``infra.engine.charts``), for
review and validation (Helm installs them; no kustomization lists them); each file names its
release, chart and template in a first-line comment, and those holding values the chart generates
at install (``[generated]``) or a secret value are withheld likewise.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

import yaml

from infra.engine.charts.render import GENERATED, ChartRendering, HelmRelease
from infra.engine.control_plane import control_plane_files
from infra.engine.gitops import (
    GitOpsOptions,
    Release,
    argocd_objects,
    flux_objects,
    kustomizations,
    protect_node_identity,
)
from infra.engine.manifests import HELM_TYPES, is_kubernetes_object, is_patch, manifest, sorted_deep
from infra.engine.recording import PlanFileError, RecordedPlan
from infra.engine.runtime import SECRET

RENDER_FORMAT = "gigafactory-render/1"
_UNKNOWN = "[unknown]"
CLUSTER_SCOPE = "_cluster"


def _holds(value: Any, marker: str) -> bool:
    if isinstance(value, dict):
        return any(_holds(v, marker) for v in value.values())
    if isinstance(value, list):
        return any(_holds(v, marker) for v in value)
    return isinstance(value, str) and value == marker


def marked_paths(value: Any, marker: str, prefix: str = "") -> Iterator[str]:
    """Dotted paths under ``value`` whose value is ``marker`` (e.g. every ``[secret]``)."""
    if isinstance(value, dict):
        for key in sorted(value):
            yield from marked_paths(value[key], marker, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from marked_paths(item, marker, f"{prefix}[{index}]")
    elif value == marker:
        yield prefix


def to_yaml(document: Any) -> str:
    """YAML text for a document whose key order is already the one wanted."""
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False, allow_unicode=True, width=4096)


def object_file_name(document: dict[str, Any]) -> str:
    api_version = str(document["apiVersion"])
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    kind = str(document["kind"]).lower()
    name = str(document.get("metadata", {}).get("name", ""))
    return f"{kind}.{group}--{name}.yaml" if group else f"{kind}--{name}.yaml"


def _withheld_reason(document: dict[str, Any]) -> str | None:
    if _holds(document, GENERATED):
        return f"holds values the chart generates at install ({', '.join(marked_paths(document, GENERATED))})"
    if _holds(document, SECRET):
        paths = ", ".join(marked_paths(document, SECRET))
        return f"holds secret values ({paths}); provision it from the secret store"
    if _holds(document, _UNKNOWN):
        return "holds values known only at deployment (" + ", ".join(marked_paths(document, _UNKNOWN)) + ")"
    if not document.get("metadata", {}).get("name"):
        return "has no metadata.name (Pulumi auto-names it at deployment)"
    return None


# A name or namespace becomes a path segment: DNS-1123 names (and the dots and upper case some
# kinds allow) only, never a separator or "..".
_PATH_SAFE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._:-]{0,252}[A-Za-z0-9])?$")


def _check_object(urn: str, document: dict[str, Any]) -> None:
    """``PlanFileError`` naming the resource and field when an object's identity is not what Kubernetes takes."""
    for key in ("apiVersion", "kind"):
        if not isinstance(document.get(key), str) or not _PATH_SAFE.match(document[key].replace("/", "-")):
            raise PlanFileError(f"{urn}: inputs.{key} must be a Kubernetes {key} (got {document.get(key)!r:.60})")
    metadata = document.get("metadata", {})
    if not isinstance(metadata, dict):
        raise PlanFileError(f"{urn}: inputs.metadata must be an object (got {type(metadata).__name__})")
    for key in ("name", "namespace"):
        value = metadata.get(key, "")
        if not isinstance(value, str) or (value and (".." in value or not _PATH_SAFE.match(value))):
            raise PlanFileError(
                f"{urn}: inputs.metadata.{key} must be a Kubernetes name (got {value!r:.60})\n"
                "  hint: names are lower-case letters, digits, '-' and '.'; the plan was edited or is not one"
            )


def _index_entry(document: dict[str, Any], **origin: str) -> dict[str, Any]:
    """An object's line in ``index.yaml``: its identity, then where it came from (``origin``, in order)."""
    metadata = document.get("metadata") or {}
    identity = {"apiVersion": document["apiVersion"], "kind": document["kind"]}
    return {**identity, "name": metadata.get("name", ""), "namespace": metadata.get("namespace", ""), **origin}


def _free_path(files: dict[str, str], path: str, origin: str) -> str:
    """``path``, or when another object already took it, ``path`` suffixed with a hash of ``origin``."""
    if path not in files:
        return path
    return path.removesuffix(".yaml") + f"--{hashlib.sha256(origin.encode()).hexdigest()[:8]}.yaml"


def render_files(
    plan: RecordedPlan, gitops: GitOpsOptions | None = None, charts: ChartRendering | None = None
) -> dict[str, str]:
    """Every file of the rendered folder, relative path -> text; ``PlanFileError`` for a malformed object.

    With ``gitops``, the Helm releases are also written as that tool's objects and the objects
    the releases need first (their Namespaces, ...) go under ``base/`` instead of ``manifests/``.
    With ``charts``, what each release creates goes under ``charts/``.
    """
    files: dict[str, str] = {}
    first = release_prerequisites(plan) if gitops is not None else set()
    objects: list[dict[str, Any]] = []
    patches: list[dict[str, Any]] = []
    withheld: list[dict[str, Any]] = []
    for resource in plan.resources:
        if not is_kubernetes_object(resource):
            continue
        document = manifest(resource)
        _check_object(resource.urn, document)
        metadata = document.get("metadata", {})
        entry = _index_entry(document, component=resource.component, urn=resource.urn)
        reason = _withheld_reason(document)
        if reason is not None:
            withheld.append({**entry, "reason": reason})
            continue
        folder = "patches" if is_patch(resource) else "base" if resource.urn in first else "manifests"
        if gitops is not None:
            document = protect_node_identity(document, gitops.target)
        # Two objects the API server would tell apart only by version: both kept, named apart by URN.
        path = _free_path(
            files, f"{folder}/{metadata.get('namespace') or CLUSTER_SCOPE}/{object_file_name(document)}", resource.urn
        )
        files[path] = f"# {resource.urn}\n" + to_yaml(document)
        (patches if is_patch(resource) else objects).append({"file": path, **entry})
    releases = list(_helm_files(plan, files))
    if releases:
        files["helm/releases.yaml"] = to_yaml({"releases": releases})
    # One owner per object: with GitOps the HelmRelease or Application installs what its chart
    # creates, so those objects are not written again (they were still rendered and checked).
    owned_by_releases = gitops is not None
    chart_objects = list(_chart_files(charts, files, withheld)) if charts is not None and not owned_by_releases else []
    if gitops is None:
        files.update(kustomizations(files, ["manifests"]))
    else:
        written = (flux_objects if gitops.target == "flux" else argocd_objects)(plan_releases(plan), gitops)
        files.update({path: to_yaml(document) for path, document in written.items()})
        tool = "flux" if gitops.target == "flux" else "argocd"
        files.update(kustomizations(files, ["manifests", "base", "releases", tool], [tool]))
    # Files for the API servers, not objects to apply: outside the kustomizations.
    control = control_plane_files(plan)
    index = {
        "format": RENDER_FORMAT,
        "site": plan.stack,
        "objects": sorted(objects, key=lambda e: e["file"]),
        "patches": sorted(patches, key=lambda e: e["file"]),
        "helm_releases": "helm/releases.yaml" if releases else None,
        "gitops": gitops.target if gitops is not None else None,
        "chart_objects": sorted(chart_objects, key=lambda e: e["file"]),
        "charts": _charts_note(charts),
        "withheld": sorted(withheld, key=lambda e: (e["urn"], e.get("source", ""), e["kind"], e["name"])),
        "control_plane": sorted(control),
    }
    files.update(control)
    files["index.yaml"] = to_yaml(index)
    return files


def plan_releases(plan: RecordedPlan) -> list[Release]:
    """Every Helm release of ``plan``, with the releases it waits for (its recorded ``depends_on``)."""
    resources = {r.urn: r for r in plan.resources if r.type in HELM_TYPES}
    helm = {urn: HelmRelease.of(resource) for urn, resource in resources.items()}
    return [
        Release(
            name=release.name,
            namespace=release.namespace,
            chart=release.reference,
            version=release.version,
            repository=release.repository,
            values=sorted_deep(release.values),
            secret_values=tuple(marked_paths(release.values, SECRET)),
            depends_on=tuple(sorted(helm[u].name for u in resources[urn].depends_on if u in helm)),
        )
        for urn, release in helm.items()
    ]


def release_prerequisites(plan: RecordedPlan) -> set[str]:
    """URNs of the objects a Helm release waits for, transitively (written under ``base/``)."""
    by_urn = {r.urn: r for r in plan.resources}
    todo = [u for r in plan.resources if r.type in HELM_TYPES for u in r.depends_on]
    found: set[str] = set()
    while todo:
        urn = todo.pop()
        resource = by_urn.get(urn)
        if urn in found or resource is None or resource.type in HELM_TYPES:
            continue
        found.add(urn)
        todo.extend(resource.depends_on)
    return found


def _helm_files(plan: RecordedPlan, files: dict[str, str]) -> Iterator[dict[str, Any]]:
    for resource in plan.resources:
        if resource.type not in HELM_TYPES:
            continue
        for field in ("repositoryOpts", "values"):
            if not isinstance(resource.inputs.get(field) or {}, dict):
                raise PlanFileError(f"{resource.urn}: inputs.{field} must be an object")
        release = HelmRelease.of(resource)
        name, namespace = release.name, release.namespace
        _check_object(
            resource.urn,
            {"apiVersion": "helm.sh/v3", "kind": "Release", "metadata": {"name": name, "namespace": namespace}},
        )
        values = sorted_deep(release.values)
        values_file = f"helm/{namespace}--{name}.values.yaml"
        files[values_file] = f"# {resource.urn}\n" + to_yaml(values)
        yield {
            "name": name,
            "namespace": namespace,
            "chart": release.reference,
            "version": release.version,
            "repository": release.repository,
            "values": values_file.removeprefix("helm/"),
            "secret_values": list(marked_paths(values, SECRET)),
            "component": resource.component,
            "urn": resource.urn,
        }


def _charts_note(charts: ChartRendering | None) -> dict[str, Any]:
    if charts is None:
        return {"rendered": False, "why": "no --charts folder given: chart contents were not rendered"}
    return {
        "rendered": True,
        "releases": sorted(f"{r.namespace}/{r.name}" for r in charts.rendered),
        "not_rendered": [{"release": f"{r.namespace}/{r.name}", "why": why} for r, why in charts.not_rendered],
    }


def _chart_files(
    charts: ChartRendering, files: dict[str, str], withheld: list[dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    """Write each release's objects under ``charts/``; yields their index entries."""
    for obj in charts.objects:
        document, release = obj.document, obj.release
        metadata = document.get("metadata") or {}
        entry = _index_entry(
            document, release=f"{release.namespace}/{release.name}", source=obj.source, urn=release.urn
        )
        reason = _withheld_reason(document)
        if reason is not None:
            withheld.append({**entry, "reason": reason})
            continue
        scope = metadata.get("namespace") or CLUSTER_SCOPE
        # One kind and name twice in a release (e.g. once per API version): both kept, named apart by template.
        path = _free_path(
            files, f"charts/{release.namespace}--{release.name}/{scope}/{object_file_name(document)}", obj.source
        )
        head = f"# release {release.namespace}/{release.name}: chart {release.chart} {release.version}, {obj.source}\n"
        files[path] = head + _to_yaml_c(document)
        yield {"file": path, **entry}


def _to_yaml_c(document: Any) -> str:
    """``to_yaml`` through libyaml's emitter: the same text (checked on every pilot chart object), five
    times faster on the charts' large CRDs."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(document, Dumper=dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=4096)
