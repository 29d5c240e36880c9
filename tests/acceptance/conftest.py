"""Fixtures for the node acceptance tests: the staged pilot nodes behind real sshd (see staged_site.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from staged_site import StagedSite, run_staged_site, why_not_staged


@pytest.fixture(scope="session")
def staged_site() -> Iterator[StagedSite]:
    """Three staged nodes of the pilot site, each served by its own sshd on 127.0.0.1."""
    reason = why_not_staged()
    if reason is not None:
        pytest.skip(reason)
    with run_staged_site() as site:
        yield site
