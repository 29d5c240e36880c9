"""Storage: every StorageClass is served by a deployed provisioner; EXAScaler's values are ones its chart reads."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from components.labels import STORAGE_SYSTEM_LABEL
from infra.engine.charts.provenance import release_fact
from infra.engine.contracts.model import ClusterState, Contract, StateObject, Violation

CEPH_CSI_GROUP = "csi.ceph.io"
# Rook's object bucket provisioner is `<operator namespace>.ceph.rook.io/bucket` (rook v1.20.6
# pkg/operator/ceph/provisioner/..., Documentation "Object Bucket Claim": the StorageClass
# provisioner is `rook-ceph.ceph.rook.io/bucket` for the operator in namespace rook-ceph).
ROOK_OPERATOR_DEPLOYMENT = "rook-ceph-operator"
ROOK_BUCKET_SUFFIX = ".ceph.rook.io/bucket"

# DDNStorage/exa-csi-driver v2.7.0, deploy/helm-chart (chart exa-csi 2.7.0; not vendored: DDN's
# licence). What its templates read: `.Values.<key>` in templates/*.yaml and templates/metrics/*.yaml
# (git grep at the tag), and templates/controller-driver.yaml's CSIDriver `exa.csi.ddn.com`.
EXASCALER_CHART = "exa-csi"
EXASCALER_PROVISIONER = "exa.csi.ddn.com"
EXASCALER_VALUES = frozenset(
    {
        "volumeNamePrefix", "image", "registrar", "provisioner", "attacher", "resizer", "csi_snapshotter",
        "resources", "priorityClassName", "secretName", "config", "metrics",
    }
)  # fmt: skip
# templates/config.yaml writes `.Values.config` whole into the driver's config Secret; the driver
# reads `exascaler_map`, `debug` and `openshift` from it (deploy/kubernetes/exascaler-csi-file-driver-config.yaml)
# and, per filesystem, the keys of README.md's "Config file" column (table of StorageClass parameters).
EXASCALER_CONFIG = frozenset({"exascaler_map", "debug", "openshift"})
EXASCALER_FILESYSTEM = frozenset(
    {
        "exaFS", "mountPoint", "managementIp", "bindMount", "defaultMountOptions", "zone", "v1xCompatible",
        "tempMountPoint", "volumeDirPermissions", "hotNodes", "pccCache", "pccAutocache", "pccPurgeHighUsage",
        "pccPurgeLowUsage", "pccPurgeScanThreads", "pccPurgeInterval", "pccPurgeLogLevel",
        "pccPurgeForceScanInterval",
    }
)  # fmt: skip
EXASCALER_REQUIRED = ("exaFS", "mountPoint")
# values.yaml's example filesystem: Helm merges the release's map into the chart's, so it stays
# unless the release sets it to null (Helm "Deleting a default key": `key: null`).
EXASCALER_EXAMPLES = ("exa1",)


def deployed_provisioners(state: ClusterState) -> dict[str, str]:
    """Provisioner name -> the release that deploys it (CSIDriver objects, ceph-csi Drivers, Rook's buckets)."""
    found: dict[str, str] = {}
    for obj in state.objects:
        if obj.release is None:
            continue
        origin = f"{obj.release.namespace}/{obj.release.name}"
        if obj.kind == "CSIDriver" or (obj.kind == "Driver" and obj.group == CEPH_CSI_GROUP):
            found[obj.name] = origin
        if obj.kind == "Deployment" and obj.name == ROOK_OPERATOR_DEPLOYMENT:
            found[f"{obj.namespace}{ROOK_BUCKET_SUFFIX}"] = origin
    for release, _ in state.charts.not_rendered if state.charts else ():
        if release.chart == EXASCALER_CHART:
            found[EXASCALER_PROVISIONER] = f"{release.namespace}/{release.name} (not rendered; its CSIDriver)"
    return found


def check_provisioners(state: ClusterState) -> Iterator[Violation]:
    """Each StorageClass's provisioner is deployed by some release."""
    deployed = deployed_provisioners(state)
    for storage_class in state.of_kind("StorageClass", "storage.k8s.io"):
        provisioner = str(storage_class.document.get("provisioner"))
        if provisioner not in deployed:
            yield Violation(
                storage_class.describe(),
                f"provisioner {provisioner} is deployed by no release: its claims never bind "
                f"(deployed: {', '.join(sorted(deployed)) or 'none'})",
                "install the chart that runs this CSI driver (Rook v1.20: the ceph-csi-drivers chart)",
                _class_fact(storage_class),
            )


def _exascaler_problems(values: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for key in sorted(set(values) - EXASCALER_VALUES):
        yield key, f"the exa-csi 2.7.0 chart reads no value {key}"
    config = values.get("config") or {}
    for key in sorted(set(config) - EXASCALER_CONFIG):
        yield f"config.{key}", f"the EXAScaler driver reads no config key {key}"
    filesystems = config.get("exascaler_map") or {}
    for example in EXASCALER_EXAMPLES:
        if example not in filesystems:
            yield (
                f"config.exascaler_map.{example}",
                f"the chart's example filesystem {example} survives Helm's merge of config.exascaler_map and "
                "the driver mounts it too (set it to null)",
            )
    for name, filesystem in sorted(filesystems.items()):
        if filesystem is None:
            continue
        for key in sorted(set(filesystem) - EXASCALER_FILESYSTEM):
            yield f"config.exascaler_map.{name}.{key}", f"the EXAScaler driver reads no filesystem key {key}"
        for key in EXASCALER_REQUIRED:
            if key not in filesystem:
                yield f"config.exascaler_map.{name}.{key}", f"filesystem {name} needs {key}"


def check_exascaler(state: ClusterState) -> Iterator[Violation]:
    """The EXAScaler release's values are ones the chart and driver read; its classes name a configured filesystem."""
    release = state.release(EXASCALER_CHART)
    if release is None:
        return
    subject = f"HelmRelease {release.namespace}/{release.name}"
    for path, message in _exascaler_problems(release.values):
        yield Violation(
            subject,
            f"values.{path}: {message}",
            "fix the values the storage driver builds",
            release_fact(release, state.facts) or "storage",
        )
    filesystems = set((release.values.get("config") or {}).get("exascaler_map") or {})
    for storage_class in state.of_kind("StorageClass", "storage.k8s.io"):
        if storage_class.document.get("provisioner") != EXASCALER_PROVISIONER:
            continue
        config_name = (storage_class.document.get("parameters") or {}).get("configName")
        if config_name not in filesystems:
            yield Violation(
                storage_class.describe(),
                f"parameters.configName {config_name!r} names no filesystem of the release's config.exascaler_map "
                f"({', '.join(sorted(filesystems)) or 'none'}): the driver picks the wrong filesystem or none",
                "set configName to the system's exascaler_map entry",
                _class_fact(storage_class),
            )


def _class_fact(storage_class: StateObject) -> str:
    """The site fact behind a StorageClass: its storage system (the label the driver sets), else its name."""
    return f"storage.{storage_class.labels.get(STORAGE_SYSTEM_LABEL) or storage_class.name}"


CONTRACTS = (
    Contract(
        "storage-provisioner-deployed",
        "every StorageClass's provisioner is a CSI driver (or Rook bucket provisioner) some release deploys",
        "kubernetes-csi/external-provisioner (a class is served by the driver registered under its name); "
        "rook/rook v1.20.6 Documentation/Upgrade/rook-upgrade.md (ceph-csi-drivers chart); "
        "ceph/ceph-csi-operator v1.0.4 api/v1/driver_types.go (a Driver's name is the CSI driver name)",
        check_provisioners,
        needs_charts="CSI drivers are objects of the storage charts",
    ),
    Contract(
        "exascaler-values-read",
        "the EXAScaler release's values are keys the exa-csi 2.7.0 chart and driver read, its example filesystem is "
        "removed, and each EXAScaler StorageClass names a configured filesystem (configName)",
        "DDNStorage/exa-csi-driver v2.7.0 deploy/helm-chart/templates/*.yaml, values.yaml, README.md "
        "(StorageClass parameters, configName)",
        check_exascaler,
    ),
)
