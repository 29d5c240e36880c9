"""The bundled pilot, planned once for the check-job tests, and its example jobs."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from infra.config.loader import load_site
from infra.engine.planner import plan_site
from infra.engine.recording import RecordedPlan
from infra.jobcheck.check import Verdict, check_job
from infra.jobcheck.reader import read_jobs
from infra.jobcheck.site import SiteView

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "jobs"


@cache
def pilot_plan() -> RecordedPlan:
    """The pilot's plan, as `gigafactory plan site-configs/eu-pilot.yaml` writes it."""
    return plan_site(load_site(REPO / "site-configs" / "eu-pilot.yaml"))


@cache
def pilot() -> SiteView:
    """The pilot's plan, indexed."""
    return SiteView.of(pilot_plan())


def judge(path: Path, tenant: str | None = None) -> list[Verdict]:
    """Every job of ``path`` judged on the pilot (the file must be a job file)."""
    jobs, errors = read_jobs(path, str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path))
    assert not errors, [str(e) for e in errors]
    return [check_job(job, pilot(), tenant) for job in jobs]


def judge_text(tmp_path: Path, text: str, tenant: str | None = None) -> list[Verdict]:
    """Judge a job written inline."""
    path = tmp_path / "job.yaml"
    path.write_text(text)
    return judge(path, tenant)
