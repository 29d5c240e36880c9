"""Each stage's rules, on the pilot's plan and on variants of it (the plan's objects changed as a site would)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pilot_site import EXAMPLES, judge, judge_text, pilot, pilot_plan

from infra.engine.recording import RecordedPlan
from infra.jobcheck.check import check_job
from infra.jobcheck.podsecurity import violations
from infra.jobcheck.reader import read_jobs
from infra.jobcheck.site import SiteView
from infra.jobcheck.stages.networks import parse_networks

EVAL = (EXAMPLES / "fjord-ai-eval.yaml").read_text()
PRETRAIN = EXAMPLES / "nordic-llm-lab-pretrain.yaml"


def _variant(change: Callable[[dict[str, Any]], None]) -> SiteView:
    """The pilot's plan with ``change`` applied to every object's inputs (a dict per resource)."""
    document = json.loads(pilot_plan().to_json())
    for resource in document["resources"]:
        change(resource["inputs"])
    return SiteView.of(RecordedPlan.from_json(json.dumps(document)))


def _judge_on(site: SiteView, path: Path, tenant: str | None = None) -> Any:
    jobs, errors = read_jobs(path, path.name)
    assert not errors
    return check_job(jobs[0], site, tenant)


def test_rdma_job_admitted_where_the_queue_covers_the_rails() -> None:
    verdict = judge(PRETRAIN)[0]
    assert verdict.admitted, [str(r) for r in verdict.reasons]
    placement = verdict.placement
    assert placement["pools"] == [
        {"pod_set": "main", "pool": "h100-train", "pods": 16, "pods_per_node": 1, "nodes": 16}
    ]
    assert placement["topology"] == [
        {"pod_set": "main", "level": "gigafactory.eu/fabric-block", "mode": "required", "domain_nodes": 32}
    ]
    # The definitions carry the 15-bit key ib-kubernetes accepts; the tenant's key is 0x8101 (full member).
    assert placement["partitions"] == ["0x0101"]
    assert placement["networks"] == [f"ib-rail{r}" for r in range(8)]
    assert placement["flavor"] == "h100-train" and placement["cluster_queue"] == "nordic-llm-lab"


def test_uncovered_rails_admitted_only_while_kueue_excludes_them() -> None:
    """The pilot excludes the rails' devices from Kueue's accounting; without that, Kueue refuses them."""

    def include(inputs: dict[str, Any]) -> None:
        if str(inputs.get("chart", "")).endswith("/kueue"):
            config = inputs["values"]["managerConfig"]["controllerManagerConfigYaml"]
            inputs["values"]["managerConfig"]["controllerManagerConfigYaml"] = config.replace(
                "  - nvidia.com/ib_rail\n", ""
            )

    refused = _judge_on(_variant(include), PRETRAIN)
    assert refused.stage == "kueue"
    assert [r.message for r in refused.reasons] == [
        f"resource nvidia.com/ib_rail{rail}_vf unavailable in ClusterQueue nordic-llm-lab" for rail in range(8)
    ]
    assert judge(PRETRAIN)[0].admitted


def test_network_in_another_partition_is_refused() -> None:
    def other_pkey(inputs: dict[str, Any]) -> None:
        if (
            inputs.get("kind") == "NetworkAttachmentDefinition"
            and inputs["metadata"].get("namespace") == "nordic-llm-lab"
        ):
            inputs["spec"]["config"] = inputs["spec"]["config"].replace('"0x0101"', '"0x0102"')

    verdict = _judge_on(_variant(other_pkey), PRETRAIN)
    assert verdict.stage == "networks"
    assert verdict.reasons[0].message == "network ib-rail0 joins partition 0x0102, not the tenant's 0x8101"


def test_partition_compared_without_membership_bit() -> None:
    """A key written with the membership bit (0x8101) names the same partition as its 15-bit form."""

    def full_member(inputs: dict[str, Any]) -> None:
        if inputs.get("kind") == "NetworkAttachmentDefinition":
            inputs["spec"]["config"] = inputs["spec"]["config"].replace('"0x0101"', '"0x8101"')

    assert _judge_on(_variant(full_member), PRETRAIN).admitted


def test_network_device_must_be_requested(tmp_path: Path) -> None:
    text = PRETRAIN.read_text().replace("              nvidia.com/ib_rail3_vf: 1\n", "")
    path = tmp_path / "job.yaml"
    path.write_text(text)
    verdict = _judge_on(pilot(), path)
    assert verdict.stage == "networks"
    assert (
        verdict.reasons[0].message
        == "network ib-rail3 needs the device nvidia.com/ib_rail3_vf, which no container requests"
    )
    assert verdict.reasons[0].fix == "add nvidia.com/ib_rail3_vf: 1 to the limits of the container that uses ib-rail3"


def test_quota_is_nominal_plus_what_the_cohort_lends(tmp_path: Path) -> None:
    """fjord-ai: nominal 256, lends 128, may borrow 512; the cohort lends 128 + 256: at most 512 GPUs."""
    fits = judge_text(tmp_path, EVAL.replace("backoffLimit: 1", "parallelism: 64"))[0]
    assert fits.admitted, [str(r) for r in fits.reasons]
    over = judge_text(tmp_path, EVAL.replace("backoffLimit: 1", "parallelism: 65"))[0]
    assert over.stage == "kueue" and "the most ClusterQueue fjord-ai can ever use is 512" in over.reasons[0].message


def test_quota_without_cohort_is_nominal(tmp_path: Path) -> None:
    text = EVAL.replace("fjord-ai", "oslo-hospital").replace("backoffLimit: 1", "parallelism: 33")
    text = text.replace("claimName: lustre-shared", "claimName: ceph-clinical")
    verdict = judge_text(tmp_path, text)[0]
    assert verdict.stage == "kueue"
    assert "requests 264, the most ClusterQueue oslo-hospital can ever use is 256" in verdict.reasons[0].message


def test_unknown_queue_namespace_and_priority(tmp_path: Path) -> None:
    queue = judge_text(tmp_path, EVAL.replace("queue-name: default", "queue-name: gpu"))[0]
    assert (queue.stage, queue.reasons[0].message) == (
        "admission",
        "LocalQueue gpu does not exist in namespace fjord-ai: Kueue leaves the job suspended",
    )
    assert queue.reasons[0].fix == "use one of: default"
    namespace = judge_text(tmp_path, EVAL.replace("namespace: fjord-ai", "namespace: fjord"))[0]
    assert namespace.reasons[0].message == "namespace fjord does not exist on the site"
    assert namespace.reasons[0].fix == "use your tenant's namespace (tenants: fjord-ai, nordic-llm-lab, oslo-hospital)"
    priority = EVAL.replace("queue-name: default", "queue-name: default\n    kueue.x-k8s.io/priority-class: urgent")
    refused = judge_text(tmp_path, priority)[0]
    assert refused.reasons[0].message == "WorkloadPriorityClass urgent does not exist"
    assert "gigafactory-high" in refused.reasons[0].fix


def test_job_without_queue_label_gets_the_default_queue(tmp_path: Path) -> None:
    verdict = judge_text(tmp_path, EVAL.replace("  labels:\n    kueue.x-k8s.io/queue-name: default\n", ""))[0]
    assert verdict.admitted and verdict.placement["queue_defaulted"] is True


def test_jobset_and_trainjob_are_refused_for_want_of_a_controller(tmp_path: Path) -> None:
    jobset = """apiVersion: jobset.x-k8s.io/v1alpha2
kind: JobSet
metadata: {name: js, namespace: fjord-ai}
spec:
  replicatedJobs:
    - name: workers
      replicas: 4
      template:
        spec:
          parallelism: 2
          template:
            spec:
              containers: [{name: c, image: x}]
---
apiVersion: trainer.kubeflow.org/v1alpha1
kind: TrainJob
metadata: {name: tj, namespace: fjord-ai}
spec:
  runtimeRef: {name: torch-distributed}
"""
    first, second = judge_text(tmp_path, jobset)
    assert first.job.pod_sets[0].count == 8, "replicas x parallelism"
    assert first.stage == "admission" and first.reasons[0].field == "kind"
    assert "the site runs no JobSet controller (no jobset release in the plan)" in first.reasons[0].message
    assert "submit the pods as a batch/v1 Job" in first.reasons[0].fix
    assert "the site runs no TrainJob controller (no trainer release in the plan)" in second.reasons[0].message
    assert "Kubeflow Trainer v2.3.0" in second.reasons[0].fix


def test_pod_security_levels() -> None:
    spec = {"containers": [{"name": "c", "securityContext": {"capabilities": {"add": ["IPC_LOCK"]}}}]}
    baseline = violations(spec, ("spec",), "baseline")
    assert [v.message for v in baseline] == ["adding capability IPC_LOCK is forbidden"]
    assert "container runtime on every GPU node grants unlimited locked memory" in baseline[0].fix
    restricted = {v.path[-1] for v in violations(spec, ("spec",), "restricted")}
    assert restricted == {0, "allowPrivilegeEscalation", "drop", "runAsNonRoot", "seccompProfile"}
    assert violations(spec, ("spec",), "privileged") == []
    good = {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}],
        "volumes": [
            {"name": "d", "persistentVolumeClaim": {"claimName": "x"}},
            {"name": "h", "hostPath": {"path": "/"}},
        ],
    }
    assert [v.message for v in violations(good, ("spec",), "restricted")] == ["hostPath volumes are forbidden"]


def test_multus_annotation_forms() -> None:
    assert parse_networks("ib-rail0, other/ib-rail1@net2", "ns") == [("ns", "ib-rail0"), ("other", "ib-rail1")]
    assert parse_networks('[{"name": "a"}, {"name": "b", "namespace": "x"}]', "ns") == [("ns", "a"), ("x", "b")]
    assert parse_networks("[{", "ns") is None


def _with_policy(policy_spec: dict[str, Any], binding_spec: dict[str, Any]) -> SiteView:
    """The pilot with one more ValidatingAdmissionPolicy and its binding, as a site would add them."""
    document = json.loads(pilot_plan().to_json())
    base = {"urn": "", "type": "", "component": "test", "parent": "", "provider": "", "custom": True, "options": {}}
    for kind, spec in (("ValidatingAdmissionPolicy", policy_spec), ("ValidatingAdmissionPolicyBinding", binding_spec)):
        inputs = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind, "metadata": {"name": "jobs-rule"}}
        document["resources"].append(
            {
                **base,
                "urn": f"urn:test::{kind}",
                "type": f"kubernetes:admissionregistration.k8s.io/v1:{kind}",
                "name": kind,
                "inputs": {**inputs, "spec": spec},
            }
        )
    return SiteView.of(RecordedPlan.from_json(json.dumps(document)))


TENANT_BINDING = {
    "policyName": "jobs-rule",
    "validationActions": ["Deny"],
    "matchResources": {
        "namespaceSelector": {"matchExpressions": [{"key": "gigafactory.eu/tenant", "operator": "Exists"}]}
    },
}


def test_admission_policy_on_jobs_evaluated_with_cel() -> None:
    """A policy requiring a priority class on every tenant job, run by the real CEL engine."""
    site = _with_policy(
        {
            "matchConstraints": {
                "resourceRules": [
                    {"apiGroups": ["batch"], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["jobs"]}
                ]
            },
            "variables": [
                {"name": "labels", "expression": "has(object.metadata.labels) ? object.metadata.labels : {}"}
            ],
            "validations": [
                {
                    "expression": "'kueue.x-k8s.io/priority-class' in variables.labels",
                    "message": "every job names its priority class",
                }
            ],
        },
        TENANT_BINDING,
    )
    refused = _judge_on(site, EXAMPLES / "fjord-ai-eval.yaml")
    assert refused.stage == "admission"
    reason = refused.reasons[0]
    assert reason.message == "the job: every job names its priority class"
    assert reason.decided_by == "ValidatingAdmissionPolicy jobs-rule (binding jobs-rule)"
    assert reason.fix == "meet the policy's rule: 'kueue.x-k8s.io/priority-class' in variables.labels"
    assert _judge_on(site, PRETRAIN).admitted, "the pre-training job names its priority class"


def test_admission_policy_on_pods_sees_the_template(tmp_path: Path) -> None:
    """Pods are created by the Job controller from the template: a pod rule judges the template."""
    site = _with_policy(
        {
            "matchConstraints": {
                "resourceRules": [
                    {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}
                ]
            },
            "matchConditions": [
                {"name": "by-job-controller", "expression": "request.userInfo.username.endsWith(':job-controller')"}
            ],
            "validations": [
                {
                    "expression": "object.spec.containers.all(c, c.image.startsWith('nvcr.io/'))",
                    "message": "images come from the site's registry mirror of nvcr.io",
                }
            ],
        },
        TENANT_BINDING,
    )
    assert _judge_on(site, PRETRAIN).admitted
    path = tmp_path / "job.yaml"
    path.write_text(PRETRAIN.read_text().replace("nvcr.io/nvidia/pytorch", "docker.io/pytorch/pytorch"))
    refused = _judge_on(site, path)
    assert refused.stage == "admission"
    assert refused.reasons[0].message == "the job's pods: images come from the site's registry mirror of nvcr.io"
    assert refused.reasons[0].field == "spec.template"


def test_admission_policy_without_a_cel_engine_is_assumed(monkeypatch: pytest.MonkeyPatch) -> None:
    from infra.jobcheck import policies

    site = _with_policy(
        {
            "matchConstraints": {"resourceRules": [{"apiGroups": ["batch"], "operations": ["*"], "resources": ["*"]}]},
            "validations": [{"expression": "false", "message": "nothing passes"}],
        },
        TENANT_BINDING,
    )
    monkeypatch.setattr(policies, "cel_api", None)
    policies._compiled.cache_clear()
    verdict = _judge_on(site, EXAMPLES / "fjord-ai-eval.yaml")
    policies._compiled.cache_clear()
    assert verdict.admitted
    assert "admission policy jobs-rule not evaluated (no CEL engine installed): taken to allow the job" in (
        verdict.assumptions
    )
