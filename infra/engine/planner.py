"""Plan a site: run the same composition ``pulumi up`` runs, on the mock runtime, and record it."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from infra.config.model import SiteConfig
from infra.engine.facts import site_facts
from infra.engine.plan import Plan, build_plan
from infra.engine.runtime import record_program

PROJECT = "gigafactory"  # Pulumi.yaml `name`; URNs carry it


def stand_in_secret(name: str) -> str:
    """The value a secret gets while planning: its name only; secrets are recorded as ``[secret]``."""
    return f"planned-without-secret:{name}"


def plan_site(
    config: SiteConfig,
    *,
    on_register: Callable[[int], None] | None = None,
    secret_values: Mapping[str, str] | None = None,
) -> Plan:
    """Compose ``config``'s GigafactorySite on the mock runtime (stack = site name) and return its Plan.

    Every Pulumi config secret the components read (``infra.site.secret_names``) gets a stand-in
    value, or the one in ``secret_values``; secret inputs are recorded as ``[secret]`` either way.
    """
    # Imported here: the composition pulls in every component and pulumi_kubernetes, which the
    # plan-file commands (diff, render from a plan) never need.
    from infra.site import build_site, secret_names

    given = secret_values or {}
    secrets = {name: given.get(name, stand_in_secret(name)) for name in secret_names(config)}

    def program() -> None:
        build_site(config)

    records = record_program(
        program, project=PROJECT, stack=config.site.name, secret_config=secrets, on_register=on_register
    )
    return build_plan(records, project=PROJECT, stack=config.site.name, site=site_facts(config))
