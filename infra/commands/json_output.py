"""``--format json``: the one way a command prints a machine-readable report (a stable interface).

Every report is one JSON object with a ``format`` key naming it and its version
(``gigafactory-validate/1``, ...), keys sorted, two-space indent, on standard output. A located
config error is ``{file, line, column, field, message, hint}``; any other problem ``{message}``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from infra.atomic_write import write_output
from infra.config.errors import ConfigError

FORMATS = ("text", "json")


def add_format_option(parser: argparse.ArgumentParser) -> None:
    """``--format text|json`` (default text)."""
    parser.add_argument(
        "--format", choices=FORMATS, default="text", help="text for people, json for programs (default: text)"
    )


def problem_json(problem: object) -> dict[str, Any]:
    """One problem as JSON: a config error with its location, anything else as its message."""
    if isinstance(problem, ConfigError):
        return {
            "file": problem.location.file,
            "line": problem.location.line,
            "column": problem.location.column,
            "field": problem.field,
            "message": problem.message,
            "hint": problem.hint,
        }
    return {"message": str(problem)}


def json_text(report: dict[str, Any]) -> str:
    """``report`` as the deterministic JSON text every command prints."""
    return json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def print_json(report: dict[str, Any]) -> None:
    """Write ``report`` to standard output (through the one stdout writer)."""
    write_output("-", json_text(report))
