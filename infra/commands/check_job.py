"""``gigafactory check-job JOB.yaml (--site SITE.yaml | --plan PLAN.json)``: would the job run here?

Exit codes: 0 every job would be admitted and scheduled; 1 a job would not run (each reason on one
line, located in JOB.yaml), or the site is invalid; 2 a malformed command line, or a file that is not
a job or not a plan.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from infra.commands import exit_codes, print_errors
from infra.engine.progress import add_progress_option
from infra.engine.recording import PlanFileError, RecordedPlan


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``check-job`` sub-command."""
    parser = subparsers.add_parser(
        "check-job",
        help="check a tenant's job against the planned site: admission, Kueue, scheduling, networks, storage",
        description=(
            "Run a batch/v1 Job (or JobSet, TrainJob) through the site as the cluster would, in order: admission, "
            "Kueue (queue, quota, flavor, topology), scheduling, networks, storage. Stops at the first stage that "
            "refuses it, naming the stage, the object that decides and the fix. Exit codes: 0 admitted, 1 would not "
            "run, 2 not a job or a malformed command line."
        ),
    )
    parser.add_argument("job", type=Path, metavar="JOB.yaml", help="the job (several YAML documents: several jobs)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--site", metavar="SITE.yaml", help="plan this site config first")
    source.add_argument("--plan", type=Path, metavar="PLAN.json", help="a plan written by `gigafactory plan -o`")
    parser.add_argument("--tenant", metavar="NAME", help="the tenant (namespace) to check as; default: the job's")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    add_progress_option(parser)
    parser.set_defaults(func=run)


def _plan(args: argparse.Namespace) -> tuple[RecordedPlan | None, int]:
    if args.plan is not None:
        try:
            return RecordedPlan.read(args.plan), exit_codes.OK
        except PlanFileError as error:
            print(error, file=sys.stderr)
            return None, exit_codes.BAD_INPUT
    from infra.commands.plan import load_config, make_plan

    site, code = load_config(args.site)
    if site is None:
        return None, code
    plan = make_plan(site, args.site, args=args)
    return plan, exit_codes.OK if plan is not None else exit_codes.REJECTED


def run(args: argparse.Namespace) -> int:
    """Check every job of the file; see the module docstring for exit codes."""
    from infra.jobcheck.check import check_job, json_report, text_report
    from infra.jobcheck.reader import read_jobs
    from infra.jobcheck.site import SiteView

    jobs, errors = read_jobs(args.job, str(args.job))
    if errors:
        # Whatever is wrong with it, a file that holds no job check-job can read is not its input.
        print_errors(str(args.job), errors, "not checked")
        return exit_codes.BAD_INPUT
    plan, code = _plan(args)
    if plan is None:
        return code
    site = SiteView.of(plan)
    stale = site.stale_pools()
    if stale:
        print(
            f"{args.plan or args.site}: the plan records no node labels, taints or resources for pool(s) "
            f"{', '.join(stale)} (written by an older gigafactory)\n"
            "  hint: write it again with `gigafactory plan SITE.yaml -o PLAN.json`",
            file=sys.stderr,
        )
        return exit_codes.BAD_INPUT
    verdicts = [check_job(job, site, args.tenant) for job in jobs]
    sys.stdout.write(json_report(verdicts) if args.format == "json" else text_report(verdicts))
    refused = sum(not v.admitted for v in verdicts)
    if refused:
        print(
            f"{args.job}: {refused} of {len(verdicts)} job{'s' if len(verdicts) != 1 else ''} would not run",
            file=sys.stderr,
        )
        return exit_codes.REJECTED
    return exit_codes.OK
