"""Label selectors, node selector terms and taint tolerations, evaluated as Kubernetes evaluates them.

Rules from kubernetes/kubernetes ``staging/src/k8s.io/component-helpers/scheduling/corev1``
(``nodeaffinity/nodeaffinity.go``: terms are ORed, expressions in a term ANDed; ``helpers.go``:
``TolerationsTolerateTaint``) and ``apimachinery/pkg/labels/selector.go``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def matches_expression(expression: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """One ``matchExpressions`` entry (In, NotIn, Exists, DoesNotExist, Gt, Lt) against ``labels``."""
    key = str(expression.get("key", ""))
    operator = expression.get("operator")
    values = [str(v) for v in expression.get("values") or ()]
    present = key in labels
    if operator == "In":
        return present and labels[key] in values
    if operator == "NotIn":
        return not present or labels[key] not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt") and present and values:
        try:
            have, want = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return have > want if operator == "Gt" else have < want
    return False


def matches_label_selector(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A ``metav1.LabelSelector`` (matchLabels and matchExpressions, ANDed) against ``labels``."""
    match_labels = selector.get("matchLabels") or {}
    if any(labels.get(str(k)) != str(v) for k, v in match_labels.items()):
        return False
    return all(matches_expression(e, labels) for e in selector.get("matchExpressions") or ())


def matches_node_selector_terms(terms: Sequence[Mapping[str, Any]], labels: Mapping[str, str]) -> bool:
    """Required node affinity: any term whose expressions all hold (field expressions are not read)."""
    return any(all(matches_expression(e, labels) for e in term.get("matchExpressions") or ()) for term in terms)


def tolerates(tolerations: Sequence[Mapping[str, Any]], taint: Mapping[str, Any]) -> bool:
    """Whether any toleration tolerates ``taint`` (an empty key with Exists tolerates every taint)."""
    for toleration in tolerations:
        effect = toleration.get("effect")
        if effect and effect != taint.get("effect"):
            continue
        key = toleration.get("key")
        operator = toleration.get("operator") or "Equal"
        if not key:
            if operator == "Exists":
                return True
            continue
        if key != taint.get("key"):
            continue
        # A null value is the empty string Kubernetes decodes it as (core/v1 Toleration.Value).
        if operator == "Exists" or str(toleration.get("value") or "") == str(taint.get("value") or ""):
            return True
    return False


def untolerated(
    tolerations: Sequence[Mapping[str, Any]], taints: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """The NoSchedule and NoExecute taints no toleration tolerates (PreferNoSchedule never blocks)."""
    return [t for t in taints if t.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(tolerations, t)]


def taint_text(taint: Mapping[str, Any]) -> str:
    """``key=value:Effect`` as kubectl writes a taint."""
    value = f"={taint['value']}" if taint.get("value") else ""
    return f"{taint.get('key')}{value}:{taint.get('effect')}"
