"""An evaluator of whether Kueue takes charge of a job: managed jobs stay suspended until admitted.

Semantics (kubernetes-sigs/kueue v0.19.2, docs "Setup manageJobsWithoutQueueName" and "Run a
Job"): a job labelled ``kueue.x-k8s.io/queue-name`` is Kueue's; one without it is Kueue's only when
the Configuration sets ``manageJobsWithoutQueueName`` and its namespace matches
``managedJobsNamespaceSelector``. Kueue's webhook creates a managed job suspended (a managed pod
gated) and only a ClusterQueue with free quota for the namespace's LocalQueue lets it run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vap_evaluator import selector_matches

QUEUE_LABEL = "kueue.x-k8s.io/queue-name"


def managed(config: Mapping[str, Any], job: Mapping[str, Any], namespace_labels: Mapping[str, str]) -> bool:
    """True when Kueue holds ``job`` (suspended) until one of its queues admits it."""
    if QUEUE_LABEL in (job.get("metadata", {}).get("labels") or {}):
        return True
    if not config.get("manageJobsWithoutQueueName", False):
        return False
    return selector_matches(config.get("managedJobsNamespaceSelector"), namespace_labels)
