"""The ``gigafactory`` sub-commands, one module each, and what they share."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from infra.commands import exit_codes
from infra.config.errors import ConfigError, error_summary


def errors_status(errors: Sequence[object]) -> int:
    """The exit status for these errors: 2 when a file is not what the command reads, else 1."""
    unreadable = any(isinstance(e, ConfigError) and e.unreadable for e in errors)
    return exit_codes.BAD_INPUT if unreadable else exit_codes.REJECTED


def print_errors(path: str, errors: Sequence[object], outcome: str | None = None) -> int:
    """Print every error and a count line for ``path`` to stderr; the exit status (1, or 2 if unreadable)."""
    for error in errors:
        print(error, file=sys.stderr)
    print(error_summary(path, len(errors), outcome), file=sys.stderr)
    return errors_status(errors)


def fail(lines: Sequence[object], code: int) -> int:
    """Print each problem on stderr; return ``code``."""
    for line in lines:
        print(line, file=sys.stderr)
    return code
