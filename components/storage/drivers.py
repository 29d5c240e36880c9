"""The CSI driver of each storage kind: chart, pinned version, namespace, provisioner.

Versions and repositories: ``../shared/REFERENCE.md``, "Pinned stack".
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.config.schema import StorageSystem


@dataclass(frozen=True)
class DriverChart:
    """One Helm chart that installs (part of) a storage kind's driver."""

    release: str
    chart: str
    version: str
    repo: str | None
    namespace: str


@dataclass(frozen=True)
class StorageDriver:
    """A storage kind's CSI driver."""

    kind: str
    charts: tuple[DriverChart, ...]
    provisioner: str


# DDN publishes the EXAScaler chart only in its driver repository (DDNStorage/exa-csi-driver,
# deploy/helm-chart, chart `exa-csi` 2.7.0), not in a Helm repository: the release installs it
# from the packaged chart under vendor/charts (README, "Deploying for real with pulumi up").
EXASCALER = StorageDriver(
    "exascaler",
    (DriverChart("exa-csi", "./vendor/charts/exa-csi-2.7.0.tgz", "2.7.0", None, "exa-csi"),),
    "exa.csi.ddn.com",
)
WEKA = StorageDriver(
    "weka",
    (DriverChart("csi-wekafsplugin", "csi-wekafsplugin", "2.8.8", "https://weka.github.io/csi-wekafs", "csi-wekafs"),),
    "csi.weka.io",
)
VAST = StorageDriver(
    "vast",
    (DriverChart("vastcsi", "vastcsi", "2.5.0", "https://vast-data.github.io/vast-csi", "vast-csi"),),
    "csi.vastdata.com",
)
ROOK_OPERATOR_NAMESPACE = "rook-ceph"
ROOK = StorageDriver(
    "rook-ceph",
    (DriverChart("rook-ceph", "rook-ceph", "v1.20.6", "https://charts.rook.io/release", ROOK_OPERATOR_NAMESPACE),),
    f"{ROOK_OPERATOR_NAMESPACE}.cephfs.csi.ceph.com",
)
ROOK_CLUSTER_CHART = DriverChart(
    "rook-ceph-cluster", "rook-ceph-cluster", "v1.20.6", "https://charts.rook.io/release", ROOK_OPERATOR_NAMESPACE
)
DRIVERS: dict[str, StorageDriver] = {d.kind: d for d in (EXASCALER, WEKA, VAST, ROOK)}


def storage_class_name(system: StorageSystem) -> str:
    """The StorageClass of a storage system: the system's name."""
    return system.name


def rook_location(system: StorageSystem) -> tuple[str, str]:
    """(Ceph cluster namespace, store name) of a Rook system, from ``endpoint: <namespace>/<name>``."""
    namespace, _, name = system.endpoint.partition("/")
    return (namespace, name) if name else (ROOK_OPERATOR_NAMESPACE, namespace)


def quantity_tb(terabytes: float) -> str:
    """A size in TB as a Kubernetes quantity (decimal units, as storage vendors count)."""
    if float(terabytes).is_integer():
        return f"{int(terabytes)}T"
    return f"{round(terabytes * 1000)}G"
