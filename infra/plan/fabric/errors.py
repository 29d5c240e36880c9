"""Why a valid site config still has no fabric plan: each problem names the config field to change."""

from __future__ import annotations

from collections.abc import Sequence

from infra.errors import PlanningError, Problem


class FabricPlanError(PlanningError, ValueError):
    """Raised by ``plan_fabric``; carries every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems), problems)
