"""User-facing configuration errors: where, which field, what is wrong, and how to fix it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from infra.errors import GigafactoryError

# C0 and C1 control characters, DEL, and the bidirectional overrides that reorder what a terminal
# shows ("trojan source"): written to a terminal raw they recolour, move the cursor, or hide text.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROL_KEEP_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, keep_lines: bool = False) -> str:
    """``text`` with every control character escaped (``\\x1b``), safe to print on a terminal.

    With ``keep_lines`` newlines and tabs stay, for a message whose lines the program composed.
    """
    return (_CONTROL_KEEP_LINES if keep_lines else _CONTROL).sub(_escaped, text)


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
    # The file is not what the command reads (missing, not UTF-8, not YAML, beyond the reading
    # bounds), rather than a site config with mistakes: exit status 2, not 1.
    unreadable: bool = dataclass_field(default=False, compare=False)

    def __str__(self) -> str:
        where, name, message = printable(str(self.location)), printable(self.field), printable(self.message)
        head = f"{where}: {name}: {message}" if self.field else f"{where}: {message}"
        return f"{head}\n  hint: {printable(self.hint)}" if self.hint else head


def sorted_errors(errors: Iterable[ConfigError]) -> list[ConfigError]:
    """Errors without repeats, in file and line order (a missing hint sorts first)."""
    return sorted(set(errors), key=lambda e: (e.location, e.field, e.message, e.hint or ""))


class SiteConfigError(GigafactoryError):
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
