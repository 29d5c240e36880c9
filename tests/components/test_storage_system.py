"""StorageSystem: CSI driver releases, storage classes, Rook stores, tenants' shared PVCs, credentials."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from component_harness import (
    assert_no_secret,
    assert_parented,
    gigafactory,
    labels,
    pilot,
    record,
    schema_errors,
    secret_json,
    spec,
)
from pulumi.provider.experimental.analyzer import Analyzer

from components.storage.drivers import driver_for
from components.storage.storage_system import StorageSystem
from infra.config.model import SiteConfig
from infra.engine.runtime import SECRET
from infra.site import storage_servers, storage_system_args

TYPE = "gigafactory:index:StorageSystem"
RELEASE = "kubernetes:helm.sh/v3:Release"


def build(config: SiteConfig, kind: str) -> Any:
    def program(opts: pulumi.ResourceOptions) -> None:
        namespaces = [
            k8s.core.v1.Namespace(f"ns-{t.name}", metadata={"name": t.name}, opts=opts) for t in config.tenants
        ]
        # As the site composes it: the claims wait for the namespaces the component depends on.
        StorageSystem(
            f"storage-{kind}",
            storage_system_args(config, kind, []),
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=namespaces)),
        )

    systems = [s for s in config.storage if s.kind == kind]
    secrets = {
        s.credentials_secret: secret_json(driver_for(kind).credential_fields) for s in systems if s.credentials_secret
    }
    secrets |= {s.kms.secret: secret_json(["token"]) for s in systems if s.kms is not None}
    return record(program, secrets=secrets)


def test_rook_ceph_installs_operator_and_a_protected_cluster_release() -> None:
    recording = build(pilot(), "rook-ceph")
    releases = {r.inputs["name"]: r for r in recording.of_type(RELEASE)}
    assert set(releases) == {"rook-ceph", "ceph-csi-drivers", "rook-ceph-cluster"}
    operator, cluster = releases["rook-ceph"], releases["rook-ceph-cluster"]
    assert (operator.inputs["version"], operator.inputs["repositoryOpts"]) == (
        "v1.20.6",
        {"repo": "https://charts.rook.io/release"},
    )
    assert cluster.protect, cluster.urn
    assert operator.urn in cluster.depends_on
    values = cluster.inputs["values"]
    # ceph-clinical is encrypted, and it shares the rook-ceph cluster: its OSDs are dm-crypt.
    assert values["cephClusterSpec"]["storage"]["config"] == {"encryptedDevice": "true"}
    assert values["cephFileSystems"] == [] and values["cephObjectStores"] == []


def test_a_ceph_cluster_in_its_own_namespace_gets_its_own_protected_release() -> None:
    config = pilot()
    storage = tuple(
        s.model_copy(update={"endpoint": "ceph-clinical/clinical"}) if s.name == "ceph-clinical" else s
        for s in config.storage
    )
    recording = build(config.model_copy(update={"storage": storage}), "rook-ceph")
    releases = {r.inputs["name"]: r for r in recording.of_type(RELEASE)}
    assert set(releases) == {"rook-ceph", "ceph-csi-drivers", "rook-ceph-cluster", "rook-ceph-cluster-ceph-clinical"}
    own = releases["rook-ceph-cluster-ceph-clinical"]
    assert (own.inputs["namespace"], own.protect) == ("ceph-clinical", True), own.urn
    assert own.inputs["values"]["cephClusterSpec"]["storage"]["config"] == {"encryptedDevice": "true"}
    assert "config" not in releases["rook-ceph-cluster"].inputs["values"]["cephClusterSpec"]["storage"], (
        "only the cluster holding ceph-clinical encrypts its OSDs"
    )
    namespace = recording.one("Namespace", "ceph-clinical")
    assert labels(namespace)["pod-security.kubernetes.io/enforce"] == "privileged", namespace.urn
    assert recording.one("CephFilesystem", "clinical", "ceph-clinical").protect


def test_rook_stores_are_protected_and_named_by_their_endpoint() -> None:
    recording = build(pilot(), "rook-ceph")
    filesystem = recording.one("CephFilesystem", "clinical", "rook-ceph")
    store = recording.one("CephObjectStore", "objects", "rook-ceph")
    assert filesystem.protect and store.protect
    assert spec(filesystem)["preserveFilesystemOnDelete"] is True
    assert spec(store)["preservePoolsOnDelete"] is True


def test_storage_classes_retain_data_and_say_whether_they_encrypt() -> None:
    recording = build(pilot(), "rook-ceph")
    clinical = recording.one("StorageClass", "ceph-clinical")
    assert clinical.protect, clinical.urn
    assert clinical.inputs["reclaimPolicy"] == "Retain"
    assert clinical.inputs["provisioner"] == "rook-ceph.cephfs.csi.ceph.com"
    assert clinical.inputs["parameters"]["fsName"] == "clinical"
    assert labels(clinical)["gigafactory.eu/encrypted"] == "true"
    objects = recording.one("StorageClass", "ceph-objects")
    assert objects.inputs["provisioner"] == "rook-ceph.ceph.rook.io/bucket"
    assert labels(objects)["gigafactory.eu/encrypted"] == "false"


def test_each_tenant_share_of_a_filesystem_is_a_protected_claim_in_its_namespace() -> None:
    recording = build(pilot(), "exascaler")
    claims = {r.inputs["metadata"]["namespace"]: r for r in recording.kind("PersistentVolumeClaim")}
    assert set(claims) == {"nordic-llm-lab", "fjord-ai"}
    lab = claims["nordic-llm-lab"]
    assert lab.protect, lab.urn
    assert spec(lab) == {
        "accessModes": ["ReadWriteMany"],
        "storageClassName": "lustre-shared",
        "resources": {"requests": {"storage": "2000T"}},
    }
    assert recording.named("ns-nordic-llm-lab").urn in lab.depends_on
    exa = recording.one("StorageClass", "lustre-shared")
    assert exa.inputs["parameters"] == {
        "configName": "lustre-shared",
        "exaFS": "10.101.1.10@o2ib:/exafs",
        "mountPoint": "/lustre/shared",
    }


def test_object_shares_get_no_claim() -> None:
    recording = build(pilot(), "rook-ceph")
    assert {r.inputs["metadata"]["name"] for r in recording.kind("PersistentVolumeClaim")} == {"ceph-clinical"}


def test_api_credentials_become_secrets_the_storage_class_references() -> None:
    recording = build(gigafactory(), "weka")
    secret = recording.one("Secret", "weka-genomics-api", "csi-wekafs")
    assert secret.inputs["stringData"] == SECRET
    params = recording.one("StorageClass", "weka-genomics").inputs["parameters"]
    assert params["csi.storage.k8s.io/provisioner-secret-name"] == "weka-genomics-api"
    assert params["csi.storage.k8s.io/node-publish-secret-namespace"] == "csi-wekafs"
    assert (params["filesystemName"], params["volumeType"]) == ("weka-genomics", "dir/v1")
    assert secret.urn in recording.one("StorageClass", "weka-genomics").depends_on
    assert_no_secret(recording)


def test_an_encrypted_weka_system_provisions_only_in_an_encrypted_filesystem() -> None:
    # csi-wekafs v2.8.8 pkg/wekafs/volume.go: with encryptionEnabled "true" (ObtainRequestParams),
    # Create refuses a directory-backed volume whose filesystem is not encrypted ("Cannot create
    # encrypted directory-backed volume on unencrypted filesystem"); examples/
    # dynamic_filesystem_encrypted/README.md. The parameter is a string, not a boolean.
    recording = build(gigafactory(), "weka")
    genomics = recording.one("StorageClass", "weka-genomics")
    assert genomics.inputs["parameters"]["encryptionEnabled"] == "true"
    assert labels(genomics)["gigafactory.eu/encrypted"] == "true"
    fast = recording.one("StorageClass", "weka-fast")
    assert "encryptionEnabled" not in fast.inputs["parameters"]
    assert labels(fast)["gigafactory.eu/encrypted"] == "false"


def test_vast_driver_is_pinned_and_its_classes_point_at_their_cluster() -> None:
    recording = build(gigafactory(), "vast")
    release = recording.of_type(RELEASE)
    assert [(r.inputs["chart"], r.inputs["version"]) for r in release] == [("vastcsi", "2.5.0")]
    # The chart makes the classes (its template fails without any); the site only labels them.
    patch = recording.one("StorageClass", "vast-clinical")
    assert patch.type == "kubernetes:storage.k8s.io/v1:StorageClassPatch", patch.urn
    assert labels(patch)["gigafactory.eu/encrypted"] == "true"
    entry = release[0].inputs["values"]["storageClasses"]["vast-clinical"]
    assert entry["storagePath"] == "/clinical"
    assert (entry["secretName"], entry["secretNamespace"]) == ("vast-clinical-vms", "vast-csi")
    assert recording.one("Secret", "vast-clinical-vms", "vast-csi").inputs["stringData"] == SECRET
    assert_no_secret(recording)


def test_children_are_parented_and_objects_validate() -> None:
    for config, kind in (
        (pilot(), "rook-ceph"),
        (pilot(), "exascaler"),
        (gigafactory(), "weka"),
        (gigafactory(), "vast"),
    ):
        recording = build(config, kind)
        assert_parented(recording, recording.component(TYPE))
        assert schema_errors(recording, config.site.kubernetes_version) == [], kind


def test_encrypted_ceph_keeps_its_keys_in_the_kms_encrypts_traffic_and_stays_off_gpu_nodes() -> None:
    config = pilot()
    recording = build(config, "rook-ceph")
    cluster = {r.inputs["name"]: r for r in recording.of_type(RELEASE)}["rook-ceph-cluster"]
    ceph = cluster.inputs["values"]["cephClusterSpec"]
    assert ceph["security"]["kms"] == {
        "connectionDetails": {
            "KMS_PROVIDER": "vault",
            "VAULT_ADDR": "https://vault.eu-pilot.internal:8200",
            "VAULT_BACKEND": "v2",
            "VAULT_BACKEND_PATH": "rook",
            "VAULT_SECRET_ENGINE": "kv",
        },
        "tokenSecretName": "rook-ceph-kms",
    }
    token = recording.one("Secret", "rook-ceph-kms", "rook-ceph")
    assert token.inputs["stringData"] == SECRET, "the token never reaches a plan"
    assert token.urn in cluster.depends_on, "the token exists before the cluster"
    assert ceph["network"]["connections"] == {"encryption": {"enabled": True}, "requireMsgr2": True}
    terms = ceph["placement"]["all"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    hosts = terms["nodeSelectorTerms"][0]["matchExpressions"][0]
    assert hosts["key"] == "kubernetes.io/hostname" and hosts["values"] == sorted(
        server["name"] for server in storage_servers(config)
    ), "Ceph runs on the storage nodes only, never on GPU pools"
    clinical = recording.one("StorageClass", "ceph-clinical")
    assert clinical.inputs["parameters"]["kernelMountOptions"] == "ms_mode=secure"
    assert "kernelMountOptions" not in recording.one("StorageClass", "ceph-objects").inputs["parameters"]
    assert_no_secret(recording)


def test_the_analyzer_infers_the_schema_of_the_inputs_outputs_and_types() -> None:
    schema = Analyzer("gigafactory").analyze([StorageSystem])
    component = schema["component_definitions"]["StorageSystem"]
    assert set(component.inputs) == {"kind", "systems", "shares", "nodeTaints"}
    assert [k for k, v in component.inputs.items() if v.optional] == ["shares", "nodeTaints"]
    assert set(component.outputs) == {"storageClasses", "encryptedClasses", "releases"}
    types = schema["type_definitions"]
    assert {"StorageSpec", "StorageServer", "KeyManagerSpec", "TenantShare", "Taint"} <= set(types)
    spec = types["StorageSpec"].properties
    assert [k for k, v in spec.items() if not v.optional] == ["name", "kind", "endpoint"]


def test_a_deployed_site_keeps_its_storage_through_the_former_token() -> None:
    recording = build(pilot(), "exascaler")
    component = recording.component(TYPE)
    assert tuple(component.alias_types) == ("gigafactory:storage:StorageSystem",), component.urn
