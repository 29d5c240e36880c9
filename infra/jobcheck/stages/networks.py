"""Stage 4, networks: each network a pod names is its tenant's, in its partition, with its device requested.

Multus reads ``k8s.v1.cni.cncf.io/networks`` (``name``, ``namespace/name``, ``name@ifname``, or a
JSON list of ``{"name", "namespace", "interface"}``: k8snetworkplumbingwg/multus-cni
``pkg/k8sclient/k8sclient.go``, parsePodNetworkAnnotation). A definition in another namespace is
another tenant's or the operator's: it carries another partition key (ib-kubernetes joins the pod's
GUID to the key the definition names, ``pkg/daemon/daemon.go``). A definition's
``k8s.v1.cni.cncf.io/resourceName`` is the device the CNI plugin configures; without it requested,
the pod gets no virtual function (no network-resources-injector runs here).
"""

from __future__ import annotations

import json
from typing import Any

from components.network.naming import NAD_RESOURCE_ANNOTATION, PKEY_MASK
from infra.jobcheck.context import Context, Reason
from infra.jobcheck.site import cni_plugins

NETWORKS_ANNOTATION = "k8s.v1.cni.cncf.io/networks"
NAD = "NetworkAttachmentDefinition"


def parse_networks(text: str, default_namespace: str) -> list[tuple[str, str]] | None:
    """``(namespace, name)`` of every network the annotation names; None when it cannot be read."""
    text = text.strip()
    if text.startswith("["):
        try:
            entries = json.loads(text)
        except json.JSONDecodeError:
            return None
        if not isinstance(entries, list) or not all(isinstance(e, dict) and e.get("name") for e in entries):
            return None
        return [(str(e.get("namespace") or default_namespace), str(e["name"])) for e in entries]
    found = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        reference = item.split("@", 1)[0]
        namespace, _, name = reference.rpartition("/")
        found.append((namespace or default_namespace, name))
    return found


def _pkeys(config: Any) -> list[str]:
    """Every ``pkey`` in a CNI configuration (a single plugin or a plugin list)."""
    return [str(p["pkey"]) for p in cni_plugins(config) if p.get("pkey")]


def check(ctx: Context) -> list[Reason]:
    """Reasons a pod's networks would fail; empty when every network is the tenant's and requested."""
    namespace = str(ctx.namespace)
    own = ctx.site.names(NAD, namespace)
    tenant_pkey = ctx.tenant_pkey
    partitions: set[str] = set()
    for pod_set, requests in zip(ctx.job.pod_sets, ctx.requests, strict=True):
        text = pod_set.annotations.get(NETWORKS_ANNOTATION)
        if text is None:
            continue
        path = (*pod_set.path, "metadata", "annotations", NETWORKS_ANNOTATION)
        networks = parse_networks(str(text), namespace)
        if networks is None:
            return [
                ctx.reason(
                    path,
                    "the networks annotation is neither a name list nor a JSON list of networks",
                    "Multus",
                    'write "ib-rail0,ib-rail1,..." or a JSON list of {"name": ...}',
                )
            ]
        for net_namespace, name in networks:
            if net_namespace != namespace:
                return [
                    ctx.reason(
                        path,
                        f"network {net_namespace}/{name} is in namespace {net_namespace}, not the job's",
                        f"{NAD} {net_namespace}/{name}",
                        f"name your tenant's own networks: {', '.join(own) or 'none'} (namespace {namespace})",
                    )
                ]
            definition = ctx.site.get(NAD, name, namespace)
            if definition is None:
                return [
                    ctx.reason(
                        path,
                        f"network {name} does not exist in namespace {namespace}",
                        f"the {NAD}s of {namespace}",
                        f"use one of: {', '.join(own) or 'none'}",
                    )
                ]
            for pkey in _pkeys((definition.get("spec") or {}).get("config")):
                if tenant_pkey and int(pkey, 16) & PKEY_MASK != int(tenant_pkey, 16) & PKEY_MASK:
                    return [
                        ctx.reason(
                            path,
                            f"network {name} joins partition {pkey}, not the tenant's {tenant_pkey}",
                            f"{NAD} {namespace}/{name}",
                            "ask the site: the tenant's networks must carry its partition key",
                        )
                    ]
                partitions.add(pkey)
            resource = ((definition.get("metadata") or {}).get("annotations") or {}).get(NAD_RESOURCE_ANNOTATION)
            if resource and requests.amounts.get(str(resource), 0) <= 0:
                container = (*pod_set.path, "spec", "containers", 0, "resources", "limits")
                return [
                    ctx.reason(
                        container,
                        f"network {name} needs the device {resource}, which no container requests",
                        f"{NAD} {namespace}/{name} ({NAD_RESOURCE_ANNOTATION}: {resource})",
                        f"add {resource}: 1 to the limits of the container that uses {name}",
                    )
                ]
        ctx.placement.setdefault("networks", []).extend(name for _, name in networks)
    if partitions:
        ctx.placement["partitions"] = sorted(partitions)
    return []
