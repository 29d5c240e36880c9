"""Plan a site: run the same composition ``pulumi up`` runs, on the mock runtime, and record it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from infra.config.model import SiteConfig
from infra.engine.facts import site_facts
from infra.engine.plan import Plan, build_plan
from infra.engine.runtime import record_program

PROJECT = "gigafactory"  # Pulumi.yaml `name`; URNs carry it


def plan_site(
    config: SiteConfig,
    *,
    on_register: Callable[[int], None] | None = None,
    secret_values: Mapping[str, str] | None = None,
    source: Path | None = None,
) -> Plan:
    """Compose ``config``'s GigafactorySite on the mock runtime (stack = site name) and return its Plan.

    Every Pulumi config secret the components read gets a stand-in shaped as its consumer expects
    (``infra.site.planning_secret_values``), or the value given in ``secret_values``; secret inputs
    are recorded as ``[secret]`` either way, so no value reaches the plan. ``source`` is the site
    file ``config`` was read from: the plan's facts then record where each value was written.
    """
    # Imported here: the composition pulls in every component and pulumi_kubernetes, which the
    # plan-file commands (diff, render from a plan) never need.
    from infra.plan.site_plan import SitePlan
    from infra.site import build_site, planning_secret_values

    secrets = {**planning_secret_values(config), **(secret_values or {})}
    composed: list[SitePlan] = []

    def program() -> None:
        composed.append(build_site(config).plan)

    records = record_program(
        program, project=PROJECT, stack=config.site.name, secret_config=secrets, on_register=on_register
    )
    return build_plan(records, project=PROJECT, stack=config.site.name, site=site_facts(composed[0], source))
