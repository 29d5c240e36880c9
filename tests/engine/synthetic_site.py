"""A small stand-in for the site composition: the shapes the engine must handle, nothing more.

A ``gigafactory:site:GigafactorySite`` component holds a provider, a storage component (protected
StorageClass and PVC), an operators component (a Helm release with a secret value), a tenant
component (namespace, a Secret from a config secret, a ResourceQuota) and node patches. The
engine's own tests build plans from it, so they do not depend on the real components.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.engine.recording import RecordedPlan, build_recorded_plan
from infra.engine.runtime import record_program

SECRET_NAME = "ufmCredentials"


@dataclass(frozen=True)
class Shape:
    """Knobs the tests turn to make before/after pairs."""

    site: str = "synth"
    nodes: int = 3
    storage_class_provisioner: str = "exa.csi.ddn.com"
    pvc_size: str = "100Ti"
    pvc_class: str = "lustre"
    pvc_namespace: str = "team-a"
    with_pvc: bool = True
    driver_version: str = "595.91.07"
    release_namespace: str = "gpu-operator"
    quota_gpus: int = 16
    kube_context: str = "synth-admin"
    cluster_identifier: str | None = None
    extra_labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[str, ...] = ()


def program(shape: Shape) -> None:
    """Register the synthetic site."""
    site = pulumi.ComponentResource("gigafactory:site:GigafactorySite", shape.site, None)
    provider_args: dict[str, Any] = {"context": shape.kube_context}
    if shape.cluster_identifier is not None:
        provider_args["cluster_identifier"] = shape.cluster_identifier
    provider = k8s.Provider(f"{shape.site}-k8s", **provider_args, opts=pulumi.ResourceOptions(parent=site))
    opts = pulumi.ResourceOptions(provider=provider)

    storage = pulumi.ComponentResource(
        "gigafactory:storage:StorageSystem",
        f"{shape.site}-lustre",
        None,
        opts.merge(pulumi.ResourceOptions(parent=site)),
    )
    child = pulumi.ResourceOptions(parent=storage, protect=True)
    k8s.storage.v1.StorageClass(
        f"{shape.site}-lustre-class",
        metadata={"name": shape.pvc_class},
        provisioner=shape.storage_class_provisioner,
        reclaim_policy="Retain",
        opts=child,
    )
    if shape.with_pvc:
        k8s.core.v1.PersistentVolumeClaim(
            f"{shape.site}-lustre-datasets",
            metadata={"name": "datasets", "namespace": shape.pvc_namespace},
            spec={
                "accessModes": ["ReadWriteMany"],
                "storageClassName": shape.pvc_class,
                "resources": {"requests": {"storage": shape.pvc_size}},
            },
            opts=child,
        )
    storage.register_outputs({})

    operators = pulumi.ComponentResource(
        "gigafactory:operators:ClusterOperators",
        f"{shape.site}-operators",
        None,
        opts.merge(pulumi.ResourceOptions(parent=site)),
    )
    k8s.helm.v3.Release(
        f"{shape.site}-gpu-operator",
        name="gpu-operator",
        namespace=shape.release_namespace,
        chart="gpu-operator",
        version="v26.7.0",
        repository_opts={"repo": "https://helm.ngc.nvidia.com/nvidia"},
        values={
            "driver": {"version": shape.driver_version, "upgradePolicy": {"maxParallelUpgrades": 4}},
            "ufm": {"password": pulumi.Config().require_secret(SECRET_NAME)},
        },
        opts=pulumi.ResourceOptions(parent=operators),
    )
    operators.register_outputs({})

    tenant = pulumi.ComponentResource(
        "gigafactory:tenants:Tenant", f"{shape.site}-team-a", None, opts.merge(pulumi.ResourceOptions(parent=site))
    )
    namespace = k8s.core.v1.Namespace(
        f"{shape.site}-team-a-ns",
        metadata={"name": "team-a", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}},
        opts=pulumi.ResourceOptions(parent=tenant),
    )
    k8s.core.v1.Secret(
        f"{shape.site}-team-a-ufm",
        metadata={"name": "ufm", "namespace": "team-a"},
        string_data={"password": pulumi.Config().require_secret(SECRET_NAME)},
        opts=pulumi.ResourceOptions(parent=tenant, depends_on=[namespace]),
    )
    k8s.core.v1.ResourceQuota(
        f"{shape.site}-team-a-quota",
        metadata={"name": "gpus", "namespace": "team-a"},
        spec={"hard": {"requests.nvidia.com/gpu": str(shape.quota_gpus)}},
        opts=pulumi.ResourceOptions(parent=tenant, depends_on=[namespace]),
    )
    tenant.register_outputs({})

    pool = pulumi.ComponentResource(
        "gigafactory:compute:GpuNodePool", f"{shape.site}-pool", None, opts.merge(pulumi.ResourceOptions(parent=site))
    )
    for i in range(shape.nodes):
        k8s.core.v1.NodePatch(
            f"{shape.site}-node-{i:03d}",
            metadata={
                "name": f"node-{i:03d}",
                "labels": {"gigafactory.eu/pool": "train", "replicas": "3", **shape.extra_labels},
            },
            opts=pulumi.ResourceOptions(parent=pool),
        )
    pool.register_outputs({})
    site.register_outputs({})


def facts(shape: Shape, **overrides: Any) -> dict[str, Any]:
    """Site facts in the shape ``infra.engine.facts.site_facts`` gives, for one pool and one tenant.

    ``test_facts_shape_matches_the_real_one`` keeps the two in step.
    """
    base: dict[str, Any] = {
        "name": shape.site,
        "region": "eu-test",
        "country": "NO",
        "description": "synthetic",
        "kubernetes_version": "1.35",
        "gpus": shape.nodes * 8,
        "nodes": shape.nodes,
        "power": {"envelope_kw": 100.0, "pue": 1.25, "it_load_kw": 30.6, "facility_kw": 38.25},
        "pools": {
            "train": {
                "gpu_model": "H100-SXM-80GB",
                "product": "NVIDIA H100 80GB HBM3",
                "nodes": shape.nodes,
                "gpus_per_node": 8,
                "gpus": shape.nodes * 8,
                "gpu_units": shape.nodes * 8,
                "booked_gpus": shape.quota_gpus,
                "scalable_units": 1,
                "purpose": "training",
                "dedicated_to": None,
                "node_kw": 10.2,
                "gpu_sharing": {"mode": "none", "mig_profile": None, "replicas": None},
                "driver_upgrade": {
                    "max_unavailable": 1,
                    "max_parallel_upgrades": 1,
                    "drain": True,
                    "drain_timeout_seconds": 300,
                },
                "node": {
                    "gpu_count": 8,
                    "gpu_product": "NVIDIA H100 80GB HBM3",
                    "driver_version": shape.driver_version,
                    "doca_ofed_version": "doca3.4.1-26.04-1.1.0.0-1",
                    "nvlink_service": "nvidia-fabricmanager",
                    "gpudirect_rdma": True,
                    "hcas": [f"mlx5_{rail} rail {rail} at 400 Gb/sec (4X NDR)" for rail in range(8)],
                    "partitions": ["0x8101 (team-a)"],
                    "ipoib_mtu": 4096,
                    "mounts": ["/lustre (lustre)"],
                    "sysctls": {"vm.max_map_count": "1048576"},
                    "hugepages_1gi": 0,
                    "allocatable": {"cpu": 224, "memory": "2048Gi", "nvidia.com/gpu": 8, "pods": 110},
                    "topology": {"kubernetes.io/hostname": {"domains": shape.nodes, "largest": 1, "smallest": 1}},
                },
                "identity": {
                    "labels": {"gigafactory.eu/pool": "train", **shape.extra_labels},
                    "topology_labels": ["gigafactory.eu/fabric-block", "gigafactory.eu/rack"],
                    "taints": list(shape.taints),
                    "first_node": "node-000",
                    "last_node": f"node-{shape.nodes - 1:03d}",
                    "labels_written_by": "nfd-master",
                    "taints_written_by": ["nfd-master"] if shape.taints else [],
                },
            }
        },
        "fabric": {
            "generation": "NDR",
            "switch_model": "QM9700",
            "radix": 64,
            "oversubscription": 1.0,
            "rails": 8,
            "subnet_manager": "ufm",
            "tiers": 2,
            "switches": {"leaf": 8, "spine": 4, "core": 0, "total": 12},
            "cables": {"node-leaf": 24, "leaf-spine": 24, "spine-core": 0, "total": 48},
        },
        "storage": {
            "lustre": {
                "kind": "exascaler",
                "interface": "filesystem",
                "capacity_tb": 100.0,
                "booked_tb": 50.0,
                "read_gb_per_s": 10.0,
                "write_gb_per_s": 5.0,
                "nodes": shape.nodes,
                "read_gb_per_s_per_node": round(10.0 / max(shape.nodes, 1), 3),
                "reclaim_policy": "Retain",
                "encrypted": False,
                "tenants": ["team-a"],
            }
        },
        "operators": {
            "gpu_operator": {
                "version": "v26.7.0",
                "driver_version": shape.driver_version,
                "kernel_module_type": "open",
                "rdma": True,
            },
            "network_operator": {"version": "v26.4.1", "doca_ofed_version": "doca3.4.1-26.04-1.1.0.0-1"},
            "kueue": {"version": "v0.19.2"},
        },
        "tenants": {
            "team-a": {
                "kind": "research",
                "pkey": "0x8101",
                "cohort": None,
                "gpu_quotas": {"train": {"gpus": shape.quota_gpus, "borrowing_limit": None, "lending_limit": None}},
                "storage_quotas_tb": {"lustre": 50.0},
                "isolation": {
                    "dedicated_nodes": False,
                    "own_partition": False,
                    "encrypted_storage": False,
                    "egress": "allow",
                },
            }
        },
        # Where the synthetic site file would have written these values.
        "locations": {
            "pools.train": "synth.yaml:4:5",
            "pools.train.nodes": "synth.yaml:6:12",
            "pools.train.sysctls.vm.max_map_count": "synth.yaml:9:25",
            "operators.gpu_operator.driver_version": "base/synth.yaml:3:21",
            "storage.lustre": "synth.yaml:14:5",
            "tenants.team-a": "synth.yaml:20:5",
            "tenants.team-a.pkey": "synth.yaml:23:11",
        },
    }
    base.update(overrides)
    return base


def synthetic_plan(
    shape: Shape | None = None, *, secret: str = "s3cr3t-dummy-value", **fact_overrides: Any
) -> RecordedPlan:
    """Plan the synthetic site on the mock runtime."""
    shape = shape or Shape()
    records = record_program(
        lambda: program(shape), project="gigafactory", stack=shape.site, secret_config={SECRET_NAME: secret}
    )
    return build_recorded_plan(records, project="gigafactory", stack=shape.site, site=facts(shape, **fact_overrides))
