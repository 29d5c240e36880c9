"""Vendor facts about what a GPU node shows the operating system, used to derive node expectations.

The site model's catalog (``infra/config/catalog.py``) says what a system *is*: GPUs, CPUs, memory,
power, its compute HCAs' device names, its NVLink service and process. This module says how any
healthy node *reads*, whatever its system: what the kernel prints in sysfs for a good InfiniBand
port, P_Key table entries, host services, the locked-memory stance.
"""

from __future__ import annotations

# What /sys/class/infiniband/<dev>/ports/<n>/{state,phys_state,link_layer} read on a good port
# (Linux drivers/infiniband/core/sysfs.c: state_show and phys_state_show print "<code>: <name>").
PORT_ACTIVE = "4: ACTIVE"
PHYS_LINK_UP = "5: LinkUp"
LINK_LAYER_INFINIBAND = "InfiniBand"

# An unused entry of a port's P_Key table reads 0x0000; the low 15 bits name the partition and the
# top bit marks full membership (REFERENCE.md "Network Operator"; FULL_MEMBER_BIT in
# infra/plan/fabric/partitions.py).
PKEY_EMPTY = 0x0000

# IPoIB in datagram mode (the only mode of Enhanced IPoIB on ConnectX) puts a 4-byte header in
# every IB packet, so the interface MTU is the partition MTU minus 4 (kernel Documentation/
# infiniband/ipoib.rst, "Datagram vs Connected modes"): 4092 on a 4096-byte partition.
IPOIB_HEADER_BYTES = 4

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
