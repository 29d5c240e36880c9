"""``gigafactory render SITE.yaml|PLAN.json -o DIR``: the plan's Kubernetes objects as files for GitOps."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from infra.atomic_write import OutputRefused, ownership_problem, write_tree_atomic
from infra.commands import exit_codes
from infra.commands.plan import load_config, make_plan
from infra.commands.rendered_state import add_charts_argument, chart_summary, rendered_state
from infra.config.model import SiteConfig
from infra.engine.gitops import GITOPS_TARGETS, GitOpsError, GitOpsOptions
from infra.engine.progress import add_progress_option
from infra.engine.recording import PLAN_FORMAT, PlanFileError, RecordedPlan
from infra.engine.render import render_files

OWNER = "render"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``render`` sub-command."""
    parser = subparsers.add_parser(
        "render",
        help="write every Kubernetes object as a manifest and every Helm release's values (GitOps)",
        description=(
            "Render a site (planned on the spot) or a plan file written by `gigafactory plan -o` (a .json "
            "file) into DIR: one manifest per object under manifests/<namespace>/ (cluster-scoped ones under "
            "manifests/_cluster/), patches under patches/, Helm values under helm/, and index.yaml. DIR is "
            "replaced as a whole, atomically; a folder holding anything but an earlier render is refused."
        ),
    )
    parser.add_argument("source", metavar="SITE.yaml|PLAN.json", help="site config, or a plan file (.json)")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--gitops",
        choices=GITOPS_TARGETS,
        help="also write each Helm release as Flux (HelmRelease + source) or Argo CD (Application) objects, "
        "ordered: base/, then the releases, then manifests/",
    )
    parser.add_argument(
        "--gitops-path",
        metavar="PATH",
        help="where DIR sits in the git repository the GitOps tool reads (default: DIR as given)",
    )
    parser.add_argument("--repo-url", metavar="URL", help="that git repository's URL (needed by --gitops argocd)")
    add_charts_argument(parser)
    add_progress_option(parser)
    parser.set_defaults(func=run)


def _is_plan_file(path: Path) -> bool:
    if path.suffix == ".json":
        return True
    # Non-blocking: a FIFO without a writer reads as empty instead of waiting for one.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        return PLAN_FORMAT.encode() in os.read(fd, 256)
    except OSError:
        return False
    finally:
        os.close(fd)


def _is_object(name: str) -> bool:
    return not name.endswith("/kustomization.yaml")


def run(args: argparse.Namespace) -> int:
    """Render into the output folder: 0 on success, 1 on bad input or when it cannot be written."""
    source = Path(args.source)
    output = Path(args.output)
    problem = ownership_problem(output, OWNER)
    if problem is not None:
        print(problem, file=sys.stderr)
        return exit_codes.BAD_INPUT
    plan: RecordedPlan | None
    config: SiteConfig | None = None
    if _is_plan_file(source):
        try:
            plan = RecordedPlan.read(source)
            # Facts are typed when first read; a malformed one is an unusable plan, said here.
            plan.facts  # noqa: B018
        except PlanFileError as error:
            print(error, file=sys.stderr)
            return exit_codes.BAD_INPUT
    else:
        site, code = load_config(args.source)
        if site is None:
            return code
        config = site.config
        plan = make_plan(site, args.source, args=args)
        if plan is None:
            return exit_codes.REJECTED
    charts, contracts, code = rendered_state(plan, args.charts, args.source, config)
    if contracts is None:
        return code
    gitops = None
    if args.gitops is not None:
        path = args.gitops_path or output.as_posix()
        gitops = GitOpsOptions(target=args.gitops, site=plan.stack, path=path, repo_url=args.repo_url)
    try:
        files = render_files(plan, gitops, charts)
    except GitOpsError as error:
        print(f"render --gitops {args.gitops}: {error}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    except PlanFileError as error:
        print(f"{args.source}: malformed plan: {error}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    try:
        write_tree_atomic(output, files, owner=OWNER)
    except OutputRefused as refused:
        print(refused, file=sys.stderr)
        return exit_codes.BAD_INPUT
    except OSError as error:
        print(f"{args.output}: cannot write the rendered folder: {error.strerror or error}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    manifests = sum(1 for name in files if name.startswith(("manifests/", "base/")) and _is_object(name))
    patches = sum(1 for name in files if name.startswith("patches/"))
    values = sum(1 for name in files if name.endswith(".values.yaml"))
    gitops_line = f", {args.gitops} objects for every release" if args.gitops else ""
    print(
        f"rendered {plan.stack}: {manifests:,} manifests, {patches:,} patches, {values} Helm values files"
        f"{gitops_line} -> {args.output}/ (index.yaml lists each with its URN)"
    )
    print(chart_summary(charts))
    for line in contracts:
        print(line)
    return exit_codes.OK
