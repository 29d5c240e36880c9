"""Vendor facts about what a GPU node shows the operating system, used to derive node expectations.

The site model's catalog says what a system *is* (GPUs, power, NVLink service); this module says
how a healthy node of that system *reads*: which RDMA devices are its compute rails, what the
kernel prints in sysfs for a good InfiniBand port, which filesystem types the storage kinds mount as.
"""

from __future__ import annotations

from infra.config.catalog import GpuModel

# Compute HCAs in rail order: rail r is the ConnectX next to GPU r.
# DGX H100/H200 User Guide, "Network Modules" table (OSFP port -> GPU -> RDMA device):
#   GPU0 mlx5_0 (ibp24s0), GPU1 mlx5_3 (ibp64s0), GPU2 mlx5_4 (ibp79s0), GPU3 mlx5_5 (ibp94s0),
#   GPU4 mlx5_6 (ibp154s0), GPU5 mlx5_9 (ibp192s0), GPU6 mlx5_10 (ibp206s0), GPU7 mlx5_11 (ibp220s0);
#   mlx5_1/2/7/8 are the dual-port storage and management cards.
# DGX GB200 User Guide, "Networking" (compute tray): the OSFP InfiniBand ports are mlx5_0, mlx5_1,
#   mlx5_4, mlx5_5; the BlueField-3 ports take mlx5_2/3/6/7.
# No vendor table for DGX B200 was found; it falls back to mlx5_<rail> (override per pool with
# `gigafactory verify --hca-devices POOL=dev,dev,...` where a site renames devices).
_DGX_HOPPER_RAILS = ("mlx5_0", "mlx5_3", "mlx5_4", "mlx5_5", "mlx5_6", "mlx5_9", "mlx5_10", "mlx5_11")
COMPUTE_HCA_DEVICES: dict[GpuModel, tuple[str, ...]] = {
    GpuModel.H100_SXM_80GB: _DGX_HOPPER_RAILS,
    GpuModel.H200_SXM_141GB: _DGX_HOPPER_RAILS,
    GpuModel.GB200_NVL72: ("mlx5_0", "mlx5_1", "mlx5_4", "mlx5_5"),
}


def compute_hca_devices(model: GpuModel, count: int) -> tuple[str, ...]:
    """RDMA device names of a node's ``count`` compute HCAs, in rail order."""
    known = COMPUTE_HCA_DEVICES.get(model)
    if known is not None and len(known) == count:
        return known
    return tuple(f"mlx5_{rail}" for rail in range(count))


# What /sys/class/infiniband/<dev>/ports/<n>/{state,phys_state,link_layer} read on a good port
# (Linux drivers/infiniband/core/sysfs.c: state_show and phys_state_show print "<code>: <name>").
PORT_ACTIVE = "4: ACTIVE"
PHYS_LINK_UP = "5: LinkUp"
LINK_LAYER_INFINIBAND = "InfiniBand"

# An unused entry of a port's P_Key table reads 0x0000; the low 15 bits name the partition and the
# top bit marks full membership (REFERENCE.md "Network Operator").
PKEY_EMPTY = 0x0000
PKEY_PARTITION_MASK = 0x7FFF
PKEY_FULL_MEMBER = 0x8000

# IPoIB in datagram mode (the only mode of Enhanced IPoIB on ConnectX) puts a 4-byte header in
# every IB packet, so the interface MTU is the partition MTU minus 4 (kernel Documentation/
# infiniband/ipoib.rst, "Datagram vs Connected modes"): 4092 on a 4096-byte partition.
IPOIB_HEADER_BYTES = 4

# The process behind each NVLink service. Under the GPU Operator the driver container starts the
# fabric manager itself, so no systemd unit is active on the host, but the process runs.
NVLINK_DAEMONS: dict[str, str] = {
    "nvidia-fabricmanager": "nv-fabricmanager",
    "nvidia-imex": "nvidia-imex",
}

# GPUDirect RDMA without nvidia_peermem goes through DMA-BUF, which needs the NVIDIA open kernel
# modules and Linux 5.12 or newer (GPU Operator docs, "GPUDirect RDMA and GPUDirect Storage").
DMABUF_MIN_KERNEL = (5, 12)

# Services every GPU node of a Kubernetes site runs on the host.
NODE_SERVICES = ("kubelet", "containerd")

# The site's stance on locked memory for RDMA: tenant pods get no IPC_LOCK (Pod Security `restricted`
# forbids it, `baseline` too), so RDMA in a pod pins memory only because its processes inherit an
# unlimited RLIMIT_MEMLOCK. containerd's CRI sets no memlock rlimit in the OCI spec it writes (only
# the defaults of containerd/containerd pkg/oci/spec.go), so runc leaves the limit the shim inherited
# from containerd's own service: the unit's LimitMEMLOCK (systemd.exec(5)), 8 MiB by default.
CONTAINER_RUNTIME = "containerd"
MEMLOCK_PROPERTY = "LimitMEMLOCK"
MEMLOCK_UNLIMITED = "infinity"

# 1 GiB hugepages as the kernel counts them.
HUGEPAGES_1GI_PATH = "/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages"

# nvidia-smi can hang on a GPU that fell off the bus; every call is bounded (seconds).
NVIDIA_SMI_TIMEOUT_S = 60
