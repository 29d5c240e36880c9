"""Contracts ``storage-provisioner-deployed`` and ``exascaler-values-read``: failing and passing states."""

from __future__ import annotations

import dataclasses
from typing import Any

from contract_state import obj, release, state

from infra.engine.charts.render import ChartRendering
from infra.engine.contracts.model import ClusterState
from infra.engine.contracts.storage import check_exascaler, check_provisioners


def storage_class(name: str, provisioner: str, **parameters: str) -> dict[str, Any]:
    return obj(
        "StorageClass",
        name,
        api="storage.k8s.io/v1",
        labels={"gigafactory.eu/storage-system": name},
        provisioner=provisioner,
        parameters=parameters,
    )


CEPHFS = storage_class("ceph-clinical", "rook-ceph.cephfs.csi.ceph.com")


def test_a_class_whose_csi_driver_no_release_deploys_fails() -> None:
    # Rook v1.20 runs no CSI driver itself: the ceph-csi-drivers chart does (rook-upgrade.md).
    operator = obj("Deployment", "rook-ceph-operator", api="apps/v1", namespace="rook-ceph")
    found = list(check_provisioners(state([CEPHFS], [(release("rook-ceph"), operator)])))
    assert len(found) == 1 and "rook-ceph.cephfs.csi.ceph.com is deployed by no release" in found[0].message
    assert "rook-ceph.ceph.rook.io/bucket" in found[0].message and found[0].fact == "storage.ceph-clinical"


def test_classes_served_by_a_ceph_csi_driver_a_csidriver_or_rooks_bucket_provisioner_pass() -> None:
    driver = obj("Driver", "rook-ceph.cephfs.csi.ceph.com", api="csi.ceph.io/v1", namespace="rook-ceph")
    weka = obj("CSIDriver", "csi.weka.io", api="storage.k8s.io/v1")
    operator = obj("Deployment", "rook-ceph-operator", api="apps/v1", namespace="rook-ceph")
    classes = [CEPHFS, storage_class("weka", "csi.weka.io"), storage_class("objects", "rook-ceph.ceph.rook.io/bucket")]
    chart = [
        (release("ceph-csi-drivers"), driver),
        (release("csi-wekafsplugin"), weka),
        (release("rook-ceph"), operator),
    ]
    assert list(check_provisioners(state(classes, chart))) == []


def exascaler_state(values: dict[str, Any], config_name: str | None) -> ClusterState:
    parameters = {"configName": config_name} if config_name else {}
    exa = release("exa-csi", values)
    base = state([storage_class("lustre-shared", "exa.csi.ddn.com", **parameters)], releases=(exa,))
    return ClusterState(base.objects, base.releases, base.facts, ChartRendering((), (), ((exa, "not vendored"),)), {})


GOOD = {
    "config": {
        "exascaler_map": {"exa1": None, "lustre-shared": {"exaFS": "10.0.0.1@o2ib:/exa", "mountPoint": "/lustre"}}
    }
}


def test_exascaler_values_the_chart_reads_and_a_named_filesystem_pass() -> None:
    state_ = exascaler_state(GOOD, "lustre-shared")
    assert list(check_exascaler(state_)) == []
    assert list(check_provisioners(state_)) == [], "exa.csi.ddn.com is the unrendered chart's CSIDriver"


def test_the_chart_example_filesystem_and_a_class_without_config_name_fail() -> None:
    # exa-csi 2.7.0 values.yaml ships exascaler_map.exa1; Helm's merge keeps it unless set to null.
    values = {"config": {"exascaler_map": {"lustre-shared": {"exaFS": "10.0.0.1@o2ib:/exa", "mountPoint": "/lustre"}}}}
    messages = [v.message for v in check_exascaler(exascaler_state(values, None))]
    assert any("example filesystem exa1 survives Helm's merge" in m for m in messages)
    assert any("parameters.configName None names no filesystem" in m for m in messages)


def test_values_the_exascaler_chart_never_reads_fail() -> None:
    values = {
        "storageClass": {"x": 1},
        "config": {"exascaler_map": {"exa1": None, "fs": {"exaFS": "a:/b", "mountpath": "/x"}}},
    }
    messages = sorted(v.message for v in check_exascaler(exascaler_state(values, "fs")))
    assert messages == [
        "values.config.exascaler_map.fs.mountPoint: filesystem fs needs mountPoint",
        "values.config.exascaler_map.fs.mountpath: the EXAScaler driver reads no filesystem key mountpath",
        "values.storageClass: the exa-csi 2.7.0 chart reads no value storageClass",
    ]


def test_a_value_the_exascaler_chart_never_reads_is_placed_at_the_storage_system_behind_the_release() -> None:
    # As a chart's refusal is (charts.provenance.release_fact): the pilot's one EXAScaler system.
    exa = dataclasses.replace(release("exa-csi", {**GOOD, "storageClass": {}}), component="eu-pilot-storage-exascaler")
    found = list(check_exascaler(state([], releases=(exa,))))
    assert [(v.message, v.fact) for v in found] == [
        ("values.storageClass: the exa-csi 2.7.0 chart reads no value storageClass", "storage.lustre-shared")
    ]
