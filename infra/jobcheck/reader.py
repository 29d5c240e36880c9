"""Read JOB.yaml as users write it: one job per YAML document, each value with its file position.

A job is a ``batch/v1`` Job, a ``jobset.x-k8s.io/v1alpha2`` JobSet or a Kubeflow Trainer
``trainer.kubeflow.org/v1alpha1`` TrainJob. Its pods are grouped in pod sets as Kueue groups them
(one per Job, one per JobSet replicated job), each with the path of its pod template in the file, so
every reason a stage gives is located at the field it is about.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.config.errors import ConfigError, Location, dotted_path
from infra.config.yamldoc import ConfigPath, YamlDocument, read_yaml_documents

JOB = ("batch/v1", "Job")
JOBSET = ("jobset.x-k8s.io/v1alpha2", "JobSet")
TRAINJOB = ("trainer.kubeflow.org/v1alpha1", "TrainJob")
KINDS = (JOB, JOBSET, TRAINJOB)
KINDS_TEXT = ", ".join(f"{api} {kind}" for api, kind in KINDS)


@dataclass(frozen=True)
class PodSet:
    """Pods that share one template: ``count`` of them, the template at ``path`` in the document."""

    name: str
    count: int
    template: dict[str, Any]
    path: ConfigPath

    @property
    def spec(self) -> dict[str, Any]:
        """The pod spec of the template."""
        spec = self.template.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def annotations(self) -> dict[str, Any]:
        """The pod template's annotations (Kueue's topology request and Multus' networks live here)."""
        metadata = self.template.get("metadata")
        annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
        return annotations if isinstance(annotations, dict) else {}


@dataclass(frozen=True)
class JobDocument:
    """One job of the file: what it is, where it is, its pod sets."""

    document: YamlDocument
    index: int
    api_version: str
    kind: str
    name: str
    namespace: str | None
    pod_sets: tuple[PodSet, ...]

    @property
    def data(self) -> dict[str, Any]:
        """The job's values."""
        return self.document.data

    @property
    def labels(self) -> dict[str, Any]:
        """The job's own labels (Kueue reads the queue and priority class here)."""
        labels = (self.data.get("metadata") or {}).get("labels")
        return labels if isinstance(labels, dict) else {}

    @property
    def title(self) -> str:
        """``Job nordic-llm-lab/pretrain``."""
        return f"{self.kind} {self.namespace or '(no namespace)'}/{self.name}"

    def locate(self, path: ConfigPath) -> Location:
        """Where ``path`` is written, or the nearest enclosing value that is (a missing field's parent)."""
        document = self.document
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            where = document.key_locations.get(prefix) or document.value_locations.get(prefix)
            if where is not None:
                return where
        return Location(str(document.path))


def _get(data: Any, *keys: str | int) -> Any:
    for key in keys:
        if isinstance(key, int):
            data = data[key] if isinstance(data, list) and 0 <= key < len(data) else None
        else:
            data = data.get(key) if isinstance(data, dict) else None
    return data


def _count(value: Any, default: int = 1) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


def _pod_sets(document: YamlDocument, kind: tuple[str, str]) -> tuple[list[PodSet], list[tuple[ConfigPath, str]]]:
    data = document.data
    sets: list[PodSet] = []
    problems: list[tuple[ConfigPath, str]] = []
    if kind == JOB:
        spec = _get(data, "spec") or {}
        # A Job runs `parallelism` pods at once (default 1); Kueue admits that many (Kueue v0.19.2
        # pkg/controller/jobs/job/job_controller.go, PodSets: Count = podsCount(parallelism)).
        sets.append(PodSet("main", _count(spec.get("parallelism")), _get(spec, "template") or {}, ("spec", "template")))
    elif kind == JOBSET:
        for i, replicated in enumerate(_get(data, "spec", "replicatedJobs") or []):
            job_spec = _get(replicated, "template", "spec") or {}
            # One pod set per replicated job: replicas x the Job's parallelism (JobSet v0.12.0
            # pkg/controllers/jobset_controller.go; Kueue pkg/controller/jobs/jobset/jobset_controller.go).
            count = _count(_get(replicated, "replicas")) * _count(job_spec.get("parallelism"))
            name = str(_get(replicated, "name") or f"replicatedJobs[{i}]")
            path: ConfigPath = ("spec", "replicatedJobs", i, "template", "spec", "template")
            sets.append(PodSet(name, count, _get(job_spec, "template") or {}, path))
        if not sets:
            problems.append((("spec", "replicatedJobs"), "a JobSet needs at least one replicated job"))
    for pod_set in sets:
        containers = pod_set.spec.get("containers")
        if not isinstance(containers, list) or not containers or not all(isinstance(c, dict) for c in containers):
            problems.append(((*pod_set.path, "spec", "containers"), "a pod template needs a list of containers"))
    return sets, problems


def read_jobs(path: Path, display: str) -> tuple[list[JobDocument], list[ConfigError]]:
    """Every job in the file, or the errors that make it not a job file (exit 2 for the command)."""
    documents, errors = read_yaml_documents(path, display, "a Kubernetes job")
    if errors:
        return [], errors
    jobs: list[JobDocument] = []
    for index, document in enumerate(documents):
        data = document.data
        kind = (str(data.get("apiVersion", "")), str(data.get("kind", "")))
        if kind not in KINDS:
            where = document.value_locations.get(("kind",)) or document.value_locations.get(())
            errors.append(
                ConfigError(
                    where or Location(display),
                    "kind",
                    f"{kind[0] or '(no apiVersion)'} {kind[1] or '(no kind)'} is not a job check-job reads",
                    f"write one of: {KINDS_TEXT}",
                )
            )
            continue
        name = _get(data, "metadata", "name") or _get(data, "metadata", "generateName")
        namespace = _get(data, "metadata", "namespace")
        pod_sets, problems = ([], []) if kind == TRAINJOB else _pod_sets(document, kind)
        for field_path, message in problems:
            where = document.value_locations.get(field_path[:-1]) or document.value_locations.get(())
            errors.append(ConfigError(where or Location(display), dotted_path(field_path), message))
        if problems:
            continue
        jobs.append(
            JobDocument(
                document=document,
                index=index,
                api_version=kind[0],
                kind=kind[1],
                name=str(name or "(no name)"),
                namespace=str(namespace) if namespace else None,
                pod_sets=tuple(pod_sets),
            )
        )
    return ([], errors) if errors else (jobs, [])
