"""``StorageSystem``: one storage kind's CSI driver and every system of that kind the site has."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import pulumi
import pulumi_kubernetes as k8s

from components.credentials import credential, string_data
from components.kube import custom_resource, helm_release, meta, pod_security_labels
from components.labels import ENCRYPTED_LABEL, STORAGE_SYSTEM_LABEL
from components.storage.drivers import (
    DRIVERS,
    ROOK_CLUSTER_CHART,
    ROOK_OPERATOR_NAMESPACE,
    DriverChart,
    quantity_tb,
    rook_location,
    storage_class_name,
)
from infra.config.schema import StorageSystem as StorageSystemConfig

ROOK_API = "ceph.rook.io/v1"
# Ceph keeps three copies of metadata and data (Rook examples, "filesystem.yaml", "object.yaml").
CEPH_REPLICAS = 3
# CSI secrets the Rook operator creates in the cluster namespace (Rook docs, "CephFS Storage").
ROOK_CSI_SECRETS = {
    "filesystem": ("rook-csi-cephfs-provisioner", "rook-csi-cephfs-node"),
    "block": ("rook-csi-rbd-provisioner", "rook-csi-rbd-node"),
}
# Fields of each kind's credential secret (optional ones aside).
CREDENTIAL_FIELDS: dict[str, tuple[str, ...]] = {
    "weka": ("username", "password"),
    "vast": ("username", "password"),
    "rook-ceph": ("access_key", "secret_key"),
}
CSI_SECRET_PARAMS = (
    "csi.storage.k8s.io/provisioner-secret",
    "csi.storage.k8s.io/controller-publish-secret",
    "csi.storage.k8s.io/controller-expand-secret",
    "csi.storage.k8s.io/node-stage-secret",
    "csi.storage.k8s.io/node-publish-secret",
)


@dataclass(frozen=True)
class TenantShare:
    """A tenant's share of one storage system."""

    tenant: str
    """Tenant name."""

    namespace: pulumi.Resource
    """The tenant's Namespace (its shared PVC lives there)."""

    namespace_name: str
    """The tenant's namespace name."""

    quota_tb: float
    """The tenant's quota on the system, TB."""


@dataclass(frozen=True)
class StorageSystemArgs:
    """What a ``StorageSystem`` needs."""

    kind: str
    """Storage kind: exascaler, weka, vast or rook-ceph."""

    systems: tuple[StorageSystemConfig, ...]
    """Every storage system of this kind in the site config."""

    shares: Mapping[str, tuple[TenantShare, ...]] = field(default_factory=dict)
    """Tenants' shares by system name; each filesystem share becomes a PVC in the tenant's namespace."""

    node_tolerations: tuple[dict[str, Any], ...] = ()
    """Tolerations the driver's node plugin needs to reach tainted (dedicated) pools."""


class StorageSystem(pulumi.ComponentResource):
    """The storage of one kind: its CSI driver release and, per configured system, what tenants use.

    Creates:
    - the CSI driver Helm release(s) of the kind, pinned (EXAScaler ``exa-csi``, WEKA
      ``csi-wekafsplugin``, VAST ``vastcsi``, Rook ``rook-ceph`` plus ``rook-ceph-cluster`` per
      Ceph cluster namespace, protected: it holds the CephCluster);
    - per system: its API credentials as a ``Secret`` from a Pulumi config secret (never in
      clear), for Rook its ``CephFilesystem`` / ``CephObjectStore`` / ``CephBlockPool``
      (protected), and its ``StorageClass`` (protected; reclaim policy from the config, Retain by
      default, so datasets and checkpoints outlive their claims; labelled encrypted or not);
    - per tenant share of a filesystem: a ``ReadWriteMany`` PVC of the tenant's quota in the
      tenant's namespace (protected).

    Outputs: ``storage_classes`` (system -> class), ``encrypted_classes``, ``releases``.
    """

    storage_classes: pulumi.Output[dict[str, str]]
    encrypted_classes: pulumi.Output[list[str]]
    releases: pulumi.Output[list[str]]

    def __init__(self, name: str, args: StorageSystemArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gigafactory:storage:StorageSystem", name, None, opts)
        self._name = name
        self._cluster_releases: list[str] = []
        driver = DRIVERS[args.kind]
        tolerations = list(args.node_tolerations)
        releases: list[k8s.helm.v3.Release] = []
        for chart in driver.charts:
            namespace = self._namespace(chart.namespace)
            releases.append(self._release(chart, namespace.metadata.name, _driver_values(args, tolerations)))
        ready: list[pulumi.Resource] = list(releases)
        if args.kind == "rook-ceph":
            ready += self._rook_clusters(args, releases[0])

        classes: dict[str, str] = {}
        for system in args.systems:
            secret = self._credentials(system, driver.charts[0].namespace, ready)
            backing = self._rook_store(system, ready) if args.kind == "rook-ceph" else None
            depends = [*ready, *([secret] if secret else []), *([backing] if backing else [])]
            classes[system.name] = self._storage_class(args.kind, system, secret is not None, depends)
            if system.interface == "filesystem":
                for share in args.shares.get(system.name, ()):
                    self._claim(system, share, classes[system.name], depends)

        self.storage_classes = pulumi.Output.from_input(classes)
        self.encrypted_classes = pulumi.Output.from_input(sorted(classes[s.name] for s in args.systems if s.encrypted))
        self.releases = pulumi.Output.from_input([c.release for c in driver.charts] + self._cluster_releases)
        self.register_outputs(
            {
                "storage_classes": self.storage_classes,
                "encrypted_classes": self.encrypted_classes,
                "releases": self.releases,
            }
        )

    # -- driver --------------------------------------------------------------------------------

    def _namespace(self, name: str) -> k8s.core.v1.Namespace:
        # CSI node plugins mount host paths: their namespace must admit privileged pods.
        labels = pod_security_labels("privileged", modes=("enforce",))
        return k8s.core.v1.Namespace(
            f"{self._name}-ns-{name}", metadata=meta(name, labels=labels), opts=pulumi.ResourceOptions(parent=self)
        )

    def _release(
        self,
        chart: DriverChart,
        namespace: pulumi.Input[str],
        values: dict[str, Any],
        *,
        protect: bool = False,
        depends_on: list[pulumi.Resource] | None = None,
    ) -> k8s.helm.v3.Release:
        return helm_release(
            f"{self._name}-{chart.release}",
            release=chart.release,
            chart=chart.chart,
            version=chart.version,
            namespace=namespace,
            values=values,
            repo=chart.repo,
            opts=pulumi.ResourceOptions(parent=self, protect=protect, depends_on=depends_on or []),
        )

    def _rook_clusters(self, args: StorageSystemArgs, operator: k8s.helm.v3.Release) -> list[pulumi.Resource]:
        """One ``rook-ceph-cluster`` release per Ceph cluster namespace the systems name."""
        made: list[pulumi.Resource] = []
        by_namespace: dict[str, list[StorageSystemConfig]] = {}
        for system in args.systems:
            by_namespace.setdefault(rook_location(system)[0], []).append(system)
        for cluster_ns, systems in sorted(by_namespace.items()):
            namespace = None if cluster_ns == ROOK_OPERATOR_NAMESPACE else self._namespace(cluster_ns)
            storage: dict[str, Any] = {"useAllNodes": True, "useAllDevices": True}
            if any(s.encrypted for s in systems):
                # OSDs on dm-crypt: every pool of this cluster is encrypted at rest (Rook
                # CephCluster `storage.config.encryptedDevice`).
                storage["config"] = {"encryptedDevice": "true"}
            values = {
                "operatorNamespace": ROOK_OPERATOR_NAMESPACE,
                "cephClusterSpec": {"storage": storage},
                # Pools, filesystems and object stores are the site's own resources, not the chart's.
                "cephBlockPools": [],
                "cephFileSystems": [],
                "cephObjectStores": [],
            }
            release = f"rook-ceph-cluster-{cluster_ns}" if namespace is not None else ROOK_CLUSTER_CHART.release
            chart = replace(ROOK_CLUSTER_CHART, release=release, namespace=cluster_ns)
            # The release holds the CephCluster: deleting it deletes every pool's data.
            made.append(
                self._release(
                    chart,
                    namespace.metadata.name if namespace is not None else cluster_ns,
                    values,
                    protect=True,
                    depends_on=[operator],
                )
            )
            self._cluster_releases.append(chart.release)
        return made

    # -- per system ----------------------------------------------------------------------------

    def _credentials(
        self, system: StorageSystemConfig, namespace: str, ready: list[pulumi.Resource]
    ) -> k8s.core.v1.Secret | None:
        if system.credentials_secret is None:
            return None
        key = system.credentials_secret
        fields = credential(key, credential_fields(system), {"organization": "Root"} if system.kind == "weka" else {})
        data: dict[str, pulumi.Input[str]]
        if system.kind == "weka":
            # Keys csi-wekafsplugin reads (WEKA CSI docs, "API-based communication model").
            url = urlsplit(system.endpoint)
            plain = {"endpoints": url.netloc or system.endpoint, "scheme": url.scheme or "https"}
            data = string_data(
                fields, {"username": "username", "password": "password", "organization": "organization"}, plain
            )
            name, secret_ns = f"{system.name}-api", namespace
        elif system.kind == "vast":
            # username, password and endpoint (vastcsi values, `storageClassDefaults.secretName`).
            data = string_data(fields, {"username": "username", "password": "password"}, {"endpoint": system.endpoint})
            name, secret_ns = f"{system.name}-vms", namespace
        elif system.kind == "rook-ceph":
            # The object store's admin S3 keys, for the tooling that manages buckets and users.
            data = string_data(fields, {"AWS_ACCESS_KEY_ID": "access_key", "AWS_SECRET_ACCESS_KEY": "secret_key"})
            name, secret_ns = f"{system.name}-admin", rook_location(system)[0]
        else:
            data = string_data(fields, {"username": "username", "password": "password"})
            name, secret_ns = f"{system.name}-credentials", namespace
        return k8s.core.v1.Secret(
            f"{self._name}-{system.name}-credentials",
            metadata=meta(name, secret_ns, labels={STORAGE_SYSTEM_LABEL: system.name}),
            type="Opaque",
            string_data=data,
            opts=pulumi.ResourceOptions(parent=self, depends_on=ready),
        )

    def _rook_store(self, system: StorageSystemConfig, ready: list[pulumi.Resource]) -> pulumi.Resource:
        cluster_ns, store = rook_location(system)
        replicated = {"replicated": {"size": CEPH_REPLICAS}}
        opts = pulumi.ResourceOptions(parent=self, protect=True, depends_on=ready)
        labels = {STORAGE_SYSTEM_LABEL: system.name}
        if system.interface == "filesystem":
            spec: dict[str, Any] = {
                "metadataPool": replicated,
                "dataPools": [{"name": "data0", **replicated}],
                "preserveFilesystemOnDelete": True,
                "metadataServer": {"activeCount": 1, "activeStandby": True},
            }
            return custom_resource(
                f"{self._name}-{system.name}-filesystem",
                ROOK_API,
                "CephFilesystem",
                meta(store, cluster_ns, labels),
                spec,
                opts,
            )
        if system.interface == "object":
            spec = {
                "metadataPool": replicated,
                "dataPool": replicated,
                "preservePoolsOnDelete": True,
                "gateway": {"port": 80, "instances": 2},
            }
            return custom_resource(
                f"{self._name}-{system.name}-objectstore",
                ROOK_API,
                "CephObjectStore",
                meta(store, cluster_ns, labels),
                spec,
                opts,
            )
        spec = {"failureDomain": "host", **replicated}
        return custom_resource(
            f"{self._name}-{system.name}-blockpool",
            ROOK_API,
            "CephBlockPool",
            meta(store, cluster_ns, labels),
            spec,
            opts,
        )

    def _storage_class(
        self, kind: str, system: StorageSystemConfig, has_secret: bool, depends: list[pulumi.Resource]
    ) -> str:
        name = storage_class_name(system)
        provisioner, parameters = _class_parameters(kind, system, has_secret)
        labels = {STORAGE_SYSTEM_LABEL: system.name, ENCRYPTED_LABEL: "true" if system.encrypted else "false"}
        k8s.storage.v1.StorageClass(
            f"{self._name}-{system.name}-class",
            metadata=meta(name, labels=labels),
            provisioner=provisioner,
            parameters=parameters,
            reclaim_policy=system.reclaim_policy,
            allow_volume_expansion=system.interface != "object",
            volume_binding_mode="Immediate",
            # A class holding datasets and checkpoints: replacing it would orphan its volumes' policy.
            opts=pulumi.ResourceOptions(parent=self, protect=True, depends_on=depends),
        )
        return name

    def _claim(
        self, system: StorageSystemConfig, share: TenantShare, storage_class: str, depends: list[pulumi.Resource]
    ) -> None:
        spec: Any = {
            "accessModes": ["ReadWriteMany"],
            "storageClassName": storage_class,
            "resources": {"requests": {"storage": quantity_tb(share.quota_tb)}},
        }
        k8s.core.v1.PersistentVolumeClaim(
            f"{self._name}-{system.name}-{share.tenant}",
            metadata=meta(system.name, share.namespace_name, labels={STORAGE_SYSTEM_LABEL: system.name}),
            spec=spec,
            # The tenant's shared data: never deleted or replaced by a deployment.
            opts=pulumi.ResourceOptions(parent=self, protect=True, depends_on=[share.namespace, *depends]),
        )


def credential_fields(system: StorageSystemConfig) -> tuple[str, ...]:
    """Fields the credential secret of ``system`` must hold."""
    return CREDENTIAL_FIELDS.get(system.kind, ("username", "password"))


def _secret_parameters(secret: str, namespace: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for prefix in CSI_SECRET_PARAMS:
        params[f"{prefix}-name"] = secret
        params[f"{prefix}-namespace"] = namespace
    return params


def _class_parameters(kind: str, system: StorageSystemConfig, has_secret: bool) -> tuple[str, dict[str, str]]:
    driver = DRIVERS[kind]
    namespace = driver.charts[0].namespace
    if kind == "exascaler":
        # Per-class filesystem and mount point let one driver serve several EXAScaler file systems
        # (exa-csi-driver README, "Dynamically provisioned volumes").
        return driver.provisioner, {"exaFS": system.endpoint, "mountPoint": system.mount_path or ""}
    if kind == "weka":
        # Directory-backed volumes in the WEKA filesystem that carries the system's name, quota
        # enforced (WEKA CSI docs, "Configure directory-backed StorageClass").
        params = {"volumeType": "dir/v1", "filesystemName": system.name, "capacityEnforcement": "HARD"}
        return driver.provisioner, {
            **params,
            **(_secret_parameters(f"{system.name}-api", namespace) if has_secret else {}),
        }
    if kind == "vast":
        # VIP pool and view policy named after the system on the VAST cluster; volumes under its export.
        params = {"vip_pool_name": system.name, "view_policy": system.name, "root_export": system.mount_path or "/"}
        return driver.provisioner, {
            **params,
            **(_secret_parameters(f"{system.name}-vms", namespace) if has_secret else {}),
        }
    cluster_ns, store = rook_location(system)
    if system.interface == "object":
        return f"{ROOK_OPERATOR_NAMESPACE}.ceph.rook.io/bucket", {
            "objectStoreName": store,
            "objectStoreNamespace": cluster_ns,
        }
    provisioner_secret, node_secret = ROOK_CSI_SECRETS[system.interface]
    secrets = {
        "csi.storage.k8s.io/provisioner-secret-name": provisioner_secret,
        "csi.storage.k8s.io/provisioner-secret-namespace": cluster_ns,
        "csi.storage.k8s.io/controller-expand-secret-name": provisioner_secret,
        "csi.storage.k8s.io/controller-expand-secret-namespace": cluster_ns,
        "csi.storage.k8s.io/node-stage-secret-name": node_secret,
        "csi.storage.k8s.io/node-stage-secret-namespace": cluster_ns,
    }
    if system.interface == "filesystem":
        return driver.provisioner, {"clusterID": cluster_ns, "fsName": store, "pool": f"{store}-data0", **secrets}
    rbd = f"{ROOK_OPERATOR_NAMESPACE}.rbd.csi.ceph.com"
    return rbd, {"clusterID": cluster_ns, "pool": store, "imageFormat": "2", "imageFeatures": "layering", **secrets}


def _driver_values(args: StorageSystemArgs, tolerations: list[dict[str, Any]]) -> dict[str, Any]:
    if args.kind == "exascaler":
        exa_map = {s.name: {"mountPoint": s.mount_path, "exaFS": s.endpoint} for s in args.systems}
        return {"config": {"exascaler_map": exa_map}}
    if args.kind == "weka":
        return {"nodePluginTolerations": tolerations}
    if args.kind == "vast":
        return {"node": {"tolerations": tolerations}}
    return {"csi": {"pluginTolerations": tolerations}}
