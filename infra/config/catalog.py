"""Vendor facts the site model checks against: GPU systems, InfiniBand switches, operator pins.

Every number here comes from ``../shared/REFERENCE.md`` (gathered from the vendors' documents);
the comment beside each names the vendor source.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class GpuModel(str, Enum):
    """GPU systems a node pool can be built from."""

    H100_SXM_80GB = "H100-SXM-80GB"
    H200_SXM_141GB = "H200-SXM-141GB"
    B200 = "B200"
    GB200_NVL72 = "GB200-NVL72"


class Architecture(str, Enum):
    """GPU architecture generation; decides driver and kernel-module requirements."""

    HOPPER = "hopper"
    BLACKWELL = "blackwell"


@dataclass(frozen=True, kw_only=True)
class GpuSystem:
    """What one node (DGX/HGX system or GB200 compute tray) of a GPU model is.

    The one record of a GPU system: the site model checks pools against it, the planners size power,
    racks and cabling from it, ``infra/site.py`` passes its numbers to the components' Args, and node
    acceptance derives what a healthy node reads from it. Every field is given by keyword and none has
    a default, so a new model cannot leave a fact out (``tests/config/test_catalog.py`` checks each).
    """

    model: GpuModel
    product_name: str
    """What ``nvidia-smi --query-gpu=name`` prints for one of its GPUs."""
    architecture: Architecture
    gpus_per_node: int
    cpus: int
    """Logical CPUs of one node (what the kubelet reports as ``cpu`` capacity)."""
    memory_gib: int
    """System memory of one node, GiB."""
    compute_hca_devices: tuple[str, ...]
    """RDMA device names of the compute HCAs in rail order (rail r is the ConnectX next to GPU r)."""
    node_kw: float
    """Maximum power of one node, kW."""
    rack_units: int
    """Rack units one node takes."""
    rack_nodes: int | None
    """Nodes in one rack when the rack is itself the product (an NVL72 rack is one NVLink domain);
    None where racks are built to the site's choice."""
    mig_profiles: tuple[str, ...]
    min_driver: str
    """The first driver that supports the system."""
    needs_open_kernel_modules: bool
    nvlink_service: str
    """The service that runs the NVLink fabric (systemd unit name)."""
    nvlink_daemon: str
    """The process behind ``nvlink_service``: under the GPU Operator the driver container starts it
    itself, so no systemd unit is active on the host, but the process runs."""

    @property
    def compute_hcas(self) -> int:
        """Compute HCAs of one node: one per rail."""
        return len(self.compute_hca_devices)

    def rail_devices(self, count: int) -> tuple[str, ...]:
        """RDMA device names of ``count`` compute HCAs in rail order (``mlx5_<rail>`` if not the vendor's count)."""
        if count == self.compute_hcas:
            return self.compute_hca_devices
        return tuple(f"mlx5_{rail}" for rail in range(count))


# Vendor sources of the numbers below (REFERENCE.md "Driver branches", "GPU Operator values that
# matter", "Power"; the NVIDIA documents named):
# - Power: DGX H100/H200 10.2 kW max, DGX B200 14.3 kW max (NVIDIA DGX user guides); GB200 NVL72
#   ~120 kW per 18-tray rack, so 120/18 kW per tray (NVIDIA GB200 NVL72 spec sheet).
# - CPUs and memory: DGX H100/H200 and DGX B200 have 2x 56-core Xeon (112 cores, 224 threads) and
#   2 TB of system memory (DGX user guides, "Hardware Overview"); a GB200 NVL72 compute tray has 2
#   Grace CPUs of 72 Arm cores (no SMT) with 480 GB LPDDR5X each (GB200 NVL72 spec sheet).
# - Rack units: DGX H100/H200 8U, DGX B200 10U (DGX user guides, "Specifications"); a GB200 NVL72
#   compute tray 1U (the rack holds 18 compute trays and 9 NVLink switch trays).
# - Compute HCAs: DGX H100/H200 User Guide, "Network Modules" table (OSFP port -> GPU -> RDMA
#   device): GPU0 mlx5_0 (ibp24s0), GPU1 mlx5_3 (ibp64s0), GPU2 mlx5_4 (ibp79s0), GPU3 mlx5_5
#   (ibp94s0), GPU4 mlx5_6 (ibp154s0), GPU5 mlx5_9 (ibp192s0), GPU6 mlx5_10 (ibp206s0), GPU7 mlx5_11
#   (ibp220s0); mlx5_1/2/7/8 are the dual-port storage and management cards. DGX GB200 User Guide,
#   "Networking" (compute tray): the OSFP InfiniBand ports are mlx5_0, mlx5_1, mlx5_4, mlx5_5; the
#   BlueField-3 ports take mlx5_2/3/6/7. No vendor table for DGX B200 was found: it reads mlx5_<rail>
#   (override per pool with `gigafactory verify --hca-devices POOL=dev,dev,...` where a site renames
#   devices).
# - MIG profiles: NVIDIA MIG user guide, "Supported MIG Profiles".
# - Driver floors: Blackwell under the GPU Operator needs driver >= 570.133.20 (GPU Operator
#   platform support); GH200/GB200 need the open kernel modules. The Hopper floors are not from a
#   vendor table and are uncertain: H200 support arrived with R550 (550.54.x), and H100 ran on R525
#   drivers already, so 535.54.03 is later than the true first driver. Neither binds while
#   SUPPORTED_DRIVER_BRANCHES allows only R580 and R595.
# - NVLink: NVSwitch systems run nvidia-fabricmanager (process nv-fabricmanager), GB200 runs IMEX.
_DGX_HOPPER_RAILS = ("mlx5_0", "mlx5_3", "mlx5_4", "mlx5_5", "mlx5_6", "mlx5_9", "mlx5_10", "mlx5_11")

GPU_SYSTEMS: dict[GpuModel, GpuSystem] = {
    GpuModel.H100_SXM_80GB: GpuSystem(
        model=GpuModel.H100_SXM_80GB,
        product_name="NVIDIA H100 80GB HBM3",
        architecture=Architecture.HOPPER,
        gpus_per_node=8,
        cpus=224,
        memory_gib=2048,
        compute_hca_devices=_DGX_HOPPER_RAILS,
        node_kw=10.2,
        rack_units=8,
        rack_nodes=None,
        mig_profiles=("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"),
        min_driver="535.54.03",
        needs_open_kernel_modules=False,
        nvlink_service="nvidia-fabricmanager",
        nvlink_daemon="nv-fabricmanager",
    ),
    GpuModel.H200_SXM_141GB: GpuSystem(
        model=GpuModel.H200_SXM_141GB,
        product_name="NVIDIA H200",
        architecture=Architecture.HOPPER,
        gpus_per_node=8,
        cpus=224,
        memory_gib=2048,
        compute_hca_devices=_DGX_HOPPER_RAILS,
        node_kw=10.2,
        rack_units=8,
        rack_nodes=None,
        mig_profiles=("1g.18gb", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb"),
        min_driver="550.54.15",
        needs_open_kernel_modules=False,
        nvlink_service="nvidia-fabricmanager",
        nvlink_daemon="nv-fabricmanager",
    ),
    GpuModel.B200: GpuSystem(
        model=GpuModel.B200,
        product_name="NVIDIA B200",
        architecture=Architecture.BLACKWELL,
        gpus_per_node=8,
        cpus=224,
        memory_gib=2048,
        compute_hca_devices=tuple(f"mlx5_{rail}" for rail in range(8)),
        node_kw=14.3,
        rack_units=10,
        rack_nodes=None,
        mig_profiles=("1g.23gb", "1g.45gb", "2g.45gb", "3g.90gb", "4g.90gb", "7g.180gb"),
        min_driver="570.133.20",
        needs_open_kernel_modules=False,
        nvlink_service="nvidia-fabricmanager",
        nvlink_daemon="nv-fabricmanager",
    ),
    GpuModel.GB200_NVL72: GpuSystem(
        model=GpuModel.GB200_NVL72,
        product_name="NVIDIA GB200",
        architecture=Architecture.BLACKWELL,
        gpus_per_node=4,
        cpus=144,
        memory_gib=960,
        compute_hca_devices=("mlx5_0", "mlx5_1", "mlx5_4", "mlx5_5"),
        node_kw=round(120.0 / 18, 3),
        rack_units=1,
        # 18 compute trays (72 GPUs) and 9 NVLink switch trays per rack (GB200 NVL72 spec sheet).
        rack_nodes=18,
        mig_profiles=("1g.23gb", "1g.47gb", "2g.47gb", "3g.93gb", "4g.93gb", "7g.186gb"),
        min_driver="570.133.20",
        needs_open_kernel_modules=True,
        nvlink_service="nvidia-imex",
        nvlink_daemon="nvidia-imex",
    ),
}


class FabricGeneration(str, Enum):
    """InfiniBand generation of a fabric."""

    NDR = "NDR"
    XDR = "XDR"


# Port rate per generation in Gb/s, and the text /sys/class/infiniband/*/ports/*/rate shows.
LINK_RATE_GBPS: dict[FabricGeneration, int] = {FabricGeneration.NDR: 400, FabricGeneration.XDR: 800}
LINK_RATE_TEXT: dict[FabricGeneration, str] = {
    FabricGeneration.NDR: "400 Gb/sec (4X NDR)",
    FabricGeneration.XDR: "800 Gb/sec (4X XDR)",
}


class SwitchModel(str, Enum):
    """InfiniBand switch models with their radix."""

    QM9700 = "QM9700"
    Q3400 = "Q3400"


@dataclass(frozen=True)
class SwitchSpec:
    """One switch model: its generation and port count."""

    model: SwitchModel
    generation: FabricGeneration
    radix: int


# Quantum-2 QM9700: 64 NDR ports; Quantum-X800 Q3400: 144 XDR ports (NVIDIA switch data sheets).
SWITCHES: dict[SwitchModel, SwitchSpec] = {
    SwitchModel.QM9700: SwitchSpec(SwitchModel.QM9700, FabricGeneration.NDR, 64),
    SwitchModel.Q3400: SwitchSpec(SwitchModel.Q3400, FabricGeneration.XDR, 144),
}

# Driver branches the pinned GPU Operator line supports: R580 LTSB (to Jun 2028) and R595
# production (to Mar 2027), REFERENCE.md "Driver branches".
SUPPORTED_DRIVER_BRANCHES: tuple[int, ...] = (580, 595)

# Pinned operator versions (REFERENCE.md "Pinned stack"); the schema's defaults.
GPU_OPERATOR_VERSION = "v26.7.0"
GPU_DRIVER_VERSION = "595.91.07"
NETWORK_OPERATOR_VERSION = "v26.4.1"
DOCA_OFED_VERSION = "doca3.4.1-26.04-1.1.0.0-1"
KUEUE_VERSION = "v0.19.2"
NFD_VERSION = "v0.19.0"
CERT_MANAGER_VERSION = "v1.21.1"
KUBE_PROMETHEUS_STACK_VERSION = "86.2.3"
# First GPU Operator release that supports Blackwell (B200/GB200): v25.3.0 (GPU Operator
# release notes, "Added support for NVIDIA HGX B200 and GB200").
MIN_GPU_OPERATOR_FOR_BLACKWELL = "v25.3.0"

# The largest published Kubernetes cluster size: GKE supports clusters of up to 65,000 nodes
# (cloud.google.com/kubernetes-engine/quotas); upstream Kubernetes tests 5,000
# (kubernetes.io/docs/setup/best-practices/cluster-large). A site is one cluster.
MAX_CLUSTER_NODES = 65_000

# Kubernetes minor versions the pinned operators support (REFERENCE.md: 1.33 to 1.36).
SUPPORTED_KUBERNETES = ("1.33", "1.34", "1.35", "1.36")


def version_tuple(version: str) -> tuple[int, ...]:
    """Numeric parts of a version such as ``v26.7.0`` or ``570.133.20``; non-numeric parts drop."""
    parts = version.lstrip("v").split("-")[0].split(".")
    return tuple(int(p) for p in parts if p.isdigit())


@dataclass(frozen=True)
class SwitchChassis:
    """What a switch takes in a rack: height and maximum power with every cage populated."""

    rack_units: int
    max_kw: float


# QM9700: 1U, 32 twin-port OSFP cages (64 NDR ports); Q3400: 4U, 72 twin-port cages (144 XDR ports)
# (NVIDIA switch data sheets). Maximum power with optics in every cage: QM9700 ~1.72 kW; the Q3400
# figure (5 kW) is an estimate (72 twin-port transceivers at 17 W plus the switch), not a data-sheet number.
SWITCH_CHASSIS: dict[SwitchModel, SwitchChassis] = {
    SwitchModel.QM9700: SwitchChassis(1, 1.72),
    SwitchModel.Q3400: SwitchChassis(4, 5.0),
}
