"""The storage-driver interface: what composition asks of one storage kind's CSI driver.

A ``StorageDriver`` turns ``StorageSpec`` values (plain-data ``TypedDict``) into chart values,
storage-class parameters, the credential Secret it reads and, where the kind has them, extra
releases and backing stores. Drivers are pure (no Pulumi resources): ``StorageSystem`` creates the objects.
One driver per kind, registered in ``components.storage.drivers.DRIVERS``.
"""

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from typing_extensions import NotRequired, TypedDict

# The CSI secret parameters a StorageClass names so the external provisioner, attacher, resizer
# and node plugin find the driver's credentials (kubernetes-csi docs, "Secrets and Credentials").
CSI_SECRET_PARAMS = (
    "csi.storage.k8s.io/provisioner-secret",
    "csi.storage.k8s.io/controller-publish-secret",
    "csi.storage.k8s.io/controller-expand-secret",
    "csi.storage.k8s.io/node-stage-secret",
    "csi.storage.k8s.io/node-publish-secret",
)


# Fields of a key manager's Pulumi config credential, per provider (what Rook's token Secret holds).
KMS_FIELDS: dict[str, tuple[str, ...]] = {"vault": ("token",), "kmip": ("ca_cert", "client_cert", "client_key")}


class KeyManagerSpec(TypedDict):
    """The key manager that holds a storage system's encryption keys (Rook-Ceph)."""

    provider: str
    """vault or kmip."""

    address: str
    """Vault URL or KMIP host:port."""

    secret: str
    """Pulumi config secret holding its credentials (``KMS_FIELDS``)."""


class StorageServer(TypedDict):
    """A storage node that serves a self-hosted kind (Ceph): its hostname, the disks it gives, its rack."""

    name: str
    """The node's hostname."""

    devices: list[str]
    """The disks Ceph may take, e.g. ``nvme0n1``."""

    rack: str
    """The rack it stands in."""


class StorageSpec(TypedDict):
    """One storage system as its driver sees it: plain values, no site model."""

    name: str
    """System name; also its StorageClass name."""

    kind: str
    """Storage kind: a key of ``DRIVERS``."""

    endpoint: str
    """Where the system is reached (Lustre NID and fs, WEKA/VAST API, ``<namespace>/<store>`` for Rook)."""

    interface: NotRequired[str]
    """filesystem, object or block (default: filesystem)."""

    mount_path: NotRequired[str]
    """Where nodes mount it (filesystems; default: none)."""

    reclaim_policy: NotRequired[str]
    """Reclaim policy of its StorageClass (default: Retain)."""

    encrypted: NotRequired[bool]
    """Data encrypted at rest (default: false)."""

    kms: NotRequired[KeyManagerSpec]
    """The key manager holding the encryption keys (Rook-Ceph; default: none, keys in Kubernetes Secrets)."""

    in_transit_encryption: NotRequired[bool]
    """Traffic to and from the system is encrypted (a regulated tenant has a share of it; default: false)."""

    credentials_secret: NotRequired[str]
    """Pulumi config secret holding the API credentials, if the kind has any (default: none)."""

    view_policy: NotRequired[str]
    """VAST: the view policy of volumes it creates (default: the system's name)."""

    vip_pool: NotRequired[str]
    """VAST: the virtual-IP pool clients mount through (default: the system's name)."""

    servers: NotRequired[list[StorageServer]]
    """Self-hosted kinds (Rook): the storage nodes its daemons and OSDs run on, and nowhere else (default: none)."""


def interface_of(system: StorageSpec) -> str:
    """How ``system`` is consumed: its ``interface``, filesystem by default."""
    return system.get("interface", "filesystem")


def reclaim_policy_of(system: StorageSpec) -> str:
    """The reclaim policy of ``system``'s StorageClass: Retain by default."""
    return system.get("reclaim_policy", "Retain")


@dataclass(frozen=True)
class DriverChart:
    """One Helm chart that installs (part of) a storage kind's driver."""

    release: str
    chart: str
    version: str
    repo: str | None
    namespace: str


@dataclass(frozen=True)
class CredentialSecret:
    """The Secret a driver reads its API credentials from, and how its keys map to credential fields."""

    name: str
    namespace: str
    keys: Mapping[str, str]
    """Secret key -> credential field (values stay secret)."""

    plain: Mapping[str, str] = field(default_factory=dict)
    """Secret keys whose values are not secret (an endpoint)."""


@dataclass(frozen=True)
class ClassSpec:
    """A StorageClass's provisioner and parameters."""

    provisioner: str
    parameters: Mapping[str, str]


@dataclass(frozen=True)
class ExtraRelease:
    """A further release of the driver's kind (Rook: one cluster release per Ceph namespace)."""

    chart: DriverChart
    values: Mapping[str, Any]
    own_namespace: bool
    """True when the release's namespace is not the driver's and must be created."""

    protect: bool = False


@dataclass(frozen=True)
class BackingStore:
    """A custom resource that backs one storage system (Rook: filesystem, object store, pool)."""

    suffix: str
    """Resource-name suffix (``filesystem``, ``objectstore``, ``blockpool``)."""

    api_version: str
    kind: str
    name: str
    namespace: str
    spec: Mapping[str, Any]


class StorageDriver(ABC):
    """A storage kind's CSI driver: the one interface every kind implements."""

    kind: ClassVar[str]
    """The ``kind`` of site storage systems this driver serves."""

    charts: ClassVar[tuple[DriverChart, ...]]
    """Driver releases, installed in order (each after the one before); the first is the driver."""

    provisioner: ClassVar[str]
    """The CSI driver name of its filesystems."""

    interfaces: ClassVar[tuple[str, ...]] = ("filesystem",)
    """How its systems may be consumed."""

    filesystem_types: ClassVar[tuple[str, ...]]
    """Types ``/proc/mounts`` shows for a mounted system of this kind (node acceptance)."""

    encryption_at_rest: ClassVar[Literal["configured", "attested"]]
    """How a system's encryption at rest comes about. ``configured``: gigafactory writes it and the
    cluster enforces it. ``attested``: a setting of the storage system that its CSI driver can neither
    set nor check, so only the site can state it (the site's ``encryption_attested``)."""

    credential_fields: ClassVar[tuple[str, ...]] = ("username", "password")
    """Fields its Pulumi config credential secret must hold."""

    credential_defaults: ClassVar[Mapping[str, str]] = {}
    """Optional credential fields and their defaults."""

    classes_from_chart: ClassVar[bool] = False
    """The driver's chart creates each system's StorageClass (from ``chart_values``), not the component."""

    @property
    def namespace(self) -> str:
        """Namespace of the driver (its first chart)."""
        return self.charts[0].namespace

    @abstractmethod
    def chart_values(
        self, chart: DriverChart, systems: Sequence[StorageSpec], tolerations: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        """Helm values of ``chart`` serving ``systems``; node plugins tolerate ``tolerations``."""

    @abstractmethod
    def credential_secret(self, system: StorageSpec) -> CredentialSecret:
        """The Secret holding ``system``'s credentials (its name is spelt here only)."""

    @abstractmethod
    def storage_class(self, system: StorageSpec, with_secret: bool) -> ClassSpec:
        """Provisioner and parameters of ``system``'s StorageClass (``with_secret``: credentials exist)."""

    def extra_releases(self, systems: Sequence[StorageSpec]) -> tuple[ExtraRelease, ...]:
        """Releases beyond ``charts`` that ``systems`` need, installed after the driver."""
        return ()

    def backing_store(self, system: StorageSpec) -> BackingStore | None:
        """The custom resource backing ``system``, if the kind has one."""
        return None

    def key_manager_secrets(
        self, systems: Sequence[StorageSpec]
    ) -> tuple[tuple[KeyManagerSpec, CredentialSecret], ...]:
        """Secrets the driver reads its key managers' credentials from (before its extra releases)."""
        return ()


def csi_secret_parameters(secret: CredentialSecret) -> dict[str, str]:
    """StorageClass parameters naming ``secret`` for every CSI operation."""
    params: dict[str, str] = {}
    for prefix in CSI_SECRET_PARAMS:
        params[f"{prefix}-name"] = secret.name
        params[f"{prefix}-namespace"] = secret.namespace
    return params


def storage_class_name(system: str) -> str:
    """The StorageClass of a storage system: the system's name."""
    return system


def quantity_tb(terabytes: float) -> str:
    """A size in TB as a Kubernetes quantity (decimal units, as storage vendors count)."""
    if float(terabytes).is_integer():
        return f"{int(terabytes)}T"
    return f"{round(terabytes * 1000)}G"
