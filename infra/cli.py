"""The ``gigafactory`` command: one sub-command per module under ``infra/commands``.

Every sub-command turns a user's mistake into a clear message and exit code 1 (2 for bad usage);
no traceback reaches the user for bad input.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Each module defines ``register(subparsers)`` and sets ``func`` on its parser.
COMMANDS: tuple[str, ...] = ("validate", "new_site", "fabric", "inventory", "verify", "plan", "render", "diff")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="gigafactory",
        description="Plan, validate and deploy AI gigafactory sites from one YAML file per site.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"infra.commands.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
