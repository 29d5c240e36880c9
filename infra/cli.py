"""The ``gigafactory`` command: one sub-command per module under ``infra/commands``.

Every sub-command turns a user's mistake into a clear message and exit code 1 (2 for bad usage);
no traceback reaches the user for bad input.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from importlib import metadata

# Each module defines ``register(subparsers)`` and sets ``func`` on its parser.
COMMANDS: tuple[str, ...] = (
    "validate",
    "new_site",
    "fabric",
    "fabric_verify",
    "inventory",
    "verify",
    "plan",
    "render",
    "diff",
    "schema",
    "completion",
)
# Two-word commands: `gigafactory fabric verify ...` runs the `fabric-verify` sub-command (`fabric SITE`
# keeps its one positional argument).
TWO_WORD_COMMANDS = {("fabric", "verify"): "fabric-verify"}


# The Pulumi SDKs whose versions decide what a deployment does (pinned in pyproject.toml).
PINNED_SDKS: tuple[str, ...] = ("pulumi", "pulumi-kubernetes")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="gigafactory",
        description="Plan, validate and deploy AI gigafactory sites from one YAML file per site.",
    )
    parser.add_argument("--version", action="version", version=version_text())
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"infra.commands.{name}").register(subparsers)
    return parser


def version_text() -> str:
    """``gigafactory X (pulumi Y, pulumi-kubernetes Z)``: this package and the SDKs it deploys with."""
    return f"gigafactory {_version('gigafactory')} ({', '.join(f'{d} {_version(d)}' for d in PINNED_SDKS)})"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    if tuple(words[:2]) in TWO_WORD_COMMANDS:
        words = [TWO_WORD_COMMANDS[(words[0], words[1])], *words[2:]]
    args = build_parser().parse_args(words)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
