"""The parts of a site config: site, node pools, fabrics, storage, operators (and, from
``tenants.py``, tenants).

Every model is immutable and rejects unknown keys. Rules that bind fields of one part are
declared here beside those fields; rules across parts live on ``SiteConfig`` in ``model.py``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from components.labels import Taint as TaintArgs
from components.storage.drivers import DRIVERS, driver_for
from components.upgrades import UpgradePolicy
from infra.config.catalog import (
    CERT_MANAGER_VERSION,
    DOCA_OFED_VERSION,
    GPU_DRIVER_VERSION,
    GPU_OPERATOR_VERSION,
    GPU_SYSTEMS,
    KUBE_PROMETHEUS_STACK_VERSION,
    KUEUE_VERSION,
    MAX_CLUSTER_NODES,
    NETWORK_OPERATOR_VERSION,
    NFD_VERSION,
    SUPPORTED_KUBERNETES,
    SWITCHES,
    FabricGeneration,
    GpuModel,
    GpuSystem,
    SwitchModel,
)
from infra.config.modelbase import Model as Model
from infra.config.rules import rule
from infra.config.tenants import GpuQuota as GpuQuota
from infra.config.tenants import Isolation as Isolation
from infra.config.tenants import StorageQuota as StorageQuota
from infra.config.tenants import Tenant as Tenant
from infra.config.types import (
    AbsolutePath,
    CountryCode,
    DnsLabel,
    DriverVersion,
    Flag,
    Integer,
    IPv4Subnet,
    KubernetesVersion,
    NodesOrPercent,
    Number,
    PositiveInt,
    ReleaseVersion,
    SecretRef,
    dns_label,
    environment,
)
from infra.errors import Problem


class Site(Model):
    """Identity and envelope of one gigafactory site."""

    name: DnsLabel = environment("Site name; also the Pulumi stack name.")
    region: DnsLabel = environment("Region the site belongs to, e.g. eu-north.")
    country: CountryCode = environment("ISO 3166-1 alpha-2 country code, e.g. NO.")
    description: str = environment("One line a person reads in plans and reports.", default="")
    kubernetes_version: KubernetesVersion = Field("1.35", description="Kubernetes minor version.")
    kube_context: str = environment("kubeconfig context that reaches the site's cluster.", min_length=1)
    power_envelope_mw: Number = Field(gt=0, description="Facility power available to IT load, MW.")
    pue: Number = Field(1.25, ge=1.0, le=3.0, description="Power usage effectiveness of the site.")

    RENAMED: ClassVar[dict[str, str]] = {"power_mw": "power_envelope_mw", "k8s_version": "kubernetes_version"}

    @rule
    def kubernetes_supported(self) -> Iterator[Problem]:
        if self.kubernetes_version not in SUPPORTED_KUBERNETES:
            yield Problem(
                ("kubernetes_version",),
                f"Kubernetes {self.kubernetes_version} is not supported by the pinned operators",
                f"use one of {', '.join(SUPPORTED_KUBERNETES)}",
            )


class HcaLayout(Model):
    """Host channel adapters per node: one per compute rail, plus storage-fabric ports."""

    compute: PositiveInt = Field(description="HCAs on the compute fabric, one per rail.")
    storage: Integer = Field(2, ge=0, description="Ports on the storage fabric.")


class Taint(Model):
    """A Kubernetes node taint."""

    key: str = Field(min_length=1, description="Taint key.")
    value: str = Field("", description="Taint value.")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = Field("NoSchedule", description="Effect.")

    def as_args(self) -> TaintArgs:
        """This taint as the components take it."""
        return TaintArgs(key=self.key, value=self.value, effect=self.effect)


class GpuSharing(Model):
    """How a pool's GPUs are shared: whole GPUs, MIG slices, or time-slicing."""

    mode: Literal["none", "mig", "time-slicing"] = Field("none", description="Sharing mode.")
    mig_profile: str | None = Field(None, description="MIG profile applied to every GPU, e.g. 1g.10gb.")
    replicas: Integer | None = Field(None, ge=2, le=64, description="Time-slicing replicas per GPU.")

    @rule
    def settings_match_mode(self) -> Iterator[Problem]:
        if self.mode == "mig" and not self.mig_profile:
            yield Problem(("mig_profile",), "is required when mode is mig", "set a MIG profile such as 1g.10gb")
        if self.mode == "time-slicing" and self.replicas is None:
            yield Problem(("replicas",), "is required when mode is time-slicing", "set replicas, e.g. 4")
        if self.mode != "mig" and self.mig_profile:
            yield Problem(("mig_profile",), f"is set but mode is {self.mode}", "set mode: mig or remove mig_profile")
        if self.mode != "time-slicing" and self.replicas is not None:
            yield Problem(("replicas",), f"is set but mode is {self.mode}", "set mode: time-slicing or remove replicas")


class DriverUpgrade(Model):
    """How the GPU Operator rolls a driver change across a pool."""

    max_unavailable: NodesOrPercent = Field("25%", description="Nodes (or percentage) down at once.")
    max_parallel_upgrades: Integer = Field(1, ge=0, description="Nodes upgraded in parallel; 0 means all.")
    drain: Flag = Field(True, description="Drain workloads from a node before its driver changes.")
    drain_timeout_seconds: Integer = Field(300, ge=0, description="How long a drain may take.")

    def as_args(self) -> UpgradePolicy:
        """This policy as the components take it."""
        return UpgradePolicy(
            max_unavailable=str(self.max_unavailable),
            max_parallel_upgrades=self.max_parallel_upgrades,
            drain=self.drain,
            drain_timeout_seconds=self.drain_timeout_seconds,
        )


_FORMATTER = string.Formatter()
# Zero padding to at most 99 digits and nothing else: node names must stay valid hostnames.
_INDEX_SPEC = re.compile(r"^0?[0-9]{0,2}d?$")


class NodePool(Model):
    """A homogeneous group of GPU nodes built from scalable units."""

    name: DnsLabel = Field(description="Pool name, used in labels and Kueue flavors.")
    gpu_model: GpuModel = Field(description="GPU system of every node in the pool.")
    gpus_per_node: PositiveInt = Field(description="GPUs per node; defaults to the system's count.")
    nodes: PositiveInt = Field(le=MAX_CLUSTER_NODES, description="Number of nodes.")
    node_name_pattern: str = environment(
        "Node hostname with an {index} field, e.g. gpu-{index:04d}; unique to this site."
    )
    first_index: Integer = Field(1, ge=0, description="Index of the first node.")
    scalable_unit_nodes: PositiveInt = Field(32, description="Nodes per scalable unit (SU).")
    allow_partial_scalable_unit: Flag = Field(False, description="Allow a last, partly filled SU.")
    nodes_per_rack: PositiveInt = Field(4, description="Nodes per rack (DGX SuperPOD: 4).")
    hcas: HcaLayout = Field(description="HCAs per node.")
    purpose: Literal["training", "inference", "regulated"] = Field(description="What the pool is for.")
    dedicated_to: DnsLabel | None = Field(None, description="Tenant that owns every node of the pool.")
    labels: dict[str, str] = Field(default_factory=dict, description="Extra node labels.")
    taints: tuple[Taint, ...] = Field((), description="Node taints.")
    gpu_sharing: GpuSharing = Field(default_factory=GpuSharing, description="GPU sharing.")
    driver_upgrade: DriverUpgrade = Field(default_factory=DriverUpgrade, description="Driver roll-out.")
    sysctls: dict[str, str] = Field(default_factory=dict, description="Kernel settings every node must have.")
    hugepages_1gi: Integer = Field(0, ge=0, description="1 GiB hugepages every node must have.")
    multi_node_nvlink: Flag = Field(
        False,
        description=(
            "Multi-node NVLink (ComputeDomains across a GB200 NVL72 rack). Not deployed: must stay false "
            "(README, 'What the operators require at run time')."
        ),
    )

    RENAMED: ClassVar[dict[str, str]] = {
        "node_count": "nodes",
        "gpus": "gpus_per_node",
        "su_size": "scalable_unit_nodes",
        "mig": "gpu_sharing",
    }

    @model_validator(mode="before")
    @classmethod
    def _default_gpus_per_node(cls, data: Any) -> Any:
        if isinstance(data, dict) and "gpus_per_node" not in data:
            try:
                gpus = GPU_SYSTEMS[GpuModel(data.get("gpu_model"))].gpus_per_node
            except ValueError:
                # gpu_model itself is reported; a stand-in keeps a second, derived error away.
                gpus = 1
            return {**data, "gpus_per_node": gpus}
        return data

    @field_validator("multi_node_nvlink")
    @classmethod
    def _no_multi_node_nvlink(cls, value: bool) -> bool:
        # GPU Operator v26.7.0 offers ComputeDomains only through its chart's gpuCluster.deployCR,
        # which values.yaml marks experimental and "an invalid configuration" beside ClusterPolicy:
        # every pool would move to the DRA stack. Claiming it here would promise what is not built.
        if value:
            raise ValueError(
                "multi-node NVLink (ComputeDomains) is not deployed: GPU Operator v26.7.0 offers it only through "
                "the experimental GPUCluster stack, exclusive with ClusterPolicy; set multi_node_nvlink: false "
                "(NVLink then spans one node)"
            )
        return value

    @field_validator("node_name_pattern")
    @classmethod
    def _pattern_formats(cls, value: str) -> str:
        try:
            fields = [
                (name, spec, conversion) for _, name, spec, conversion in _FORMATTER.parse(value) if name is not None
            ]
        except ValueError:
            fields = []
        if len(fields) != 1 or fields[0][0] != "index" or fields[0][2] is not None:
            raise ValueError(
                f"must contain an {{index}} field and nothing else in braces, e.g. gpu-{{index:04d}} (got {value!r})"
            )
        if not _INDEX_SPEC.match(fields[0][1] or ""):
            raise ValueError(
                f"may only zero-pad the index, e.g. {{index:04d}}, so every name is a hostname (got {value!r})"
            )
        return value

    @property
    def system(self) -> GpuSystem:
        """Vendor facts for this pool's GPU model."""
        return GPU_SYSTEMS[self.gpu_model]

    @property
    def gpus(self) -> int:
        """GPUs in the whole pool."""
        return self.nodes * self.gpus_per_node

    @property
    def scalable_units(self) -> int:
        """Scalable units, counting a partly filled last one."""
        return -(-self.nodes // self.scalable_unit_nodes)

    def node_name(self, position: int) -> str:
        """Hostname of the node at 0-based ``position`` in the pool."""
        return self.node_name_pattern.format(index=self.first_index + position)

    def node_names(self, start: int = 0, stop: int | None = None) -> list[str]:
        """Hostnames of the nodes at 0-based positions ``start`` up to ``stop`` (default: every node), in order."""
        name, first = self.node_name_pattern.format, self.first_index  # looked up once, not per node
        return [name(index=first + position) for position in range(start, self.nodes if stop is None else stop)]

    @rule
    def gpus_match_system(self) -> Iterator[Problem]:
        if self.gpus_per_node != self.system.gpus_per_node:
            yield Problem(
                ("gpus_per_node",),
                f"{self.gpu_model.value} nodes have {self.system.gpus_per_node} GPUs (got {self.gpus_per_node})",
                f"remove gpus_per_node or set it to {self.system.gpus_per_node}",
            )

    @rule
    def whole_scalable_units(self) -> Iterator[Problem]:
        if self.nodes % self.scalable_unit_nodes and not self.allow_partial_scalable_unit:
            whole = self.nodes // self.scalable_unit_nodes * self.scalable_unit_nodes
            choices = " or ".join(str(n) for n in (whole, whole + self.scalable_unit_nodes) if n)
            yield Problem(
                ("nodes",),
                f"{self.nodes} nodes is not a whole number of scalable units of "
                f"scalable_unit_nodes={self.scalable_unit_nodes}",
                f"use {choices} nodes, or set allow_partial_scalable_unit: true",
            )
        if self.scalable_unit_nodes % self.nodes_per_rack:
            yield Problem(
                ("nodes_per_rack",),
                f"scalable_unit_nodes={self.scalable_unit_nodes} is not a whole number of racks of "
                f"nodes_per_rack={self.nodes_per_rack}",
                "make scalable_unit_nodes a multiple of nodes_per_rack",
            )

    @rule
    def one_hca_per_rail(self) -> Iterator[Problem]:
        if self.hcas.compute != self.gpus_per_node:
            yield Problem(
                ("hcas", "compute"),
                f"a rail-optimized node has one compute HCA per GPU: {self.hcas.compute} HCAs for "
                f"gpus_per_node={self.gpus_per_node}",
                f"set hcas.compute to {self.gpus_per_node}",
            )

    @rule
    def mig_profile_exists(self) -> Iterator[Problem]:
        profile = self.gpu_sharing.mig_profile
        if self.gpu_sharing.mode == "mig" and profile and profile not in self.system.mig_profiles:
            yield Problem(
                ("gpu_sharing", "mig_profile"),
                f"{profile} is not a MIG profile of gpu_model {self.gpu_model.value}",
                f"use one of {', '.join(self.system.mig_profiles)}",
            )

    @rule
    def node_names_are_hostnames(self) -> Iterator[Problem]:
        for name in (self.node_name(0), self.node_name(self.nodes - 1)):
            try:
                dns_label(name)
            except ValueError:
                yield Problem(
                    ("node_name_pattern",),
                    f"gives node name {name!r}, which is not a hostname (a DNS-1123 label: lower-case letters, "
                    "digits and '-', at most 63 characters)",
                    "write the pattern in lower case, e.g. gpu-{index:05d}, and keep it short",
                )
                return

    @rule
    def racks_match_system(self) -> Iterator[Problem]:
        rack = self.system.rack_nodes
        if rack is not None and self.nodes_per_rack != rack:
            yield Problem(
                ("nodes_per_rack",),
                f"a {self.gpu_model.value} rack holds {rack} nodes (one NVLink domain), got nodes_per_rack="
                f"{self.nodes_per_rack}",
                f"set nodes_per_rack: {rack}",
            )

    @rule
    def regulated_pools_are_fenced(self) -> Iterator[Problem]:
        if self.purpose != "regulated":
            return
        if self.dedicated_to is None:
            yield Problem(
                ("dedicated_to",),
                "a pool with purpose regulated must be dedicated to one tenant",
                "set dedicated_to to the regulated tenant's name",
            )
        if not any(t.effect in ("NoSchedule", "NoExecute") for t in self.taints):
            yield Problem(
                ("taints",),
                "a pool with purpose regulated needs a NoSchedule or NoExecute taint so other "
                "tenants' pods cannot land on it",
                "add a taint such as {key: gigafactory.eu/tenant, value: <tenant>, effect: NoSchedule}",
            )


class RailSubnet(Model):
    """The IPoIB subnet of one compute rail."""

    rail: Integer = Field(ge=0, description="Rail number, 0-based.")
    subnet: IPv4Subnet = environment("IPoIB subnet of the rail.")


class ComputeFabric(Model):
    """The compute InfiniBand fabric: rail-optimized fat tree."""

    generation: FabricGeneration = Field(FabricGeneration.NDR, description="NDR (400G) or XDR (800G).")
    switch_model: SwitchModel = Field(SwitchModel.QM9700, description="Switch used at every tier.")
    oversubscription: Number = Field(1.0, ge=1.0, le=4.0, description="Leaf down:up ratio; 1.0 is non-blocking.")
    subnet_manager: Literal["ufm", "opensm"] = Field("ufm", description="Subnet manager of the fabric.")
    ufm_credentials_secret: SecretRef | None = environment(
        "Pulumi config secret holding UFM credentials.", default=None
    )
    ipoib_mtu: Literal[2048, 4096] = Field(4096, description="IPoIB partition MTU.")
    rdma_mode: Literal["exclusive", "shared"] = Field(
        "exclusive",
        description=(
            "RDMA subsystem namespace mode of GPU nodes. exclusive: each pod's VF RDMA device moves into "
            "the pod (rdma CNI; the SR-IOV operator sets it), no shared RDMA devices; shared: every pod "
            "sees the host's RDMA devices (RDMA shared device plugin), tenant networks without rdma CNI."
        ),
    )
    ipoib_subnets: tuple[RailSubnet, ...] = environment("IPoIB subnet per rail.", min_length=1)

    RENAMED: ClassVar[dict[str, str]] = {"radix": "switch_model (the radix follows from the model)"}

    @property
    def radix(self) -> int:
        """Ports per switch."""
        return SWITCHES[self.switch_model].radix

    @property
    def leaf_down_ports(self) -> int:
        """Leaf ports that face nodes at the configured oversubscription."""
        return int(self.radix * self.oversubscription / (1 + self.oversubscription))

    @rule
    def switch_matches_generation(self) -> Iterator[Problem]:
        spec = SWITCHES[self.switch_model]
        if spec.generation != self.generation:
            yield Problem(
                ("switch_model",),
                f"{self.switch_model.value} is an {spec.generation.value} switch but generation is "
                f"{self.generation.value}",
                "pick QM9700 for NDR or Q3400 for XDR",
            )

    @rule
    def ufm_has_credentials(self) -> Iterator[Problem]:
        if self.subnet_manager == "ufm" and self.ufm_credentials_secret is None:
            yield Problem(
                ("ufm_credentials_secret",),
                "is required when subnet_manager is ufm (ib-kubernetes pushes partition keys through UFM)",
                "name the Pulumi config secret that holds the UFM credentials",
            )

    @rule
    def rails_numbered(self) -> Iterator[Problem]:
        for i, rail in enumerate(self.ipoib_subnets):
            if rail.rail != i:
                yield Problem(
                    ("ipoib_subnets", i, "rail"),
                    f"rails must be listed in order 0, 1, 2, ... (entry {i} says rail {rail.rail})",
                    f"set rail: {i}",
                )


class StorageFabric(Model):
    """The storage fabric, separate from compute."""

    kind: Literal["infiniband", "ethernet"] = Field("infiniband", description="Fabric technology.")
    subnet: IPv4Subnet = environment("Subnet of the storage ports.")


class Fabrics(Model):
    """The site's fabrics."""

    compute: ComputeFabric = Field(description="Compute InfiniBand fabric.")
    storage: StorageFabric = Field(description="Storage fabric.")


# The storage kinds are the drivers' (components/storage/drivers.py): a new kind is a driver module
# and its DRIVERS entry, and the site model, its JSON schema and the composition follow.
if TYPE_CHECKING:
    StorageKind = str
else:
    StorageKind = Literal[tuple(DRIVERS)]


class Floor(Model):
    """The data hall: rows of racks. Defaults follow NVIDIA's DGX SuperPOD reference architectures."""

    racks_per_row: PositiveInt = Field(
        20, description="Rack positions per row; a scalable unit's racks stay in one row when they fit."
    )
    rack_units: PositiveInt = Field(48, ge=20, le=60, description="Usable rack units (U) per rack.")
    rack_width_m: Number = Field(0.6, gt=0, le=2, description="Pitch between racks in a row, m (600 mm racks).")
    row_pitch_m: Number = Field(
        2.4, gt=0, le=20, description="Pitch between rows, m: rack depth plus aisle (1.2 m + 1.2 m)."
    )
    rack_power_kw: Number = Field(
        60.0,
        gt=0,
        description="Power limit per rack, kW (SuperPOD B300 RA: four DGX B300 per rack, ~56 kW).",
    )
    cable_slack_m: Number = Field(1.5, ge=0, le=20, description="Slack added to every cable route, m.")
    tray_height_m: Number = Field(0.5, ge=0, le=5, description="Overhead cable tray above the racks' tops, m.")
    spares_percent: Number = Field(
        2.0, ge=0, le=100, description="Spare cables and transceivers ordered, percent of those cabled."
    )


class KeyManager(Model):
    """The key manager that holds a storage system's encryption keys (Rook-Ceph)."""

    provider: Literal["vault", "kmip"] = Field(description="vault (HashiCorp Vault, KV engine) or kmip.")
    address: str = environment("KMS address: a Vault URL (https://vault:8200) or a KMIP host:port.", min_length=1)
    secret: SecretRef = environment(
        "Pulumi config secret with the KMS credentials (vault: token; kmip: ca_cert, client_cert, client_key)."
    )


class StorageSystem(Model):
    """A parallel filesystem or object store and who may use it."""

    name: DnsLabel = Field(description="Storage system name.")
    kind: StorageKind = Field(description=f"Storage kind: {', '.join(DRIVERS)}.")
    interface: Literal["filesystem", "object", "block"] = Field("filesystem", description="How it is consumed.")
    capacity_tb: Number = Field(gt=0, description="Usable capacity, TB.")
    read_gb_per_s: Number = Field(gt=0, description="Target aggregate read bandwidth, GB/s.")
    write_gb_per_s: Number = Field(gt=0, description="Target aggregate write bandwidth, GB/s.")
    mount_path: AbsolutePath | None = Field(None, description="Where nodes mount it (filesystems).")
    reclaim_policy: Literal["Retain", "Delete"] = Field("Retain", description="PV reclaim policy.")
    encrypted: Flag = Field(
        False,
        description=(
            "Data encrypted at rest: configured for rook-ceph (dm-crypt OSDs) and weka (the CSI driver provisions "
            "only in an encrypted filesystem); vast and exascaler need encryption_attested."
        ),
    )
    encryption_attested: Flag = Field(
        False,
        description=(
            "vast and exascaler only: the site attests that the storage system itself encrypts all data at rest, "
            "a setting of the system that its CSI driver can neither set nor check (verify it on the system)."
        ),
    )
    kms: KeyManager | None = Field(None, description="Rook-Ceph only: the key manager holding the encryption keys.")
    tenants: tuple[DnsLabel, ...] = Field((), description="Tenants allowed to use it.")
    endpoint: str = environment("Storage endpoint: Lustre NID and fs, WEKA/VAST API, Ceph cluster.", min_length=1)
    credentials_secret: SecretRef | None = environment("Pulumi config secret with API credentials.", default=None)
    view_policy: str | None = Field(
        None, min_length=1, description="VAST only: view policy of the volumes it creates (default: the name)."
    )
    vip_pool: str | None = Field(
        None, min_length=1, description="VAST only: virtual-IP pool clients mount through (default: the name)."
    )

    @rule
    def tenants_listed_once(self) -> Iterator[Problem]:
        for k, name in enumerate(self.tenants):
            if name in self.tenants[:k]:
                yield Problem(
                    ("tenants", k),
                    f"{name} is already listed at tenants[{self.tenants.index(name)}]",
                    "list each tenant once",
                )

    @rule
    def encryption_keys_in_a_key_manager(self) -> Iterator[Problem]:
        # kms moves Rook's OSD keys out of Kubernetes Secrets into the key manager (Rook docs, "Key
        # Management System"); VAST and WEKA keep theirs on the storage system.
        if self.kms is not None and self.kind != "rook-ceph":
            yield Problem(
                ("kms",),
                f"kind {self.kind} keeps its encryption keys on the storage system itself; kms configures Rook-Ceph",
                "remove kms and set up the key manager on the storage system",
            )
        elif self.kms is not None and not self.encrypted:
            yield Problem(("kms",), "a key manager without encrypted: true encrypts nothing", "set encrypted: true")

    @rule
    def encryption_at_rest_is_configured_or_attested(self) -> Iterator[Problem]:
        # How the kind's encryption at rest comes about: StorageDriver.encryption_at_rest.
        how = driver_for(self.kind).encryption_at_rest
        if self.encrypted and how == "attested" and not self.encryption_attested:
            yield Problem(
                ("encrypted",),
                f"kind {self.kind} encrypts at rest by a setting of the storage system itself, which its CSI driver "
                "can neither set nor check (no StorageClass parameter for it): encrypted: true alone is only a label",
                "if the system encrypts all data at rest, attest it with encryption_attested: true and verify it "
                "on the system; or keep the data on a kind whose encryption gigafactory configures (weka, rook-ceph)",
            )
        if self.encrypted and self.kind == "weka" and self.credentials_secret is None:
            # csi.weka.io checks the filesystem's encryption through the WEKA API ("cannot create
            # encrypted volume without API binding", csi-wekafs v2.8.8 pkg/wekafs/volume.go).
            yield Problem(
                ("encrypted",),
                "the WEKA CSI driver checks that the filesystem is encrypted through the WEKA API, and "
                "credentials_secret is not set: it would refuse every volume",
                "set credentials_secret to the Pulumi config secret with the WEKA API credentials",
            )
        if self.encryption_attested and how == "configured":
            yield Problem(
                ("encryption_attested",),
                f"kind {self.kind}'s encryption at rest is configured by gigafactory, not attested",
                "remove encryption_attested; encrypted: true configures it",
            )
        elif self.encryption_attested and not self.encrypted:
            yield Problem(
                ("encryption_attested",),
                "attests encryption at rest, and encrypted is false",
                "set encrypted: true, or remove encryption_attested",
            )

    @rule
    def interface_fits_kind(self) -> Iterator[Problem]:
        if self.interface != "filesystem" and self.kind != "rook-ceph":
            yield Problem(
                ("interface",),
                f"kind {self.kind} is served here as a filesystem only (got interface {self.interface})",
                "use interface: filesystem, or kind: rook-ceph for object or block storage",
            )
        if self.interface == "filesystem" and self.mount_path is None:
            yield Problem(("mount_path",), "is required for a filesystem", "set mount_path, e.g. /lustre/datasets")
        if self.interface != "filesystem" and self.mount_path is not None:
            yield Problem(("mount_path",), f"an {self.interface} store is not mounted on nodes", "remove mount_path")


class GpuOperator(Model):
    """NVIDIA GPU Operator release and the driver it installs."""

    version: ReleaseVersion = Field(GPU_OPERATOR_VERSION, description="GPU Operator chart version.")
    driver_version: DriverVersion = Field(GPU_DRIVER_VERSION, description="NVIDIA driver version.")
    kernel_module_type: Literal["auto", "open", "proprietary"] = Field("auto", description="Driver modules.")
    rdma: Flag = Field(True, description="GPUDirect RDMA (nvidia-peermem / DMA-BUF).")


class NetworkOperator(Model):
    """NVIDIA Network Operator release and the DOCA-OFED driver it installs."""

    version: ReleaseVersion = Field(NETWORK_OPERATOR_VERSION, description="Network Operator chart version.")
    doca_ofed_version: str = Field(DOCA_OFED_VERSION, description="DOCA-OFED driver container version.")
    ofed_max_parallel_upgrades: Integer | None = Field(
        None,
        ge=1,
        description=(
            "DOCA-OFED driver upgrades in parallel across the cluster (one setting for every node). "
            "Default: the sum of what each pool's driver_upgrade allows (a pool with 0 counts all its nodes)."
        ),
    )


class Release(Model):
    """A pinned Helm release version."""

    version: ReleaseVersion = Field(description="Chart version.")


class Monitoring(Release):
    """kube-prometheus-stack, and its Prometheus sized for the site's DCGM and node metrics."""

    version: ReleaseVersion = Field(KUBE_PROMETHEUS_STACK_VERSION, description="Chart version.")
    retention: str = Field("15d", pattern=r"^[0-9]+(ms|s|m|h|d|w|y)$", description="How long metrics are kept.")
    storage_gi: PositiveInt = Field(
        500, description="Persistent volume of each Prometheus shard, GiB (retention also stops at 90% of it)."
    )
    storage_class: str | None = Field(
        None, min_length=1, description="StorageClass of Prometheus' volumes; default: the cluster's default class."
    )
    shards: PositiveInt | None = Field(
        None, description="Prometheus shards; default: one per 1,000 nodes (about 3 million series each)."
    )


class Operators(Model):
    """Pinned versions of every operator the site runs."""

    gpu_operator: GpuOperator = Field(default_factory=GpuOperator, description="GPU Operator.")
    network_operator: NetworkOperator = Field(default_factory=NetworkOperator, description="Network Operator.")
    kueue: Release = Field(default_factory=lambda: Release(version=KUEUE_VERSION), description="Kueue.")
    node_feature_discovery: Release = Field(
        default_factory=lambda: Release(version=NFD_VERSION), description="Node Feature Discovery."
    )
    cert_manager: Release = Field(
        default_factory=lambda: Release(version=CERT_MANAGER_VERSION), description="cert-manager."
    )
    monitoring: Monitoring = Field(default_factory=Monitoring, description="kube-prometheus-stack.")

    RENAMED: ClassVar[dict[str, str]] = {"nfd": "node_feature_discovery", "prometheus": "monitoring"}
