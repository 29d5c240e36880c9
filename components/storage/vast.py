"""VAST Data through ``vastcsi``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from components.storage.driver import (
    ClassSpec,
    CredentialSecret,
    DriverChart,
    StorageDriver,
    StorageSpec,
    csi_secret_parameters,
    reclaim_policy_of,
)


class VastDriver(StorageDriver):
    """VAST: NFS volumes under each system's export, through its VIP pool and view policy."""

    kind = "vast"
    charts = (DriverChart("vastcsi", "vastcsi", "2.5.0", "https://vast-data.github.io/vast-csi", "vast-csi"),)
    provisioner = "csi.vastdata.com"
    # VAST is served over NFS (v3 or v4).
    filesystem_types = ("nfs", "nfs4")
    # VAST encrypts cluster-wide; vast-csi v2.5.0 reads no encryption parameter (vast_csi/volume_builder.py
    # BaseBuilder).
    encryption_at_rest = "attested"
    # The chart renders one StorageClass per `storageClasses` entry and `fail`s on none
    # (vast-csi v2.5.0 charts/vastcsi/templates/storage-class.yaml): the classes are the chart's.
    classes_from_chart = True

    def chart_values(
        self, chart: DriverChart, systems: Sequence[StorageSpec], tolerations: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        # Per class: storagePath and viewPolicy (the template `fail`s without them), vipPool (or
        # vipPoolFQDN, exclusive) and secretName, which a working install needs (vast-csi v2.5.0
        # charts/vastcsi/templates/storage-class.yaml, values.yaml `storageClassDefaults`).
        classes: dict[str, Any] = {}
        for system in systems:
            entry: dict[str, Any] = {
                "storagePath": _storage_path(system),
                "viewPolicy": _view_policy(system),
                "vipPool": _vip_pool(system),
                "reclaimPolicy": reclaim_policy_of(system),
                "allowVolumeExpansion": True,
            }
            if system.get("credentials_secret") is not None:
                secret = self.credential_secret(system)
                entry |= {"secretName": secret.name, "secretNamespace": secret.namespace}
            classes[system["name"]] = entry
        return {"node": {"tolerations": list(tolerations)}, "storageClasses": classes}

    def credential_secret(self, system: StorageSpec) -> CredentialSecret:
        # username, password and endpoint (vastcsi values, `storageClassDefaults.secretName`).
        return CredentialSecret(
            f"{system['name']}-vms",
            self.namespace,
            {"username": "username", "password": "password"},
            {"endpoint": system["endpoint"]},
        )

    def storage_class(self, system: StorageSpec, with_secret: bool) -> ClassSpec:
        # What the chart's template makes of `chart_values`' entry (vast-csi v2.5.0
        # charts/vastcsi/templates/storage-class.yaml), for checks and the plan.
        params = {
            "vip_pool_name": _vip_pool(system),
            "view_policy": _view_policy(system),
            "root_export": _storage_path(system),
        }
        if with_secret:
            params |= csi_secret_parameters(self.credential_secret(system))
        return ClassSpec(self.provisioner, params)


def _storage_path(system: StorageSpec) -> str:
    # Volumes live under the system's export on the VAST cluster.
    return system.get("mount_path") or "/"


def _view_policy(system: StorageSpec) -> str:
    return system.get("view_policy") or system["name"]


def _vip_pool(system: StorageSpec) -> str:
    return system.get("vip_pool") or system["name"]
