"""Ceph through Rook: the ``rook-ceph`` operator, a ``rook-ceph-cluster`` per Ceph namespace, and
a CephFilesystem, CephObjectStore or CephBlockPool per system."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from components.storage.driver import (
    KMS_FIELDS,
    BackingStore,
    ClassSpec,
    CredentialSecret,
    DriverChart,
    ExtraRelease,
    KeyManagerSpec,
    StorageDriver,
    StorageServer,
    StorageSpec,
    interface_of,
)

ROOK_API = "ceph.rook.io/v1"
ROOK_REPO = "https://charts.rook.io/release"
ROOK_VERSION = "v1.20.6"
ROOK_OPERATOR_NAMESPACE = "rook-ceph"
ROOK_CLUSTER_CHART = DriverChart(
    "rook-ceph-cluster", "rook-ceph-cluster", ROOK_VERSION, ROOK_REPO, ROOK_OPERATOR_NAMESPACE
)
# Ceph keeps three copies of metadata and data (Rook examples, "filesystem.yaml", "object.yaml").
CEPH_REPLICAS = 3
# CSI secrets the Rook operator creates in the cluster namespace (Rook docs, "CephFS Storage").
ROOK_CSI_SECRETS = {
    "filesystem": ("rook-csi-cephfs-provisioner", "rook-csi-cephfs-node"),
    "block": ("rook-csi-rbd-provisioner", "rook-csi-rbd-node"),
}
CEPH_CSI_REPO = "https://ceph.github.io/ceph-csi-operator"
# Rook v1.20 no longer deploys the CSI drivers: install `ceph-csi-drivers` after rook-ceph ("new
# requirement in v1.20", rook/rook v1.20.6 Documentation/Upgrade/rook-upgrade.md), at 1.0.4 like
# the ceph-csi-operator rook-ceph v1.20.6 pins, with Rook's values (rook v1.20.6
# deploy/charts/ceph-csi-drivers/values.yaml): driver names prefixed with the operator namespace,
# the image set Rook's operator writes. Its `csi.*` settings, pluginTolerations among them, left
# the rook-ceph chart.
CEPH_CSI_DRIVERS_CHART = DriverChart(
    "ceph-csi-drivers", "ceph-csi-drivers", "1.0.4", CEPH_CSI_REPO, ROOK_OPERATOR_NAMESPACE
)
CEPH_CSI_DRIVERS_VALUES: dict[str, Any] = {
    "operatorConfig": {
        "namespace": ROOK_OPERATOR_NAMESPACE,
        "driverSpecDefaults": {
            "imageSet": {"name": "rook-csi-operator-image-set-configmap"},
            "nodePlugin": {"priorityClassName": "system-node-critical"},
            "controllerPlugin": {"priorityClassName": "system-cluster-critical"},
        },
    },
    "drivers": {
        "rbd": {"enabled": True, "name": f"{ROOK_OPERATOR_NAMESPACE}.rbd.csi.ceph.com"},
        "cephfs": {"enabled": True, "name": f"{ROOK_OPERATOR_NAMESPACE}.cephfs.csi.ceph.com"},
        "nfs": {"enabled": False, "name": f"{ROOK_OPERATOR_NAMESPACE}.nfs.csi.ceph.com"},
        "nvmeof": {"enabled": False, "name": f"{ROOK_OPERATOR_NAMESPACE}.nvmeof.csi.ceph.com"},
    },
}
CEPHFS_PROVISIONER = f"{ROOK_OPERATOR_NAMESPACE}.cephfs.csi.ceph.com"
RBD_PROVISIONER = f"{ROOK_OPERATOR_NAMESPACE}.rbd.csi.ceph.com"
BUCKET_PROVISIONER = f"{ROOK_OPERATOR_NAMESPACE}.ceph.rook.io/bucket"


def rook_location(system: StorageSpec) -> tuple[str, str]:
    """(Ceph cluster namespace, store name) of a Rook system, from ``endpoint: <namespace>/<name>``."""
    namespace, _, name = system["endpoint"].partition("/")
    return (namespace, name) if name else (ROOK_OPERATOR_NAMESPACE, namespace)


class RookCephDriver(StorageDriver):
    """Ceph on the cluster's own nodes, run by Rook."""

    kind = "rook-ceph"
    charts = (
        DriverChart("rook-ceph", "rook-ceph", ROOK_VERSION, ROOK_REPO, ROOK_OPERATOR_NAMESPACE),
        CEPH_CSI_DRIVERS_CHART,
    )
    provisioner = CEPHFS_PROVISIONER
    interfaces = ("filesystem", "object", "block")
    # CephFS mounts as ceph with the kernel client, fuse.ceph-fuse with ceph-fuse.
    filesystem_types = ("ceph", "fuse.ceph-fuse")
    # dm-crypt OSDs (CephCluster encryptedDevice).
    encryption_at_rest = "configured"
    credential_fields = ("access_key", "secret_key")

    def chart_values(
        self, chart: DriverChart, systems: Sequence[StorageSpec], tolerations: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        if chart != CEPH_CSI_DRIVERS_CHART:
            return {}
        # The node plugins mount CephFS and RBD volumes on every node that runs tenants' pods,
        # tainted pools included (ceph-csi-drivers values.yaml, drivers.<name>.nodePlugin.tolerations).
        values = copy.deepcopy(CEPH_CSI_DRIVERS_VALUES)
        for driver in values["drivers"].values():
            if driver["enabled"]:
                driver["nodePlugin"] = {"tolerations": list(tolerations)}
        return values

    def credential_secret(self, system: StorageSpec) -> CredentialSecret:
        # The object store's admin S3 keys, for the tooling that manages buckets and users.
        return CredentialSecret(
            f"{system['name']}-admin",
            rook_location(system)[0],
            {"AWS_ACCESS_KEY_ID": "access_key", "AWS_SECRET_ACCESS_KEY": "secret_key"},
        )

    def storage_class(self, system: StorageSpec, with_secret: bool) -> ClassSpec:
        cluster_ns, store = rook_location(system)
        interface = interface_of(system)
        if interface == "object":
            return ClassSpec(BUCKET_PROVISIONER, {"objectStoreName": store, "objectStoreNamespace": cluster_ns})
        provisioner_secret, node_secret = ROOK_CSI_SECRETS[interface]
        secrets = {
            "csi.storage.k8s.io/provisioner-secret-name": provisioner_secret,
            "csi.storage.k8s.io/provisioner-secret-namespace": cluster_ns,
            "csi.storage.k8s.io/controller-expand-secret-name": provisioner_secret,
            "csi.storage.k8s.io/controller-expand-secret-namespace": cluster_ns,
            "csi.storage.k8s.io/node-stage-secret-name": node_secret,
            "csi.storage.k8s.io/node-stage-secret-namespace": cluster_ns,
        }
        if interface == "filesystem":
            params = {"clusterID": cluster_ns, "fsName": store, "pool": f"{store}-data0", **secrets}
            if system.get("in_transit_encryption", False):
                # The kernel client speaks msgr2 in secure mode (Rook docs, "Network Configuration
                # Settings", connections.encryption: CephFS mounts need ms_mode=secure).
                params["kernelMountOptions"] = "ms_mode=secure"
            return ClassSpec(CEPHFS_PROVISIONER, params)
        params = {"clusterID": cluster_ns, "pool": store, "imageFormat": "2", "imageFeatures": "layering"}
        return ClassSpec(RBD_PROVISIONER, {**params, **secrets})

    def extra_releases(self, systems: Sequence[StorageSpec]) -> tuple[ExtraRelease, ...]:
        """One protected ``rook-ceph-cluster`` release per Ceph cluster namespace the systems name."""
        by_namespace: dict[str, list[StorageSpec]] = {}
        for system in systems:
            by_namespace.setdefault(rook_location(system)[0], []).append(system)
        releases = []
        for cluster_ns, members in sorted(by_namespace.items()):
            own = cluster_ns != ROOK_OPERATOR_NAMESPACE
            release = f"rook-ceph-cluster-{cluster_ns}" if own else ROOK_CLUSTER_CHART.release
            chart = replace(ROOK_CLUSTER_CHART, release=release, namespace=cluster_ns)
            # The release holds the CephCluster: deleting it deletes every pool's data.
            releases.append(ExtraRelease(chart, _cluster_values(cluster_ns, members), own_namespace=own, protect=True))
        return tuple(releases)

    def key_manager_secrets(
        self, systems: Sequence[StorageSpec]
    ) -> tuple[tuple[KeyManagerSpec, CredentialSecret], ...]:
        """One token Secret per Ceph cluster namespace whose systems keep their keys in a KMS."""
        found: dict[str, KeyManagerSpec] = {}
        for system in systems:
            kms = system.get("kms")
            if kms is not None:
                found.setdefault(rook_location(system)[0], kms)
        return tuple((kms, _kms_secret(namespace, kms)) for namespace, kms in sorted(found.items()))

    def backing_store(self, system: StorageSpec) -> BackingStore:
        cluster_ns, store = rook_location(system)
        replicated = {"replicated": {"size": CEPH_REPLICAS}}
        interface = interface_of(system)
        servers = system.get("servers", [])
        if interface == "filesystem":
            spec: dict[str, Any] = {
                "metadataPool": replicated,
                "dataPools": [{"name": "data0", **replicated}],
                "preserveFilesystemOnDelete": True,
                "metadataServer": {
                    "activeCount": 1,
                    "activeStandby": True,
                    "placement": storage_placement(servers),
                },
            }
            return BackingStore("filesystem", ROOK_API, "CephFilesystem", store, cluster_ns, spec)
        if interface == "object":
            spec = {
                "metadataPool": replicated,
                "dataPool": replicated,
                "preservePoolsOnDelete": True,
                "gateway": {"port": 80, "instances": 2, "placement": storage_placement(servers)},
            }
            return BackingStore("objectstore", ROOK_API, "CephObjectStore", store, cluster_ns, spec)
        spec = {"failureDomain": "host", **replicated}
        return BackingStore("blockpool", ROOK_API, "CephBlockPool", store, cluster_ns, spec)


def storage_placement(servers: Sequence[StorageServer]) -> dict[str, Any]:
    """A Rook placement that keeps pods on ``servers`` only (by hostname, which kubelets label)."""
    names = sorted({s["name"] for s in servers})
    term = {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": names}]}
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}


def _servers(systems: Sequence[StorageSpec]) -> list[StorageServer]:
    found: dict[str, StorageServer] = {}
    for system in systems:
        for server in system.get("servers", []):
            found.setdefault(server["name"], server)
    return [found[name] for name in sorted(found)]


def _kms_secret(namespace: str, kms: KeyManagerSpec) -> CredentialSecret:
    """The Secret Rook reads the key manager's credentials from (Rook docs, "Key Management System")."""
    keys = (
        {"token": "token"}
        if kms["provider"] == "vault"
        else {"CA_CERT": "ca_cert", "CLIENT_CERT": "client_cert", "CLIENT_KEY": "client_key"}
    )
    assert set(keys.values()) == set(KMS_FIELDS[kms["provider"]])
    return CredentialSecret(f"{namespace}-kms", namespace, keys)


def _kms_details(kms: KeyManagerSpec) -> dict[str, str]:
    if kms["provider"] == "vault":
        return {
            "KMS_PROVIDER": "vault",
            "VAULT_ADDR": kms["address"],
            "VAULT_BACKEND_PATH": "rook",
            "VAULT_SECRET_ENGINE": "kv",
            "VAULT_BACKEND": "v2",
        }
    return {"KMS_PROVIDER": "kmip", "KMIP_ENDPOINT": kms["address"]}


def _cluster_values(namespace: str, systems: Sequence[StorageSpec]) -> dict[str, Any]:
    servers = _servers(systems)
    if not servers:
        raise ValueError(
            f"Ceph for {', '.join(s['name'] for s in systems)} has no storage nodes to run on (site storage_nodes)"
        )
    # Only the storage nodes, only the named disks: never useAllNodes/useAllDevices, which put
    # OSDs on every GPU node and take any raw disk (Rook CephCluster `storage.nodes`, ceph-cluster-crd).
    storage: dict[str, Any] = {
        "useAllNodes": False,
        "useAllDevices": False,
        "nodes": [{"name": s["name"], "devices": [{"name": d} for d in s["devices"]]} for s in servers],
    }
    if any(s.get("encrypted", False) for s in systems):
        # OSDs on dm-crypt: every pool of this cluster is encrypted at rest (Rook
        # CephCluster `storage.config.encryptedDevice`).
        storage["config"] = {"encryptedDevice": "true"}
    spec: dict[str, Any] = {
        "storage": storage,
        # Monitors, managers, OSDs and crash collectors on the storage nodes only, so Rook's
        # PodDisruptionBudgets (managePodBudgets) never cover a pod on a GPU node and never hold
        # up a GPU driver-upgrade drain (Rook docs, "Managed Disruption Budgets").
        "placement": {"all": storage_placement(servers)},
        "disruptionManagement": {"managePodBudgets": True},
    }
    kms = next((s["kms"] for s in systems if s.get("kms") is not None), None)
    if kms is not None:
        # The disks' keys live in the KMS, not in Kubernetes Secrets (CephCluster `security.kms`).
        spec["security"] = {
            "kms": {"connectionDetails": _kms_details(kms), "tokenSecretName": _kms_secret(namespace, kms).name}
        }
    if any(s.get("in_transit_encryption", False) for s in systems):
        # msgr2 secure mode between every Ceph daemon and client (CephCluster
        # `network.connections.encryption`, `requireMsgr2`).
        spec["network"] = {"connections": {"encryption": {"enabled": True}, "requireMsgr2": True}}
    return {
        "operatorNamespace": ROOK_OPERATOR_NAMESPACE,
        "cephClusterSpec": spec,
        # Pools, filesystems and object stores are the site's own resources, not the chart's.
        "cephBlockPools": [],
        "cephFileSystems": [],
        "cephObjectStores": [],
    }
