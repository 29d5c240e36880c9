"""Where the site config wrote what a Helm release's values come from, and errors placed there.

Operators' releases come from ``operators.<operator>`` (its pinned version and settings); a
storage kind's releases from its storage systems (one release serves every system of the kind:
the first system of the kind in the file). Positions come from the plan's own fact locations
(``SiteFacts.where``), so a plan file read back places errors as well as a fresh plan.
"""

from __future__ import annotations

from infra.config.errors import ConfigError, Location
from infra.engine.charts.render import ChartTemplateError, HelmRelease
from infra.engine.facts import SiteFacts

# Chart name -> the field of ``operators`` that pins it.
OPERATOR_FIELDS = {
    "cert-manager": "cert_manager",
    "kube-prometheus-stack": "monitoring",
    "node-feature-discovery": "node_feature_discovery",
    "gpu-operator": "gpu_operator",
    "network-operator": "network_operator",
    "kueue": "kueue",
}
_STORAGE_COMPONENT = "-storage-"


def location_of(where: str, fallback: str) -> Location:
    """A ``file:line:col`` text as a Location (``fallback`` as the file when it is empty)."""
    file, _, rest = where.rpartition(":")
    file, _, line = file.rpartition(":")
    if file and line.isdigit() and rest.isdigit():
        return Location(file, int(line), int(rest))
    return Location(where or fallback)


def release_fact(release: HelmRelease, facts: SiteFacts) -> str:
    """The fact path behind the release's values (``operators.kueue``, ``storage.<system>``), or ''."""
    if release.chart in OPERATOR_FIELDS:
        return f"operators.{OPERATOR_FIELDS[release.chart]}"
    _, marker, kind = release.component.partition(_STORAGE_COMPONENT)
    systems = [f"storage.{name}" for name, system in facts.storage.items() if marker and system.kind == kind]
    return min(systems, key=lambda fact: location_of(facts.where(fact), ""), default="")


def located(facts: SiteFacts, fact: str, fallback: str, message: str, hint: str) -> ConfigError:
    """A config error at the place ``fact`` was written (``fallback`` names the input otherwise)."""
    return ConfigError(location_of(facts.where(fact), fallback), fact, message, hint)


def chart_errors(errors: list[ChartTemplateError], facts: SiteFacts, fallback: str) -> list[ConfigError]:
    """Each chart refusal as a config error at the field behind the release's values."""
    return [
        located(
            facts,
            release_fact(error.release, facts),
            fallback,
            f"chart {error.release.chart} {error.release.version} (release {error.release.namespace}/"
            f"{error.release.name}) refuses the values built from this: {error.message}",
            "change this setting so the chart accepts it; the release's values are "
            f"helm/{error.release.namespace}--{error.release.name}.values.yaml of `gigafactory render`",
        )
        for error in errors
    ]
