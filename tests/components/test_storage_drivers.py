"""The storage-driver table: one driver per kind, the site schema's kinds are exactly the table's."""

from __future__ import annotations

from typing import get_args

import pytest

from components.storage.driver import StorageSpec
from components.storage.drivers import DRIVERS, UnknownStorageKindError, driver_for
from components.storage.storage_system import storage_driver
from infra.config.schema import StorageKind


def test_every_kind_the_site_schema_accepts_has_exactly_one_driver() -> None:
    assert sorted(get_args(StorageKind)) == sorted(DRIVERS)
    assert all(kind == driver.kind for kind, driver in DRIVERS.items())


def test_an_unknown_kind_never_reaches_composition() -> None:
    with pytest.raises(UnknownStorageKindError, match="no storage driver for kind 'gpfs'"):
        storage_driver({"kind": "gpfs", "systems": [{"name": "x", "kind": "gpfs", "endpoint": "e"}]})


def test_a_system_of_another_kind_or_an_interface_its_driver_does_not_serve_is_refused() -> None:
    with pytest.raises(ValueError, match="of kind weka, not vast"):
        storage_driver({"kind": "vast", "systems": [StorageSpec(name="x", kind="weka", endpoint="e", mount_path="/x")]})
    with pytest.raises(ValueError, match="serves filesystem, not block"):
        block = StorageSpec(name="x", kind="weka", endpoint="e", interface="block")
        storage_driver({"kind": "weka", "systems": [block]})


@pytest.mark.parametrize("kind", sorted(DRIVERS))
def test_credential_secret_names_are_what_the_storage_class_references(kind: str) -> None:
    driver = driver_for(kind)
    system = StorageSpec(
        name="sys", kind=kind, endpoint="https://api.example:443", mount_path="/sys", credentials_secret="creds"
    )
    secret = driver.credential_secret(system)
    params = driver.storage_class(system, with_secret=True).parameters
    named = {v for k, v in params.items() if k.endswith("-secret-name")}
    # Rook's classes name the CSI secrets its operator makes; the others name the driver's own secret.
    assert named <= {secret.name} or kind == "rook-ceph", (kind, named)
    assert set(secret.keys.values()) <= {*driver.credential_fields, *driver.credential_defaults}, kind
    assert driver.filesystem_types, kind
