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


@dataclass(frozen=True)
class GpuSystem:
    """What one node (DGX/HGX system or GB200 compute tray) of a GPU model is."""

    model: GpuModel
    architecture: Architecture
    gpus_per_node: int
    node_kw: float
    mig_profiles: tuple[str, ...]
    min_driver: str
    needs_open_kernel_modules: bool
    nvlink_service: str
    product_name: str
    # Nodes in one rack when the rack is itself the product (an NVL72 rack is one NVLink domain);
    # None where racks are built to the site's choice.
    rack_nodes: int | None = None


# Node power: DGX H100/H200 10.2 kW max, DGX B200 14.3 kW max (NVIDIA DGX user guides);
# GB200 NVL72 ~120 kW per 18-tray rack, so 120/18 kW per tray (NVIDIA GB200 NVL72 spec sheet).
# MIG profiles: NVIDIA MIG user guide, "Supported MIG Profiles".
# Blackwell under the GPU Operator needs driver >= 570.133.20 (GPU Operator platform support);
# GH200/GB200 need the open kernel modules. NVSwitch systems run nvidia-fabricmanager, GB200 IMEX.
# The Hopper floors are not from a vendor table and are uncertain: H200 support arrived with R550
# (550.54.x), and H100 ran on R525 drivers already, so 535.54.03 is later than the true first
# driver. Neither binds while SUPPORTED_DRIVER_BRANCHES allows only R580 and R595.
GPU_SYSTEMS: dict[GpuModel, GpuSystem] = {
    GpuModel.H100_SXM_80GB: GpuSystem(
        GpuModel.H100_SXM_80GB,
        Architecture.HOPPER,
        8,
        10.2,
        ("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"),
        "535.54.03",
        False,
        "nvidia-fabricmanager",
        "NVIDIA H100 80GB HBM3",
    ),
    GpuModel.H200_SXM_141GB: GpuSystem(
        GpuModel.H200_SXM_141GB,
        Architecture.HOPPER,
        8,
        10.2,
        ("1g.18gb", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb"),
        "550.54.15",
        False,
        "nvidia-fabricmanager",
        "NVIDIA H200",
    ),
    GpuModel.B200: GpuSystem(
        GpuModel.B200,
        Architecture.BLACKWELL,
        8,
        14.3,
        ("1g.23gb", "1g.45gb", "2g.45gb", "3g.90gb", "4g.90gb", "7g.180gb"),
        "570.133.20",
        False,
        "nvidia-fabricmanager",
        "NVIDIA B200",
    ),
    GpuModel.GB200_NVL72: GpuSystem(
        GpuModel.GB200_NVL72,
        Architecture.BLACKWELL,
        4,
        round(120.0 / 18, 3),
        ("1g.23gb", "1g.47gb", "2g.47gb", "3g.93gb", "4g.93gb", "7g.186gb"),
        "570.133.20",
        True,
        "nvidia-imex",
        "NVIDIA GB200",
        # 18 compute trays (72 GPUs) and 9 NVLink switch trays per rack (GB200 NVL72 spec sheet).
        18,
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
class NodeResources:
    """Logical CPUs and memory of one node of a GPU system."""

    cpus: int
    memory_gib: int


# DGX H100/H200 and DGX B200: 2x 56-core Xeon (112 cores, 224 threads) and 2 TB of system memory
# (NVIDIA DGX H100/H200 and DGX B200 user guides, "Hardware Overview"). A GB200 NVL72 compute tray:
# 2 Grace CPUs of 72 Arm cores (no SMT) with 480 GB LPDDR5X each (NVIDIA GB200 NVL72 spec sheet).
NODE_RESOURCES: dict[GpuModel, NodeResources] = {
    GpuModel.H100_SXM_80GB: NodeResources(224, 2048),
    GpuModel.H200_SXM_141GB: NodeResources(224, 2048),
    GpuModel.B200: NodeResources(224, 2048),
    GpuModel.GB200_NVL72: NodeResources(144, 960),
}


# Rack units one node takes: DGX H100/H200 8U, DGX B200 10U (NVIDIA DGX user guides, "Specifications");
# a GB200 NVL72 compute tray 1U (the NVL72 rack holds 18 compute trays and 9 NVLink switch trays).
NODE_RACK_UNITS: dict[GpuModel, int] = {
    GpuModel.H100_SXM_80GB: 8,
    GpuModel.H200_SXM_141GB: 8,
    GpuModel.B200: 10,
    GpuModel.GB200_NVL72: 1,
}


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
