"""The ``gigafactory`` sub-commands, one module each, and what they share."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from infra.config.errors import error_summary


def print_errors(path: str, errors: Sequence[object], outcome: str | None = None) -> int:
    """Print every error and a count line for ``path`` to stderr; the exit status 1."""
    for error in errors:
        print(error, file=sys.stderr)
    print(error_summary(path, len(errors), outcome), file=sys.stderr)
    return 1
