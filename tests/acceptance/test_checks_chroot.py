"""Every kind of fault, one at a time, read through testinfra's chroot backend.

The same checks as over SSH (another testinfra backend, the same ``host`` calls): each variant of
a healthy staged DGX H100 breaks one thing and must fail exactly the check that names it, with the
dependants skipped and nothing else failing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import testinfra.backend
import testinfra.host
from staged_node import BASE_MODULES, StagedNode, build_root, dgx_h100
from staged_site import CEPH_CLINICAL, LUSTRE_SHARED, PILOT, PINNED_DRIVER

from infra.acceptance.checks import checks_for
from infra.acceptance.expectations import site_expectations
from infra.acceptance.reader import NodeReader
from infra.acceptance.runner import run_checks
from infra.config.loader import load_site

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="chroot(8) needs root (CI runs the tests as root)"),
    pytest.mark.skipif(shutil.which("busybox") is None, reason="install busybox-static (tests/run.sh does)"),
]

NFS_LUSTRE = "10.101.1.10:/exafs /lustre/shared nfs4 rw,relatime,vers=4.2 0 0"
NO_DRIVER = (
    "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest "
    "NVIDIA driver is installed and running."
)
HCA_CHECKS = ("link_layer", "port", "pkeys", "ipoib_mtu")


def _healthy() -> StagedNode:
    return dgx_h100("pilot-gpu-010", (0xFFFF, 0x8101, 0x8102), (LUSTRE_SHARED,), PINNED_DRIVER)


def _without_peermem(node: StagedNode) -> StagedNode:
    return replace(node, modules=BASE_MODULES)


# variant -> (break the node, {failing check: message fragment}, checks that must be skipped)
VARIANTS: dict[str, tuple[Callable[[StagedNode], StagedNode], dict[str, str], set[str]]] = {
    "healthy": (lambda n: n, {}, set()),
    "ethernet-link-layer": (
        lambda n: n.with_hca("mlx5_0", link_layer="Ethernet"),
        {"hca.mlx5_0.link_layer": "mlx5_0 port 1 runs Ethernet, expected InfiniBand (pool h100-train, rail 0)"},
        set(),
    ),
    "degraded-rate": (
        lambda n: n.with_hca("mlx5_9", rate="200 Gb/sec (4X HDR)"),
        {"hca.mlx5_9.port": "mlx5_9 port 1 runs at 200 Gb/sec (4X HDR), expected 400 Gb/sec (4X NDR)"},
        {"hca.mlx5_9.pkeys"},
    ),
    "port-not-activated-by-sm": (
        lambda n: n.with_hca("mlx5_4", state="2: INIT"),
        {
            "hca.mlx5_4.port": "mlx5_4 port 1 is INIT, expected ACTIVE at 400 Gb/s (pool h100-train, rail 2); the "
            "link is up but the subnet manager"
        },
        {"hca.mlx5_4.pkeys"},
    ),
    "missing-tenant-pkey": (
        lambda n: n.with_hca("mlx5_3", pkeys=(0xFFFF, 0x8101)),
        {"hca.mlx5_3.pkeys": "mlx5_3 port 1 lacks partition 0x8102 (fjord-ai) (pool h100-train, rail 1)"},
        set(),
    ),
    "foreign-isolated-pkey": (
        lambda n: n.with_hca("mlx5_6", pkeys=(0xFFFF, 0x8101, 0x8102, 0x0201)),
        {"hca.mlx5_6.pkeys": "mlx5_6 port 1 is a member of isolated partition 0x8201 (oslo-hospital)"},
        set(),
    ),
    "shared-partition-after-discovery": (
        # Exact partitions (fabric --guid-map): full in the shared partition, limited in the default one.
        lambda n: replace(n, hcas=tuple(replace(h, pkeys=(0xFFFE, 0x7FFF, 0x8101, 0x8102)) for h in n.hcas)),
        {},
        set(),
    ),
    "no-base-partition": (
        lambda n: n.with_hca("mlx5_9", pkeys=(0x7FFF, 0x8101, 0x8102)),
        {
            "hca.mlx5_9.pkeys": "mlx5_9 port 1 is a full member of neither the default partition 0xffff (before "
            "discovery) nor the shared partition 0xfffe (after)"
        },
        set(),
    ),
    "ipoib-mtu": (
        lambda n: n.with_hca("mlx5_10", mtu=2044),
        {"hca.mlx5_10.ipoib_mtu": "ibp206s0 has MTU 2044 (mlx5_10), expected 4092"},
        set(),
    ),
    "missing-hca": (
        lambda n: replace(n, hcas=tuple(h for h in n.hcas if h.device != "mlx5_11")),
        {"hca.mlx5_11.present": "mlx5_11 is missing from /sys/class/infiniband, expected the rail-7 compute HCA"},
        {f"hca.mlx5_11.{c}" for c in HCA_CHECKS},
    ),
    "fabric-not-ready": (
        lambda n: n.with_gpu(2, fabric_state="In Progress", fabric_status="N/A"),
        {"gpu.nvlink_fabric": "NVLink fabric is not ready on GPU 00000000:52:00.0 (In Progress/N/A)"},
        set(),
    ),
    "persistence-off": (
        lambda n: n.with_gpu(3, persistence="Disabled"),
        {"gpu.persistence_mode": "persistence mode is not Enabled on GPU 3"},
        set(),
    ),
    "fabric-manager-stopped": (
        lambda n: replace(n, units={**n.units, "nvidia-fabricmanager": "failed"}),
        {"service.nvidia-fabricmanager": "nvidia-fabricmanager is not active and no nv-fabricmanager process runs"},
        set(),
    ),
    "kubelet-stopped": (
        lambda n: replace(n, units={**n.units, "kubelet": "inactive"}),
        {"service.kubelet": "kubelet is not active, expected active on every node (pool h100-train)"},
        set(),
    ),
    "containerd-default-memlock": (
        lambda n: replace(n, units={k: v for k, v in n.units.items() if k != "containerd.LimitMEMLOCK"}),
        {"containerd.memlock": "containerd runs with LimitMEMLOCK=8388608, expected infinity (pool h100-train)"},
        set(),
    ),
    "dma-buf-instead-of-peermem": (_without_peermem, {}, set()),
    "no-gpudirect-rdma": (
        lambda n: replace(_without_peermem(n), open_kernel_module=False),
        {
            "gpu.gpudirect_rdma": "GPUDirect RDMA is unavailable: nvidia_peermem is not loaded and DMA-BUF cannot be "
            "used (proprietary kernel modules)"
        },
        set(),
    ),
    "old-kernel-no-dma-buf": (
        lambda n: replace(_without_peermem(n), kernel="5.4.0-216-generic"),
        {"gpu.gpudirect_rdma": "(kernel 5.4.0-216-generic is older than 5.12)"},
        set(),
    ),
    "lustre-mounted-as-nfs": (
        lambda n: replace(n, mounts=(*n.mounts[:-1], NFS_LUSTRE)),
        {"mount./lustre/shared": "/lustre/shared is mounted as nfs4, expected lustre"},
        set(),
    ),
    "sysctl": (
        lambda n: replace(n, sysctls={**n.sysctls, "vm.max_map_count": "65530"}),
        {"sysctl.vm.max_map_count": "sysctl vm.max_map_count is 65530, expected 1048576 (sysctls of pool h100-train)"},
        set(),
    ),
    "driver-not-loaded": (
        lambda n: replace(n, nvidia_smi_failure=NO_DRIVER),
        {"gpu.driver_loaded": "nvidia-smi fails (NVIDIA-SMI has failed because it couldn't communicate"},
        {
            "gpu.count",
            "gpu.model",
            "gpu.driver_version",
            "gpu.persistence_mode",
            "gpu.nvlink_fabric",
            "gpu.gpudirect_rdma",
        },
    ),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_fault_is_named_exactly(variant: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    breaker, failing, skipped = VARIANTS[variant]
    root = tmp_path_factory.mktemp("chroot") / variant
    build_root(root, breaker(_healthy()), Path(str(shutil.which("busybox"))))
    expect = site_expectations(load_site(PILOT))["h100-train"]
    host = testinfra.host.Host(testinfra.backend.get_backend(str(root), connection="chroot"))
    results = run_checks(NodeReader(host), checks_for(expect))

    by_status: dict[str, dict[str, str]] = {}
    for result in results:
        by_status.setdefault(result.status, {})[result.name] = result.message
    assert by_status.get("error", {}) == {}, f"{variant}: checks could not run"
    assert set(by_status.get("fail", {})) == set(failing), f"{variant}: {by_status.get('fail')}"
    for name, fragment in failing.items():
        assert fragment in by_status["fail"][name], f"{variant} {name}: {by_status['fail'][name]}"
    assert set(by_status.get("skip", {})) == skipped, f"{variant}: skipped {by_status.get('skip')}"


# The hospital's pool (its own partition, 0x8201 in the pilot): P_Key table -> failing pkeys checks.
ISOLATED_VARIANTS: dict[str, tuple[tuple[int, ...], str | None]] = {
    "exact-partitions": ((0x8201, 0x7FFF), None),
    "full-in-default": (
        (0xFFFF, 0x8201),
        "is a full member of the default partition 0xffff, which every other tenant's ports share",
    ),
    "in-shared": (
        (0x8201, 0x7FFF, 0xFFFE),
        "is a member of the shared partition 0xfffe, which every other tenant's ports share",
    ),
}


@pytest.mark.parametrize("variant", list(ISOLATED_VARIANTS))
def test_an_isolated_pools_ports_share_no_partition_with_other_tenants(
    variant: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # What plan_partitions writes once GUIDs are known (infra/plan/fabric/partitions.py): the
    # hospital's ports are limited in the default partition and absent from the shared one.
    pkeys, fragment = ISOLATED_VARIANTS[variant]
    root = tmp_path_factory.mktemp("chroot") / variant
    node = dgx_h100("pilot-clin-010", pkeys, (CEPH_CLINICAL,), PINNED_DRIVER)
    build_root(root, node, Path(str(shutil.which("busybox"))))
    expect = site_expectations(load_site(PILOT))["h100-clinical"]
    assert expect.isolated_for == "oslo-hospital"
    host = testinfra.host.Host(testinfra.backend.get_backend(str(root), connection="chroot"))
    results = run_checks(NodeReader(host), checks_for(expect))
    failed = {r.name: r.message for r in results if r.status != "pass"}
    if fragment is None:
        assert failed == {}, failed
    else:
        assert set(failed) == {f"hca.{h.device}.pkeys" for h in expect.hcas}, failed
        assert all(fragment in message for message in failed.values()), failed
