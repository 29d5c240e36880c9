"""Render every Helm release of a plan with real Helm, as the site's cluster would install it.

Values are exactly what the plan recorded on each ``helm.sh/v3:Release`` (one source of truth:
the components' values, with ``[secret]`` markers where a secret goes). Each chart is rendered for
the site's Kubernetes version and API versions (``capabilities``), and its ``crds/`` folder, which
Helm installs before the templates but leaves out of a render, is added to its objects. Helm's
test hooks are left out (``helm install`` never creates them); other hooks are kept.

Helm 4 rendering is in-process through ``helm_python`` (helm-python-sdk, the ``charts`` extra):
Helm's Go SDK behind a C ABI, no ``helm`` binary, no network. Its public ``Chart.render`` does not
pass ``kube_version`` and ``api_versions``, which the library's render options read (the same
options ``helm template --kube-version --api-versions`` sets), so ``_helm_render`` calls the
library with them; ``tests/engine/test_charts_render.py`` proves both reach the templates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from infra.engine.charts.source import ChartFolder, ChartFolderError, chart_name
from infra.engine.manifests import HELM_TYPES
from infra.engine.recording import PlannedResource, RecordedPlan
from infra.errors import GigafactoryError

RELEASE_TYPE = HELM_TYPES[0]  # kubernetes:helm.sh/v3:Release (HELM_TYPES[1], helm.sh/v4:Chart, has no release)
# DDN's EXAScaler CSI chart is licensed for its customers and not vendored here; without it the
# release is not rendered and its values are checked against the templates instead (contract
# exascaler-values-read, infra/engine/contracts/storage.py).
UNVENDORED_CHARTS = frozenset({"exa-csi"})


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML as Kubernetes reads it: PyYAML's YAML 1.1 ``=`` (the "value" tag) is a plain string."""


# Helm splits on `(?:^|\s*\n)---\s*` (helm.sh/helm/v4 pkg/release/v1/util/manifest.go): a `---` at the
# start of the text or of a line, so `---# comment` splits too. The same split without the leading
# whitespace run, whose backtracking costs seconds on the large CRD files.
_SEPARATOR = re.compile(r"(?:^|\n)---")
_Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))

# Built-in kinds that are not namespaced (`kubectl api-resources --namespaced=false`, Kubernetes
# 1.35). Helm installs a namespaced object that names no namespace into the release's namespace.
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "APIService", "CertificateSigningRequest", "ClusterRole", "ClusterRoleBinding", "ClusterTrustBundle",
        "ComponentStatus", "CSIDriver", "CSINode", "CustomResourceDefinition", "DeviceClass", "DeviceTaintRule",
        "FlowSchema", "IngressClass", "IPAddress", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding",
        "MutatingWebhookConfiguration", "Namespace", "Node", "PersistentVolume", "PriorityClass",
        "PriorityLevelConfiguration", "ResourceSlice", "RuntimeClass", "ServiceCIDR", "StorageClass",
        "StorageVersionMigration", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration", "VolumeAttachment", "VolumeAttributesClass",
    }
)  # fmt: skip


@dataclass(frozen=True)
class HelmRelease:
    """A release as the plan recorded it."""

    name: str
    namespace: str
    chart: str
    """The chart's own name (``chart_name`` of the reference)."""
    reference: str
    """The release's ``chart`` field: a repository chart name, an ``oci://`` reference or a path."""
    version: str
    repository: str | None
    values: dict[str, Any]
    urn: str
    component: str

    @classmethod
    def of(cls, resource: PlannedResource) -> HelmRelease:
        """The release a recorded ``helm.sh/v3:Release`` resource installs."""
        inputs = resource.inputs
        reference, version = str(inputs.get("chart") or ""), str(inputs.get("version") or "")
        return cls(
            name=str(inputs.get("name") or resource.name),
            namespace=str(inputs.get("namespace") or "default"),
            chart=chart_name(reference, version),
            reference=reference,
            version=version,
            repository=(inputs.get("repositoryOpts") or {}).get("repo"),
            values=dict(inputs.get("values") or {}),
            urn=resource.urn,
            component=resource.component,
        )

    @property
    def label(self) -> str:
        """``namespace/name (chart version)``, for messages."""
        return f"{self.namespace}/{self.name} ({self.chart} {self.version})"


def helm_releases(plan: RecordedPlan) -> list[HelmRelease]:
    """Every Helm release of ``plan``, in URN order."""
    return [HelmRelease.of(r) for r in plan.resources if r.type == RELEASE_TYPE]


@dataclass(frozen=True)
class ChartObject:
    """One object a release creates: from a template, or a CRD from the chart's ``crds/`` folder."""

    release: HelmRelease
    source: str
    """The template path (``gpu-operator/templates/x.yaml``) or the CRD file (``gpu-operator/crds/y.yaml``)."""
    document: dict[str, Any]


class ChartTemplateError(GigafactoryError):
    """A chart refused its values (``fail``, ``required``, a malformed value): Helm's message."""

    def __init__(self, release: HelmRelease, message: str) -> None:
        super().__init__(f"{release.label}: {message}")
        self.release = release
        self.message = message


class ChartRenderErrors(GigafactoryError):
    """Every release whose chart failed to render."""

    def __init__(self, errors: list[ChartTemplateError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class ChartRendering:
    """What the site's releases create, and which releases were not rendered (with why)."""

    objects: tuple[ChartObject, ...]
    rendered: tuple[HelmRelease, ...]
    not_rendered: tuple[tuple[HelmRelease, str], ...] = field(default=())

    def crds(self) -> list[dict[str, Any]]:
        """Every CRD the releases install."""
        return [o.document for o in self.objects if o.document.get("kind") == "CustomResourceDefinition"]


def _helm_render(chart: Any, values: Mapping[str, Any], release: HelmRelease, kube: str, apis: list[str]) -> Any:
    from helm_python import _native

    options = {"name": release.name, "namespace": release.namespace, "kube_version": kube, "api_versions": apis}
    return json.loads(_native.call_string("helm_render", chart._raw(), json.dumps(dict(values)), json.dumps(options)))


def _is_test_hook(document: Mapping[str, Any]) -> bool:
    annotations = (document.get("metadata") or {}).get("annotations") or {}
    hooks = str(annotations.get("helm.sh/hook", ""))
    return any(h.strip().startswith("test") for h in hooks.split(","))


def _documents(text: str, parsed: dict[str, list[dict[str, Any]]] | None = None) -> list[dict[str, Any]]:
    """The objects of one rendered file, split as Helm splits them (``releaseutil.SplitManifests``).

    With ``parsed``, each distinct text is parsed once (the second rendering pass gives mostly the
    same files, and YAML parsing of the large CRDs is most of the cost); callers copy before changing.
    """
    if parsed is not None and text in parsed:
        return parsed[text]
    documents = (yaml.load(piece, Loader=_Loader) for piece in _SEPARATOR.split(text) if piece.strip())
    found = [d for d in documents if isinstance(d, dict) and d.get("kind")]
    if parsed is not None:
        parsed[text] = found
    return found


def _place(document: dict[str, Any], release: HelmRelease, namespaced_crds: set[str]) -> dict[str, Any]:
    """The object as Helm applies it: namespaced objects without a namespace go to the release's."""
    metadata = dict(document.get("metadata") or {})
    document = {**document, "metadata": metadata}
    kind = str(document.get("kind"))
    group = str(document.get("apiVersion", "")).rpartition("/")[0]
    custom_namespaced = f"{group}/{kind}" in namespaced_crds
    if not metadata.get("namespace") and (custom_namespaced or (kind not in CLUSTER_SCOPED_KINDS and "." not in group)):
        metadata["namespace"] = release.namespace
    return document


def _namespaced_kinds(crds: list[dict[str, Any]]) -> set[str]:
    return {
        f"{c['spec']['group']}/{c['spec']['names']['kind']}"
        for c in crds
        if (c.get("spec") or {}).get("scope") == "Namespaced"
    }


class _Loaded:
    def __init__(self, release: HelmRelease, path: Path) -> None:
        import helm_python

        self.release = release
        self.chart = helm_python.Chart.load(path)
        self.folder_crds = [
            (f"{release.chart}/{entry['name']}", document)
            for entry in sorted(self.chart.crds, key=lambda e: str(e["filename"]))
            for document in _documents(str(entry["data"]))
        ]
        self.templates: dict[str, str] = {}


GENERATED = "[generated]"


def _load(plan: RecordedPlan, folder: ChartFolder) -> tuple[list[_Loaded], list[tuple[HelmRelease, str]]]:
    loaded: list[_Loaded] = []
    not_rendered: list[tuple[HelmRelease, str]] = []
    missing: list[str] = []
    for release in helm_releases(plan):
        entry = folder.find(release.chart, release.version)
        if entry is not None:
            loaded.append(_Loaded(release, entry.path))
        elif release.chart in UNVENDORED_CHARTS:
            not_rendered.append((release, f"{folder.root} has no {release.chart} {release.version}"))
        else:
            hint = folder.missing_hint(release.chart, release.version, release.repository, release.reference)
            missing.append(
                f"{folder.root}: no chart {release.chart} {release.version} for release {release.label}\n  hint: {hint}"
            )
    if missing:
        for item in loaded:
            item.chart.close()
        raise ChartFolderError("\n".join(missing))
    return loaded, not_rendered


def _render_all(loaded: list[_Loaded], kube: str, apis: set[str]) -> list[ChartTemplateError]:
    from helm_python.errors import HelmError

    errors = []
    for item in loaded:
        try:
            item.templates = _helm_render(item.chart, item.release.values, item.release, kube, sorted(apis))
        except HelmError as error:
            errors.append(ChartTemplateError(item.release, str(error)))
    return errors


def _templated_crds(loaded: list[_Loaded], parsed: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [
        document
        for item in loaded
        for template, text in item.templates.items()
        if not template.endswith(".txt")
        for document in _documents(text, parsed)
        if document.get("kind") == "CustomResourceDefinition"
    ]


def _mark_generated(first: Any, second: Any) -> Any:
    """``first`` with every leaf that differs in ``second`` replaced by ``GENERATED``."""
    if isinstance(first, dict) and isinstance(second, dict) and first.keys() == second.keys():
        return {k: _mark_generated(v, second[k]) for k, v in first.items()}
    if isinstance(first, list) and isinstance(second, list) and len(first) == len(second):
        return [_mark_generated(a, b) for a, b in zip(first, second, strict=True)]
    return first if first == second else GENERATED


def _stabilise(item: _Loaded, kube: str, apis: set[str]) -> None:
    """Mark what the chart generates at random (``randAlphaNum`` passwords, their checksums).

    A render offline cannot ``lookup`` the value a running release keeps, so such values differ at
    each render; rendering again and marking what differs keeps the output byte-identical for the
    same input (and objects holding them are withheld like other values known only at install).
    """
    again = _helm_render(item.chart, item.release.values, item.release, kube, sorted(apis))
    for template, text in item.templates.items():
        if again.get(template, text) != text:
            first, second = _documents(text), _documents(again[template])
            marked = [_mark_generated(a, b) for a, b in zip(first, second, strict=False)]
            item.templates[template] = "".join("---\n" + yaml.safe_dump(d, sort_keys=False) for d in marked)


def render_charts(plan: RecordedPlan, folder: ChartFolder) -> ChartRendering:
    """Render every release of ``plan`` from the charts in ``folder``.

    Raises ``ChartFolderError`` naming every chart the folder lacks (how to pull each), and
    ``ChartRenderErrors`` with every chart that refused its values. Releases of
    ``UNVENDORED_CHARTS`` the folder lacks are listed as not rendered.
    """
    # Imported here: capabilities reads kubernetes-validate's schemas (the `charts` extra), which
    # writing a render without charts never needs.
    from infra.engine.charts.capabilities import builtin_api_versions, crd_api_versions, kube_version

    loaded, not_rendered = _load(plan, folder)
    try:
        version = str(plan.site.get("kubernetes_version", ""))
        kube = kube_version(version)
        folder_crds = [document for item in loaded for _, document in item.folder_crds]
        apis = set(builtin_api_versions(version)) | crd_api_versions(folder_crds)
        parsed: dict[str, list[dict[str, Any]]] = {}
        # Two passes: CRDs that charts ship as templates (Kueue, Rook, cert-manager) are APIs the
        # other charts may ask about; the second pass offers them too. ``apis`` stays the set the
        # last pass rendered with: ``_stabilise`` renders again with it, and any other set would
        # make what the APIs change look generated.
        for rendering_pass in range(2):
            errors = _render_all(loaded, kube, apis)
            templated_crds = _templated_crds(loaded, parsed)
            grown = apis | crd_api_versions(templated_crds)
            if errors or grown == apis or rendering_pass == 1:
                break
            apis = grown
        if errors:
            raise ChartRenderErrors(errors)
        for item in loaded:
            _stabilise(item, kube, apis)
        namespaced = _namespaced_kinds(folder_crds + templated_crds)
        objects = [obj for item in loaded for obj in _objects(item, namespaced, parsed)]
    finally:
        for item in loaded:
            item.chart.close()
    return ChartRendering(tuple(objects), tuple(i.release for i in loaded), tuple(not_rendered))


def _objects(item: _Loaded, namespaced: set[str], parsed: dict[str, list[dict[str, Any]]]) -> Iterator[ChartObject]:
    for source, document in item.folder_crds:
        yield ChartObject(item.release, source, document)
    for template in sorted(item.templates):
        if template.endswith("NOTES.txt"):
            continue
        for document in _documents(item.templates[template], parsed):
            if not _is_test_hook(document):
                yield ChartObject(item.release, template, _place(document, item.release, namespaced))


__all__ = [
    "ChartFolder",
    "ChartFolderError",
    "ChartObject",
    "ChartRenderErrors",
    "ChartRendering",
    "ChartTemplateError",
    "HelmRelease",
    "helm_releases",
    "render_charts",
]
