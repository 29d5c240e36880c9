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
)


class VastDriver(StorageDriver):
    """VAST: NFS volumes under each system's export, through its VIP pool and view policy."""

    kind = "vast"
    charts = (DriverChart("vastcsi", "vastcsi", "2.5.0", "https://vast-data.github.io/vast-csi", "vast-csi"),)
    provisioner = "csi.vastdata.com"
    # VAST is served over NFS (v3 or v4).
    filesystem_types = ("nfs", "nfs4")

    def chart_values(
        self, chart: DriverChart, systems: Sequence[StorageSpec], tolerations: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        return {"node": {"tolerations": list(tolerations)}}

    def credential_secret(self, system: StorageSpec) -> CredentialSecret:
        # username, password and endpoint (vastcsi values, `storageClassDefaults.secretName`).
        return CredentialSecret(
            f"{system.name}-vms",
            self.namespace,
            {"username": "username", "password": "password"},
            {"endpoint": system.endpoint},
        )

    def storage_class(self, system: StorageSpec, with_secret: bool) -> ClassSpec:
        # VIP pool and view policy named after the system on the VAST cluster; volumes under its export.
        params = {"vip_pool_name": system.name, "view_policy": system.name, "root_export": system.mount_path or "/"}
        if with_secret:
            params |= csi_secret_parameters(self.credential_secret(system))
        return ClassSpec(self.provisioner, params)
