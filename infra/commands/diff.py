"""``gigafactory diff OLD.json NEW.json``: what a site change does, dangers first.

Exit codes (the contract of ``infra.commands.exit_codes``): 0 no danger (or danger without
``--fail-on-danger``), 2 bad input (a file that is not a plan) or a report that cannot be written,
3 dangerous changes found with ``--fail-on-danger``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from infra.commands import exit_codes
from infra.engine.plan import Plan, PlanFileError
from infra.engine.report import diff_plans, to_json, to_markdown, to_text
from infra.outputs import is_stdout, write_output

EXIT_DANGER = exit_codes.DANGER
FORMATS = {"markdown": to_markdown, "text": to_text, "json": to_json}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``diff`` sub-command."""
    parser = subparsers.add_parser(
        "diff",
        help="compare two plans: dangers, intent, resource and field changes per component",
        description=(
            "Compare two plans written by `gigafactory plan -o`. Exit codes: 0 no dangerous change (or "
            "--fail-on-danger not given), 2 bad input, 3 dangerous changes with --fail-on-danger."
        ),
    )
    parser.add_argument("old", type=Path, metavar="OLD.json", help="plan before the change")
    parser.add_argument("new", type=Path, metavar="NEW.json", help="plan after the change")
    parser.add_argument("--format", choices=sorted(FORMATS), default="text", help="output format (default: text)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the report here instead of stdout (- is stdout)")
    parser.add_argument(
        "--fail-on-danger", action="store_true", help=f"exit {EXIT_DANGER} when a dangerous change is found"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print (or write) the diff; see the module docstring for exit codes."""
    plans = []
    for path in (args.old, args.new):
        try:
            plans.append(Plan.read(path))
        except PlanFileError as error:
            print(error, file=sys.stderr)
            return exit_codes.BAD_INPUT
    diff = diff_plans(plans[0], plans[1])
    report = FORMATS[args.format](diff)
    if args.output is not None and not is_stdout(args.output):
        try:
            write_output(args.output, report)
        except OSError as error:
            print(f"{args.output}: cannot write the report: {error.strerror or error}", file=sys.stderr)
            return exit_codes.BAD_INPUT
    else:
        sys.stdout.write(report)
    if diff.dangerous:
        print(f"{len(diff.dangers)} dangerous change{'s' if len(diff.dangers) != 1 else ''}", file=sys.stderr)
        if args.fail_on_danger:
            return EXIT_DANGER
    return exit_codes.OK
