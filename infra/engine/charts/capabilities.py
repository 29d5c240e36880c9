"""What the site's API server offers a chart's ``.Capabilities``: its Kubernetes version and API versions.

Charts branch on ``.Capabilities.KubeVersion`` and ``.Capabilities.APIVersions.Has
"group/version[/Kind]"`` (the GPU Operator on ``resource.k8s.io/v1/DeviceClass``, Rook and the
CSI charts on OpenShift's ``security.openshift.io/v1``). A real install asks the API server's
discovery, which lists every served group/version and group/version/kind; rendering offline must
offer the same, or the chart takes the branch of another cluster. Helm's own offline default is
its client's Kubernetes version (1.36 for Helm 4.2) and a built-in list of group/versions only.

Built-in APIs come from the Kubernetes OpenAPI document of the site's minor version as
``kubernetes-validate`` ships it (each definition's ``x-kubernetes-group-version-kind``); custom
APIs from the CRDs the site's releases install (their ``crds/`` folders and CRD templates).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from kubernetes_validate import utils as kv


def kubernetes_schema_version(kubernetes_version: str) -> str:
    """The ``kubernetes-validate`` schema set for a Kubernetes minor version such as ``1.35``.

    The newest set not newer than that version; the site model admits only versions it ships
    (``SUPPORTED_KUBERNETES``), so a missing set is a defect, not an input error.
    """
    wanted = tuple(int(p) for p in kv.major_minor(kubernetes_version.lstrip("v")).split("."))
    available = [v for v in kv.all_versions() if tuple(int(p) for p in kv.major_minor(v).split(".")) <= wanted]
    if not available:
        raise LookupError(f"kubernetes-validate has no schemas for Kubernetes {kubernetes_version}")
    return str(available[-1])


def kube_version(version: str) -> str:
    """The site's ``kubernetes_version`` (``1.35``) as Helm's KubeVersion (``v1.35.0``)."""
    parts = version.lstrip("v").split(".")
    return "v" + ".".join([*parts, "0", "0"][:3])


def _group_version(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


@cache
def builtin_api_versions(version: str) -> frozenset[str]:
    """Every ``group/version`` and ``group/version/Kind`` of Kubernetes ``version``'s built-in APIs."""
    schema_version = kubernetes_schema_version(version)
    document = kv.schema_contents(
        f"kubernetes-json-schema/v{schema_version}-local-strict/_definitions.json", schema_version
    )
    found: set[str] = set()
    for definition in document["$defs"].values():
        # Top-level kinds carry metadata; list kinds and option structs are not served objects.
        if "metadata" not in definition.get("properties", {}):
            continue
        for gvk in definition.get("x-kubernetes-group-version-kind", ()):
            group_version = _group_version(gvk["group"], gvk["version"])
            found.update((group_version, f"{group_version}/{gvk['kind']}"))
    return frozenset(found)


def crd_api_versions(crds: Iterable[Mapping[str, Any]]) -> set[str]:
    """``group/version`` and ``group/version/Kind`` of every served version of ``crds``."""
    found: set[str] = set()
    for crd in crds:
        spec = crd.get("spec") or {}
        group, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
        if not group or not kind:
            continue
        for entry in spec.get("versions") or ():
            if entry.get("served", True):
                found.update((f"{group}/{entry['name']}", f"{group}/{entry['name']}/{kind}"))
    return found
