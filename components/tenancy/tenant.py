"""``Tenant``: an organisation's namespace on the site and everything that fences it in."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.kube import custom_resource, meta, pod_security_labels
from components.labels import GPU_RESOURCE, TENANT_KIND_LABEL, TENANT_LABEL
from components.network.infiniband_fabric import network_pkey, vf_resource
from components.network.naming import format_pkey, ippool_name
from infra.config.schema import Tenant as TenantConfig

KUEUE_API = "kueue.x-k8s.io/v1beta2"
NAD_API = "k8s.cni.cncf.io/v1"
LOCAL_QUEUE = "default"
OBJECT_BUCKET_CLAIMS = "count/objectbucketclaims.objectbucket.io"
# Addresses a tenant with open egress still may not reach: RFC 1918 private, RFC 6598 shared
# (carrier-grade NAT, often pod networks), RFC 3927 link-local (metadata services); IPv6 unique
# local (RFC 4193) and link-local.
PRIVATE_IPV4 = ("10.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16")
PRIVATE_IPV6 = ("fc00::/7", "fe80::/10")
# What tenant members may do in their namespace: run and inspect workloads, keep configuration
# and data claims. Not granted: NetworkPolicies, ResourceQuotas, Roles and RoleBindings, which
# hold the isolation in place (the built-in `edit` role would let members delete NetworkPolicies),
# and Endpoints/EndpointSlices, which would point a Service of theirs at any address.
MEMBER_RULES: tuple[Any, ...] = (
    {
        "apiGroups": [""],
        "resources": [
            "pods",
            "pods/log",
            "pods/exec",
            "pods/attach",
            "pods/portforward",
            "services",
            "configmaps",
            "secrets",
            "persistentvolumeclaims",
            "serviceaccounts",
            "events",
        ],
        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
    },
    {
        "apiGroups": ["apps"],
        "resources": ["deployments", "statefulsets", "replicasets"],
        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
    },
    {
        "apiGroups": ["batch", "jobset.x-k8s.io", "trainer.kubeflow.org"],
        "resources": ["jobs", "cronjobs", "jobsets", "trainjobs"],
        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
    },
    {
        "apiGroups": ["kueue.x-k8s.io"],
        "resources": ["localqueues", "workloads"],
        "verbs": ["get", "list", "watch"],
    },
    {
        "apiGroups": ["k8s.cni.cncf.io"],
        "resources": ["network-attachment-definitions"],
        "verbs": ["get", "list", "watch"],
    },
    {"apiGroups": [""], "resources": ["resourcequotas"], "verbs": ["get", "list", "watch"]},
)


@dataclass(frozen=True)
class TenantArgs:
    """What a ``Tenant`` needs."""

    tenant: TenantConfig
    """The tenant from the site config."""

    pod_security_version: str
    """Kubernetes minor version the Pod Security ``restricted`` profile is pinned to, e.g. ``v1.35``."""

    cluster_queue: str | None = None
    """Its Kueue ClusterQueue; None when it has no GPU quota (no LocalQueue then)."""

    rails: tuple[int, ...] = ()
    """Compute rails of the pools it holds quota on: it gets a partition network on each."""

    pkey_management: bool = False
    """ib-kubernetes adds pod GUIDs to the partition through UFM (subnet manager is UFM)."""

    rdma_cni: bool = True
    """Chain the rdma CNI (the site's RDMA subsystem is exclusive): each pod gets its VF's RDMA device only."""

    gpu_limit: int | None = None
    """Most ``nvidia.com/gpu`` its pods may request at once (nominal plus what it may borrow)."""

    storage_quotas: Mapping[str, str] = field(default_factory=dict)
    """Storage it may claim, by StorageClass: the quantity of its share."""

    denied_storage_classes: tuple[str, ...] = ()
    """StorageClasses of systems it has no share of: quota 0."""

    object_storage: bool = False
    """It has a share of an object store (may create ObjectBucketClaims)."""

    denied_resources: tuple[str, ...] = ()
    """Extended resources it may not request (the shared RDMA devices of the default partition)."""

    dns_namespace: str = "kube-system"
    """Namespace of the cluster DNS (the one egress a closed namespace keeps)."""

    dns_pod_labels: Mapping[str, str] = field(default_factory=lambda: {"k8s-app": "kube-dns"})
    """Labels of the cluster DNS pods."""

    requires: tuple[pulumi.Resource, ...] = ()
    """What must exist first: Kueue (LocalQueue CRD), the fabric (NetworkAttachmentDefinition CRD)."""


class Tenant(pulumi.ComponentResource):
    """One tenant, isolated.

    Creates:
    - its ``Namespace`` with Pod Security ``restricted`` enforced (pinned version), audited and
      warned; RDMA pods need no IPC_LOCK there because the nodes' container runtime runs with
      unlimited locked memory;
    - a ``Role`` for members and a ``RoleBinding`` of the tenant's identity-provider group;
    - a ``ResourceQuota``: GPUs (nominal plus borrowable), storage per StorageClass of its shares,
      zero on every other class, no object bucket claims without an object share, zero of the
      default partition's shared RDMA devices when it has its own partition;
    - ``NetworkPolicies``: ingress and egress denied except within its own namespace and to the
      cluster DNS (service discovery for distributed jobs); with ``egress: allow`` also to the
      internet, never to a private, shared or link-local address (other tenants, the cluster's
      services, UFM and storage management); with ``egress: deny`` nothing leaves the site;
    - its Kueue ``LocalQueue`` ``default`` on its ClusterQueue;
    - per rail, a ``NetworkAttachmentDefinition`` ``ib-rail<N>``: an InfiniBand VF on the tenant's
      partition key (ib-sriov CNI, ib-kubernetes through UFM, RDMA isolated per pod), addressed
      from the rail's NV-IPAM pool. InfiniBand traffic bypasses NetworkPolicies: the partition
      key is what keeps it apart.

    Outputs: ``namespace``, ``local_queue``, ``partition_key``, ``networks``.
    """

    namespace: pulumi.Output[str]
    local_queue: pulumi.Output[str | None]
    partition_key: pulumi.Output[str]
    networks: pulumi.Output[list[str]]

    def __init__(self, name: str, args: TenantArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gigafactory:tenancy:Tenant", name, None, opts)
        tenant = args.tenant
        self._name = name
        labels = {TENANT_LABEL: tenant.name}
        child = pulumi.ResourceOptions(parent=self)
        pod_security = pod_security_labels("restricted", version=args.pod_security_version)
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=meta(tenant.name, labels={**labels, TENANT_KIND_LABEL: tenant.kind, **pod_security}),
            opts=child,
        )
        self.namespace_resource = ns
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        space = tenant.name

        k8s.rbac.v1.Role(
            f"{name}-member-role", metadata=meta("tenant-member", space, labels), rules=list(MEMBER_RULES), opts=in_ns
        )
        role_ref: Any = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "tenant-member"}
        subjects: Any = [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": tenant.group}]
        k8s.rbac.v1.RoleBinding(
            f"{name}-members",
            metadata=meta("tenant-members", space, labels),
            role_ref=role_ref,
            subjects=subjects,
            opts=in_ns,
        )
        quota: Any = {"hard": _quota(args)}
        k8s.core.v1.ResourceQuota(f"{name}-quota", metadata=meta("tenant-quota", space, labels), spec=quota, opts=in_ns)
        self._network_policies(args, space, labels, in_ns)

        crd_opts = pulumi.ResourceOptions(parent=self, depends_on=[ns, *args.requires])
        if args.cluster_queue is not None:
            custom_resource(
                f"{name}-local-queue",
                KUEUE_API,
                "LocalQueue",
                meta(LOCAL_QUEUE, space, labels),
                {"clusterQueue": args.cluster_queue},
                crd_opts,
            )
        networks = [self._partition_network(args, rail, space, labels, crd_opts) for rail in args.rails]

        self.namespace = pulumi.Output.from_input(tenant.name)
        self.local_queue = pulumi.Output.from_input(LOCAL_QUEUE if args.cluster_queue is not None else None)
        self.partition_key = pulumi.Output.from_input(format_pkey(tenant.pkey))
        self.networks = pulumi.Output.from_input(networks)
        self.register_outputs(
            {
                "namespace": self.namespace,
                "local_queue": self.local_queue,
                "partition_key": self.partition_key,
                "networks": self.networks,
            }
        )

    def _network_policies(
        self, args: TenantArgs, space: str, labels: dict[str, str], opts: pulumi.ResourceOptions
    ) -> None:
        # Every tenant's ingress and egress are closed by default: traffic between tenants, and to
        # the platform's management APIs (UFM's REST API, storage management), is never open.
        same_namespace: Any = [{"podSelector": {}}]
        types = ["Ingress", "Egress"]
        policies: dict[str, Any] = {
            "default-deny": {"podSelector": {}, "policyTypes": types},
            "allow-same-namespace": {
                "podSelector": {},
                "policyTypes": types,
                "ingress": [{"from": same_namespace}],
                "egress": [{"to": same_namespace}],
            },
            "allow-cluster-dns": {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": args.dns_namespace}
                                },
                                "podSelector": {"matchLabels": dict(args.dns_pod_labels)},
                            }
                        ],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    }
                ],
            },
        }
        if args.tenant.isolation.egress == "allow":
            # Out of the site only: every private, shared and link-local range is excepted, which
            # holds other tenants' pods, the cluster's services and the management networks.
            policies["allow-internet"] = {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": list(PRIVATE_IPV4)}}]},
                    {"to": [{"ipBlock": {"cidr": "::/0", "except": list(PRIVATE_IPV6)}}]},
                ],
            }
        for policy_name, body in policies.items():
            k8s.networking.v1.NetworkPolicy(
                f"{self._name}-{policy_name}", metadata=meta(policy_name, space, labels), spec=body, opts=opts
            )

    def _partition_network(
        self, args: TenantArgs, rail: int, space: str, labels: dict[str, str], opts: pulumi.ResourceOptions
    ) -> str:
        network = f"ib-rail{rail}"
        # ib-sriov VF on the tenant's partition key (15 bits, as ib-kubernetes accepts it); ib-kubernetes
        # puts the pod's GUID in the partition through UFM; in exclusive RDMA mode the rdma
        # meta-plugin moves the VF's RDMA device into the pod's namespace only (Network Operator docs,
        # "SR-IOV InfiniBand Network with PKey Management").
        plugins: list[dict[str, Any]] = [
            {
                "type": "ib-sriov",
                "pkey": network_pkey(args.tenant.pkey),
                "link_state": "enable",
                "ibKubernetesEnabled": args.pkey_management,
                "ipam": {"type": "nv-ipam", "poolName": ippool_name(rail)},
            }
        ]
        if args.rdma_cni:
            plugins.append({"type": "rdma"})
        config = {
            "cniVersion": "0.3.1",
            "name": network,
            "plugins": plugins,
        }
        custom_resource(
            f"{self._name}-{network}",
            NAD_API,
            "NetworkAttachmentDefinition",
            meta(network, space, labels, annotations={"k8s.v1.cni.cncf.io/resourceName": vf_resource(rail)}),
            {"config": json.dumps(config, sort_keys=True)},
            opts,
        )
        return network


def _quota(args: TenantArgs) -> dict[str, str]:
    hard: dict[str, str] = {}
    if args.gpu_limit is not None:
        hard[f"requests.{GPU_RESOURCE}"] = str(args.gpu_limit)
    for storage_class, quantity in sorted(args.storage_quotas.items()):
        hard[f"{storage_class}.storageclass.storage.k8s.io/requests.storage"] = quantity
    for storage_class in sorted(args.denied_storage_classes):
        hard[f"{storage_class}.storageclass.storage.k8s.io/requests.storage"] = "0"
        hard[f"{storage_class}.storageclass.storage.k8s.io/persistentvolumeclaims"] = "0"
    if not args.object_storage:
        hard[OBJECT_BUCKET_CLAIMS] = "0"
    # One InfiniBand virtual function per GPU: no more VFs than GPUs on its partition networks.
    for rail in args.rails:
        hard[f"requests.{vf_resource(rail)}"] = str(args.gpu_limit or 0)
    for resource in sorted(args.denied_resources):
        hard[f"requests.{resource}"] = "0"
    return hard
