"""Rules across the site files of one repository: what one site may not share with another.

A site is validated alone by ``check_site``; these rules read the other site files in the same
folder (not its bases) too. Today one rule: no node name is produced by two sites' pools. Two
sites whose nodes share hostnames cannot share an inventory, a DNS zone, a monitoring system or
an acceptance report, and a fork that kept its source's pattern is the usual way it happens.
"""

from __future__ import annotations

from pathlib import Path

from infra.config.errors import ConfigError, dotted_path
from infra.config.loader import check_site, display_path, load_layers
from infra.config.model import SiteConfig
from infra.inputs import real_path


def sibling_sites(path: Path) -> list[Path]:
    """The other site files in ``path``'s folder (``*.yaml``, not ``path`` itself), sorted."""
    here = real_path(path)
    return sorted(p for p in path.parent.glob("*.yaml") if p.is_file() and real_path(p) != here)


def node_name_collisions(path: Path, config: SiteConfig) -> list[ConfigError]:
    """A located error for each pool of ``config`` some of whose node names another site also uses."""
    owners: dict[str, tuple[Path, str]] = {}
    for sibling in sibling_sites(path):
        other, _ = check_site(sibling)
        if other is None:
            continue  # validating that file reports its own errors
        for pool in other.node_pools:
            for node in pool.node_names():
                owners.setdefault(node, (sibling, pool.name))
    if not owners:
        return []
    layers, _ = load_layers(path)
    errors = []
    for index, pool in enumerate(config.node_pools):
        clash = next((n for n in pool.node_names() if n in owners), None)
        if clash is None or layers is None:
            continue
        where = ("node_pools", index, "node_name_pattern")
        other_path, other_pool = owners[clash]
        errors.append(
            ConfigError(
                layers.location(where),
                dotted_path(where),
                f"node name {clash!r} is also a node of {display_path(other_path)} (pool {other_pool}); "
                "two sites in one repository may not share node names",
                "give this site's nodes their own prefix, e.g. its site name",
            )
        )
    return errors
