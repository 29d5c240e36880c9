"""The ``site_files`` fixture; the helpers it builds on live in ``sitefiles.py``.

Test modules import from ``sitefiles`` (a name no other test folder uses), never ``from conftest``:
several folders have a conftest.py and the module named ``conftest`` depends on collection order.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sitefiles import SiteFiles, make_site_files


@pytest.fixture
def site_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SiteFiles:
    """The compact site's base in a temp folder that is the working directory."""
    return make_site_files(tmp_path, monkeypatch)
