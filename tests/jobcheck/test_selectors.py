"""Taint tolerations as Kubernetes matches them (the contracts and check-job share ``selectors``)."""

from __future__ import annotations

from typing import Any

import pytest

from infra.jobcheck.selectors import tolerates, untolerated

TAINT = {"key": "gigafactory.eu/tenant", "value": "oslo-hospital", "effect": "NoSchedule"}
EXACT = {"key": "gigafactory.eu/tenant", "operator": "Equal", "value": "oslo-hospital", "effect": "NoSchedule"}


@pytest.mark.parametrize(
    ("toleration", "expected"),
    [
        (EXACT, True),
        ({"operator": "Exists"}, True),
        ({"key": "gigafactory.eu/tenant", "operator": "Exists"}, True),
        ({"key": "gigafactory.eu/tenant", "value": "other", "effect": "NoSchedule"}, False),
        ({"key": "gigafactory.eu/tenant", "operator": "Exists", "effect": "NoExecute"}, False),
        ({"key": "nvidia.com/gpu", "operator": "Exists"}, False),
    ],
)
def test_toleration_matching_follows_kubernetes(toleration: dict[str, Any], expected: bool) -> None:
    assert tolerates([toleration], TAINT) is expected


def test_a_null_value_is_the_empty_value() -> None:
    # Kubernetes decodes `value: null` as "" (core/v1 Toleration.Value and Taint.Value are strings).
    empty = {"key": "dedicated", "value": "", "effect": "NoSchedule"}
    assert tolerates([{"key": "dedicated", "operator": "Equal", "value": None}], empty)
    assert tolerates([{"key": "dedicated", "operator": "Equal"}], {**empty, "value": None})
    assert not tolerates([{"key": "dedicated", "operator": "Equal", "value": None}], {**empty, "value": "None"})


def test_only_no_schedule_and_no_execute_taints_block() -> None:
    prefer = {**TAINT, "effect": "PreferNoSchedule"}
    execute = {**TAINT, "effect": "NoExecute"}
    assert untolerated([], [prefer, TAINT, execute]) == [TAINT, execute]
