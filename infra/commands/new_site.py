"""``gigafactory new-site NAME --from SITE.yaml``: fork a site config with its environment left blank."""

from __future__ import annotations

import argparse
import sys
from ipaddress import IPv4Network
from pathlib import Path

from infra.atomic_write import write_file_atomic
from infra.commands import errors_status, exit_codes
from infra.config.fork import ForkError, fork_site, resolve_source
from infra.config.loader import display_path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``new-site`` sub-command."""
    parser = subparsers.add_parser(
        "new-site",
        help="fork a site config: same pools, storage, operators and tenants; environment values to fill in",
    )
    parser.add_argument("name", help="the new site's name (a DNS-1123 label): its file name and Pulumi stack name")
    parser.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="SITE",
        help="the site to fork: a file, or a site's name (looked up in --dir, then site-configs/)",
    )
    parser.add_argument(
        "--dir",
        dest="directory",
        default="site-configs",
        metavar="DIR",
        help="where to write NAME.yaml (default: site-configs)",
    )
    parser.add_argument(
        "--ipoib-supernet",
        type=_supernet,
        metavar="CIDR",
        help="carve every compute rail's IPoIB subnet from CIDR (each as small as its nodes allow)",
    )
    parser.set_defaults(func=run)


def _supernet(text: str) -> IPv4Network:
    try:
        return IPv4Network(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an IPv4 network in CIDR form, e.g. 10.100.0.0/16 ({exc})") from None


def run(args: argparse.Namespace) -> int:
    """Write ``DIR/NAME.yaml``; 0 on success; 1 when the source is invalid, 2 for a bad name or place."""
    try:
        source = resolve_source(args.source, Path(args.directory))
        forked = fork_site(source, args.name, Path(args.directory), ipoib_supernet=args.ipoib_supernet)
    except ForkError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        return errors_status(exc.source_errors) if exc.source_errors else exit_codes.BAD_INPUT
    except OSError as exc:  # --dir or the source behind a symlink loop, a folder that cannot be listed
        print(f"{exc.filename or args.directory}: {exc.strerror or exc}; nothing written", file=sys.stderr)
        return exit_codes.BAD_INPUT
    shown = display_path(forked.path)
    if any(folder.exists() and not folder.is_dir() for folder in (forked.path.parent, *forked.path.parent.parents)):
        print(f"{shown}: cannot be written: --dir {args.directory} is not a folder", file=sys.stderr)
        return exit_codes.BAD_INPUT
    try:
        write_file_atomic(forked.path, forked.text, overwrite=False)
    except OSError as exc:
        if isinstance(exc, FileExistsError) and forked.path.is_file():
            # Another writer got there between the check in fork_site and this write.
            print(f"{shown}: already exists; new-site never overwrites a site file", file=sys.stderr)
        else:
            print(f"{shown}: cannot be written: {exc.strerror or exc}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    count = len(forked.placeholders)
    print(
        f"wrote {shown}: {count} value{'s' if count != 1 else ''} to fill in; "
        f"`gigafactory validate {shown}` lists what is left"
    )
    return exit_codes.OK
