"""One line of a plan diff's summary (an intent or a danger) and the small helpers that word them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from infra.engine.facts import SiteFacts

V = TypeVar("V")

# What a node-level change needs from the nodes while it is applied.
REBOOT, DRAIN = "reboot", "drain"


@dataclass(frozen=True)
class Finding:
    """One line of the summary.

    ``kind`` names the rule or intent group, ``subject`` what it is about, ``where`` the
    ``file:line:col`` of the value that changed (in the site or its base; '' when no config value
    caused it), ``accept`` (dangers) what to do to accept it, ``needs`` (node-level intent) whether
    the nodes must be rebooted or drained for it.
    """

    kind: str
    subject: str
    message: str
    where: str = ""
    accept: str = ""
    needs: str = ""

    def to_json(self) -> dict[str, str]:
        """JSON form."""
        return {
            "kind": self.kind,
            "subject": self.subject,
            "message": self.message,
            "where": self.where,
            "accept": self.accept,
            "needs": self.needs,
        }


def n(value: float) -> str:
    """A number with thousands separators and at most one decimal."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def signed(value: float) -> str:
    """``+16`` or ``-256``."""
    return ("+" if value > 0 else "-") + n(abs(value))


def paired(old: Mapping[str, V], new: Mapping[str, V]) -> Iterator[tuple[str, V | None, V | None]]:
    """``(key, old value, new value)`` for every key of either side, sorted; None where a side lacks it."""
    for key in sorted(set(old) | set(new)):
        yield key, old.get(key), new.get(key)


def where(path: str, new: SiteFacts, old: SiteFacts | None = None) -> str:
    """Where the fact at ``path`` is written now, or (a removed one) was written before the change.

    A fact the new site no longer has is located at its old place, not at the parent that remains.
    """
    found, matched = new.located(path)
    if old is not None:
        previously, old_matched = old.located(path)
        if previously and len(old_matched) > len(matched):
            return f"{previously} (before the change)"
    return found


def text(value: Any) -> str:
    """A fact value as it reads in a sentence."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return n(value)
    return str(value)
