"""Run a job through the site's stages in order; the first that refuses stops the check."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from infra.jobcheck.context import Context, Reason, pod_requests
from infra.jobcheck.reader import JobDocument
from infra.jobcheck.site import NFD_FEATURE_PREFIX, SiteView
from infra.jobcheck.stages import admission, kueue, networks, scheduling, storage

STAGES: tuple[tuple[str, Callable[[Context], list[Reason]]], ...] = (
    ("admission", admission.check),
    ("kueue", kueue.check),
    ("scheduling", scheduling.check),
    ("networks", networks.check),
    ("storage", storage.check),
)


@dataclass
class Verdict:
    """A job's outcome: admitted (stage None) or the refusing stage and its reasons, with the placement."""

    job: JobDocument
    stage: str | None
    reasons: list[Reason]
    placement: dict[str, Any]
    assumptions: list[str] = field(default_factory=list)

    @property
    def admitted(self) -> bool:
        """True when every stage accepted the job."""
        return self.stage is None

    def to_json(self) -> dict[str, Any]:
        """The verdict as a JSON object."""
        return {
            "file": str(self.job.document.path),
            "document": self.job.index,
            "kind": self.job.kind,
            "name": self.job.name,
            "namespace": self.job.namespace,
            "admitted": self.admitted,
            "stage": self.stage,
            "reasons": [r.to_json() for r in self.reasons],
            "placement": self.placement,
            "assumptions": self.assumptions,
        }


def check_job(job: JobDocument, site: SiteView, tenant: str | None = None) -> Verdict:
    """Judge ``job`` on ``site`` (the tenant is its namespace unless ``tenant`` says otherwise)."""
    namespace = tenant or job.namespace
    ctx = Context(job=job, site=site, namespace=namespace, requests=[pod_requests(p) for p in job.pod_sets])
    for stage, run in STAGES:
        reasons = run(ctx)
        if reasons:
            return Verdict(job, stage, reasons, ctx.placement, ctx.assumptions)
    if any(
        k.startswith(NFD_FEATURE_PREFIX)
        for p in site.all("SriovNetworkNodePolicy")
        for k in ((p.get("spec") or {}).get("nodeSelector") or {})
    ):
        ctx.assume(
            "Node Feature Discovery labels the GPU nodes with their InfiniBand adapters' PCI vendor, "
            "as the SR-IOV policies select"
        )
    ctx.assume("nodes offer their full capacity (what the kubelet reserves for the system is the node image's)")
    return Verdict(job, None, [], ctx.placement, ctx.assumptions)


def text_report(verdicts: Sequence[Verdict]) -> str:
    """One block per job: the verdict line, then the reasons or the placement, then the assumptions."""
    lines: list[str] = []
    for verdict in verdicts:
        job = verdict.job
        where = f"{job.document.path}" + (f" (document {job.index + 1})" if job.index else "")
        if verdict.admitted:
            lines.append(f"{where}: {job.title}: admitted")
            lines.extend(f"  {line}" for line in _placement_lines(verdict.placement))
        else:
            lines.append(f"{where}: {job.title}: would not run: refused at stage {verdict.stage}")
            lines.extend(str(reason) for reason in verdict.reasons)
        lines.extend(f"  assumed: {text}" for text in verdict.assumptions)
    return "\n".join(lines) + "\n"


def _placement_lines(placement: dict[str, Any]) -> list[str]:
    queue = (
        f"LocalQueue {placement.get('local_queue')} -> ClusterQueue {placement.get('cluster_queue')}, "
        f"flavor {placement.get('flavor')}"
    )
    if placement.get("queue_defaulted"):
        queue += " (the namespace's LocalQueue `default`, given by Kueue)"
    lines = [queue]
    for entry in placement.get("pools", []):
        lines.append(
            f"pod set {entry['pod_set']}: {entry['pods']} pods on {entry['nodes']} node(s) of pool "
            f"{entry['pool']}, {entry['pods_per_node']} per node"
        )
    for entry in placement.get("topology", []):
        lines.append(f"topology: {entry['mode']} {entry['level']}, domains of up to {entry['domain_nodes']} nodes")
    if placement.get("partitions"):
        nets = placement.get("networks", [])
        lines.append(
            f"InfiniBand partition {', '.join(placement['partitions'])} on {len(nets)} network(s): {', '.join(nets)}"
        )
    for entry in placement.get("storage", []):
        lines.append(f"storage: {entry}")
    if placement.get("priority_class"):
        lines.append(f"priority class: {placement['priority_class']}")
    return lines


def json_report(verdicts: Sequence[Verdict]) -> str:
    """Every verdict as deterministic JSON."""
    document = {"jobs": [v.to_json() for v in verdicts], "admitted": all(v.admitted for v in verdicts)}
    return json.dumps(document, sort_keys=True, indent=1) + "\n"
