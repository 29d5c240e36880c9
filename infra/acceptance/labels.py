"""The kubectl commands that keep the scheduler away from nodes that failed acceptance.

A label marks the node for people and selectors (``kubectl get nodes -l gigafactory.eu/acceptance=
failed``); a NoSchedule taint with its own key keeps new pods off it without evicting running ones,
and unlike a cordon it is not undone by the GPU Operator's driver upgrade, which cordons and
uncordons nodes itself. An annotation names the failed checks. Nothing here is applied: the
commands are printed for an operator (or a pipeline) to run.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from infra.acceptance.results import NodeResult

ACCEPTANCE_LABEL = "gigafactory.eu/acceptance"
FAILURES_ANNOTATION = "gigafactory.eu/acceptance-failures"
FAILED = "failed"
TAINT_EFFECT = "NoSchedule"


def label_commands(nodes: Sequence[NodeResult], kube_context: str) -> list[str]:
    """Label, taint and annotate every node that did not pass (none for passing nodes)."""
    kubectl = f"kubectl --context {shlex.quote(kube_context)}"
    lines = []
    for node in nodes:
        if node.status == "pass":
            continue
        name = shlex.quote(node.node)
        failed = ",".join(c.name for c in node.problems)
        lines += [
            f"{kubectl} label node {name} {ACCEPTANCE_LABEL}={FAILED} --overwrite",
            f"{kubectl} taint node {name} {ACCEPTANCE_LABEL}={FAILED}:{TAINT_EFFECT} --overwrite",
            f"{kubectl} annotate node {name} {shlex.quote(f'{FAILURES_ANNOTATION}={failed}')} --overwrite",
        ]
    return lines


def label_script(nodes: Sequence[NodeResult], kube_context: str) -> str:
    """A POSIX shell script of ``label_commands``; with every node passing it runs nothing and says so."""
    commands = label_commands(nodes, kube_context)
    header = [
        "#!/bin/sh",
        "# gigafactory verify --label-failed: keep the scheduler away from the nodes that failed acceptance.",
        "# Review, then run it. Undo on a node once it passes: kubectl taint node N "
        f"{ACCEPTANCE_LABEL}={FAILED}:{TAINT_EFFECT}- and kubectl label node N {ACCEPTANCE_LABEL}-",
        "set -eu",
    ]
    body = commands or ["# every node passed: nothing to label"]
    return "\n".join([*header, *body]) + "\n"
