"""The labels and taints the site's nodes will carry, from what writes them.

Node Feature Discovery's ``NodeFeatureRule`` objects (``components/compute/node_identity.py``):
each rule matches nodes by name (``system.name`` ``nodename``: ``In`` [names], or ``InRegexp``
with the anchored alternation of names the components write) and gives them its ``labels``, the
labels its ``labelsTemplate`` writes (its ``key=value`` lines; the value may differ by node) and its
``taints`` (node-feature-discovery v0.19.0 ``api/nfd/v1alpha1/types.go``, Rule;
``pkg/apis/nfd/template/template.go``, ExpandMap).
A Node object or patch, where a state holds one, counts as one node with its own labels and taints.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from components.compute.node_identity import pattern_names
from components.labels import POOL_LABEL
from infra.engine.contracts.model import ClusterState

NFD_GROUP = "nfd.k8s-sigs.io"
TEMPLATED = "[labelsTemplate]"
# A `key=value` line of a template's text (not inside an action): a label it writes.
_TEMPLATE_LINE = re.compile(r"^\s*([^\s={}]+)=", re.MULTILINE)


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
            values = (expression or {}).get("value") or []
            if (expression or {}).get("op") == "InRegexp":
                count += sum(len(pattern_names(str(v)) or ()) for v in values)
            else:
                count += len(values)
    return count


def _templated(rule: Mapping[str, Any]) -> dict[str, str]:
    """The labels a rule's ``labelsTemplate`` writes, each valued ``TEMPLATED``."""
    return dict.fromkeys(_TEMPLATE_LINE.findall(str(rule.get("labelsTemplate") or "")), TEMPLATED)


def node_groups(state: ClusterState) -> Iterator[NodeGroup]:
    """Every group of nodes with the labels and taints they will carry."""
    for rule_set in state.of_kind("NodeFeatureRule", NFD_GROUP):
        for rule in rule_set.spec.get("rules") or []:
            labels = {**_templated(rule), **(rule.get("labels") or {})}
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
