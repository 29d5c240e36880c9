"""``gigafactory completion bash|zsh``: a shell completion script for every command and option."""

from __future__ import annotations

import argparse
import sys

import shtab

from infra.commands import exit_codes

SHELLS = ("bash", "zsh")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``completion`` sub-command."""
    parser = subparsers.add_parser(
        "completion",
        help="print a shell completion script (bash or zsh)",
        description="Print a completion script for the shell; load it from your shell's start-up file.",
    )
    parser.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the script for ``args.shell``, generated from the command line's own parser."""
    # Imported here: infra.cli imports this module to register it.
    from infra.cli import build_parser

    sys.stdout.write(shtab.complete(build_parser(), shell=args.shell))
    return exit_codes.OK
