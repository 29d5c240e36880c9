"""An evaluator of ResourceQuota admission for a new object in a namespace with no usage yet.

Semantics (kubernetes.io/docs/concepts/policy/resource-quotas): an object is refused when it
would take a quota's ``hard`` amount over its limit. Counted here: PersistentVolumeClaims and
``requests.storage`` per StorageClass (``<class>.storageclass.storage.k8s.io/...``), and a pod's
``requests.<resource>`` (an extended resource's request equals its limit when only the limit is set).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

_UNITS = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}


def quantity(text: str) -> int:
    """A Kubernetes quantity with decimal or binary suffix, as an integer."""
    for suffix in sorted(_UNITS, key=len, reverse=True):
        if suffix and text.endswith(suffix):
            return int(float(text[: -len(suffix)]) * _UNITS[suffix])
    return int(text)


def usage(obj: Mapping[str, Any]) -> dict[str, int]:
    """What a new ``obj`` adds to its namespace's quota usage."""
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    if kind == "PersistentVolumeClaim":
        cls = spec.get("storageClassName") or ""
        storage = quantity(spec.get("resources", {}).get("requests", {}).get("storage", "0"))
        prefix = f"{cls}.storageclass.storage.k8s.io"
        return {"persistentvolumeclaims": 1, "requests.storage": storage,
                f"{prefix}/persistentvolumeclaims": 1, f"{prefix}/requests.storage": storage}  # fmt: skip
    if kind == "Pod":
        used: dict[str, int] = {}
        for container in spec.get("containers", []):
            resources = container.get("resources") or {}
            for name, value in {**resources.get("limits", {}), **resources.get("requests", {})}.items():
                used[f"requests.{name}"] = used.get(f"requests.{name}", 0) + quantity(str(value))
        return used
    return {}


def exceeded(objects: Iterable[Mapping[str, Any]], obj: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(kind, namespace, name) of every ResourceQuota in the object's namespace that refuses it."""
    namespace = obj["metadata"].get("namespace", "")
    used = usage(obj)
    found = []
    for quota in objects:
        if quota.get("kind") != "ResourceQuota" or quota["metadata"].get("namespace") != namespace:
            continue
        hard = quota["spec"].get("hard", {})
        if any(name in hard and amount > quantity(hard[name]) for name, amount in used.items()):
            found.append(("ResourceQuota", namespace, quota["metadata"]["name"]))
    return found
