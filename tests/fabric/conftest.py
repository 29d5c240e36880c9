"""Fixtures for the fabric tests (the helpers live in ``fabric_sites.py``, a name no other folder uses)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fabric_sites import PILOT, SiteFactory, write_site

from infra.config.loader import load_site
from infra.config.model import SiteConfig


@pytest.fixture
def make_site(tmp_path: Path) -> SiteFactory:
    """``make_site(pools, **options) -> SiteConfig``: a validated config with these pools."""

    def make(pools: list[dict[str, Any]], **options: Any) -> SiteConfig:
        return load_site(write_site(tmp_path, pools, **options))

    return make


@pytest.fixture(scope="session")
def pilot() -> SiteConfig:
    """The bundled pilot site."""
    return load_site(PILOT)
