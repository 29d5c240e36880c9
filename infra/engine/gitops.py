"""GitOps output of a render: kustomizations, and each Helm release as Flux or Argo CD objects.

``gigafactory render`` writes the site's objects as files; this module makes that folder something
Flux or Argo CD reconciles as it is:

- a ``kustomization.yaml`` in every folder (files, then subfolders) and at the root;
- with ``--gitops flux``: per release a ``HelmRepository`` or ``OCIRepository`` and a ``HelmRelease``
  (helm-controller v2) with the same values, secret values through ``valuesFrom``; three Flux
  ``Kustomization``s apply the layers in order: ``base`` (what the releases need first, e.g. their
  Namespaces), ``releases`` (waited for), then ``manifests`` (the custom resources their CRDs define);
- with ``--gitops argocd``: an ``Application`` per release with the same values, and one each for
  ``base`` and ``manifests``, ordered by sync waves (app of apps).

Release order follows the ``depends_on`` the Pulumi program records, so GitOps applies the site in
the order ``pulumi up`` does. Objects that carry node identity (NFD ``NodeFeatureRule``s) are
marked so that a prune never deletes them: removing one would strip every node of its pool's
labels and taints at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Literal

from infra.errors import BadInputError

GitOpsTarget = Literal["flux", "argocd"]
GITOPS_TARGETS: tuple[GitOpsTarget, ...] = ("flux", "argocd")

KUSTOMIZE_API = "kustomize.config.k8s.io/v1beta1"
FLUX_SOURCE_API = "source.toolkit.fluxcd.io/v1"  # source-controller v1.9.1 (shared/crds)
FLUX_HELM_API = "helm.toolkit.fluxcd.io/v2"  # helm-controller v1.6.3 (shared/crds)
FLUX_KUSTOMIZE_API = "kustomize.toolkit.fluxcd.io/v1"
ARGOCD_API = "argoproj.io/v1alpha1"  # Argo CD v3.5.1 (shared/crds)
FLUX_NAMESPACE = "flux-system"
ARGOCD_NAMESPACE = "argocd"
# The GitRepository `flux bootstrap` creates for the repository it manages.
FLUX_GIT_SOURCE = "flux-system"
IN_CLUSTER = "https://kubernetes.default.svc"
# Kinds whose objects give nodes their identity: never pruned (see the module docstring).
NODE_IDENTITY_KINDS = ("NodeFeatureRule",)
FLUX_PRUNE_DISABLED = {"kustomize.toolkit.fluxcd.io/prune": "disabled"}
ARGOCD_PRUNE_DISABLED = {"argocd.argoproj.io/sync-options": "Prune=false"}
SYNC_WAVE = "argocd.argoproj.io/sync-wave"
INTERVAL = "10m"


class GitOpsError(BadInputError, ValueError):
    """The site cannot be written for the chosen GitOps tool; the message says why and what to do."""


@dataclass(frozen=True)
class Release:
    """One Helm release as the plan records it."""

    name: str
    namespace: str
    chart: str
    version: str
    repository: str | None
    values: Mapping[str, Any]
    secret_values: tuple[str, ...]
    depends_on: tuple[str, ...]
    """Names of the releases it must follow."""


@dataclass(frozen=True)
class GitOpsOptions:
    """Where the rendered folder lives in git, and for which tool."""

    target: GitOpsTarget
    site: str
    path: str
    """The rendered folder's path inside the git repository, e.g. ``deploy/eu-pilot``."""
    repo_url: str | None = None
    """The git repository's URL (Argo CD Applications name it; Flux uses its bootstrap source)."""


def kustomizations(paths: Iterable[str], tops: Iterable[str], entry: Iterable[str] | None = None) -> dict[str, str]:
    """A ``kustomization.yaml`` for each folder under ``tops`` (files, then subfolders) and the root.

    The root lists ``entry`` (default: ``tops``); every list names only what is inside its folder,
    as kustomize's default load restrictor requires.
    """
    roots = tuple(tops)
    files: dict[str, list[str]] = defaultdict(list)
    folders: dict[str, set[str]] = defaultdict(set)
    for path in paths:
        pure = PurePosixPath(path)
        if pure.suffix != ".yaml" or pure.name == "kustomization.yaml" or pure.parts[0] not in roots:
            continue
        files[str(pure.parent)].append(pure.name)
        for parent in pure.parents:
            if str(parent.parent) == ".":
                break
            folders[str(parent.parent)].add(parent.name)
    out = {"kustomization.yaml": _kustomization(sorted(roots if entry is None else entry))}
    for folder in sorted(set(files) | set(folders)):
        resources = sorted(files.get(folder, [])) + sorted(folders.get(folder, set()))
        out[f"{folder}/kustomization.yaml"] = _kustomization(resources)
    return out


def _kustomization(resources: list[str]) -> str:
    lines = [f"apiVersion: {KUSTOMIZE_API}", "kind: Kustomization", "resources:"]
    lines += [f"- {name}" for name in resources]
    return "\n".join(lines) + "\n"


def protect_node_identity(document: dict[str, Any], target: GitOpsTarget) -> dict[str, Any]:
    """``document`` annotated so the GitOps tool never prunes it, if it carries node identity."""
    if document.get("kind") not in NODE_IDENTITY_KINDS:
        return document
    metadata = dict(document.get("metadata", {}))
    annotations = dict(metadata.get("annotations", {}))
    annotations.update(FLUX_PRUNE_DISABLED if target == "flux" else ARGOCD_PRUNE_DISABLED)
    metadata["annotations"] = dict(sorted(annotations.items()))
    return {**document, "metadata": metadata}


def release_depths(releases: Iterable[Release]) -> dict[str, int]:
    """How many releases each release waits for, transitively (0 for those that wait for none)."""
    by_name = {r.name: r for r in releases}
    depth: dict[str, int] = {}

    def visit(name: str, path: tuple[str, ...]) -> int:
        if name in depth:
            return depth[name]
        if name in path:
            raise GitOpsError(f"Helm releases depend on each other in a cycle: {' -> '.join((*path, name))}")
        needs = [d for d in by_name[name].depends_on if d in by_name]
        depth[name] = 1 + max((visit(d, (*path, name)) for d in needs), default=-1)
        return depth[name]

    for name in sorted(by_name):
        visit(name, ())
    return depth


def _oci_parts(chart: str) -> tuple[str, str]:
    """``oci://registry/path/chart`` -> (``oci://registry/path/chart``, ``chart``)."""
    return chart, chart.rstrip("/").rsplit("/", 1)[-1]


def _is_local(release: Release) -> bool:
    return not release.repository and not release.chart.startswith("oci://")


def _values_without_secrets(release: Release) -> dict[str, Any]:
    """The release's values minus every secret one (those come from a Secret)."""
    values: dict[str, Any] = dict(release.values)
    for path in release.secret_values:
        _drop(values, path.split("."))
    return values


def _drop(values: dict[str, Any], parts: list[str]) -> None:
    here: Any = values
    for part in parts[:-1]:
        if not isinstance(here, dict) or part not in here:
            return
        here[part] = dict(here[part]) if isinstance(here[part], dict) else here[part]
        here = here[part]
    if isinstance(here, dict):
        here.pop(parts[-1], None)


def secret_values_name(release: Release) -> str:
    """The Secret a Flux HelmRelease reads ``release``'s secret values from (provisioned by the site)."""
    return f"{release.name}-secret-values"


def flux_objects(releases: Iterable[Release], options: GitOpsOptions) -> dict[str, dict[str, Any]]:
    """Every Flux object, by the file it is written to (``releases/flux/…`` and ``flux/…``)."""
    objects: dict[str, dict[str, Any]] = {}
    for release in sorted(releases, key=lambda r: r.name):
        release_name = f"{release.namespace}-{release.name}"
        spec: dict[str, Any] = {
            "interval": INTERVAL,
            "releaseName": release.name,
            "targetNamespace": release.namespace,
            "install": {"crds": "CreateReplace", "remediation": {"retries": 3}},
            "upgrade": {"crds": "CreateReplace", "remediation": {"retries": 3}},
            "values": _values_without_secrets(release),
        }
        if release.chart.startswith("oci://"):
            url, _ = _oci_parts(release.chart)
            source = {
                "apiVersion": FLUX_SOURCE_API,
                "kind": "OCIRepository",
                "metadata": {"name": release_name, "namespace": FLUX_NAMESPACE},
                "spec": {
                    "interval": INTERVAL,
                    "url": url,
                    "ref": {"tag": release.version},
                    "layerSelector": {
                        "mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                        "operation": "copy",
                    },
                },
            }
            objects[f"releases/flux/ocirepository--{release_name}.yaml"] = source
            spec["chartRef"] = {"kind": "OCIRepository", "name": release_name, "namespace": FLUX_NAMESPACE}
        elif release.repository:
            repository = {
                "apiVersion": FLUX_SOURCE_API,
                "kind": "HelmRepository",
                "metadata": {"name": release_name, "namespace": FLUX_NAMESPACE},
                "spec": {"interval": INTERVAL, "url": release.repository},
            }
            objects[f"releases/flux/helmrepository--{release_name}.yaml"] = repository
            spec["chart"] = {
                "spec": {
                    "chart": release.chart,
                    "version": release.version,
                    "sourceRef": {"kind": "HelmRepository", "name": release_name, "namespace": FLUX_NAMESPACE},
                }
            }
        else:
            # A chart kept in the site's own repository (e.g. DDN's EXAScaler chart, which has no
            # Helm repository): Flux reads it from the bootstrap GitRepository as a chart folder.
            spec["chart"] = {
                "spec": {
                    "chart": release.chart,
                    "version": release.version,
                    "sourceRef": {"kind": "GitRepository", "name": FLUX_GIT_SOURCE, "namespace": FLUX_NAMESPACE},
                }
            }
        needs = sorted(d for d in release.depends_on)
        if needs:
            spec["dependsOn"] = [{"name": f"{release.namespace}-{d}", "namespace": FLUX_NAMESPACE} for d in needs]
        if release.secret_values:
            spec["valuesFrom"] = [
                {"kind": "Secret", "name": secret_values_name(release), "valuesKey": path, "targetPath": path}
                for path in release.secret_values
            ]
        objects[f"releases/flux/helmrelease--{release_name}.yaml"] = {
            "apiVersion": FLUX_HELM_API,
            "kind": "HelmRelease",
            "metadata": {"name": release_name, "namespace": FLUX_NAMESPACE},
            "spec": spec,
        }
    objects.update(_flux_layers(options))
    return objects


def _flux_layers(options: GitOpsOptions) -> dict[str, dict[str, Any]]:
    root = "./" + options.path.strip("/").removeprefix("./")
    layers = (("base", None, False), ("releases", "base", True), ("manifests", "releases", False))
    out = {}
    for layer, after, wait in layers:
        name = f"{options.site}-{layer}"
        spec: dict[str, Any] = {
            "interval": INTERVAL,
            "path": f"{root}/{'releases/flux' if layer == 'releases' else layer}",
            "prune": True,
            "sourceRef": {"kind": "GitRepository", "name": FLUX_GIT_SOURCE},
            "wait": wait,
        }
        if after is not None:
            spec["dependsOn"] = [{"name": f"{options.site}-{after}"}]
        out[f"flux/kustomization--{name}.yaml"] = {
            "apiVersion": FLUX_KUSTOMIZE_API,
            "kind": "Kustomization",
            "metadata": {"name": name, "namespace": FLUX_NAMESPACE},
            "spec": spec,
        }
    return out


def argocd_objects(releases: Iterable[Release], options: GitOpsOptions) -> dict[str, dict[str, Any]]:
    """Every Argo CD Application, by the file it is written to (``argocd/…``)."""
    if not options.repo_url:
        raise GitOpsError("--gitops argocd needs --repo-url: the git URL Argo CD reads the rendered folder from")
    listed = sorted(releases, key=lambda r: r.name)
    with_secrets = [r.name for r in listed if r.secret_values]
    if with_secrets:
        raise GitOpsError(
            f"Helm releases {', '.join(with_secrets)} hold secret values, and an Argo CD Application can only "
            "carry values inline; use --gitops flux (valuesFrom a Secret) for this site"
        )
    depths = release_depths(listed)
    last = max(depths.values(), default=0) + 2
    root = options.path.strip("/").removeprefix("./")
    objects: dict[str, dict[str, Any]] = {}
    for layer, wave in (("base", 0), ("manifests", last)):
        objects[f"argocd/application--{options.site}-{layer}.yaml"] = _application(
            f"{options.site}-{layer}",
            wave,
            {
                "repoURL": options.repo_url,
                "path": f"{root}/{layer}",
                "targetRevision": "HEAD",
                "directory": {"recurse": True, "include": "*.yaml", "exclude": "kustomization.yaml"},
            },
            None,
        )
    for release in listed:
        source: dict[str, Any] = {
            "targetRevision": release.version,
            "helm": {"releaseName": release.name, "valuesObject": dict(release.values)},
        }
        if release.chart.startswith("oci://"):
            # Argo CD reads an OCI Helm chart from its registry path, without the scheme.
            registry, chart = release.chart.removeprefix("oci://").rsplit("/", 1)
            source.update({"repoURL": registry, "chart": chart})
        elif release.repository:
            source.update({"repoURL": release.repository, "chart": release.chart})
        else:
            source.update({"repoURL": options.repo_url, "path": release.chart.removeprefix("./")})
        objects[f"argocd/application--{release.namespace}-{release.name}.yaml"] = _application(
            f"{release.namespace}-{release.name}", 1 + depths[release.name], source, release.namespace
        )
    return objects


def _application(name: str, wave: int, source: dict[str, Any], namespace: str | None) -> dict[str, Any]:
    destination: dict[str, Any] = {"server": IN_CLUSTER}
    if namespace is not None:
        destination["namespace"] = namespace
    return {
        "apiVersion": ARGOCD_API,
        "kind": "Application",
        "metadata": {"name": name, "namespace": ARGOCD_NAMESPACE, "annotations": {SYNC_WAVE: str(wave)}},
        "spec": {
            "project": "default",
            "source": source,
            "destination": destination,
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "syncOptions": ["ServerSideApply=true"],
            },
        },
    }
