"""What nfd-master would write on a Node, from recorded NodeFeatureRules: an evaluator for the tests.

It follows node-feature-discovery v0.19.0 ``pkg/nfd-master/nfd-master.go``
(``processNodeFeatureRule``): NodeFeatureRules in name order, their rules in list order, labels of
later rules overwrite earlier ones, taints are appended. Only the matcher the project uses is
implemented: feature ``system.name``, element ``nodename``, operator ``In``
(``pkg/apis/nfd/nodefeaturerule``); anything else fails the test rather than guessing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from infra.engine.runtime import RecordedResource

RULE_TYPE = "kubernetes:nfd.k8s-sigs.io/v1alpha1:NodeFeatureRule"


@dataclass
class NodeOutcome:
    """The labels and taints nfd-master writes on one node, and the rules that matched it."""

    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict[str, Any]] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)


def _matches(rule: dict[str, Any], node: str) -> bool:
    terms = rule.get("matchFeatures") or []
    assert terms and not rule.get("matchAny"), f"rule {rule.get('name')}: only matchFeatures on the node name"
    for term in terms:
        assert term["feature"] == "system.name", f"rule {rule.get('name')}: matches {term['feature']}"
        expressions = term["matchExpressions"]
        assert set(expressions) == {"nodename"}, f"rule {rule.get('name')}: {sorted(expressions)}"
        expression = expressions["nodename"]
        assert expression["op"] == "In", f"rule {rule.get('name')}: operator {expression['op']}"
        if node not in expression["value"]:
            return False
    return True


def outcome(rules: Iterable[RecordedResource], node: str) -> NodeOutcome:
    """What the NodeFeatureRules in ``rules`` write on the Node named ``node``."""
    result = NodeOutcome()
    for resource in sorted(rules, key=lambda r: r.inputs["metadata"]["name"]):
        for rule in resource.inputs["spec"]["rules"]:
            if _matches(rule, node):
                result.labels.update(rule.get("labels") or {})
                result.taints.extend(rule.get("taints") or [])
                result.rules.append(f"{resource.inputs['metadata']['name']}/{rule['name']}")
    return result


def node_rules(resources: Iterable[RecordedResource]) -> list[RecordedResource]:
    """The NodeFeatureRules among ``resources``."""
    return [r for r in resources if r.type == RULE_TYPE]
