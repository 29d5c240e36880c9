"""Why a valid site config still has no fabric plan: each problem names the config field to change."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FabricProblem:
    """One reason the fabric cannot be planned, at a site-config path such as ``("node_pools", 0, "name")``."""

    path: tuple[str | int, ...]
    message: str
    hint: str


class FabricPlanError(ValueError):
    """Raised by ``plan_fabric``; carries every problem found."""

    def __init__(self, problems: list[FabricProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems))
