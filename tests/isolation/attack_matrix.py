"""Every attack one tenant can make on another, as objects sent to what enforces isolation.

``attempts(config, attacker, victim)`` builds, for an ordered pair of tenants, one ``Attempt`` per
path that applies to the pair (a path that cannot apply, e.g. scheduling onto the dedicated nodes
of a victim that has none, is listed by ``not_applicable`` with the reason). ``EXPECTED`` says, per
path, which control must be among those that stop it.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from isolation_cluster import KUEUE_CONFIG, NODE_RESTRICTION, RBAC_DEFAULT_DENY, Attempt, Ref
from netpol_evaluator import Endpoint
from vap_evaluator import Request

from components.labels import ISOLATION_POOL_LABEL, ISOLATION_TENANT_LABEL
from components.storage.driver import storage_class_name
from infra.config.model import SiteConfig
from infra.config.schema import NodePool, Tenant
from infra.site import tenant_args

KUEUE_GATE = {"name": "kueue.x-k8s.io/admission"}


def vap(name: str) -> Ref:
    return ("ValidatingAdmissionPolicy", "", name)


EXPECTED: dict[str, set[Ref]] = {
    "schedule-toleration": {vap("gigafactory-dedicated-nodes")},
    "schedule-node-selector": {vap("gigafactory-dedicated-nodes")},
    "schedule-affinity": {vap("gigafactory-dedicated-nodes")},
    "schedule-node-name": {vap("gigafactory-dedicated-nodes")},
    "partition-annotation-text": {vap("gigafactory-tenant-networks")},
    "partition-annotation-json": {vap("gigafactory-tenant-networks")},
    "partition-own-network-definition": {RBAC_DEFAULT_DENY},
    "reach-pods-and-services": set(),  # the NetworkPolicies of both namespaces; checked by kind
    "reach-management-apis": set(),
    "storage-class": set(),  # the attacker's ResourceQuota; checked by kind
    "storage-claim-in-victim-namespace": {RBAC_DEFAULT_DENY},
    "storage-bind-victim-volume": {vap("gigafactory-tenant-claims")},
    "storage-create-volume": {RBAC_DEFAULT_DENY},
    "storage-host-path": set(),  # the attacker's namespace (Pod Security); checked by kind
    "read-secrets": {RBAC_DEFAULT_DENY},
    "bypass-kueue": {KUEUE_CONFIG},
    "priority-kueue-class": {vap("gigafactory-priority-classes")},
    "priority-pod-class": {vap("gigafactory-priority-classes")},
    "external-ips": {vap("gigafactory-no-external-ips")},
    "write-endpoints": {RBAC_DEFAULT_DENY},
    "relabel-node-as-kubelet": {vap("gigafactory-node-isolation"), NODE_RESTRICTION},
    "relabel-node-as-member": {RBAC_DEFAULT_DENY},
    "join-victim-queue": {RBAC_DEFAULT_DENY},
}
EXPECTED_KINDS = {
    "reach-pods-and-services": "NetworkPolicy",
    "reach-management-apis": "NetworkPolicy",
    "storage-class": "ResourceQuota",
    "storage-host-path": "Namespace",
}


def pod_ip(config: SiteConfig, tenant: str) -> str:
    """A pod address of ``tenant`` (pods of every tenant share the cluster's private pod network)."""
    index = [t.name for t in config.tenants].index(tenant)
    return f"10.244.{index}.10"


def restricted_pod(namespace: str, **spec: Any) -> dict[str, Any]:
    """A pod that Pod Security ``restricted`` admits, gated by Kueue as its webhook leaves it."""
    meta: dict[str, Any] = {"name": "attack", "namespace": namespace}
    for key in ("labels", "annotations"):
        if key in spec:
            meta[key] = spec.pop(key)
    container = {
        "name": "main",
        "image": "registry.example/attack:1",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    body = {"containers": [container], "schedulingGates": [KUEUE_GATE], **spec}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": body}


def _owned_pools(config: SiteConfig, tenant: str) -> list[NodePool]:
    return [p for p in config.node_pools if p.dedicated_to == tenant]


def _classes(config: SiteConfig, tenant: Tenant) -> set[str]:
    systems = {s.name: s for s in config.storage}
    return {
        storage_class_name(q.system)
        for q in tenant.storage
        if q.system in systems and systems[q.system].interface != "object"
    }


def not_applicable(config: SiteConfig, attacker: Tenant, victim: Tenant) -> dict[str, str]:
    """Paths that cannot apply to this pair, with the reason."""
    skipped: dict[str, str] = {}
    if not _owned_pools(config, victim.name):
        for path in ("schedule-toleration", "schedule-node-selector", "schedule-affinity", "schedule-node-name"):
            skipped[path] = f"{victim.name} has no dedicated nodes"
        for path in ("relabel-node-as-kubelet", "relabel-node-as-member"):
            skipped[path] = f"{victim.name} has no dedicated pool to relabel a node into"
    if not tenant_args(config, victim).get("rails"):
        for path in ("partition-annotation-text", "partition-annotation-json"):
            skipped[path] = f"{victim.name} has no partition network (no GPU quota)"
    if not _classes(config, victim) - _classes(config, attacker):
        skipped["storage-class"] = f"{victim.name} has no storage class {attacker.name} lacks a share of"
    if attacker.kind == "regulated":
        skipped["priority-kueue-class"] = f"{attacker.name} holds the highest class already (clinical work)"
    if not victim.gpu_quotas:
        skipped["join-victim-queue"] = f"{victim.name} has no ClusterQueue"
    return skipped


def attempts(config: SiteConfig, attacker: Tenant, victim: Tenant) -> list[Attempt]:
    """Every applicable attack of ``attacker`` on ``victim``."""
    a, v = attacker.name, victim.name
    user, groups = f"member@{a}", (attacker.group,)
    skipped = not_applicable(config, attacker, victim)
    made: list[Attempt] = []

    def request(path: str, kind: str, resource: str, obj: dict[str, Any] | None, **kw: Any) -> None:
        if path in skipped:
            return
        namespace = kw.pop("namespace", a)
        operation = kw.pop("operation", "CREATE")
        verb = kw.pop("verb", "")
        req = Request(operation, kind, resource, namespace=namespace, object=obj, username=user, groups=groups, **kw)
        made.append(Attempt(path, a, v, request=req, verb=verb))

    def create_pod(path: str, **spec: Any) -> None:
        request(path, "Pod", "pods", restricted_pod(a, **spec), name="attack")

    owned = _owned_pools(config, v)
    if owned:
        pool = owned[0]
        taint = pool.taints[0]
        create_pod(
            "schedule-toleration",
            tolerations=[{"key": taint.key, "operator": "Equal", "value": taint.value, "effect": taint.effect}],
        )
        create_pod("schedule-node-selector", nodeSelector={ISOLATION_POOL_LABEL: pool.name})
        term = {"matchExpressions": [{"key": ISOLATION_POOL_LABEL, "operator": "In", "values": [pool.name]}]}
        create_pod(
            "schedule-affinity",
            affinity={
                "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}
            },
        )
        no_gate = restricted_pod(a, nodeName=pool.node_name(0))
        del no_gate["spec"]["schedulingGates"]  # the API refuses scheduling gates on a pod already bound
        request("schedule-node-name", "Pod", "pods", no_gate, name="attack")
        made.append(Attempt("relabel-node-as-kubelet", a, v, request=relabel_request(config, attacker, pool)))
        request(
            "relabel-node-as-member",
            "Node",
            "nodes",
            {"metadata": {"name": pool.node_name(0), "labels": {}}, "spec": {}},
            operation="UPDATE",
            namespace="",
            name=pool.node_name(0),
            verb="patch",
        )

    create_pod("partition-annotation-text", annotations={"k8s.v1.cni.cncf.io/networks": f"{v}/ib-rail0"})
    json_form = json.dumps([{"name": "ib-rail0", "namespace": v}])
    create_pod("partition-annotation-json", annotations={"k8s.v1.cni.cncf.io/networks": json_form})
    nad = {"metadata": {"name": "ib-rail0-stolen", "namespace": a}, "spec": {"config": f'{{"pkey": "{victim.pkey}"}}'}}
    request(
        "partition-own-network-definition",
        "NetworkAttachmentDefinition",
        "network-attachment-definitions",
        nad,
        group="k8s.cni.cncf.io",
    )

    source = Endpoint(pod_ip(config, a), a, {"app": "attack"})
    made.append(Attempt("reach-pods-and-services", a, v, connection=(source, Endpoint(pod_ip(config, v), v, {}), 8080)))
    management = str(next(ipaddress.ip_network(config.fabrics.storage.subnet).hosts()))
    made.append(Attempt("reach-management-apis", a, v, connection=(source, Endpoint(management), 443)))

    for storage_class in sorted(_classes(config, victim) - _classes(config, attacker)):
        claim = {
            "metadata": {"name": "stolen", "namespace": a},
            "spec": {"storageClassName": storage_class, "resources": {"requests": {"storage": "1T"}}},
        }
        request("storage-class", "PersistentVolumeClaim", "persistentvolumeclaims", claim)
    in_victim = {"metadata": {"name": "stolen", "namespace": v}, "spec": {"resources": {"requests": {"storage": "1G"}}}}
    request(
        "storage-claim-in-victim-namespace", "PersistentVolumeClaim", "persistentvolumeclaims", in_victim, namespace=v
    )
    bind = {
        "metadata": {"name": "stolen", "namespace": a},
        "spec": {"storageClassName": "", "volumeName": f"pvc-{v}-data", "resources": {"requests": {"storage": "1G"}}},
    }
    request("storage-bind-victim-volume", "PersistentVolumeClaim", "persistentvolumeclaims", bind)
    volume = {"metadata": {"name": f"{v}-copy"}, "spec": {"csi": {"driver": "any", "volumeHandle": f"{v}-data"}}}
    request("storage-create-volume", "PersistentVolume", "persistentvolumes", volume, namespace="")
    host = next((s.mount_path for s in config.storage if v in s.tenants and s.mount_path), "/")
    create_pod("storage-host-path", volumes=[{"name": "data", "hostPath": {"path": host}}])
    request("read-secrets", "Secret", "secrets", None, namespace=v, operation="GET", verb="get", name="data")

    job = {"metadata": {"name": "unqueued", "namespace": a}, "spec": {"suspend": False}}
    request("bypass-kueue", "Job", "jobs", job, group="batch")
    # Kueue's pod integration reads the priority class label on the pod itself.
    create_pod("priority-kueue-class", labels={"kueue.x-k8s.io/priority-class": "gigafactory-critical"})
    create_pod("priority-pod-class", priorityClassName="system-node-critical")
    service = {"metadata": {"name": "intercept", "namespace": a}, "spec": {"externalIPs": [pod_ip(config, v)]}}
    request("external-ips", "Service", "services", service)
    endpoints = {
        "metadata": {"name": "intercept", "namespace": a},
        "subsets": [{"addresses": [{"ip": pod_ip(config, v)}]}],
    }
    request("write-endpoints", "Endpoints", "endpoints", endpoints)
    queue = {"metadata": {"name": "borrowed", "namespace": a}, "spec": {"clusterQueue": v}}
    request("join-victim-queue", "LocalQueue", "localqueues", queue, group="kueue.x-k8s.io")
    return made


def relabel_request(config: SiteConfig, attacker: Tenant, pool: NodePool) -> Request:
    """The kubelet of a node the attacker runs on writes ``pool``'s pool and tenant labels onto its Node."""
    mine = [q.pool for q in attacker.gpu_quotas]
    node_pool = next((p for p in config.node_pools if p.name in mine and p is not pool), None)
    node_pool = node_pool or next(p for p in config.node_pools if p is not pool)
    name = node_pool.node_name(0)
    old = {"metadata": {"name": name, "labels": {ISOLATION_POOL_LABEL: node_pool.name}}, "spec": {}}
    labels = {ISOLATION_POOL_LABEL: pool.name, ISOLATION_TENANT_LABEL: pool.dedicated_to or ""}
    new = {"metadata": {"name": name, "labels": labels}, "spec": {}}
    return Request("UPDATE", "Node", "nodes", name=name, object=new, old_object=old, username=f"system:node:{name}")
