"""``StorageSystem``: one storage kind's CSI driver and every system of that kind the site has."""

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from typing_extensions import NotRequired, TypedDict

from components.args import plain_args
from components.credentials import credential, string_data
from components.kube import (
    child_options,
    component_options,
    component_type,
    custom_resource,
    helm_release,
    meta,
    pod_security_labels,
)
from components.labels import ENCRYPTED_LABEL, STORAGE_SYSTEM_LABEL, Taint, tolerations_for
from components.storage.driver import (
    KMS_FIELDS,
    DriverChart,
    StorageDriver,
    StorageSpec,
    interface_of,
    quantity_tb,
    reclaim_policy_of,
    storage_class_name,
)
from components.storage.drivers import driver_for

# The token sites were deployed with before the component package (kept as an alias).
FORMER_TYPE = "gigafactory:storage:StorageSystem"


class TenantShare(TypedDict):
    """A tenant's share of one storage system: a claim of its quota in the tenant's namespace."""

    tenant: str
    """Tenant name."""

    namespace: str
    """The tenant's namespace, where its shared claim lives (the component waits for it through
    ``opts.depends_on``)."""

    quota_tb: float
    """The tenant's quota on the system, TB."""


class StorageSystemArgs(TypedDict):
    """What a ``StorageSystem`` needs: one storage kind and every system of that kind, with the tenants' shares."""

    kind: str
    """Storage kind: a key of ``components.storage.drivers.DRIVERS`` (exascaler, weka, vast, rook-ceph)."""

    systems: list[StorageSpec]
    """Every storage system of this kind in the site."""

    shares: NotRequired[dict[str, list[TenantShare]]]
    """Tenants' shares by system name; each filesystem share becomes a PVC in the tenant's namespace
    (default: none)."""

    node_taints: NotRequired[list[Taint]]
    """Taints of the (dedicated) pools the driver's node plugin must reach; it tolerates each (default: none)."""


def storage_driver(args: StorageSystemArgs) -> StorageDriver:
    """The driver of ``args``' kind; an unknown kind, or a system another driver serves, is refused."""
    driver = driver_for(args["kind"])
    for system in args["systems"]:
        if system["kind"] != args["kind"]:
            raise ValueError(f"storage system {system['name']} is of kind {system['kind']}, not {args['kind']}")
        if interface_of(system) not in driver.interfaces:
            raise ValueError(
                f"storage system {system['name']}: kind {args['kind']} serves {', '.join(driver.interfaces)}, "
                f"not {interface_of(system)}"
            )
    return driver


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
      tenant's namespace (protected), after what ``opts.depends_on`` names (the namespaces).

    Outputs: ``storage_classes`` (system -> class), ``encrypted_classes``, ``releases``.
    """

    storage_classes: pulumi.Output[dict[str, str]]
    """The StorageClass of each system, by system name."""

    encrypted_classes: pulumi.Output[list[str]]
    """StorageClasses whose data is encrypted at rest (what regulated tenants may claim)."""

    releases: pulumi.Output[list[str]]
    """Names of the Helm releases the kind installs, in install order."""

    def __init__(self, name: str, args: StorageSystemArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(component_type(StorageSystem), name, None, component_options(opts, FORMER_TYPE))
        args = plain_args(args, StorageSystemArgs)
        self._name = name
        self._opts = opts
        driver = storage_driver(args)
        systems = args["systems"]
        tolerations = tolerations_for(args.get("node_taints", []))
        ready = self._driver_releases(driver, systems, tolerations)
        names = [c.release for c in driver.charts]
        keys = self._key_manager_secrets(driver, systems, ready)
        ready += keys
        for extra in driver.extra_releases(systems):
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

        shares = args.get("shares", {})
        classes: dict[str, str] = {}
        for system in systems:
            secret = self._credentials(driver, system, ready)
            backing = self._backing_store(driver, system, ready)
            depends = [*ready, *([secret] if secret else []), *([backing] if backing else [])]
            classes[system["name"]] = self._storage_class(driver, system, secret is not None, depends)
            if interface_of(system) == "filesystem":
                for share in shares.get(system["name"], []):
                    self._claim(system, share, classes[system["name"]], depends)

        self.storage_classes = pulumi.Output.from_input(classes)
        self.encrypted_classes = pulumi.Output.from_input(
            sorted(classes[s["name"]] for s in systems if s.get("encrypted", False))
        )
        self.releases = pulumi.Output.from_input(names)
        self.register_outputs(
            {
                "storage_classes": self.storage_classes,
                "encrypted_classes": self.encrypted_classes,
                "releases": self.releases,
            }
        )

    # -- driver --------------------------------------------------------------------------------

    def _driver_releases(
        self, driver: StorageDriver, systems: list[StorageSpec], tolerations: list[dict[str, Any]]
    ) -> list[pulumi.Resource]:
        made: list[pulumi.Resource] = []
        namespaces: dict[str, k8s.core.v1.Namespace] = {}
        for chart in driver.charts:
            if chart.namespace not in namespaces:
                namespaces[chart.namespace] = self._namespace(chart.namespace)
            values = driver.chart_values(chart, systems, tolerations)
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
        credentials_secret = system.get("credentials_secret")
        if credentials_secret is None:
            return None
        fields = credential(credentials_secret, driver.credential_fields, driver.credential_defaults)
        secret = driver.credential_secret(system)
        return k8s.core.v1.Secret(
            f"{self._name}-{system['name']}-credentials",
            metadata=meta(secret.name, secret.namespace, labels={STORAGE_SYSTEM_LABEL: system["name"]}),
            type="Opaque",
            string_data=string_data(fields, secret.keys, secret.plain),
            opts=pulumi.ResourceOptions(parent=self, depends_on=ready),
        )

    def _key_manager_secrets(
        self, driver: StorageDriver, systems: list[StorageSpec], ready: list[pulumi.Resource]
    ) -> list[pulumi.Resource]:
        """The Secrets holding the key managers' credentials, from Pulumi config secrets (never in clear)."""
        made: list[pulumi.Resource] = []
        for kms, secret in driver.key_manager_secrets(systems):
            fields = credential(kms["secret"], KMS_FIELDS[kms["provider"]])
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
            f"{self._name}-{system['name']}-{store.suffix}",
            store.api_version,
            store.kind,
            meta(store.name, store.namespace, {STORAGE_SYSTEM_LABEL: system["name"]}),
            dict(store.spec),
            # The store holds the system's data.
            pulumi.ResourceOptions(parent=self, protect=True, depends_on=ready),
        )

    def _storage_class(
        self, driver: StorageDriver, system: StorageSpec, has_secret: bool, depends: list[pulumi.Resource]
    ) -> str:
        spec = driver.storage_class(system, has_secret)
        name = system["name"]
        labels = {STORAGE_SYSTEM_LABEL: name, ENCRYPTED_LABEL: "true" if system.get("encrypted", False) else "false"}
        if driver.classes_from_chart:
            # The chart owns the class; a server-side-apply patch adds the site's labels (a map:
            # each key has its own owner, so no conflict with Helm's fields).
            k8s.storage.v1.StorageClassPatch(
                f"{self._name}-{name}-class-labels",
                metadata=meta(storage_class_name(name), labels=labels),
                provisioner=spec.provisioner,
                opts=pulumi.ResourceOptions(parent=self, depends_on=depends),
            )
            return storage_class_name(name)
        k8s.storage.v1.StorageClass(
            f"{self._name}-{name}-class",
            metadata=meta(storage_class_name(name), labels=labels),
            provisioner=spec.provisioner,
            parameters=dict(spec.parameters),
            reclaim_policy=reclaim_policy_of(system),
            allow_volume_expansion=interface_of(system) != "object",
            volume_binding_mode="Immediate",
            # A class holding datasets and checkpoints: replacing it would orphan its volumes' policy.
            opts=pulumi.ResourceOptions(parent=self, protect=True, depends_on=depends),
        )
        return storage_class_name(name)

    def _claim(
        self, system: StorageSpec, share: TenantShare, storage_class: str, depends: list[pulumi.Resource]
    ) -> None:
        spec: Any = {
            "accessModes": ["ReadWriteMany"],
            "storageClassName": storage_class,
            "resources": {"requests": {"storage": quantity_tb(share["quota_tb"])}},
        }
        name = system["name"]
        k8s.core.v1.PersistentVolumeClaim(
            f"{self._name}-{name}-{share['tenant']}",
            metadata=meta(name, share["namespace"], labels={STORAGE_SYSTEM_LABEL: name}),
            spec=spec,
            # The tenant's shared data: never deleted or replaced by a deployment. After the
            # tenants' namespaces (the component's depends_on) and the class.
            opts=pulumi.ResourceOptions.merge(
                child_options(self, self._opts, *depends), pulumi.ResourceOptions(protect=True)
            ),
        )
