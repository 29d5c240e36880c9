"""The composed site, for both bundled sites: structure, secrets, schemas, and a regulated tenant's isolation.

The 13,896-node site (about 500 resources: one NodeFeatureRule per scalable unit, none per node)
is composed once per session (``gigafactory_site``) and its tests are marked slow; the rest use the pilot.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from kube_schemas import ObjectValidator, default_crds_dir

from components.compute.node_identity import pattern_names
from components.labels import POOL_LABEL, TENANT_LABEL
from infra.config.loader import load_site
from infra.config.model import SiteConfig
from infra.config.schema import DriverUpgrade
from infra.engine.manifests import is_kubernetes_object, manifest
from infra.engine.runtime import SECRET, RecordedResource, record_program
from infra.site import SITE_TYPE, build_site, gpu_limit, planning_secret_values, secret_names, strictest_upgrade

REPO = Path(__file__).resolve().parents[1]
CANARY = "Zq7-leak-canary-4b1f9e"
PROVIDER_TYPE = "pulumi:providers:kubernetes"


@dataclass(frozen=True)
class ComposedSite:
    """A site composed on the mock runtime, with how long that took."""

    config: SiteConfig
    resources: tuple[RecordedResource, ...]
    seconds: float

    def objects(self, kind: str, namespace: str | None = None) -> list[RecordedResource]:
        return [
            r
            for r in self.resources
            if is_kubernetes_object(r)
            and r.inputs.get("kind") == kind
            and (namespace is None or r.inputs["metadata"].get("namespace") == namespace)
        ]

    def one(self, kind: str, name: str, namespace: str | None = None) -> RecordedResource:
        found = [r for r in self.objects(kind, namespace) if r.inputs["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {namespace or ''}/{name}, found {len(found)}"
        return found[0]


def canary_secrets(config: SiteConfig) -> dict[str, str]:
    """Every secret the site reads, each field holding the canary value."""
    shapes = {name: json.loads(value) for name, value in planning_secret_values(config).items()}
    return {name: json.dumps({field: f"{CANARY}-{field}" for field in fields}) for name, fields in shapes.items()}


def compose(path: Path, kube_context: str | None = None) -> ComposedSite:
    config = load_site(path)
    start = time.perf_counter()
    resources = record_program(
        lambda: build_site(config, kube_context=kube_context),
        project="gigafactory",
        stack=config.site.name,
        secret_config=canary_secrets(config),
    )
    return ComposedSite(config, tuple(resources), time.perf_counter() - start)


@pytest.fixture(scope="module")
def pilot_site() -> ComposedSite:
    return compose(REPO / "site-configs" / "eu-pilot.yaml")


@pytest.fixture(scope="session")
def gigafactory_site() -> Iterator[ComposedSite]:
    site = compose(REPO / "site-configs" / "eu-gigafactory.yaml")
    yield site
    print(f"\ncomposed eu-gigafactory: {len(site.resources):,} resources in {site.seconds:.1f} s")


def validate_all(site: ComposedSite) -> list[str]:
    crds = default_crds_dir()
    if crds is None:
        pytest.skip("no CRD folder at ../shared/crds (or $GIGAFACTORY_CRDS_DIR): custom resources cannot be validated")
    validator = ObjectValidator(site.config.site.kubernetes_version, crds)
    problems = []
    for resource in site.resources:
        if not is_kubernetes_object(resource):
            continue
        body = manifest(resource)
        # pulumi-kubernetes marks a Secret's whole stringData secret, so the recorder hides the map.
        if body.get("stringData") == SECRET:
            body["stringData"] = {"redacted": SECRET}
        problems += [f"{resource.urn}: {e}" for e in validator.errors(body)]
    return problems


# -- structure ------------------------------------------------------------------------------------


def test_one_site_one_provider_every_component_under_the_site(pilot_site: ComposedSite) -> None:
    roots = [r for r in pilot_site.resources if r.type == SITE_TYPE]
    assert len(roots) == 1
    root = roots[0]
    providers = [r for r in pilot_site.resources if r.type == PROVIDER_TYPE]
    assert len(providers) == 1
    provider = providers[0]
    assert provider.inputs["context"] == "eu-pilot-admin"
    assert provider.inputs["enableServerSideApply"] == "true"
    components = [r for r in pilot_site.resources if not r.custom and r is not root]
    assert {c.type for c in components} == {
        "gigafactory:index:ClusterOperators",
        "gigafactory:index:GpuNodePool",
        "gigafactory:index:InfiniBandFabric",
        "gigafactory:index:Scheduling",
        "gigafactory:index:Tenant",
        "gigafactory:index:StorageSystem",
        "gigafactory:index:TenantAdmission",
    }
    for component in components:
        assert component.parent == root.urn, component.urn
    for resource in pilot_site.resources:
        if resource.custom and resource.type != PROVIDER_TYPE:
            assert resource.provider.startswith(provider.urn), f"{resource.urn} does not use the site's provider"


def test_tenants_wait_for_kueue_and_the_fabric_not_for_every_queue(pilot_site: ComposedSite) -> None:
    # A LocalQueue may arrive before its ClusterQueue: Kueue marks it inactive (ClusterQueueDoesNotExist)
    # and requeues it when the ClusterQueue is created (kubernetes-sigs/kueue v0.19.2
    # pkg/controller/core/localqueue_controller.go, Reconcile and qCQHandler.Create; no LocalQueue
    # webhook at that tag). So a tenant's objects wait for Kueue's release and the fabric, not for
    # each Scheduling object.
    # The recording holds what the engine gets: a component dependency expanded to its children.
    tenants = [r for r in pilot_site.resources if "gigafactory:index:Tenant" in r.urn]
    assert any(r.inputs.get("kind") == "LocalQueue" for r in tenants)
    for resource in tenants:
        waits_for = resource.depends_on
        assert not [urn for urn in waits_for if "gigafactory:index:Scheduling" in urn], resource.urn
        if resource.type == "gigafactory:index:Tenant":
            assert any("gigafactory:index:InfiniBandFabric$" in urn for urn in waits_for), resource.urn
            assert any("gigafactory:index:ClusterOperators$" in urn for urn in waits_for), resource.urn


def test_kube_context_can_be_overridden() -> None:
    site = compose(REPO / "site-configs" / "eu-pilot.yaml", kube_context="break-glass")
    provider = next(r for r in site.resources if r.type == PROVIDER_TYPE)
    assert provider.inputs["context"] == "break-glass"


def test_secret_names_are_every_secret_the_site_references() -> None:
    assert secret_names(load_site(REPO / "site-configs" / "eu-pilot.yaml")) == [
        "cephClinicalKms",
        "cephObjectsAdmin",
        "ufmCredentials",
    ]
    assert secret_names(load_site(REPO / "site-configs" / "eu-gigafactory.yaml")) == [
        "ufmCredentials",
        "vastClinicalApi",
        "vastDatasetsApi",
        "wekaFastApi",
        "wekaGenomicsApi",
    ]


def test_planning_stand_ins_have_the_fields_each_consumer_reads() -> None:
    values = planning_secret_values(load_site(REPO / "site-configs" / "eu-pilot.yaml"))
    assert sorted(json.loads(values["ufmCredentials"])) == ["address", "password", "username"]
    assert sorted(json.loads(values["cephObjectsAdmin"])) == ["access_key", "secret_key"]


def test_cluster_wide_upgrade_policy_is_the_strictest_of_the_pools() -> None:
    policies = [
        DriverUpgrade(max_unavailable="25%", max_parallel_upgrades=72, drain=False, drain_timeout_seconds=300),
        DriverUpgrade(max_unavailable="5%", max_parallel_upgrades=0, drain=True, drain_timeout_seconds=900),
    ]
    assert strictest_upgrade(policies) == DriverUpgrade(
        max_unavailable="5%", max_parallel_upgrades=72, drain=True, drain_timeout_seconds=900
    )
    with_count = [*policies, DriverUpgrade(max_unavailable=1, max_parallel_upgrades=1)]
    assert strictest_upgrade(with_count).max_unavailable == 1


def test_gpu_limit_is_nominal_plus_what_a_tenant_may_borrow() -> None:
    config = load_site(REPO / "site-configs" / "eu-gigafactory.yaml")
    autoworks, vectorforge = config.tenant("autoworks-industrial"), config.tenant("vectorforge")
    assert autoworks is not None and vectorforge is not None
    # No borrowing limit in a cohort: it may borrow up to the whole pool.
    assert gpu_limit(config, autoworks) == 84_096 + 10_368
    # 8,192 + a borrowing limit of 4,096 in b200-train; in b200-infer no limit, so the whole pool:
    # 5,184 B200 split 2 ways by MIG.
    assert gpu_limit(config, vectorforge) == 12_288 + 10_368


def test_no_secret_value_reaches_any_input(pilot_site: ComposedSite) -> None:
    text = json.dumps([r.inputs for r in pilot_site.resources], default=str)
    assert CANARY not in text
    secrets = pilot_site.objects("Secret")
    assert len(secrets) == 3 and all(s.inputs["stringData"] == SECRET for s in secrets)


def test_stateful_resources_are_protected(pilot_site: ComposedSite) -> None:
    for kind in ("PersistentVolumeClaim", "StorageClass", "CephFilesystem", "CephObjectStore"):
        found = pilot_site.objects(kind)
        assert found, kind
        for resource in found:
            assert resource.protect, f"{resource.urn} is not protected"
    cluster = [
        r for r in pilot_site.resources if r.type.endswith(":Release") and r.inputs["name"] == "rook-ceph-cluster"
    ]
    assert len(cluster) == 1 and cluster[0].protect


def test_pilot_objects_validate_against_kubernetes_and_crds(pilot_site: ComposedSite) -> None:
    assert validate_all(pilot_site) == []


# -- regulated tenants ----------------------------------------------------------------------------


def _named(rule: dict[str, Any]) -> list[str]:
    """The node names a NodeFeatureRule rule matches (node_identity.names_pattern's alternation)."""
    (pattern,) = rule["matchFeatures"][0]["matchExpressions"]["nodename"]["value"]
    names = pattern_names(pattern)
    assert names is not None, pattern
    return names


def regulated_tenants(config: SiteConfig) -> list[str]:
    return [t.name for t in config.tenants if t.kind == "regulated"]


def assert_isolated(site: ComposedSite, tenant_name: str) -> None:
    """The tenant's objects keep it apart: nodes, queues, network, partition, storage."""
    config = site.config
    tenant = config.tenant(tenant_name)
    assert tenant is not None
    pools = [p for p in config.node_pools if p.dedicated_to == tenant_name]
    assert pools, f"{tenant_name} has a dedicated pool"
    queues = {q.inputs["metadata"]["name"]: q for q in site.objects("ClusterQueue")}
    for pool in pools:
        taints = [{"key": t.key, "value": t.value, "effect": t.effect} for t in pool.taints]
        rules = [r for r in site.objects("NodeFeatureRule") if r.inputs["metadata"]["labels"][POOL_LABEL] == pool.name]
        written = [rule for r in rules for rule in r.inputs["spec"]["rules"]]
        named = [n for rule in written for n in _named(rule)]
        assert sorted(named) == sorted(pool.node_names()), f"pool {pool.name}: every node named once"
        assert all(rule["taints"] == taints for rule in written), f"pool {pool.name} nodes are tainted"
        assert all(rule["labels"][TENANT_LABEL] == tenant_name for rule in written), pool.name
        flavor = site.one("ResourceFlavor", pool.name).inputs["spec"]
        assert flavor["nodeTaints"] == taints
        assert flavor["tolerations"] == [{**t, "operator": "Equal"} for t in taints]
        with_quota = {
            name
            for name, queue in queues.items()
            for group in queue.inputs["spec"]["resourceGroups"]
            for f in group["flavors"]
            if f["name"] == pool.name
        }
        assert with_quota == {tenant_name}, f"only {tenant_name} has quota on {pool.name}"
    queue = queues[tenant_name].inputs["spec"]
    assert "cohortName" not in queue
    assert queue["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": tenant_name}}

    policies = {p.inputs["metadata"]["name"]: p.inputs["spec"] for p in site.objects("NetworkPolicy", tenant_name)}
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    egress_peers = [peer for p in policies.values() for rule in p.get("egress", []) for peer in rule.get("to", [])]
    assert {"podSelector": {}} in egress_peers
    for peer in egress_peers:
        assert "ipBlock" not in peer, "no egress leaves the cluster"
        if "namespaceSelector" in peer:
            assert peer["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}
            assert peer["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}

    own = {
        json.loads(n.inputs["spec"]["config"])["plugins"][0]["pkey"]
        for n in site.objects("NetworkAttachmentDefinition", tenant_name)
    }
    assert own == {f"0x{tenant.pkey & 0x7FFF:04x}"}
    others = {
        json.loads(n.inputs["spec"]["config"])["plugins"][0]["pkey"]
        for n in site.objects("NetworkAttachmentDefinition")
        if n.inputs["metadata"]["namespace"] != tenant_name
    }
    assert own.isdisjoint(others), f"{tenant_name}'s partition key is its own"
    hard = site.one("ResourceQuota", "tenant-quota", tenant_name).inputs["spec"]["hard"]
    if config.fabrics.compute.rdma_mode == "shared":
        assert all(hard[f"requests.rdma/rail{r.rail}"] == "0" for r in config.fabrics.compute.ipoib_subnets)
    else:
        assert "rdmaSharedDevicePlugin" not in site.one("NicClusterPolicy", "nic-cluster-policy").inputs["spec"]

    classes = {c.inputs["metadata"]["name"]: c for c in site.objects("StorageClass")}
    claims = site.objects("PersistentVolumeClaim", tenant_name)
    assert claims, f"{tenant_name} has its shared claim"
    for claim in claims:
        storage_class = classes[claim.inputs["spec"]["storageClassName"]]
        assert storage_class.inputs["metadata"]["labels"]["gigafactory.eu/encrypted"] == "true", claim.urn
    own_classes = {c.inputs["spec"]["storageClassName"] for c in claims}
    for name in classes:
        key = f"{name}.storageclass.storage.k8s.io/requests.storage"
        if name not in own_classes and key in hard:
            assert hard[key] == "0", f"{tenant_name} may not claim {name}"
    for other in config.tenants:
        if other.name == tenant_name:
            continue
        other_hard = site.one("ResourceQuota", "tenant-quota", other.name).inputs["spec"]["hard"]
        for name in own_classes:
            assert other_hard[f"{name}.storageclass.storage.k8s.io/requests.storage"] == "0", other.name


def test_pilot_hospital_is_isolated(pilot_site: ComposedSite) -> None:
    assert regulated_tenants(pilot_site.config) == ["oslo-hospital"]
    assert_isolated(pilot_site, "oslo-hospital")


def test_isolation_check_notices_an_open_egress(pilot_site: ComposedSite) -> None:
    opened = [
        r
        if not (r.inputs.get("kind") == "NetworkPolicy" and r.inputs["metadata"]["name"] == "default-deny")
        else _with_spec(r, {"podSelector": {}, "policyTypes": ["Ingress"]})
        for r in pilot_site.resources
    ]
    broken = ComposedSite(pilot_site.config, tuple(opened), pilot_site.seconds)
    with pytest.raises(AssertionError):
        assert_isolated(broken, "oslo-hospital")


def _with_spec(resource: RecordedResource, spec: dict[str, Any]) -> RecordedResource:
    return replace(resource, inputs={**resource.inputs, "spec": spec})


# -- the 100,000-GPU site -------------------------------------------------------------------------


@pytest.mark.slow
def test_gigafactory_composes_every_node(gigafactory_site: ComposedSite) -> None:
    config = gigafactory_site.config
    named = [
        name
        for r in gigafactory_site.objects("NodeFeatureRule")
        for rule in r.inputs["spec"]["rules"]
        for name in _named(rule)
    ]
    assert len(named) == len(set(named)) == config.total_nodes == 13_896
    assert not gigafactory_site.objects("Node"), "no resource per node"
    assert len(gigafactory_site.objects("ClusterQueue")) == len(config.tenants)
    assert len(gigafactory_site.objects("NVIDIADriver")) == len(config.node_pools)


@pytest.mark.slow
def test_gigafactory_objects_validate_against_kubernetes_and_crds(gigafactory_site: ComposedSite) -> None:
    assert validate_all(gigafactory_site) == []


@pytest.mark.slow
def test_gigafactory_regulated_tenants_are_isolated(gigafactory_site: ComposedSite) -> None:
    names = regulated_tenants(gigafactory_site.config)
    assert names == ["rhine-university-hospital", "nordic-genome-centre"]
    for name in names:
        assert_isolated(gigafactory_site, name)


@pytest.mark.slow
def test_gigafactory_keeps_secrets_out(gigafactory_site: ComposedSite) -> None:
    secrets = gigafactory_site.objects("Secret")
    assert len(secrets) == 5
    assert all(s.inputs["stringData"] == SECRET for s in secrets)
    assert CANARY not in json.dumps([r.inputs for r in gigafactory_site.resources], default=str)
