"""``StorageSystem``: one storage kind's CSI driver and every system of that kind the site has."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.credentials import credential, string_data
from components.kube import custom_resource, helm_release, meta, pod_security_labels
from components.labels import ENCRYPTED_LABEL, STORAGE_SYSTEM_LABEL
from components.storage.driver import (
    KMS_FIELDS,
    DriverChart,
    StorageDriver,
    StorageSpec,
    quantity_tb,
    storage_class_name,
)
from components.storage.drivers import driver_for


@dataclass(frozen=True)
class TenantShare:
    """A tenant's share of one storage system."""

    tenant: str
    """Tenant name."""

    namespace: pulumi.Resource
    """The tenant's Namespace (its shared PVC lives there)."""

    namespace_name: str
    """The tenant's namespace name."""

    quota_tb: float
    """The tenant's quota on the system, TB."""


@dataclass(frozen=True)
class StorageSystemArgs:
    """What a ``StorageSystem`` needs. An unknown kind, or a system another driver serves, is refused here."""

    kind: str
    """Storage kind: a key of ``components.storage.drivers.DRIVERS``."""

    systems: tuple[StorageSpec, ...]
    """Every storage system of this kind in the site."""

    shares: Mapping[str, tuple[TenantShare, ...]] = field(default_factory=dict)
    """Tenants' shares by system name; each filesystem share becomes a PVC in the tenant's namespace."""

    node_tolerations: tuple[dict[str, Any], ...] = ()
    """Tolerations the driver's node plugin needs to reach tainted (dedicated) pools."""

    def __post_init__(self) -> None:
        driver = driver_for(self.kind)
        for system in self.systems:
            if system.kind != self.kind:
                raise ValueError(f"storage system {system.name} is of kind {system.kind}, not {self.kind}")
            if system.interface not in driver.interfaces:
                raise ValueError(
                    f"storage system {system.name}: kind {self.kind} serves {', '.join(driver.interfaces)}, "
                    f"not {system.interface}"
                )

    @property
    def driver(self) -> StorageDriver:
        """The kind's driver."""
        return driver_for(self.kind)


class StorageSystem(pulumi.ComponentResource):
    """The storage of one kind: its CSI driver release and, per configured system, what tenants use.

    Creates:
    - the driver's Helm release(s), pinned, each after the one before (EXAScaler ``exa-csi``, WEKA
      ``csi-wekafsplugin``, VAST ``vastcsi``, Rook ``rook-ceph``), and the kind's further
      releases (Rook: ``rook-ceph-cluster`` per Ceph cluster namespace, protected: it holds the
      CephCluster);
    - per system: its API credentials as a ``Secret`` from a Pulumi config secret (never in
      clear), the custom resource backing it where the kind has one (Rook ``CephFilesystem`` /
      ``CephObjectStore`` / ``CephBlockPool``, protected), and its ``StorageClass`` (protected;
      reclaim policy from the config, Retain by default, so datasets and checkpoints outlive their
      claims; labelled encrypted or not); where the driver's chart makes the class (VAST), a
      server-side-apply patch that adds those labels to it;
    - per tenant share of a filesystem: a ``ReadWriteMany`` PVC of the tenant's quota in the
      tenant's namespace (protected).

    Outputs: ``storage_classes`` (system -> class), ``encrypted_classes``, ``releases``.
    """

    storage_classes: pulumi.Output[dict[str, str]]
    encrypted_classes: pulumi.Output[list[str]]
    releases: pulumi.Output[list[str]]

    def __init__(self, name: str, args: StorageSystemArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gigafactory:storage:StorageSystem", name, None, opts)
        self._name = name
        driver = args.driver
        ready = self._driver_releases(driver, args)
        names = [c.release for c in driver.charts]
        keys = self._key_manager_secrets(driver, args, ready)
        ready += keys
        for extra in driver.extra_releases(args.systems):
            namespace = self._namespace(extra.chart.namespace).metadata.name if extra.own_namespace else None
            ready.append(
                self._release(
                    extra.chart,
                    namespace if namespace is not None else extra.chart.namespace,
                    dict(extra.values),
                    protect=extra.protect,
                    # After the driver and the key managers' credentials the cluster reads.
                    depends_on=[*ready[: len(driver.charts)], *keys],
                )
            )
            names.append(extra.chart.release)

        classes: dict[str, str] = {}
        for system in args.systems:
            secret = self._credentials(driver, system, ready)
            backing = self._backing_store(driver, system, ready)
            depends = [*ready, *([secret] if secret else []), *([backing] if backing else [])]
            classes[system.name] = self._storage_class(driver, system, secret is not None, depends)
            if system.interface == "filesystem":
                for share in args.shares.get(system.name, ()):
                    self._claim(system, share, classes[system.name], depends)

        self.storage_classes = pulumi.Output.from_input(classes)
        self.encrypted_classes = pulumi.Output.from_input(sorted(classes[s.name] for s in args.systems if s.encrypted))
        self.releases = pulumi.Output.from_input(names)
        self.register_outputs(
            {
                "storage_classes": self.storage_classes,
                "encrypted_classes": self.encrypted_classes,
                "releases": self.releases,
            }
        )

    # -- driver --------------------------------------------------------------------------------

    def _driver_releases(self, driver: StorageDriver, args: StorageSystemArgs) -> list[pulumi.Resource]:
        made: list[pulumi.Resource] = []
        namespaces: dict[str, k8s.core.v1.Namespace] = {}
        for chart in driver.charts:
            if chart.namespace not in namespaces:
                namespaces[chart.namespace] = self._namespace(chart.namespace)
            values = driver.chart_values(chart, args.systems, args.node_tolerations)
            # Each chart after the first needs what the one before installs (CRDs, the operator).
            made.append(self._release(chart, namespaces[chart.namespace].metadata.name, values, depends_on=made[-1:]))
        return made

    def _namespace(self, name: str) -> k8s.core.v1.Namespace:
        # CSI node plugins mount host paths: their namespace must admit privileged pods.
        labels = pod_security_labels("privileged", modes=("enforce",))
        return k8s.core.v1.Namespace(
            f"{self._name}-ns-{name}", metadata=meta(name, labels=labels), opts=pulumi.ResourceOptions(parent=self)
        )

    def _release(
        self,
        chart: DriverChart,
        namespace: pulumi.Input[str],
        values: dict[str, Any],
        *,
        protect: bool = False,
        depends_on: list[pulumi.Resource] | None = None,
    ) -> k8s.helm.v3.Release:
        return helm_release(
            f"{self._name}-{chart.release}",
            release=chart.release,
            chart=chart.chart,
            version=chart.version,
            namespace=namespace,
            values=values,
            repo=chart.repo,
            opts=pulumi.ResourceOptions(parent=self, protect=protect, depends_on=depends_on or []),
        )

    # -- per system ----------------------------------------------------------------------------

    def _credentials(
        self, driver: StorageDriver, system: StorageSpec, ready: list[pulumi.Resource]
    ) -> k8s.core.v1.Secret | None:
        if system.credentials_secret is None:
            return None
        fields = credential(system.credentials_secret, driver.credential_fields, driver.credential_defaults)
        secret = driver.credential_secret(system)
        return k8s.core.v1.Secret(
            f"{self._name}-{system.name}-credentials",
            metadata=meta(secret.name, secret.namespace, labels={STORAGE_SYSTEM_LABEL: system.name}),
            type="Opaque",
            string_data=string_data(fields, secret.keys, secret.plain),
            opts=pulumi.ResourceOptions(parent=self, depends_on=ready),
        )

    def _key_manager_secrets(
        self, driver: StorageDriver, args: StorageSystemArgs, ready: list[pulumi.Resource]
    ) -> list[pulumi.Resource]:
        """The Secrets holding the key managers' credentials, from Pulumi config secrets (never in clear)."""
        made: list[pulumi.Resource] = []
        for kms, secret in driver.key_manager_secrets(args.systems):
            fields = credential(kms.secret, KMS_FIELDS[kms.provider])
            made.append(
                k8s.core.v1.Secret(
                    f"{self._name}-{secret.namespace}-kms",
                    metadata=meta(secret.name, secret.namespace),
                    type="Opaque",
                    string_data=string_data(fields, secret.keys, secret.plain),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=ready),
                )
            )
        return made

    def _backing_store(
        self, driver: StorageDriver, system: StorageSpec, ready: list[pulumi.Resource]
    ) -> pulumi.Resource | None:
        store = driver.backing_store(system)
        if store is None:
            return None
        return custom_resource(
            f"{self._name}-{system.name}-{store.suffix}",
            store.api_version,
            store.kind,
            meta(store.name, store.namespace, {STORAGE_SYSTEM_LABEL: system.name}),
            dict(store.spec),
            # The store holds the system's data.
            pulumi.ResourceOptions(parent=self, protect=True, depends_on=ready),
        )

    def _storage_class(
        self, driver: StorageDriver, system: StorageSpec, has_secret: bool, depends: list[pulumi.Resource]
    ) -> str:
        spec = driver.storage_class(system, has_secret)
        labels = {STORAGE_SYSTEM_LABEL: system.name, ENCRYPTED_LABEL: "true" if system.encrypted else "false"}
        if driver.classes_from_chart:
            # The chart owns the class; a server-side-apply patch adds the site's labels (a map:
            # each key has its own owner, so no conflict with Helm's fields).
            k8s.storage.v1.StorageClassPatch(
                f"{self._name}-{system.name}-class-labels",
                metadata=meta(storage_class_name(system.name), labels=labels),
                provisioner=spec.provisioner,
                opts=pulumi.ResourceOptions(parent=self, depends_on=depends),
            )
            return storage_class_name(system.name)
        k8s.storage.v1.StorageClass(
            f"{self._name}-{system.name}-class",
            metadata=meta(storage_class_name(system.name), labels=labels),
            provisioner=spec.provisioner,
            parameters=dict(spec.parameters),
            reclaim_policy=system.reclaim_policy,
            allow_volume_expansion=system.interface != "object",
            volume_binding_mode="Immediate",
            # A class holding datasets and checkpoints: replacing it would orphan its volumes' policy.
            opts=pulumi.ResourceOptions(parent=self, protect=True, depends_on=depends),
        )
        return storage_class_name(system.name)

    def _claim(
        self, system: StorageSpec, share: TenantShare, storage_class: str, depends: list[pulumi.Resource]
    ) -> None:
        spec: Any = {
            "accessModes": ["ReadWriteMany"],
            "storageClassName": storage_class,
            "resources": {"requests": {"storage": quantity_tb(share.quota_tb)}},
        }
        k8s.core.v1.PersistentVolumeClaim(
            f"{self._name}-{system.name}-{share.tenant}",
            metadata=meta(system.name, share.namespace_name, labels={STORAGE_SYSTEM_LABEL: system.name}),
            spec=spec,
            # The tenant's shared data: never deleted or replaced by a deployment.
            opts=pulumi.ResourceOptions(parent=self, protect=True, depends_on=[share.namespace, *depends]),
        )
