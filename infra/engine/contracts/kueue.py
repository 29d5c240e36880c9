"""Kueue: every resource a tenant's pods request is covered or excluded; every topology level is a node label."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import yaml

from components.labels import POOL_LABEL, TENANT_LABEL
from components.network.naming import NAD_RESOURCE_ANNOTATION
from components.topology import HOSTNAME_LABEL
from infra.engine.contracts.model import ClusterState, Contract, StateObject, Violation
from infra.engine.contracts.networks import advertised_resources, network_definitions
from infra.engine.contracts.nodes import NodeGroup, node_groups
from infra.jobcheck.site import kueue_manager_config

KUEUE_GROUP = "kueue.x-k8s.io"
# Kueue's chart writes the manager's Configuration from `managerConfig.controllerManagerConfigYaml`
# into ConfigMap `<release>-manager-config`, key `controller_manager_config.yaml` (kueue v0.19.2
# charts/kueue/templates/manager/manager-config.yaml).
CONFIG_KEY = "controller_manager_config.yaml"
# kubernetes-sigs/kueue v0.19.2 apis/config/v1beta2/configuration_types.go: Resources.QuotaCheckStrategy;
# IgnoreUndeclared admits resources no ClusterQueue declares (behind a feature gate).
IGNORE_UNDECLARED = "IgnoreUndeclared"
HUGEPAGES_1GI = "hugepages-1Gi"
# Set on every node by the kubelet (kubernetes/api core/v1 well_known_labels.go: LabelHostname).
KUBELET_LABELS = frozenset({HOSTNAME_LABEL, "kubernetes.io/os", "kubernetes.io/arch"})


def kueue_configuration(state: ClusterState) -> Mapping[str, Any]:
    """Kueue's manager Configuration: the rendered ConfigMap, else the release's values (chart default: none)."""
    for config_map in state.of_kind("ConfigMap", ""):
        if (
            config_map.release is not None
            and config_map.release.chart == "kueue"
            and CONFIG_KEY in (config_map.document.get("data") or {})
        ):
            loaded = yaml.safe_load(config_map.document["data"][CONFIG_KEY])
            return loaded if isinstance(loaded, dict) else {}
    release = state.release("kueue")
    return kueue_manager_config(release.values) if release else {}


def _flavor_pools(state: ClusterState) -> dict[str, set[str]]:
    """ResourceFlavor name -> pools its nodeLabels select."""
    return {
        flavor.name: {str(flavor.spec.get("nodeLabels", {}).get(POOL_LABEL))} - {"None"}
        for flavor in state.of_kind("ResourceFlavor", KUEUE_GROUP)
    }


def required_resources(
    state: ClusterState, queue: StateObject, advertised: set[str], pools: Mapping[str, set[str]]
) -> dict[str, str]:
    """Extended resources the tenant's pods request, each with why: networks, shared RDMA, hugepages.

    ``advertised`` is what the device plugins advertise (``advertised_resources``), ``pools`` each
    ResourceFlavor's pools (``_flavor_pools``): the same for every queue, so read once.
    """
    namespaces = set((queue.spec.get("namespaceSelector") or {}).get("matchLabels", {}).values())
    wanted: dict[str, str] = {}
    for nad in network_definitions(state):
        resource = (nad.metadata.get("annotations") or {}).get(NAD_RESOURCE_ANNOTATION)
        if resource and nad.namespace in namespaces:
            wanted[resource] = f"network {nad.namespace}/{nad.name}"
    for resource in advertised:
        if resource.startswith("rdma/"):
            wanted.setdefault(resource, "the RDMA shared device plugin")
    for group in queue.spec.get("resourceGroups") or []:
        for flavor in group.get("flavors") or []:
            for pool in pools.get(str(flavor.get("name")), ()):
                node = getattr(state.facts.pools.get(pool), "node", None)
                if node is not None and node.hugepages_1gi:
                    wanted[HUGEPAGES_1GI] = f"pool {pool}'s 1 GiB hugepages"
    return wanted


def check_coverage(state: ClusterState) -> Iterator[Violation]:
    """Each ClusterQueue covers, or Kueue's configuration excludes, what its tenant's pods request."""
    resources = kueue_configuration(state).get("resources") or {}
    if resources.get("quotaCheckStrategy") == IGNORE_UNDECLARED:
        return
    excluded = [str(p) for p in resources.get("excludeResourcePrefixes") or []]
    advertised, pools = advertised_resources(state), _flavor_pools(state)
    for queue in state.of_kind("ClusterQueue", KUEUE_GROUP):
        covered = {str(r) for g in queue.spec.get("resourceGroups") or [] for r in g.get("coveredResources") or []}
        missing = {
            resource: why
            for resource, why in sorted(required_resources(state, queue, advertised, pools).items())
            # Kueue drops a request whose name starts with an excluded prefix (pkg/workload/resources.go).
            if resource not in covered and not any(resource.startswith(prefix) for prefix in excluded)
        }
        if missing:
            tenant = queue.labels.get(TENANT_LABEL) or queue.name
            listed = "; ".join(f"{resource} ({why})" for resource, why in missing.items())
            yield Violation(
                queue.describe(),
                f"covers none of {listed}, and Kueue's configuration excludes none: Kueue admits no workload "
                'requesting them ("resource unavailable in ClusterQueue")',
                "cover them in the ClusterQueue's resourceGroups, or list their prefixes in Kueue's "
                "resources.excludeResourcePrefixes",
                f"tenants.{tenant}.gpu_quotas",
            )


def check_topology_labels(state: ClusterState) -> Iterator[Violation]:
    """Each level of a Topology is a label on every node of the flavors that use it."""
    groups_by_pool: dict[str, list[NodeGroup]] = {}
    for group in node_groups(state):
        groups_by_pool.setdefault(group.pool, []).append(group)
    levels_of = {
        t.name: [str(level.get("nodeLabel")) for level in t.spec.get("levels") or []]
        for t in state.of_kind("Topology", KUEUE_GROUP)
    }
    for flavor in state.of_kind("ResourceFlavor", KUEUE_GROUP):
        topology = flavor.spec.get("topologyName")
        if not topology:
            continue
        pool = str(flavor.spec.get("nodeLabels", {}).get(POOL_LABEL))
        groups = groups_by_pool.get(pool, [])
        for level in levels_of.get(str(topology), []):
            if level in KUBELET_LABELS:
                continue
            missing = sum(g.nodes for g in groups if level not in g.labels)
            if missing or not groups:
                yield Violation(
                    flavor.describe(),
                    f"Topology {topology} level {level} is not a label of {missing or 'any'} node(s) of pool {pool}: "
                    "topology-aware scheduling cannot place pods on them",
                    "label every node of the pool with each topology level (the fabric plan's topology labels)",
                    f"pools.{pool}",
                )


CONTRACTS = (
    Contract(
        "kueue-covers-requests",
        "every extended resource a tenant's pods request is covered by its ClusterQueue or excluded in Kueue's "
        "configuration",
        'kubernetes-sigs/kueue v0.19.2 pkg/scheduler/flavorassigner/flavorassigner.go ("resource unavailable in '
        'ClusterQueue"), apis/config/v1beta2/configuration_types.go (excludeResourcePrefixes, quotaCheckStrategy)',
        check_coverage,
    ),
    Contract(
        "topology-levels-labelled",
        "every Kueue Topology level is a label the nodes of its flavors carry",
        "kubernetes-sigs/kueue v0.19.2 apis/kueue/v1beta2/topology_types.go (levels[].nodeLabel), "
        "pkg/cache/scheduler/tas_flavor_snapshot.go (nodes are placed by their level labels)",
        check_topology_labels,
    ),
)
