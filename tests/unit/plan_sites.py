"""The bundled sites, loaded once for the planner unit tests."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from infra.config.loader import load_site
from infra.config.model import SiteConfig

REPO = Path(__file__).resolve().parents[2]


@cache
def bundled(name: str) -> SiteConfig:
    """``site-configs/<name>.yaml``, validated."""
    return load_site(REPO / "site-configs" / f"{name}.yaml")
