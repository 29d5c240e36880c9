"""Expectations derived from the bundled sites: what a healthy node of each pool must show."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.acceptance.checks import checks_for
from infra.acceptance.expectations import PoolExpectations, site_expectations
from infra.acceptance.nodes import NodeIndex
from infra.config.loader import load_site
from infra.config.model import SiteConfig

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pilot() -> SiteConfig:
    return load_site(REPO / "site-configs" / "eu-pilot.yaml")


@pytest.fixture(scope="module")
def gigafactory() -> SiteConfig:
    return load_site(REPO / "site-configs" / "eu-gigafactory.yaml")


def test_pilot_training_pool(pilot: SiteConfig) -> None:
    e = site_expectations(pilot)["h100-train"]
    assert (e.gpu_count, e.gpu_product) == (8, "NVIDIA H100 80GB HBM3"), "node_pools[h100-train] GPUs"
    assert e.driver_version == "595.91.07", "operators.gpu_operator.driver_version (from base/eu.yaml)"
    assert (e.nvlink_service, e.nvlink_daemon) == ("nvidia-fabricmanager", "nv-fabricmanager")
    assert e.persistence_mode == "Enabled"
    assert e.gpudirect_rdma is True, "operators.gpu_operator.rdma"
    # DGX H100 User Guide: rails 0..7 are mlx5_0, 3, 4, 5, 6, 9, 10, 11.
    assert [(h.rail, h.device) for h in e.hcas] == [
        (0, "mlx5_0"), (1, "mlx5_3"), (2, "mlx5_4"), (3, "mlx5_5"),
        (4, "mlx5_6"), (5, "mlx5_9"), (6, "mlx5_10"), (7, "mlx5_11"),
    ]  # fmt: skip
    assert {(h.rate_text, h.rate_gbps) for h in e.hcas} == {("400 Gb/sec (4X NDR)", 400)}, "NDR fabric"
    assert [(p.text, p.tenant) for p in e.partitions] == [("0x8101", "nordic-llm-lab"), ("0x8102", "fjord-ai")]
    assert [(p.text, p.tenant) for p in e.foreign_partitions] == [("0x8201", "oslo-hospital")], (
        "the hospital asked for its own partition: it must not appear on shared nodes"
    )
    assert (e.ipoib_partition_mtu, e.ipoib_netdev_mtu) == (4096, 4092), "fabrics.compute.ipoib_mtu less 4"
    assert [(m.path, m.storage, m.filesystems, m.tenants) for m in e.mounts] == [
        ("/lustre/shared", "lustre-shared", ("lustre",), ("nordic-llm-lab", "fjord-ai"))
    ], "ceph-objects is object storage, ceph-clinical belongs to the hospital"
    assert e.services == ("kubelet", "containerd")
    assert e.sysctls == (("vm.max_map_count", "1048576"),)
    assert e.hugepages_1gi == 0


def test_pilot_clinical_pool(pilot: SiteConfig) -> None:
    e = site_expectations(pilot)["h100-clinical"]
    assert [(p.text, p.tenant) for p in e.partitions] == [("0x8201", "oslo-hospital")]
    assert e.foreign_partitions == (), "no other tenant has an own partition"
    assert [(m.path, m.kind, m.filesystems) for m in e.mounts] == [
        ("/clinical", "rook-ceph", ("ceph", "fuse.ceph-fuse"))
    ]
    assert e.sysctls == ()


def test_gigafactory_gb200_pool(gigafactory: SiteConfig) -> None:
    e = site_expectations(gigafactory)["gb200-train"]
    assert (e.gpu_count, e.gpu_product) == (4, "NVIDIA GB200")
    assert (e.nvlink_service, e.nvlink_daemon) == ("nvidia-imex", "nvidia-imex"), "GB200 runs IMEX, not FM"
    assert [h.device for h in e.hcas] == ["mlx5_0", "mlx5_1", "mlx5_4", "mlx5_5"], "GB200 compute tray OSFP ports"
    assert {(h.rate_text, h.rate_gbps) for h in e.hcas} == {("800 Gb/sec (4X XDR)", 800)}, "XDR fabric"
    assert [p.tenant for p in e.partitions] == [
        "climate-ai-institute", "language-tech-centre", "autoworks-industrial", "pharma-discovery",
    ]  # fmt: skip
    assert [p.tenant for p in e.foreign_partitions] == ["rhine-university-hospital", "nordic-genome-centre"]
    assert [m.path for m in e.mounts] == ["/lustre/exa", "/weka/scratch", "/vast/datasets"]
    assert e.hugepages_1gi == 64
    assert e.sysctls == ()


def test_gigafactory_b200_pools(gigafactory: SiteConfig) -> None:
    expectations = site_expectations(gigafactory)
    train = expectations["b200-train"]
    assert (train.gpu_count, train.gpu_product, train.nvlink_service) == (8, "NVIDIA B200", "nvidia-fabricmanager")
    assert [h.device for h in train.hcas] == [f"mlx5_{r}" for r in range(8)], "no vendor table for DGX B200"
    clinical = expectations["b200-clinical"]
    assert [(m.path, m.filesystems) for m in clinical.mounts] == [("/clinical", ("nfs", "nfs4"))], "VAST is NFS"
    assert [p.tenant for p in clinical.partitions] == ["rhine-university-hospital"]
    assert [p.tenant for p in clinical.foreign_partitions] == ["nordic-genome-centre"]
    # The pools whose ports the partition plan fences off the default and shared partitions.
    assert {name: e.isolated_for for name, e in expectations.items() if e.isolated_for} == {
        "b200-clinical": "rhine-university-hospital",
        "b200-genomics": "nordic-genome-centre",
    }
    assert list(expectations) == ["b200-train", "gb200-train", "b200-infer", "b200-clinical", "b200-genomics"]


def test_hca_override(pilot: SiteConfig) -> None:
    names = tuple(f"ib{r}" for r in range(8))
    e = site_expectations(pilot, {"h100-train": names})
    assert [h.device for h in e["h100-train"].hcas] == list(names)
    assert e["h100-clinical"].hcas[1].device == "mlx5_3", "the override is per pool"


def _names(e: PoolExpectations) -> list[str]:
    return [c.name for c in checks_for(e)]


def test_checks_are_ordered_and_named(pilot: SiteConfig, gigafactory: SiteConfig) -> None:
    names = _names(site_expectations(pilot)["h100-train"])
    assert names[:9] == [
        "node.reachable", "gpu.driver_loaded", "gpu.count", "gpu.model", "gpu.driver_version",
        "gpu.persistence_mode", "gpu.nvlink_fabric", "service.nvidia-fabricmanager", "gpu.gpudirect_rdma",
    ]  # fmt: skip
    assert names[9:14] == [f"hca.mlx5_0.{c}" for c in ("present", "link_layer", "port", "pkeys", "ipoib_mtu")]
    assert names[-5:] == [
        "mount./lustre/shared", "service.kubelet", "service.containerd", "containerd.memlock",
        "sysctl.vm.max_map_count",
    ]  # fmt: skip
    assert len(names) == len(set(names)), "check names are unique within a pool"
    gb200 = _names(site_expectations(gigafactory)["gb200-train"])
    assert "service.nvidia-imex" in gb200 and gb200[-1] == "hugepages.1gi"
    assert len([n for n in gb200 if n.endswith(".port")]) == 4


def test_node_index_places_nodes(pilot: SiteConfig, gigafactory: SiteConfig) -> None:
    index = NodeIndex(pilot)
    assert len(index) == 128
    place = index.place("pilot-gpu-033")
    assert place is not None
    assert (place.pool, place.position, place.scalable_unit, place.rack) == (
        "h100-train",
        32,
        "h100-train-su001",
        "h100-train-r0008",
    )
    assert index.place("pilot-gpu-097") is None, "h100-train has 96 nodes"
    assert index.place("pilot-clin-001") is not None
    big = NodeIndex(gigafactory)
    assert len(big) == 13_896
    last = big.place("gf-gb200-02592")
    assert last is not None and (last.scalable_unit, last.rack) == ("gb200-train-su035", "gb200-train-r0143")
