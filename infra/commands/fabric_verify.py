"""``gigafactory fabric verify SITE.yaml --discovered FILE``: the cabled fabric against its plan.

FILE is what ``ibnetdiscover`` printed on the real fabric. Each missing, extra, swapped, misplaced or
degraded cable is one line (cable label, both ends as planned and as found, the fix). Exit status:
0 the fabric matches the plan, 1 it does not (or the site config is invalid), 2 a malformed command
line or a file that is not what it should be (an unreadable discovery, a file that is not
ibnetdiscover output, an unreadable GUID-names file).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from infra.atomic_write import write_file_atomic
from infra.commands import exit_codes, print_errors
from infra.config.loader import display_path, read_site
from infra.errors import BadInputError
from infra.inputs import MIB, InputError, read_lines_bounded, read_text_bounded
from infra.plan.fabric.asbuilt import AsBuilt, compare, identify, planned_devices
from infra.plan.fabric.discovery import Discovery, DiscoveryError, parse_discovery
from infra.plan.fabric.errors import FabricPlanError
from infra.plan.fabric.plan import FabricPlan, plan_fabric
from infra.plan.floor import plan_floor

# ibnetdiscover's --node-name-map format (infiniband-diags man page): `0x<guid> "name"` per line.
_NAME_MAP_LINE = re.compile(r'^\s*(0x[0-9a-fA-F]+)\s+"(.*)"\s*$')


class InputProblem(BadInputError):
    """An input file that cannot be used (exit 2)."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``fabric-verify``, which ``gigafactory fabric verify`` runs."""
    parser = subparsers.add_parser(
        "fabric-verify",
        prog="gigafactory fabric verify",
        help="compare the fabric ibnetdiscover found with the plan (also: gigafactory fabric verify)",
    )
    parser.add_argument("site", metavar="SITE.yaml", help="the site config")
    parser.add_argument("--discovered", required=True, metavar="FILE", help="output of ibnetdiscover on the fabric")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="report format (default text)")
    parser.add_argument(
        "--no-speed-check",
        action="store_true",
        help="do not compare link speeds (width and cabling are still checked): ibsim reports every link "
        "faster than EDR as SDR, and some discovery hosts cannot read the speed",
    )
    parser.add_argument(
        "--guid-names",
        metavar="FILE",
        help='node GUID -> planned name: ibnetdiscover\'s node-name-map lines (0x<guid> "name"), or the JSON '
        "--write-guids wrote; for switches whose node descriptions are not the plan's names",
    )
    parser.add_argument("--write-guids", metavar="FILE", help="write the GUIDs learned per planned device (JSON)")
    parser.set_defaults(func=run)


# A 100,000-GPU site's discovery is about 100 MB; its lines are short (a node description is 64 bytes).
DISCOVERY_LIMIT = 2048 * MIB
DISCOVERY_LINE = 4096
GUID_NAMES_LIMIT = 64 * MIB


def read_guid_names(path: Path) -> dict[int, str]:
    """Node GUID -> name from a node-name-map file or a ``--write-guids`` JSON file."""
    try:
        text = read_text_bounded(path, GUID_NAMES_LIMIT, "GUID name map", display_path(path))
    except InputError as exc:
        raise InputProblem(str(exc)) from None
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
            return {int(entry["node_guid"], 16): name for name, entry in data.items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            raise InputProblem(
                f'{display_path(path)}: not a GUID map: expected {{"<name>": {{"node_guid": "0x..."}}}}'
            ) from None
    names: dict[int, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _NAME_MAP_LINE.match(line)
        if match is None:
            raise InputProblem(
                f'{display_path(path)}:{number}: not a node-name-map line: {line[:60]!r}\n  hint: write 0x<guid> "name"'
            )
        names[int(match.group(1), 16)] = match.group(2)
    return names


def read_discovery(path: Path) -> Discovery:
    """The discovery in ``path``; ``InputProblem`` when it cannot be read or is not ibnetdiscover output."""
    shown = display_path(path)
    try:
        return parse_discovery(read_lines_bounded(path, DISCOVERY_LIMIT, DISCOVERY_LINE, "ibnetdiscover output", shown))
    except InputError as exc:
        raise InputProblem(str(exc)) from None
    except DiscoveryError as exc:
        where = f"{shown}:{exc.line}" if exc.line else shown
        raise InputProblem(f"{where}: {exc}\n  hint: pass the output of ibnetdiscover (no options, or -g)") from None


def report_json(result: AsBuilt, check_speed: bool) -> str:
    """The result as JSON (keys sorted)."""
    return json.dumps(
        {
            "site": result.site,
            "matches": result.matches,
            "speed_checked": check_speed,
            "planned_links": result.planned_links,
            "found_links": result.found_links,
            "findings": [finding.as_dict() for finding in result.findings],
            "unidentified": sorted(f"{node.nodeid} {node.description}" for node in result.unidentified),
        },
        indent=2,
        sort_keys=True,
    )


def summary_line(result: AsBuilt) -> str:
    """The last line of the text report."""
    head = (
        f"fabric of {result.site} as discovered: {result.found_links:,} links found, {result.planned_links:,} planned"
    )
    if result.matches:
        return f"{head}; cabled as planned"
    count = len(result.findings)
    return f"{head}; {count} finding{'s' if count != 1 else ''}"


def run(args: argparse.Namespace) -> int:
    """Compare; 0 when the fabric matches, 1 when it does not, 2 for unusable input files."""
    path = Path(args.site)
    site, errors = read_site(path)
    if site is None:
        return print_errors(args.site, errors, "nothing compared")
    config = site.config
    try:
        plan: FabricPlan = plan_fabric(config)
    except FabricPlanError as exc:
        return print_errors(args.site, site.planning_errors(exc), "nothing compared")
    try:
        names = read_guid_names(Path(args.guid_names)) if args.guid_names else None
        discovery = read_discovery(Path(args.discovered))
    except InputProblem as exc:
        print(exc, file=sys.stderr)
        return exit_codes.BAD_INPUT
    check_speed = not args.no_speed_check
    planned = planned_devices(plan)
    identity = identify(plan, discovery, names, planned)
    floor = plan_floor(config, plan)
    result = compare(plan, discovery, identity, check_speed=check_speed, planned=planned, floor=floor)
    if args.write_guids:
        target = Path(args.write_guids)
        try:
            write_file_atomic(target, json.dumps(result.guid_map(plan), indent=2, sort_keys=True) + "\n")
        except OSError as exc:
            print(f"{display_path(target)}: cannot write: {exc.strerror or exc}", file=sys.stderr)
            return exit_codes.BAD_INPUT
    if args.format == "json":
        print(report_json(result, check_speed))
    else:
        for finding in result.findings:
            print(finding.line())
        print(summary_line(result))
    return exit_codes.OK if result.matches else exit_codes.REJECTED
