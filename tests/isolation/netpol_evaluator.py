"""An evaluator of Kubernetes NetworkPolicy: may one pod open a connection to an address?

Semantics (kubernetes.io/docs/concepts/services-networking/network-policies): a pod is isolated
for a direction when any policy in its namespace selects it with that policy type; then only
what some such policy's rules allow passes. A connection needs the source's egress and the
destination's ingress (when the destination is a pod). Peers: ``podSelector`` (the policy's
namespace), ``namespaceSelector`` (with an optional ``podSelector``), ``ipBlock`` (``cidr`` minus
``except``); ports by number and protocol (TCP by default).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vap_evaluator import selector_matches


@dataclass(frozen=True)
class Endpoint:
    """A pod (namespace and labels) or a bare address outside the cluster's pods."""

    ip: str
    namespace: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


def _policies(objects: Iterable[Mapping[str, Any]], namespace: str) -> list[Mapping[str, Any]]:
    return [o for o in objects if o.get("kind") == "NetworkPolicy" and o["metadata"].get("namespace") == namespace]


def _peer_matches(
    peer: Mapping[str, Any], policy_ns: str, other: Endpoint, namespaces: Mapping[str, Mapping[str, str]]
) -> bool:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        address = ipaddress.ip_address(other.ip)
        network = ipaddress.ip_network(block["cidr"])
        if address.version != network.version or address not in network:
            return False
        return not any(
            address in ipaddress.ip_network(e)
            for e in block.get("except", [])
            if ipaddress.ip_network(e).version == address.version
        )
    if other.namespace is None:
        return False
    if "namespaceSelector" in peer:
        if not selector_matches(peer["namespaceSelector"], namespaces.get(other.namespace, {})):
            return False
    elif other.namespace != policy_ns:
        return False
    return selector_matches(peer.get("podSelector"), other.labels)


def _port_matches(rule: Mapping[str, Any], port: int, protocol: str) -> bool:
    ports = rule.get("ports")
    if not ports:
        return True
    return any(p.get("protocol", "TCP") == protocol and p.get("port") in (None, port) for p in ports)


def isolating(objects: Iterable[Mapping[str, Any]], pod: Endpoint, direction: str) -> list[tuple[str, str, str]]:
    """(kind, namespace, name) of every policy that isolates ``pod`` in ``direction`` (Ingress or Egress)."""
    if pod.namespace is None:
        return []
    found = []
    for policy in _policies(objects, pod.namespace):
        spec = policy["spec"]
        types = spec.get("policyTypes") or (["Ingress", "Egress"] if "egress" in spec else ["Ingress"])
        if direction in types and selector_matches(spec.get("podSelector"), pod.labels):
            found.append(("NetworkPolicy", pod.namespace, policy["metadata"]["name"]))
    return found


def _allows(
    objects: list[Mapping[str, Any]],
    pod: Endpoint,
    other: Endpoint,
    direction: str,
    port: int,
    protocol: str,
    namespaces: Mapping[str, Mapping[str, str]],
) -> bool:
    names = {name for _, _, name in isolating(objects, pod, direction)}
    if not names:
        return True
    key, peers = ("egress", "to") if direction == "Egress" else ("ingress", "from")
    assert pod.namespace is not None
    for policy in _policies(objects, pod.namespace):
        if policy["metadata"]["name"] not in names:
            continue
        for rule in policy["spec"].get(key) or []:
            if not _port_matches(rule, port, protocol):
                continue
            chosen = rule.get(peers)
            if not chosen or any(_peer_matches(p, pod.namespace, other, namespaces) for p in chosen):
                return True
    return False


def connection(
    objects: Iterable[Mapping[str, Any]],
    source: Endpoint,
    destination: Endpoint,
    port: int,
    namespaces: Mapping[str, Mapping[str, str]],
    protocol: str = "TCP",
) -> tuple[bool, list[tuple[str, str, str]]]:
    """(allowed, the policies that denied it: the isolating ones of each direction that failed)."""
    objects = list(objects)
    deciders: list[tuple[str, str, str]] = []
    if not _allows(objects, source, destination, "Egress", port, protocol, namespaces):
        deciders += isolating(objects, source, "Egress")
    if destination.namespace is not None and not _allows(
        objects, destination, source, "Ingress", port, protocol, namespaces
    ):
        deciders += isolating(objects, destination, "Ingress")
    return (not deciders, deciders)
