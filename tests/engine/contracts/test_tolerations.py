"""Contracts ``policy-daemons-tolerate-taints`` and ``chart-daemons-tolerate-taints``: failing and passing states."""

from __future__ import annotations

from typing import Any

from contract_state import obj, release, state

from infra.engine.contracts.tolerations import check_chart_daemons, check_project_daemons

TAINT = {"key": "gigafactory.eu/tenant", "value": "oslo-hospital", "effect": "NoSchedule"}
CLINICAL = obj("Node", "clin-001", labels={"gigafactory.eu/pool": "h100-clinical"}, spec={"taints": [TAINT]})
TRAIN = obj("Node", "gpu-001", labels={"gigafactory.eu/pool": "h100-train"}, spec={})
EXACT = {"key": "gigafactory.eu/tenant", "operator": "Equal", "value": "oslo-hospital", "effect": "NoSchedule"}


def nic_policy(tolerations: list[dict[str, Any]]) -> dict[str, Any]:
    return obj("NicClusterPolicy", "nic-cluster-policy", api="mellanox.com/v1alpha1", spec={"tolerations": tolerations})


def test_a_nic_cluster_policy_without_the_pools_toleration_fails() -> None:
    found = list(check_project_daemons(state([CLINICAL, TRAIN, nic_policy([])])))
    assert (
        len(found) == 1
        and "pool h100-clinical's taint gigafactory.eu/tenant=oslo-hospital:NoSchedule" in found[0].message
    )
    assert found[0].fact == "pools.h100-clinical.taints"


def test_a_nic_cluster_policy_and_a_driver_of_another_pool_pass() -> None:
    driver = obj(
        "NVIDIADriver",
        "h100-train",
        api="nvidia.com/v1alpha1",
        spec={"nodeSelector": {"gigafactory.eu/pool": "h100-train"}},
    )
    assert list(check_project_daemons(state([CLINICAL, TRAIN, nic_policy([EXACT]), driver]))) == []


def daemonset(name: str, tolerations: list[dict[str, Any]], selector: dict[str, str] | None = None) -> dict[str, Any]:
    pod = {"tolerations": tolerations, "nodeSelector": selector or {}, "containers": []}
    return obj("DaemonSet", name, api="apps/v1", namespace="ops", spec={"template": {"spec": pod}})


def test_a_chart_daemonset_without_the_toleration_fails_and_windows_ones_are_ignored() -> None:
    chart = [
        (release("node-feature-discovery"), daemonset("nfd-worker", [])),
        (release("kube-prometheus-stack"), daemonset("windows-exporter", [], {"kubernetes.io/os": "windows"})),
    ]
    found = list(check_chart_daemons(state([CLINICAL, TRAIN], chart)))
    assert [v.subject for v in found] == ["DaemonSet ops/nfd-worker (release ops/node-feature-discovery)"]


def test_chart_daemons_tolerating_every_taint_pass() -> None:
    policy = obj("ClusterPolicy", "cluster-policy", api="nvidia.com/v1", spec={"daemonsets": {"tolerations": [EXACT]}})
    chart = [
        (release("node-feature-discovery"), daemonset("nfd-worker", [{"operator": "Exists"}])),
        (release("gpu-operator"), policy),
    ]
    assert list(check_chart_daemons(state([CLINICAL, TRAIN], chart))) == []


def test_pool_taints_come_from_the_nfd_rules_that_write_them() -> None:
    rule = {"name": "r0", "labels": {"gigafactory.eu/pool": "h100-clinical"}, "taints": [TAINT], "matchFeatures": []}
    nfd = obj("NodeFeatureRule", "h100-clinical-su000", api="nfd.k8s-sigs.io/v1alpha1", spec={"rules": [rule]})
    assert len(list(check_project_daemons(state([nfd, nic_policy([])])))) == 1
    assert list(check_project_daemons(state([nfd, nic_policy([EXACT])]))) == []
