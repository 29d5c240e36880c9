"""The labels and taints the site's nodes will carry, from what writes them.

Node Feature Discovery's ``NodeFeatureRule`` objects (``components/compute/node_identity.py``):
each rule matches nodes by name (``system.name`` ``nodename`` ``In`` [...]) and gives them its
``labels`` and ``taints`` (node-feature-discovery v0.19.0 ``api/nfd/v1alpha1/types.go``, Rule).
A Node object or patch, where a state holds one, counts as one node with its own labels and taints.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from infra.engine.contracts.model import POOL_LABEL, ClusterState

NFD_GROUP = "nfd.k8s-sigs.io"


@dataclass(frozen=True)
class NodeGroup:
    """Nodes that carry the same labels and taints: one NFD rule's, or one Node's."""

    pool: str
    labels: Mapping[str, str]
    taints: tuple[Mapping[str, Any], ...]
    nodes: int
    source: str


def _matched_nodes(rule: Mapping[str, Any]) -> int:
    count = 0
    for match in rule.get("matchFeatures") or []:
        for expression in (match.get("matchExpressions") or {}).values():
            count += len((expression or {}).get("value") or [])
    return count


def node_groups(state: ClusterState) -> Iterator[NodeGroup]:
    """Every group of nodes with the labels and taints they will carry."""
    for rule_set in state.of_kind("NodeFeatureRule", NFD_GROUP):
        for rule in rule_set.spec.get("rules") or []:
            labels = dict(rule.get("labels") or {})
            yield NodeGroup(
                str(labels.get(POOL_LABEL) or rule_set.labels.get(POOL_LABEL, "")),
                labels,
                tuple(rule.get("taints") or ()),
                _matched_nodes(rule),
                f"NodeFeatureRule {rule_set.name} rule {rule.get('name')}",
            )
    for node in state.of_kind("Node", ""):
        yield NodeGroup(
            str(node.labels.get(POOL_LABEL, "")),
            dict(node.labels),
            tuple(node.spec.get("taints") or ()),
            1,
            f"Node {node.name}",
        )
