"""DDN EXAScaler (Lustre) through DDN's ``exa-csi`` driver."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from components.storage.driver import ClassSpec, CredentialSecret, DriverChart, StorageDriver, StorageSpec

# Entries of exascaler_map in the chart's own values.yaml (examples, not filesystems of any site).
EXAMPLE_FILESYSTEMS = ("exa1",)


class ExascalerDriver(StorageDriver):
    """EXAScaler: one ``exa-csi`` release; each system is an entry of the driver's filesystem map."""

    kind = "exascaler"
    # DDN publishes the EXAScaler chart only in its driver repository (DDNStorage/exa-csi-driver,
    # deploy/helm-chart, chart `exa-csi` 2.7.0), not in a Helm repository: the release installs it
    # from the packaged chart under vendor/charts (README, "Deploying for real with pulumi up").
    charts = (DriverChart("exa-csi", "./vendor/charts/exa-csi-2.7.0.tgz", "2.7.0", None, "exa-csi"),)
    provisioner = "exa.csi.ddn.com"
    # Lustre clients mount type lustre.
    filesystem_types = ("lustre",)
    # A setting of the EXAScaler system itself, which exa-csi neither sets nor checks.
    encryption_at_rest = "attested"

    def chart_values(
        self, chart: DriverChart, systems: Sequence[StorageSpec], tolerations: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        # Helm merges these values into the chart's, map by map: the chart's example filesystem
        # `exa1` (exa-csi-driver deploy/helm-chart/values.yaml, config.exascaler_map.exa1, a
        # 10.204.86.217@tcp:/testfs that no site has) would survive beside the site's systems
        # unless nulled, which is how Helm deletes a default key.
        exa_map: dict[str, Any] = {name: None for name in EXAMPLE_FILESYSTEMS}
        exa_map |= {s["name"]: {"mountPoint": s.get("mount_path"), "exaFS": s["endpoint"]} for s in systems}
        return {"config": {"exascaler_map": exa_map}}

    def credential_secret(self, system: StorageSpec) -> CredentialSecret:
        return CredentialSecret(
            f"{system['name']}-credentials", self.namespace, {"username": "username", "password": "password"}
        )

    def storage_class(self, system: StorageSpec, with_secret: bool) -> ClassSpec:
        # Per-class filesystem and mount point let one driver serve several EXAScaler file systems
        # (exa-csi-driver README, "Dynamically provisioned volumes").
        # `configName` picks the system's entry of the driver's exascaler_map (exa-csi-driver README,
        # "CSI Parameters"); without it the driver falls back to its first entry.
        mount = system.get("mount_path") or ""
        params = {"configName": system["name"], "exaFS": system["endpoint"], "mountPoint": mount}
        return ClassSpec(self.provisioner, params)
