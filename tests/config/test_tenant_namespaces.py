"""A tenant never lands in a namespace the site's own components use (issue 11: security)."""

from __future__ import annotations

from components.operators.cluster_operators import operator_namespaces
from components.storage.drivers import DRIVERS
from infra.config.tenants import SITE_NAMESPACES


def test_reserved_namespaces_are_every_namespace_the_components_use() -> None:
    used = set(operator_namespaces().values()) | {driver.namespace for driver in DRIVERS.values()}
    assert set(SITE_NAMESPACES) == used, "update SITE_NAMESPACES in infra/config/tenants.py"
