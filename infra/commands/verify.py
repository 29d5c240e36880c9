"""``gigafactory verify SITE.yaml (--hosts H,H | --inventory FILE)``: node acceptance over SSH.

Runs the site's acceptance checks on each node in parallel, writes the result (JSON or JUnit XML,
atomically), prints a summary per pool and, for nodes that fail, what is wrong and how to fix it.
Problems are also grouped by check across nodes. With ``--label-failed`` the kubectl commands that
keep the scheduler away from failing nodes go to a script (``--label-script``), not the report.

Exit status (``infra.commands.exit_codes``): 0 every node passed; 1 a node failed or could not be
checked, or the site config is invalid; 2 a malformed command line or an input that is not what it
reads (options, hosts not in the site, an inventory that is not one), or a result it cannot write.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import testinfra.backend

from infra.acceptance.checks import Check, checks_for
from infra.acceptance.expectations import site_expectations
from infra.acceptance.inventory import InventoryError, InventoryHost, read_inventory
from infra.acceptance.labels import label_script
from infra.acceptance.nodes import NodeIndex
from infra.acceptance.results import VerifyReport, check_groups, render_json, render_junit
from infra.acceptance.runner import (
    COMMAND_TIMEOUT_S,
    DEFAULT_CONNECT,
    DEFAULT_NODE_TIMEOUT_S,
    Target,
    backend_name,
    host_spec,
    verify_nodes,
)
from infra.atomic_write import is_stdout, write_output
from infra.commands import exit_codes, fail, print_errors
from infra.config.loader import check_site
from infra.config.model import SiteConfig
from infra.engine.progress import add_progress_option, command_progress

MAX_WORKERS = 1024
MAX_TIMEOUT_S = 86_400
_MAX_HOST_ERRORS = 20
_DEVICE = re.compile(r"^[A-Za-z0-9_.-]+$")
_EXTENSIONS = {"json": "json", "junit": "xml"}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``verify`` sub-command."""
    parser = subparsers.add_parser(
        "verify",
        help="run the node acceptance checks derived from the site config on GPU nodes",
        description="Check GPU nodes against what the site config says they are (GPUs, driver, NVLink "
        "service, GPUDirect RDMA, InfiniBand ports, partitions, IPoIB MTU, parallel filesystems, kubelet, "
        "containerd, sysctls, hugepages). Exit 0 when every node passes; 1 when a node fails or cannot be "
        "checked, or the site config is invalid; 2 on a malformed command line or input it cannot use.",
    )
    parser.add_argument("site", metavar="SITE.yaml", help="site config file")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--hosts", metavar="H1,H2", help="node names to check, comma-separated")
    which.add_argument("--inventory", metavar="FILE", help="YAML Ansible inventory (see `gigafactory inventory`)")
    parser.add_argument("--limit", metavar="GROUP", help="only the hosts of this inventory group, e.g. pool_h100_train")
    parser.add_argument("--ssh-config", metavar="FILE", help="OpenSSH client config for host names, users and keys")
    parser.add_argument(
        "--connect",
        metavar="TEMPLATE",
        default=DEFAULT_CONNECT,
        help="testinfra host spec per node; {target} is [user@]address[:port], {node} the node name "
        f"(default {DEFAULT_CONNECT}: OpenSSH, host keys checked against known_hosts; paramiko://{{target}} "
        "does not check them)",
    )
    parser.add_argument("--workers", type=int, default=16, metavar="N", help="nodes checked at once (default 16)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_NODE_TIMEOUT_S,
        metavar="SECONDS",
        help=f"deadline for the whole check of one node (default {DEFAULT_NODE_TIMEOUT_S}); a node past it is "
        f"unreachable: timed out after SECONDS s at <stage>. Each command on a node gets at most "
        f"{COMMAND_TIMEOUT_S} s",
    )
    parser.add_argument("--format", choices=sorted(_EXTENSIONS), default="json", help="result format (default json)")
    parser.add_argument("-o", "--output", metavar="FILE", help="result file (default acceptance-<site>.json|xml)")
    parser.add_argument(
        "--label-failed",
        action="store_true",
        help="write the kubectl label/taint/annotate commands that keep the scheduler away from failing nodes "
        "to a script (--label-script; default label-failed-<site>.sh); they are never run",
    )
    parser.add_argument(
        "--label-script",
        metavar="FILE",
        help="where --label-failed writes its commands (implies --label-failed; - is standard output)",
    )
    parser.add_argument(
        "--hca-devices",
        action="append",
        default=[],
        metavar="POOL=DEV,DEV,...",
        help="RDMA device names of a pool's compute HCAs in rail order, where the site renames them",
    )
    add_progress_option(parser)
    parser.set_defaults(func=run)


def _ssh_config_problems(path: Path) -> list[str]:
    """Why ``path`` cannot serve as an OpenSSH client config, checked once rather than per node."""
    if not path.is_file():
        return [f"--ssh-config: {path}: no such file"]
    try:
        path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return [f"--ssh-config: {path}: is not text (an OpenSSH client config is a text file)"]
    except OSError as exc:
        return [f"--ssh-config: {path}: cannot be read: {exc.strerror or exc}"]
    return []


def _check_options(args: argparse.Namespace) -> list[str]:
    errors = []
    if args.label_script is not None and is_stdout(args.label_script) and is_stdout(args.output):
        errors.append("--label-script - and -o -: only one of them can be standard output; give the other a file")
    if not 1 <= args.workers <= MAX_WORKERS:
        errors.append(f"--workers: must be between 1 and {MAX_WORKERS} (got {args.workers})")
    if not 1 <= args.timeout <= MAX_TIMEOUT_S:  # NaN fails both comparisons
        errors.append(f"--timeout: must be between 1 and {MAX_TIMEOUT_S:,} seconds (got {args.timeout:g})")
    if args.ssh_config is not None:
        errors.extend(_ssh_config_problems(Path(args.ssh_config)))
    if args.limit is not None and args.inventory is None:
        errors.append("--limit: selects a group of --inventory; use it with --inventory")
    try:
        sample = args.connect.format(node="n", target="t")
    except (KeyError, IndexError, ValueError):
        errors.append(f"--connect: {args.connect!r} may use only the fields {{node}} and {{target}}")
    else:
        if backend_name(sample) not in testinfra.backend.BACKENDS:
            known = ", ".join(f"{b}://" for b in sorted(testinfra.backend.BACKENDS))
            errors.append(f"--connect: unknown testinfra backend in {args.connect!r}; use one of {known}")
    return errors


def _hca_overrides(site: SiteConfig, texts: Sequence[str]) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    overrides: dict[str, tuple[str, ...]] = {}
    errors = []
    for text in texts:
        pool_name, _, devices_text = text.partition("=")
        pool = site.pool(pool_name)
        devices = tuple(d.strip() for d in devices_text.split(","))
        if pool is None:
            pools = ", ".join(p.name for p in site.node_pools)
            errors.append(f"--hca-devices {text}: no pool called {pool_name!r}; pools: {pools}")
        elif not all(_DEVICE.match(d) for d in devices) or len(devices) != pool.hcas.compute:
            errors.append(
                f"--hca-devices {text}: pool {pool.name} has {pool.hcas.compute} compute HCAs (hcas.compute); "
                f"name {pool.hcas.compute} RDMA devices in rail order, e.g. {pool.name}=mlx5_0,mlx5_3,..."
            )
        else:
            overrides[pool.name] = devices
    return overrides, errors


def _requested(args: argparse.Namespace) -> list[InventoryHost]:
    if args.inventory is not None:
        return read_inventory(Path(args.inventory), args.limit)
    names = [h.strip() for h in args.hosts.split(",")]
    if not all(names):
        raise InventoryError(f"--hosts {args.hosts!r}: empty host name; separate node names with single commas")
    return [InventoryHost(name, None, None, None) for name in dict.fromkeys(names)]


def _targets(site: SiteConfig, hosts: list[InventoryHost], template: str) -> tuple[list[Target], list[str]]:
    index = NodeIndex(site)
    targets = []
    errors = []
    for host in hosts:
        place = index.place(host.name)
        if place is None:
            errors.append(f"{host.name}: not a node of site {site.site.name}; its nodes are {index.examples()}")
            continue
        targets.append(Target(place, host_spec(template, host.name, host.address, host.port, host.user)))
    targets.sort(key=lambda t: index.order(t.place.node))
    if len(errors) > _MAX_HOST_ERRORS:  # a whole inventory of another site: say so, not 10,000 times
        errors = [*errors[:_MAX_HOST_ERRORS], f"... and {len(errors) - _MAX_HOST_ERRORS:,} more hosts not in the site"]
    return targets, errors


def _print_summary(
    args: argparse.Namespace, site: SiteConfig, report: VerifyReport, elapsed: float, output: Path
) -> None:
    nodes = report.nodes
    passed = sum(n.status == "pass" for n in nodes)
    print(
        f"verified {len(nodes):,} node{'s' if len(nodes) != 1 else ''} of site {site.site.name} in {elapsed:.1f} s "
        f"({args.workers} workers): {passed:,} passed, {len(nodes) - passed:,} did not"
    )
    for summary in report.summaries(tuple(p.name for p in site.node_pools)):
        print(summary.line())
    for node in nodes:
        if node.status != "pass":
            print(f"{node.status.upper()} {node.node} ({node.pool}, {node.scalable_unit}, {node.rack})")
            for line in node.problem_lines():
                print(f"  {line}")
    groups = check_groups(nodes)
    if groups:
        print(f"problems by check ({len(groups):,}):")
        for group in groups:
            print(f"  {group.line()}")
    print(f"result: {output} ({args.format})")


def _label_script(args: argparse.Namespace, site: str) -> str | None:
    """Where the label commands go: ``--label-script``, or ``label-failed-<site>.sh`` with ``--label-failed``."""
    if args.label_script is not None:
        return str(args.label_script)
    return f"label-failed-{site}.sh" if args.label_failed else None


def run(args: argparse.Namespace) -> int:
    """Verify the nodes; see the module docstring for the exit status."""
    site, config_errors = check_site(args.site)
    if site is None:
        return print_errors(args.site, config_errors)
    errors = _check_options(args)
    overrides, override_errors = _hca_overrides(site, args.hca_devices)
    errors += override_errors
    if errors:
        return fail(errors, exit_codes.BAD_INPUT)
    try:
        hosts = _requested(args)
    except InventoryError as exc:
        return fail([str(exc)], exit_codes.BAD_INPUT)
    targets, host_errors = _targets(site, hosts, args.connect)
    if host_errors:
        return fail(host_errors, exit_codes.BAD_INPUT)

    checks: dict[str, tuple[Check, ...]] = {
        pool: checks_for(expect) for pool, expect in site_expectations(site, overrides).items()
    }
    if backend_name(args.connect.format(node="n", target="t")) == "paramiko":
        # paramiko's client warns once per unknown host key; say it once, with the alternative.
        warnings.filterwarnings("ignore", message=r"Unknown \S+ host key")
        print(
            "note: paramiko:// does not check host keys against known_hosts; --connect 'ssh://{target}' has "
            "OpenSSH check them",
            file=sys.stderr,
        )
    started = time.monotonic()
    progress = command_progress(args, "verify")

    def count(done: int, total: int) -> None:
        progress.count("nodes", done, total)

    try:
        nodes = verify_nodes(
            targets, checks, workers=args.workers, ssh_config=args.ssh_config, progress=count, timeout=args.timeout
        )
    finally:
        progress.close()
    elapsed = time.monotonic() - started
    report = VerifyReport(site.site.name, tuple(nodes))

    output = Path(args.output or f"acceptance-{site.site.name}.{_EXTENSIONS[args.format]}")
    text = render_json(report) if args.format == "json" else render_junit(report)
    try:
        write_output(output, text)
    except OSError as exc:
        return fail([f"{output}: cannot write the result: {exc.strerror or exc}"], exit_codes.BAD_INPUT)

    script = _label_script(args, site.site.name)
    if script is not None:
        try:
            write_output(script, label_script(nodes, site.site.kube_context))
        except OSError as exc:
            return fail([f"{script}: cannot write the label script: {exc.strerror or exc}"], exit_codes.BAD_INPUT)

    # With -o - the result is standard output; the summary goes to stderr so the result stays whole.
    to_stderr = is_stdout(args.output) or (script is not None and is_stdout(script))
    failing = sum(n.status != "pass" for n in nodes)
    with contextlib.redirect_stdout(sys.stderr) if to_stderr else contextlib.nullcontext():
        _print_summary(args, site, report, elapsed, output)
        if script is not None and failing:
            print(f"label commands for {failing:,} node{'s' if failing != 1 else ''}: {script} (review, then run it)")
    if not failing:
        return exit_codes.OK
    print(f"verify: {failing:,} of {len(nodes):,} nodes did not pass acceptance (result: {output})", file=sys.stderr)
    return exit_codes.REJECTED
