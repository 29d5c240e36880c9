"""User-facing configuration errors: where, which field, what is wrong, and how to fix it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Location:
    """A position in a config file; line and column are 1-based, 0 when unknown."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.file


@dataclass(frozen=True, order=True)
class ConfigError:
    """One problem in a site config, printed as ``file:line:col: field: message`` plus a hint."""

    location: Location
    field: str
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        head = f"{self.location}: {self.field}: {self.message}" if self.field else f"{self.location}: {self.message}"
        return f"{head}\n  hint: {self.hint}" if self.hint else head


def sorted_errors(errors: Iterable[ConfigError]) -> list[ConfigError]:
    """Errors without repeats, in file and line order (a missing hint sorts first)."""
    return sorted(set(errors), key=lambda e: (e.location, e.field, e.message, e.hint or ""))


class SiteConfigError(Exception):
    """Raised by the loader when a site config has errors; carries all of them."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = sorted_errors(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


def dotted_path(path: Sequence[str | int]) -> str:
    """A config path as users write it: ``node_pools[1].hcas.compute``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def error_summary(path: str, count: int, outcome: str | None = None) -> str:
    """The line under a list of errors: ``site.yaml: 2 errors; nothing planned``."""
    line = f"{path}: {count} error{'s' if count != 1 else ''}"
    return f"{line}; {outcome}" if outcome else line
