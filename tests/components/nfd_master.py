"""What nfd-master would write on a Node, from recorded NodeFeatureRules: an evaluator for the tests.

It follows node-feature-discovery v0.19.0 ``pkg/nfd-master/nfd-master.go``
(``processNodeFeatureRule``): NodeFeatureRules in name order, their rules in list order, labels of
later rules overwrite earlier ones, taints are appended. A rule (``pkg/apis/nfd/nodefeaturerule/
rule.go``, ``Execute``) that matches runs its ``labelsTemplate`` on the matched features, then
copies its static ``labels`` over the result.

Only what the project uses is implemented, and anything else fails the test rather than guessing:
feature ``system.name``, element ``nodename`` (the one element nfd-worker publishes,
``source/system/system.go``), operators ``In`` (equality with one of the values) and ``InRegexp``
(``expression.go``: Go ``regexp.MatchString``, an unanchored search, true when any pattern
matches). Patterns are run by Python's ``re``, which agrees with RE2 on the subset allowed here
(literals, escaped punctuation, ``^``, ``$``, groups, alternation, classes); a construct RE2 lacks
or reads differently (look-around, back-references, possessive or atomic groups, inline flags)
fails the test.

Templates run in Go's own ``text/template`` with sprig, through Helm's engine (helm-python-sdk,
in-process): NFD's ``pkg/apis/nfd/template/template.go`` is the same engine with the same
functions (less ``env``, ``expandenv`` and ``getHostByName``), at most ``MaxTemplateSize`` bytes,
its output read as ``key=value`` lines (``ExpandMap``). Each node's template gets the data NFD
gives it: ``{"system": {"name": [{"Name": "nodename", "Value": <node>}]}}``.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.engine.runtime import RecordedResource

RULE_TYPE = "kubernetes:nfd.k8s-sigs.io/v1alpha1:NodeFeatureRule"
MAX_TEMPLATE_SIZE = 64 * 1024  # NFD v0.19.0 pkg/apis/nfd/template/template.go
# Constructs Python's re accepts that RE2 refuses or reads otherwise.
_NOT_RE2 = re.compile(r"\(\?[=!<>P(#]|\(\?[aiLmsux-]+[:)]|\\[0-9]|[*+?}]\+|\\[ZzAbB]")
_MARKER = "\\n@@nfd-node "  # as a Go string literal
_NODE = "\n@@nfd-node "


@dataclass
class NodeOutcome:
    """The labels and taints nfd-master writes on one node, and the rules that matched it."""

    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict[str, Any]] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Rule:
    name: str
    spec: dict[str, Any]

    def select(self, nodes: list[str]) -> list[str]:
        """The nodes among ``nodes`` the rule matches (every term of ``matchFeatures``: a logical AND)."""
        terms = self.spec.get("matchFeatures") or []
        assert terms and not self.spec.get("matchAny"), f"rule {self.name}: only matchFeatures on the node name"
        for term in terms:
            assert term["feature"] == "system.name", f"rule {self.name}: matches {term['feature']}"
            expressions = term["matchExpressions"]
            assert set(expressions) == {"nodename"}, f"rule {self.name}: {sorted(expressions)}"
            nodes = _select(self.name, expressions["nodename"], nodes)
        return nodes


def _select(rule: str, expression: dict[str, Any], nodes: list[str]) -> list[str]:
    op, values = expression["op"], list(expression.get("value") or [])
    assert values, f"rule {rule}: {op} needs values (nfd-master refuses the rule)"
    if op == "In":
        wanted = set(values)
        return [node for node in nodes if node in wanted]
    assert op == "InRegexp", f"rule {rule}: operator {op}"
    found: set[str] = set()
    for value in values:
        found.update(filter(_pattern(rule, value).search, nodes))
    return [node for node in nodes if node in found]


_compiled: dict[str, re.Pattern[str]] = {}


def _pattern(rule: str, value: str) -> re.Pattern[str]:
    found = _compiled.get(value)
    if found is None:
        assert not _NOT_RE2.search(value), f"rule {rule}: {value!r} is not read the same by RE2"
        found = _compiled[value] = re.compile(value)
    return found


def _rules(resources: Iterable[RecordedResource]) -> list[_Rule]:
    ordered = sorted(resources, key=lambda r: r.inputs["metadata"]["name"])
    return [
        _Rule(f"{resource.inputs['metadata']['name']}/{rule['name']}", rule)
        for resource in ordered
        for rule in resource.inputs["spec"]["rules"]
    ]


def outcomes(resources: Iterable[RecordedResource], nodes: Iterable[str]) -> dict[str, NodeOutcome]:
    """What the NodeFeatureRules in ``resources`` write on each Node named in ``nodes``."""
    rules = _rules(resources)
    names = list(dict.fromkeys(nodes))
    matched = [rule.select(names) for rule in rules]
    templated = _expand_templates(
        [(rule.spec.get("labelsTemplate") or "", found) for rule, found in zip(rules, matched, strict=True)]
    )
    result = {node: NodeOutcome() for node in names}
    for rule, found, expanded in zip(rules, matched, templated, strict=True):
        for node in found:
            written = result[node]
            written.labels.update(expanded.get(node, {}))
            written.labels.update(rule.spec.get("labels") or {})
            written.taints.extend(rule.spec.get("taints") or [])
            written.rules.append(rule.name)
    return result


def outcome(resources: Iterable[RecordedResource], node: str) -> NodeOutcome:
    """What the NodeFeatureRules in ``resources`` write on the Node named ``node``."""
    return outcomes(resources, [node])[node]


def node_rules(resources: Iterable[RecordedResource]) -> list[RecordedResource]:
    """The NodeFeatureRules among ``resources``."""
    return [r for r in resources if r.type == RULE_TYPE]


def _expand_templates(cases: list[tuple[str, list[str]]]) -> list[dict[str, dict[str, str]]]:
    """For each (template, nodes), the labels the template writes on each node: one Helm render for all."""
    wanted = [(index, template, nodes) for index, (template, nodes) in enumerate(cases) if template and nodes]
    found: list[dict[str, dict[str, str]]] = [{} for _ in cases]
    if not wanted:
        return found
    import helm_python

    with tempfile.TemporaryDirectory() as folder:
        chart = Path(folder)
        (chart / "Chart.yaml").write_text("apiVersion: v2\nname: nfd-templates\nversion: 0.1.0\n", encoding="utf-8")
        (chart / "templates").mkdir()
        nodes_of = {}
        for index, template, nodes in wanted:
            assert len(template.encode()) <= MAX_TEMPLATE_SIZE, f"template {index}: nfd-master refuses its size"
            # Inlined in the range below, `$` would name the chart's root, not the rule's data.
            assert "$" not in template, f"template {index}: uses $"
            nodes_of[f"t{index}"] = nodes
            # The marker is a template action's output: no `{{-` of the rule's template can trim it.
            wrapped = (
                f'{{{{- range $node := index .Values.nodes "t{index}" }}}}{{{{ printf "{_MARKER}%s\\n" $node }}}}'
                '{{- with dict "system" (dict "name" (list (dict "Name" "nodename" "Value" $node))) }}'
                f"{template}{{{{ end }}}}{{{{- end }}}}"
            )
            (chart / "templates" / f"t{index}.txt").write_text(wrapped, encoding="utf-8")
        with helm_python.Chart.load(chart) as loaded:
            rendered = loaded.render({"nodes": nodes_of}, name="nfd")
    for index, _, nodes in wanted:
        text = rendered[f"nfd-templates/templates/t{index}.txt"]
        for piece in text.split(_NODE)[1:]:
            node, _, body = piece.partition("\n")
            found[index][node] = _expand_map(body)
        assert set(found[index]) == set(nodes), f"template {index}: rendered for {sorted(found[index])}"
    return found


def _expand_map(text: str) -> dict[str, str]:
    """``key=value`` lines as NFD's ``ExpandMap`` reads them (blank lines skipped, a line without '=' refused)."""
    out = {}
    for line in text.split("\n"):
        item = line.strip()
        if item:
            key, equals, value = item.partition("=")
            assert equals, f"template line {item!r}: missing value (format must be '<key>=<value>')"
            out[key] = value
    return out
