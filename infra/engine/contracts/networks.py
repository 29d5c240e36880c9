"""InfiniBand network definitions: partition keys ib-kubernetes accepts, resources a device plugin advertises."""

from __future__ import annotations

import json
from collections.abc import Iterator

from components.labels import TENANT_LABEL
from components.network.naming import NAD_RESOURCE_ANNOTATION, PKEY_MASK
from infra.engine.contracts.model import ClusterState, Contract, StateObject, Violation
from infra.jobcheck.site import cni_plugins

NAD_GROUP = "k8s.cni.cncf.io"
# k8s-rdma-shared-dev-plugin: resources are advertised as `<resourcePrefix>/<resourceName>`, prefix
# "rdma" unless the config sets one (Mellanox/k8s-rdma-shared-dev-plugin README, "Configuration").
RDMA_PREFIX = "rdma"
# sriov-network-operator: the device plugin advertises `<RESOURCE_PREFIX>/<resourceName>` of each
# SriovNetworkNodePolicy; the operator Deployment's env RESOURCE_PREFIX comes from the chart's
# `operator.resourcePrefix` (network-operator v26.4.1 values.yaml: "nvidia.com").
SRIOV_PREFIX_ENV = "RESOURCE_PREFIX"


def network_definitions(state: ClusterState) -> Iterator[StateObject]:
    """Every NetworkAttachmentDefinition."""
    return state.of_kind("NetworkAttachmentDefinition", NAD_GROUP)


def _tenant_fact(nad: StateObject, field: str) -> str:
    tenant = nad.labels.get(TENANT_LABEL) or nad.namespace
    return f"tenants.{tenant}.{field}"


def check_pkeys(state: ClusterState) -> Iterator[Violation]:
    """Each ``pkey`` of a network definition is a 15-bit key of a partition ``partitions.conf`` defines."""
    by_key = {pkey & PKEY_MASK: name for name, pkey in state.partitions.items()}
    for nad in network_definitions(state):
        for plugin in cni_plugins(nad.spec.get("config")):
            if "pkey" not in plugin:
                continue
            text = str(plugin["pkey"])
            try:
                pkey = int(text, 16)
            except ValueError:
                yield Violation(
                    nad.describe(),
                    f"pkey {text!r} is not a hexadecimal key",
                    "write it as 0x0001-0x7ffe",
                    _tenant_fact(nad, "pkey"),
                )
                continue
            if pkey != pkey & PKEY_MASK:
                yield Violation(
                    nad.describe(),
                    f"pkey {text} has bits above 0x7fff: ib-kubernetes refuses it (IsPKeyValid) and no pod "
                    "of the network starts",
                    f"write the 15-bit key {pkey & PKEY_MASK:#06x} in the network definition; membership (0x8000) "
                    "is not part of it, partitions.conf keeps its own notation",
                    _tenant_fact(nad, "pkey"),
                )
            partition = by_key.get(pkey & PKEY_MASK)
            tenant = nad.labels.get(TENANT_LABEL) or nad.namespace
            if state.partitions and partition != tenant:
                found = f"partition {partition}" if partition else "no partition"
                yield Violation(
                    nad.describe(),
                    f"pkey {text} names {found} in partitions.conf, not tenant {tenant}'s",
                    "the network definition and partitions.conf must carry the same key (low 15 bits)",
                    _tenant_fact(nad, "pkey"),
                )


def advertised_resources(state: ClusterState) -> set[str]:
    """Extended resources the SR-IOV device plugin and the RDMA shared device plugin advertise."""
    prefix = ""
    for deployment in state.of_kind("Deployment", "apps"):
        for container in deployment.spec.get("template", {}).get("spec", {}).get("containers", []):
            for env in container.get("env") or []:
                if env.get("name") == SRIOV_PREFIX_ENV and deployment.release is not None:
                    prefix = str(env.get("value") or "")
    found = {
        f"{prefix}/{policy.spec.get('resourceName')}"
        for policy in state.of_kind("SriovNetworkNodePolicy", "sriovnetwork.openshift.io")
        if prefix
    }
    for policy in state.of_kind("NicClusterPolicy", "mellanox.com"):
        shared = (policy.spec.get("rdmaSharedDevicePlugin") or {}).get("config")
        try:
            config = json.loads(str(shared)) if shared else {}
        except json.JSONDecodeError:
            config = {}
        for entry in config.get("configList", []):
            found.add(
                f"{entry.get('resourcePrefix') or config.get('resourcePrefix') or RDMA_PREFIX}/{entry['resourceName']}"
            )
    return found


def check_resource_names(state: ClusterState) -> Iterator[Violation]:
    """Each network definition's ``resourceName`` is a resource some device plugin advertises."""
    advertised = advertised_resources(state)
    for nad in network_definitions(state):
        wanted = (nad.metadata.get("annotations") or {}).get(NAD_RESOURCE_ANNOTATION)
        if wanted and wanted not in advertised:
            known = ", ".join(sorted(advertised)) or "none"
            yield Violation(
                nad.describe(),
                f"requests resource {wanted}, which no device plugin advertises (advertised: {known}); "
                "its pods never schedule",
                "name a resource of an SriovNetworkNodePolicy (<RESOURCE_PREFIX>/<resourceName>) or of the "
                "RDMA shared device plugin (rdma/<resourceName>)",
                _tenant_fact(nad, "name"),
            )


CONTRACTS = (
    Contract(
        "pkey-valid",
        "every pkey of a network definition is 15 bits (pkey == pkey & 0x7fff) and is a partition of partitions.conf",
        "Mellanox/ib-kubernetes pkg/ib-utils/utils.go (IsPKeyValid), pkg/sm/plugins/ufm/ufm.go",
        check_pkeys,
    ),
    Contract(
        "network-resource-advertised",
        "every network definition's k8s.v1.cni.cncf.io/resourceName is advertised by an SR-IOV policy or the RDMA "
        "shared device plugin",
        "k8snetworkplumbingwg/sriov-network-operator (RESOURCE_PREFIX + SriovNetworkNodePolicy.resourceName); "
        "Mellanox/k8s-rdma-shared-dev-plugin README; network-operator v26.4.1 values.yaml (resourcePrefix)",
        check_resource_names,
        needs_charts="the SR-IOV resource prefix is set by the network-operator chart's operator Deployment",
    ),
)
