"""The one table of storage drivers: adding a storage kind is one module and one entry here."""

from __future__ import annotations

from collections.abc import Mapping

from components.storage.driver import StorageDriver
from components.storage.exascaler import ExascalerDriver
from components.storage.rook import RookCephDriver
from components.storage.vast import VastDriver
from components.storage.weka import WekaDriver

DRIVERS: Mapping[str, StorageDriver] = {
    d.kind: d for d in (ExascalerDriver(), WekaDriver(), VastDriver(), RookCephDriver())
}


class UnknownStorageKindError(ValueError):
    """A storage kind no driver serves."""


def driver_for(kind: str) -> StorageDriver:
    """The driver of ``kind``; an unknown kind is an error before any resource is built."""
    try:
        return DRIVERS[kind]
    except KeyError:
        known = ", ".join(sorted(DRIVERS))
        raise UnknownStorageKindError(f"no storage driver for kind {kind!r} (known: {known})") from None
