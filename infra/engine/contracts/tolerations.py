"""Node daemons: everything that must run on every GPU node tolerates every pool's taints.

A taint keeps a pod off a node unless the pod tolerates it (kubernetes/api core/v1
toleration.go ``ToleratesTaint``); the DaemonSet controller adds tolerations only for the
``node.kubernetes.io/*`` condition taints (kubernetes/kubernetes pkg/controller/daemon/util/
daemonset_util.go ``AddOrUpdateDaemonPodTolerations``), so a driver, device plugin or CSI node
plugin that does not tolerate a pool's taint never runs there.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from components.labels import POOL_LABEL
from infra.engine.contracts.model import ClusterState, Contract, StateObject, Violation
from infra.engine.contracts.nodes import node_groups
from infra.jobcheck.selectors import untolerated

# DaemonSets meant for other nodes: Windows exporters (kube-prometheus-stack's windows-exporter).
OTHER_OS = {"kubernetes.io/os": "windows"}


def pool_taints(state: ClusterState) -> dict[str, list[dict[str, str]]]:
    """Pool -> the taints its nodes will carry (from the NFD rules that write them), sorted."""
    found: dict[str, set[tuple[str, str, str]]] = {}
    for group in node_groups(state):
        taints = found.setdefault(group.pool, set())
        for taint in group.taints:
            taints.add((str(taint["key"]), str(taint.get("value") or ""), str(taint["effect"])))
    return {pool: [{"key": k, "value": v, "effect": e} for k, v, e in sorted(t)] for pool, t in found.items()}


def _node_selected_pools(selector: Mapping[str, Any], pools: Iterable[str]) -> list[str]:
    wanted = selector.get(POOL_LABEL)
    return [p for p in pools if wanted is None or p == wanted]


def _daemons(
    state: ClusterState, *, charts: bool
) -> Iterator[tuple[StateObject, list[Mapping[str, Any]], Mapping[str, Any]]]:
    """(object, tolerations, node selector) of what runs on every node it selects."""
    for obj in state.objects:
        if (obj.release is not None) != charts:
            continue
        spec = obj.spec
        if obj.kind == "DaemonSet":
            pod = (spec.get("template") or {}).get("spec") or {}
            selector = pod.get("nodeSelector") or {}
            if all(selector.get(k) == v for k, v in OTHER_OS.items()):
                continue
            yield obj, list(pod.get("tolerations") or []), selector
        elif obj.kind == "ClusterPolicy":  # GPU Operator: every operand DaemonSet
            yield obj, list((spec.get("daemonsets") or {}).get("tolerations") or []), {}
        elif obj.kind == "NicClusterPolicy":  # Network Operator: DOCA driver, device plugins, CNI
            yield obj, list(spec.get("tolerations") or []), {}
        elif obj.kind == "NVIDIADriver":  # the GPU driver of the nodes it selects
            yield obj, list(spec.get("tolerations") or []), spec.get("nodeSelector") or {}


def _check(state: ClusterState, *, charts: bool) -> Iterator[Violation]:
    taints = pool_taints(state)
    for obj, tolerations, selector in _daemons(state, charts=charts):
        for pool in _node_selected_pools(selector, sorted(taints)):
            # Only NoSchedule and NoExecute taints keep the pods off (PreferNoSchedule only prefers).
            for taint in untolerated(tolerations, taints[pool]):
                key, value, effect = taint["key"], taint["value"], taint["effect"]
                yield Violation(
                    obj.describe(),
                    f"does not tolerate pool {pool}'s taint {key}={value}:{effect}: its pods never run there",
                    f"add the toleration {{key: {key}, operator: Equal, value: {value}, effect: {effect}}} "
                    "(or operator Exists for the key)",
                    f"pools.{pool}.taints",
                )


def check_project_daemons(state: ClusterState) -> Iterator[Violation]:
    """The project's operator policies (NicClusterPolicy, NVIDIADriver) tolerate every pool's taints."""
    return _check(state, charts=False)


def check_chart_daemons(state: ClusterState) -> Iterator[Violation]:
    """The charts' DaemonSets and the GPU Operator's ClusterPolicy tolerate every pool's taints."""
    return _check(state, charts=True)


_SOURCE = (
    "kubernetes/api core/v1 toleration.go (ToleratesTaint); kubernetes/kubernetes "
    "pkg/controller/daemon/util/daemonset_util.go (only node.kubernetes.io/* taints tolerated by default)"
)
CONTRACTS = (
    Contract(
        "policy-daemons-tolerate-taints",
        "the Network Operator's NicClusterPolicy and each NVIDIADriver tolerate every taint of the pools they serve",
        _SOURCE,
        check_project_daemons,
    ),
    Contract(
        "chart-daemons-tolerate-taints",
        "every node DaemonSet of the charts and the GPU Operator's ClusterPolicy tolerate every pool's taints",
        _SOURCE,
        check_chart_daemons,
        needs_charts="the DaemonSets and the ClusterPolicy are objects of the charts",
    ),
)
