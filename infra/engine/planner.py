"""Plan a site: run the same composition ``pulumi up`` runs, on the mock runtime, and record it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from infra.config.model import SiteConfig
from infra.engine.facts import site_facts
from infra.engine.recording import RecordedPlan, build_recorded_plan
from infra.engine.registration import RecordedResource
from infra.engine.runtime import record_program
from infra.stacks import StackPart

PROJECT = "gigafactory"  # Pulumi.yaml `name`; URNs carry it


def plan_site(
    config: SiteConfig,
    *,
    on_register: Callable[[int], None] | None = None,
    on_stack: Callable[[int, int], None] | None = None,
    secret_values: Mapping[str, str] | None = None,
    source: Path | None = None,
    single_stack: bool = False,
) -> RecordedPlan:
    """Compose every stack of ``config``'s site on the mock runtime and return the site's RecordedPlan.

    Each stack (``infra.stacks.site_stacks``: ``<site>``, ``<site>.fabric``, ``<site>.pool-<pool>``,
    ``<site>.tenants``, ``<site>.storage``) runs as its own program, as ``pulumi up`` would run it;
    the plan holds all their resources (URNs name their stack) and the stacks in deployment order.
    ``single_stack`` composes the whole site as one stack named after it (the layout before the
    split, which ``gigafactory migrate`` moves from).

    Every Pulumi config secret the components read gets a stand-in shaped as its consumer expects
    (``infra.site.planning_secret_values``), or the value given in ``secret_values``; secret inputs
    are recorded as ``[secret]`` either way, so no value reaches the plan. ``source`` is the site
    file ``config`` was read from: the plan's facts then record where each value was written.
    """
    # Imported here: the composition pulls in every component and pulumi_kubernetes, which the
    # plan-file commands (diff, render from a plan) never need.
    from infra.plan.site_plan import build_site_plan
    from infra.site import build_site, planning_secret_values
    from infra.stacks import site_stacks

    secrets = {**planning_secret_values(config), **(secret_values or {})}
    site_plan = build_site_plan(config)
    parts = [None] if single_stack else site_stacks(config)
    records: list[RecordedResource] = []
    for number, part in enumerate(parts, start=1):
        offset = len(records)
        if on_stack is not None:
            on_stack(number, len(parts))

        def program(part: StackPart | None = part) -> None:
            build_site(config, part=part, plan=site_plan)

        def progress(count: int, offset: int = offset) -> None:
            if on_register is not None:
                on_register(offset + count)

        stack = config.site.name if part is None else part.stack
        records += record_program(program, project=PROJECT, stack=stack, secret_config=secrets, on_register=progress)
    return build_recorded_plan(
        records,
        project=PROJECT,
        stack=config.site.name,
        site=site_facts(site_plan, source),
        stacks=() if single_stack else [p.stack for p in site_stacks(config)],
    )
