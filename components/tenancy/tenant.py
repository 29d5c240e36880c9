"""``Tenant``: an organisation's namespace on the site and everything that fences it in."""

import json
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from typing_extensions import NotRequired, TypedDict

from components.args import plain_args
from components.kube import child_options, component_options, component_type, custom_resource, meta, pod_security_labels
from components.labels import GPU_RESOURCE, TENANT_KIND_LABEL, TENANT_LABEL
from components.network.infiniband_fabric import vf_resource
from components.network.naming import NAD_RESOURCE_ANNOTATION, format_pkey, ippool_name, network_pkey

KUEUE_API = "kueue.x-k8s.io/v1beta2"
NAD_API = "k8s.cni.cncf.io/v1"
LOCAL_QUEUE = "default"
# The token sites were deployed with before the component package (an alias keeps their URNs).
FORMER_TYPE = "gigafactory:tenancy:Tenant"
# The cluster DNS a closed namespace may still reach (kubeadm's CoreDNS: kube-system, k8s-app: kube-dns).
DNS_NAMESPACE = "kube-system"
DNS_POD_LABELS = {"k8s-app": "kube-dns"}
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


class TenantArgs(TypedDict):
    """What a ``Tenant`` needs: who it is, what it may use, and the site facts its fences depend on."""

    name: str
    """Tenant name: its namespace, and the value of its tenant labels."""

    kind: str
    """Tenant kind (``research``, ``startup``, ``industry``, ``regulated``): its namespace's kind label,
    which the admission policies select tenants by."""

    group: str
    """Identity-provider group whose members get the tenant's Role in its namespace."""

    pkey: int
    """InfiniBand partition key with the full-member bit, e.g. ``0x8101``: its partition networks' key."""

    pod_security_version: str
    """Kubernetes minor version the Pod Security ``restricted`` profile is pinned to, e.g. ``v1.35``."""

    allow_internet: NotRequired[bool]
    """Its pods may reach the internet (never a private, shared or link-local address); default false:
    nothing leaves the site."""

    cluster_queue: NotRequired[str | None]
    """Its Kueue ClusterQueue; default none: it has no GPU quota, and no LocalQueue."""

    rails: NotRequired[list[int]]
    """Compute rails of the pools it holds quota on: it gets a partition network on each; default none."""

    pkey_management: NotRequired[bool]
    """ib-kubernetes adds pod GUIDs to the partition through UFM (the subnet manager is UFM); default false."""

    rdma_cni: NotRequired[bool]
    """Chain the rdma CNI (the site's RDMA subsystem is exclusive): each pod gets its VF's RDMA device only;
    default true."""

    gpu_limit: NotRequired[int | None]
    """Most ``nvidia.com/gpu`` its pods may request at once (nominal plus what it may borrow); default none:
    no GPU quota in its namespace."""

    storage_quotas: NotRequired[dict[str, str]]
    """Storage it may claim, by StorageClass: the quantity of its share (e.g. ``1000T``); default none."""

    denied_storage_classes: NotRequired[list[str]]
    """StorageClasses of systems it has no share of: quota 0; default none."""

    object_storage: NotRequired[bool]
    """It has a share of an object store (may create ObjectBucketClaims); default false."""

    denied_resources: NotRequired[list[str]]
    """Extended resources it may not request (the shared RDMA devices of the default partition); default none."""

    dns_namespace: NotRequired[str]
    """Namespace of the cluster DNS (the one egress a closed namespace keeps); default ``kube-system``."""

    dns_pod_labels: NotRequired[dict[str, str]]
    """Labels of the cluster DNS pods; default ``k8s-app: kube-dns``."""


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
      cluster DNS (service discovery for distributed jobs); with ``allow_internet`` also to the
      internet, never to a private, shared or link-local address (other tenants, the cluster's
      services, UFM and storage management); without it nothing leaves the site;
    - its Kueue ``LocalQueue`` ``default`` on its ClusterQueue;
    - per rail, a ``NetworkAttachmentDefinition`` ``ib-rail<N>``: an InfiniBand VF on the tenant's
      partition key (ib-sriov CNI, ib-kubernetes through UFM, RDMA isolated per pod), addressed
      from the rail's NV-IPAM pool. InfiniBand traffic bypasses NetworkPolicies: the partition
      key is what keeps it apart.

    Outputs: ``namespace``, ``local_queue``, ``partition_key``, ``networks``.
    """

    namespace: pulumi.Output[str]
    """The tenant's namespace."""

    local_queue: pulumi.Output[str | None]
    """Its LocalQueue (in its namespace), where its workloads are queued; none without a ClusterQueue."""

    partition_key: pulumi.Output[str]
    """Its InfiniBand partition key as partitions.conf writes it, e.g. ``0x8101``."""

    networks: pulumi.Output[list[str]]
    """Its partition networks (NetworkAttachmentDefinitions in its namespace), one per rail."""

    def __init__(self, name: str, args: TenantArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(component_type(Tenant), name, None, component_options(opts, FORMER_TYPE))
        args = plain_args(args, TenantArgs)
        self._name = name
        space = args["name"]
        labels = {TENANT_LABEL: space}
        child = pulumi.ResourceOptions(parent=self)
        pod_security = pod_security_labels("restricted", version=args["pod_security_version"])
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=meta(space, labels={**labels, TENANT_KIND_LABEL: args["kind"], **pod_security}),
            opts=child,
        )
        self.namespace_resource = ns
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])

        k8s.rbac.v1.Role(
            f"{name}-member-role", metadata=meta("tenant-member", space, labels), rules=list(MEMBER_RULES), opts=in_ns
        )
        role_ref: Any = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "tenant-member"}
        subjects: Any = [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": args["group"]}]
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

        # The LocalQueue and the networks wait for the namespace and for what the component was told to
        # wait for (Kueue's and the fabric's CRDs, the ClusterQueue).
        crd_opts = child_options(self, opts, ns)
        cluster_queue = args.get("cluster_queue")
        if cluster_queue is not None:
            custom_resource(
                f"{name}-local-queue",
                KUEUE_API,
                "LocalQueue",
                meta(LOCAL_QUEUE, space, labels),
                {"clusterQueue": cluster_queue},
                crd_opts,
            )
        networks = [self._partition_network(args, rail, space, labels, crd_opts) for rail in args.get("rails", [])]

        self.namespace = pulumi.Output.from_input(space)
        self.local_queue = pulumi.Output.from_input(LOCAL_QUEUE if cluster_queue is not None else None)
        self.partition_key = pulumi.Output.from_input(format_pkey(args["pkey"]))
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
                                    "matchLabels": {
                                        "kubernetes.io/metadata.name": args.get("dns_namespace", DNS_NAMESPACE)
                                    }
                                },
                                "podSelector": {"matchLabels": dict(args.get("dns_pod_labels", DNS_POD_LABELS))},
                            }
                        ],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    }
                ],
            },
        }
        if args.get("allow_internet", False):
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
                "pkey": network_pkey(args["pkey"]),
                "link_state": "enable",
                "ibKubernetesEnabled": args.get("pkey_management", False),
                "ipam": {"type": "nv-ipam", "poolName": ippool_name(rail)},
            }
        ]
        if args.get("rdma_cni", True):
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
            meta(network, space, labels, annotations={NAD_RESOURCE_ANNOTATION: vf_resource(rail)}),
            {"config": json.dumps(config, sort_keys=True)},
            opts,
        )
        return network


def _quota(args: TenantArgs) -> dict[str, str]:
    hard: dict[str, str] = {}
    gpu_limit = args.get("gpu_limit")
    if gpu_limit is not None:
        hard[f"requests.{GPU_RESOURCE}"] = str(gpu_limit)
    for storage_class, quantity in sorted(args.get("storage_quotas", {}).items()):
        hard[f"{storage_class}.storageclass.storage.k8s.io/requests.storage"] = quantity
    for storage_class in sorted(args.get("denied_storage_classes", [])):
        hard[f"{storage_class}.storageclass.storage.k8s.io/requests.storage"] = "0"
        hard[f"{storage_class}.storageclass.storage.k8s.io/persistentvolumeclaims"] = "0"
    if not args.get("object_storage", False):
        hard[OBJECT_BUCKET_CLAIMS] = "0"
    # One InfiniBand virtual function per GPU: no more VFs than GPUs on its partition networks.
    for rail in args.get("rails", []):
        hard[f"requests.{vf_resource(rail)}"] = str(gpu_limit or 0)
    for resource in sorted(args.get("denied_resources", [])):
        hard[f"requests.{resource}"] = "0"
    return hard
