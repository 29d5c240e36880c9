"""``gigafactory migrate OLD.plan.json NEW.plan.json -o DIR``: split a deployed one-stack site into stacks.

Writes ``urn-map.json`` (the old->new URN map, ``infra/engine/migration.py``) and ``migrate.sh``
(the ``pulumi`` commands in the order to run them), as one folder. Exit codes
(``infra/commands/exit_codes.py``): 0 written; 1 the plans cannot be mapped (a resource could move
to several stacks); 2 a file that is not a plan, or a folder that cannot be written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from infra.atomic_write import OutputRefused, write_tree_atomic
from infra.commands import exit_codes
from infra.engine.migration import UrnMapError, migration_document, state_move_commands, urn_map
from infra.engine.recording import PlanFileError, RecordedPlan

OWNER = "migrate"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``migrate`` sub-command."""
    parser = subparsers.add_parser(
        "migrate",
        help="split a deployed one-stack site into its stacks: URN map and `pulumi state move` commands",
        description=(
            "Compare the plan of a site deployed as one stack (`gigafactory plan --single-stack`, or a plan "
            "written before the split) with its plan as stacks, and write the old->new URN map and the "
            "commands that move the state, nothing deleted. Exit codes: 0 written, 1 cannot map, "
            "2 an input that is not a plan or a folder that cannot be written."
        ),
    )
    parser.add_argument("old", type=Path, metavar="OLD.plan.json", help="the site's plan as one stack")
    parser.add_argument("new", type=Path, metavar="NEW.plan.json", help="the site's plan as stacks")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="DIR", help="folder to write")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the map and the commands; see the module docstring for exit codes."""
    plans = []
    for path in (args.old, args.new):
        try:
            plans.append(RecordedPlan.read(path))
        except PlanFileError as error:
            print(error, file=sys.stderr)
            return exit_codes.BAD_INPUT
    old, new = plans
    try:
        mapping = urn_map(old, new, new.stacks)
    except UrnMapError as error:
        print(f"{args.new}: {error}", file=sys.stderr)
        return exit_codes.REJECTED
    script = "\n".join(["#!/usr/bin/env bash", *state_move_commands(mapping, old)]) + "\n"
    try:
        write_tree_atomic(args.output, {"urn-map.json": mapping.to_json(), "migrate.sh": script}, owner=OWNER)
    except OutputRefused as refused:
        print(refused, file=sys.stderr)
        return exit_codes.BAD_INPUT
    except OSError as error:
        print(f"{args.output}: cannot write: {error.strerror or error}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    summary = migration_document(mapping, old)
    moved = ", ".join(f"{stack} {count:,}" for stack, count in summary["moves"].items())
    print(f"{old.stack}: {len(mapping.moves):,} resources move ({moved}); {summary['kept']:,} stay")
    print(f"{summary['dropped']:,} leave the state (objects kept); {summary['created']:,} new (per-stack roots)")
    print(f"written {args.output}/urn-map.json and {args.output}/migrate.sh: read it, then run it with bash")
    return exit_codes.OK
