"""``gigafactory schema [-o FILE]``: the JSON Schema of a site-config layer, for editors."""

from __future__ import annotations

import argparse
import sys

from infra.atomic_write import is_stdout, write_output
from infra.commands import exit_codes
from infra.config.layer_schema import layer_schema_text


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``schema`` sub-command."""
    parser = subparsers.add_parser(
        "schema",
        help="write the JSON Schema of a site file (a layer of extends:), for editors",
        description=(
            "Write the JSON Schema (draft 2020-12) of one site-config layer: every field optional, "
            "unknown keys refused, descriptions from the site model. `validate` still checks the merged site."
        ),
    )
    parser.add_argument(
        "-o", "--output", default="-", metavar="FILE", help="where to write it (default: - for standard output)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the schema; 0 on success, 2 when the output cannot be written."""
    text = layer_schema_text()
    try:
        write_output(args.output, text)
    except OSError as exc:
        print(f"{args.output}: cannot be written: {exc.strerror or exc}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    if not is_stdout(args.output):
        print(f"wrote {args.output}", file=sys.stderr)
    return exit_codes.OK
