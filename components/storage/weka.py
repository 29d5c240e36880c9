"""WEKA through ``csi-wekafsplugin``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from components.storage.driver import (
    ClassSpec,
    CredentialSecret,
    DriverChart,
    StorageDriver,
    StorageSpec,
    csi_secret_parameters,
)


class WekaDriver(StorageDriver):
    """WEKA: directory-backed volumes in the WEKA filesystem named after the system."""

    kind = "weka"
    charts = (
        DriverChart("csi-wekafsplugin", "csi-wekafsplugin", "2.8.8", "https://weka.github.io/csi-wekafs", "csi-wekafs"),
    )
    provisioner = "csi.weka.io"
    # WEKA's client mounts type wekafs.
    filesystem_types = ("wekafs",)
    # StorageClass encryptionEnabled: csi.weka.io refuses a volume in an unencrypted filesystem
    # (csi-wekafs v2.8.8 pkg/wekafs/volume.go).
    encryption_at_rest = "configured"
    credential_defaults = {"organization": "Root"}

    def chart_values(
        self, chart: DriverChart, systems: Sequence[StorageSpec], tolerations: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        return {"nodePluginTolerations": list(tolerations)}

    def credential_secret(self, system: StorageSpec) -> CredentialSecret:
        # Keys csi-wekafsplugin reads (WEKA CSI docs, "API-based communication model").
        url = urlsplit(system["endpoint"])
        return CredentialSecret(
            f"{system['name']}-api",
            self.namespace,
            {"username": "username", "password": "password", "organization": "organization"},
            {"endpoints": url.netloc or system["endpoint"], "scheme": url.scheme or "https"},
        )

    def storage_class(self, system: StorageSpec, with_secret: bool) -> ClassSpec:
        # Directory-backed volumes in the WEKA filesystem that carries the system's name, quota
        # enforced (WEKA CSI docs, "Configure directory-backed StorageClass").
        params = {"volumeType": "dir/v1", "filesystemName": system["name"], "capacityEnforcement": "HARD"}
        if system.get("encrypted", False):
            # With encryptionEnabled the driver refuses a directory-backed volume in a filesystem
            # that is not encrypted ("Cannot create encrypted directory-backed volume on
            # unencrypted filesystem", csi-wekafs v2.8.8 pkg/wekafs/volume.go Volume.Create;
            # ObtainRequestParams reads the parameter; examples/dynamic_filesystem_encrypted/
            # README.md). The filesystem itself is created encrypted on the WEKA cluster, whose
            # KMS holds its key: the driver only checks it.
            params["encryptionEnabled"] = "true"
        if with_secret:
            params |= csi_secret_parameters(self.credential_secret(system))
        return ClassSpec(self.provisioner, params)
