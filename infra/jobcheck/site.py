"""The site as a job meets it: the Kubernetes objects a plan records, indexed, and its node pools' facts.

Nothing here restates the site: every answer is read from the plan's objects (Namespaces, queues,
flavors, Topologies, network definitions, StorageClasses, quotas, admission policies, Helm releases
with their values) or from its ``site`` facts (what each pool's nodes carry), whichever stack or
component put them there.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import yaml

from components.network.naming import NAD_RESOURCE_ANNOTATION
from infra.engine.manifests import HELM_TYPES, is_kubernetes_object, is_patch
from infra.engine.recording import RecordedPlan
from infra.jobcheck.quantity import parse_quantity
from infra.jobcheck.selectors import matches_node_selector_terms

KUEUE_CHART = "kueue"


@dataclass(frozen=True)
class Pool:
    """A node pool as the plan's facts describe its nodes."""

    name: str
    nodes: int
    labels: dict[str, str]
    taints: tuple[dict[str, Any], ...]
    allocatable: dict[str, Decimal]
    topology: dict[str, dict[str, int]]
    tenant_pkeys: dict[str, str] = field(default_factory=dict)


@dataclass
class SiteView:
    """A plan's objects by kind, namespace and name; its pools with every resource their nodes offer."""

    plan: RecordedPlan
    objects: dict[str, list[dict[str, Any]]]
    pools: dict[str, Pool]

    @classmethod
    def of(cls, plan: RecordedPlan) -> SiteView:
        """Index ``plan`` (patches are not objects of their own and are left out)."""
        objects: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for resource in plan.resources:
            if is_kubernetes_object(resource) and not is_patch(resource):
                objects[str(resource.inputs["kind"])].append(resource.inputs)
        view = cls(plan, dict(objects), {})
        view.pools = {name: view._pool(name, facts) for name, facts in (plan.site.get("pools") or {}).items()}
        return view

    def stale_pools(self) -> list[str]:
        """Pools whose facts record no node resources or identity: a plan written before they were recorded."""
        facts = self.plan.site.get("pools") or {}
        return sorted(
            name
            for name, pool in facts.items()
            if not ((pool or {}).get("node") or {}).get("allocatable") or not (pool or {}).get("identity")
        )

    # -- objects ----------------------------------------------------------------------------------

    def all(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Every object of ``kind`` (in ``namespace`` when given)."""
        found = self.objects.get(kind, [])
        if namespace is None:
            return found
        return [o for o in found if (o.get("metadata") or {}).get("namespace") == namespace]

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The object of ``kind`` named ``name`` (in ``namespace``), if the plan holds it."""
        for candidate in self.all(kind, namespace):
            if (candidate.get("metadata") or {}).get("name") == name:
                return candidate
        return None

    def names(self, kind: str, namespace: str | None = None) -> list[str]:
        """The names of every object of ``kind`` (in ``namespace``), sorted."""
        return sorted(str((o.get("metadata") or {}).get("name")) for o in self.all(kind, namespace))

    # -- Helm releases ----------------------------------------------------------------------------

    def release(self, chart: str) -> dict[str, Any] | None:
        """Inputs of the Helm release of ``chart`` (matched on the chart's last path segment)."""
        for resource in self.plan.resources:
            if resource.type in HELM_TYPES:
                name = str(resource.inputs.get("chart", "")).rstrip("/").rsplit("/", 1)[-1]
                if name == chart:
                    return resource.inputs
        return None

    def kueue_config(self) -> dict[str, Any]:
        """Kueue's Configuration as the release installs it (chart defaults where the values set none).

        The chart writes ``managerConfig.controllerManagerConfigYaml`` into the manager's ConfigMap
        (Kueue v0.19.2 charts/kueue/values.yaml); its defaults leave ``manageJobsWithoutQueueName``
        false and ``resources.excludeResourcePrefixes`` empty.
        """
        return kueue_manager_config((self.release(KUEUE_CHART) or {}).get("values") or {})

    # -- pools ------------------------------------------------------------------------------------

    def _pool(self, name: str, facts: dict[str, Any]) -> Pool:
        node = facts.get("node") or {}
        identity = facts.get("identity") or {}
        labels = {str(k): str(v) for k, v in (identity.get("labels") or {}).items()}
        allocatable = {
            str(k): q for k, v in (node.get("allocatable") or {}).items() if (q := parse_quantity(v)) is not None
        }
        allocatable.update(self._device_resources(labels))
        return Pool(
            name=name,
            nodes=int(facts.get("nodes") or 0),
            labels=labels,
            taints=tuple(parse_taint(str(t)) for t in identity.get("taints") or ()),
            allocatable=allocatable,
            topology=dict(node.get("topology") or {}),
        )

    def _device_resources(self, labels: dict[str, str]) -> dict[str, Decimal]:
        """Network device resources a node with ``labels`` advertises, from the device plugins' objects.

        SR-IOV: each ``SriovNetworkNodePolicy`` whose node selector the node matches gives ``numVfs``
        of ``<prefix>/<resourceName>``; the prefix is the one the network definitions name it with.
        RDMA shared device plugin: each entry of the NicClusterPolicy's config gives ``rdmaHcaMax`` of
        ``rdma/<resourceName>`` on the nodes its node affinity selects.
        """
        found: dict[str, Decimal] = {}
        prefixes = self._resource_prefixes()
        for policy in self.all("SriovNetworkNodePolicy"):
            spec = policy.get("spec") or {}
            resource = str(spec.get("resourceName", ""))
            if resource in prefixes and _selector_matches(spec.get("nodeSelector") or {}, labels):
                found[f"{prefixes[resource]}/{resource}"] = Decimal(int(spec.get("numVfs") or 0))
        for policy in self.all("NicClusterPolicy"):
            spec = policy.get("spec") or {}
            terms = ((spec.get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get(
                "nodeSelectorTerms"
            )
            if terms and not matches_node_selector_terms(terms, labels):
                continue
            config = (spec.get("rdmaSharedDevicePlugin") or {}).get("config")
            entries = (yaml.safe_load(config) or {}).get("configList", []) if isinstance(config, str) else []
            for entry in entries:
                # The plugin's default resource prefix is "rdma" (Mellanox/k8s-rdma-shared-dev-plugin README).
                prefix = entry.get("resourcePrefix") or "rdma"
                found[f"{prefix}/{entry.get('resourceName')}"] = Decimal(int(entry.get("rdmaHcaMax") or 0))
        return found

    def _resource_prefixes(self) -> dict[str, str]:
        prefixes: dict[str, str] = {}
        for nad in self.all("NetworkAttachmentDefinition"):
            annotations = (nad.get("metadata") or {}).get("annotations") or {}
            full = str(annotations.get(NAD_RESOURCE_ANNOTATION, ""))
            if "/" in full:
                prefix, name = full.rsplit("/", 1)
                prefixes[name] = prefix
        return prefixes


def parse_taint(text: str) -> dict[str, str]:
    """``key=value:Effect`` (as the plan's identity facts and kubectl write a taint) as a Node taint."""
    head, _, effect = text.rpartition(":")
    key, _, value = head.partition("=")
    return {"key": key, "value": value, "effect": effect}


def kueue_manager_config(values: Mapping[str, Any]) -> dict[str, Any]:
    """Kueue's manager Configuration in its chart's ``values`` (``managerConfig.controllerManagerConfigYaml``)."""
    text = (values.get("managerConfig") or {}).get("controllerManagerConfigYaml")
    loaded = yaml.safe_load(text) if isinstance(text, str) else None
    return loaded if isinstance(loaded, dict) else {}


def cni_plugins(config: Any) -> list[dict[str, Any]]:
    """The plugins of a network definition's CNI configuration (a plugin list, or one plugin); [] if not JSON."""
    if not isinstance(config, str):
        return []
    try:
        data = json.loads(config)
    except json.JSONDecodeError:
        return []
    if not isinstance(data, dict):
        return []
    plugins = data["plugins"] if isinstance(data.get("plugins"), list) else [data]
    return [p for p in plugins if isinstance(p, dict)]


# Node Feature Discovery's own label namespace: set on the node by nfd-worker from what it finds.
NFD_FEATURE_PREFIX = "feature.node.kubernetes.io/"


def _selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A node selector against a pool's labels; NFD feature labels are taken as discovered on GPU nodes.

    The facts hold the labels the site writes; what nfd-worker discovers (PCI vendors, kernel
    features) is the hardware's, and every GPU pool's nodes carry the InfiniBand adapters the SR-IOV
    policies select. Said as an assumption in every verdict that relies on it.
    """
    return all(labels.get(k) == str(v) or str(k).startswith(NFD_FEATURE_PREFIX) for k, v in selector.items())
