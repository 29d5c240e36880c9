"""The ``gigafactory`` command: one sub-command per module under ``infra/commands``.

Every sub-command follows one exit-code contract (``infra.commands.exit_codes``): 0 success, 1 a
negative verdict on valid input, 2 a malformed command line or an input the command does not read,
3 dangerous changes with ``diff --fail-on-danger``. No traceback reaches the user: a broken pipe, a
full device, SIGINT or SIGTERM are one line each, and a defect of the program itself is one line
that says so (``GIGAFACTORY_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from importlib import metadata

from infra.commands import exit_codes
from infra.commands.examples import add_examples
from infra.commands.streams import (
    Terminated,
    abandon_stdout,
    escaped_messages,
    flush_stdout,
    stdout_problem,
    terminate_as_interrupt,
)
from infra.errors import BadInputError

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
    "migrate",
    "schema",
    "completion",
    "check_job",
    "report",
)
# Two-word commands: `gigafactory fabric verify ...` runs the `fabric-verify` sub-command (`fabric SITE`
# keeps its one positional argument).
TWO_WORD_COMMANDS = {("fabric", "verify"): "fabric-verify"}


# The Pulumi SDKs whose versions decide what a deployment does (pinned in pyproject.toml).
PINNED_SDKS: tuple[str, ...] = ("pulumi", "pulumi-kubernetes")
# A defect of the program (not of its input): outside the contract, so tests that hold every
# command to the contract catch it. 70 is EX_SOFTWARE of sysexits.h.
EXIT_INTERNAL = 70


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with every sub-command registered (or only the module ``only``).

    Registering a sub-command imports its module, and some import the whole Pulumi program; a
    command line that names its sub-command gets a parser with that one alone, so `check-job`
    does not pay for `plan`'s imports.
    """
    parser = argparse.ArgumentParser(
        prog="gigafactory",
        description="Plan, validate and deploy AI gigafactory sites from one YAML file per site.",
        epilog="Exit status (every command): "
        + "; ".join(f"{code} {meaning}" for code, meaning in exit_codes.CONTRACT),
    )
    parser.add_argument("--version", action="version", version=version_text())
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in (only,) if only in COMMANDS else COMMANDS:
        importlib.import_module(f"infra.commands.{name}").register(subparsers)
    add_examples(subparsers)
    return parser


def version_text() -> str:
    """``gigafactory X (pulumi Y, pulumi-kubernetes Z)``: this package and the SDKs it deploys with."""
    return f"gigafactory {_version('gigafactory')} ({', '.join(f'{d} {_version(d)}' for d in PINNED_SDKS)})"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _internal_error(exc: BaseException, command: str) -> int:
    if os.environ.get("GIGAFACTORY_DEBUG"):
        traceback.print_exc()
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f" at {os.path.basename(where.filename)}:{where.lineno}" if where else ""
    text = " ".join(str(exc).split())[:300]
    print(
        f"gigafactory {command}: internal error{at}: {type(exc).__name__}: {text}\n"
        "  hint: this is a defect of gigafactory, not of your input; please report it "
        "(GIGAFACTORY_DEBUG=1 shows the traceback)",
        file=sys.stderr,
    )
    return EXIT_INTERNAL


def _stdout_failed(exc: OSError) -> int:
    reason = exc.strerror or type(exc).__name__
    print(f"<standard output>: cannot write: {reason}; the output is incomplete", file=sys.stderr)
    if sys.stdout is sys.__stdout__:
        abandon_stdout()
    return exit_codes.BAD_INPUT


def _run(args: argparse.Namespace) -> int:
    problem = stdout_problem()
    if problem is not None:
        print(problem, file=sys.stderr)
        return exit_codes.BAD_INPUT
    try:
        code: int = args.func(args)
        flush_stdout()
    except Terminated:
        print("terminated; nothing was written", file=sys.stderr)
        return exit_codes.TERMINATED
    except KeyboardInterrupt:
        print("interrupted; nothing was written", file=sys.stderr)
        return exit_codes.INTERRUPTED
    except BadInputError as exc:
        # An unusable input a command did not catch itself still keeps the exit-code contract: the
        # error's message (it names the input and the fix), exit 2 (infra/errors.py).
        print(exc, file=sys.stderr)
        return exit_codes.BAD_INPUT
    except BrokenPipeError as exc:
        return _stdout_failed(exc)
    except OSError as exc:
        if exc.filename is None and exc.errno is not None:  # stdout/stderr itself: EPIPE, ENOSPC, EBADF
            return _stdout_failed(exc)
        return _internal_error(exc, args.command)
    except Exception as exc:
        return _internal_error(exc, args.command)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    if sys.stderr is None:  # started with standard error closed: say nothing rather than crash
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (lives as long as the process)
    with escaped_messages(), terminate_as_interrupt():
        words = list(sys.argv[1:] if argv is None else argv)
        if tuple(words[:2]) in TWO_WORD_COMMANDS:
            words = [TWO_WORD_COMMANDS[(words[0], words[1])], *words[2:]]
        try:
            named = words[0].replace("-", "_") if words else None
            args = build_parser(named).parse_args(words)
        except SystemExit as exit:
            return exit.code if isinstance(exit.code, int) else exit_codes.BAD_INPUT
        return _run(args)


if __name__ == "__main__":
    sys.exit(main())
