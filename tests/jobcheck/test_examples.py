"""Every bundled example job is judged as designed on the pilot: the tenants' jobs admitted, the others
refused at their stage, each reason located in the file and carrying its fix."""

from __future__ import annotations

import re

import pytest
from pilot_site import EXAMPLES, judge

# The multi-node RDMA jobs, one per tenant of the pilot.
TENANT_JOBS = [
    EXAMPLES / f"{name}.yaml" for name in ("fjord-ai-finetune", "nordic-llm-lab-pretrain", "oslo-hospital-imaging")
]
# file -> (stage, the reason's field, fragments of the message, fragments of the fix, deciding object)
REFUSED = {
    "admission-ipc-lock.yaml": (
        "admission",
        "spec.template.spec.containers[0].securityContext.capabilities.add[0]",
        "adding capability IPC_LOCK is forbidden under Pod Security `restricted`",
        "remove IPC_LOCK from capabilities.add (RDMA pins memory without IPC_LOCK here",
        "Namespace fjord-ai (pod-security.kubernetes.io/enforce: restricted)",
    ),
    "kueue-resource-not-covered.yaml": (
        "kueue",
        "spec.template.spec.containers[0].resources.limits.nvidia.com/mig-1g.10gb",
        "resource nvidia.com/mig-1g.10gb unavailable in ClusterQueue fjord-ai",
        "remove the request for nvidia.com/mig-1g.10gb, or ask the site to cover it",
        "ClusterQueue fjord-ai (covers cpu, memory, nvidia.com/gpu",
    ),
    "kueue-topology-too-small.yaml": (
        "kueue",
        "spec.template.metadata.annotations.kueue.x-k8s.io/podset-required-topology",
        'topology "eu-pilot-fabric" allows to fit only 4 out of 8 pod(s)',
        "ask for at most 4 pods in one gigafactory.eu/rack, or require a wider level (gigafactory.eu/fabric-block)",
        "Topology eu-pilot-fabric",
    ),
    "kueue-quota.yaml": (
        "kueue",
        "spec.template.spec.containers[0].resources.limits.nvidia.com/gpu",
        "insufficient quota for nvidia.com/gpu in flavor h100-train: the job requests 640, the most ClusterQueue "
        "fjord-ai can ever use is 512",
        "ask for at most 512 of nvidia.com/gpu in all",
        "ClusterQueue fjord-ai (flavor h100-train)",
    ),
    "kueue-another-tenants-pool.yaml": (
        "admission",
        "spec.template",
        "spec.nodeSelector selects a node pool dedicated to another tenant",
        "meet the policy's rule",
        "ValidatingAdmissionPolicy gigafactory-dedicated-nodes",
    ),
    "scheduling-no-such-gpu.yaml": (
        "scheduling",
        "spec.template.spec.nodeSelector.gigafactory.eu/gpu-model",
        "no node of pool h100-train has gigafactory.eu/gpu-model=H200-SXM-141GB",
        "remove the node selector or select a label these nodes carry",
        "node pool h100-train",
    ),
    "networks-other-namespace.yaml": (
        "admission",
        "spec.template",
        "k8s.v1.cni.cncf.io/networks may name only networks in the pod's own namespace",
        "meet the policy's rule",
        "ValidatingAdmissionPolicy gigafactory-tenant-networks",
    ),
    "networks-missing-devices.yaml": (
        "networks",
        "spec.template.spec.containers[0].resources.limits",
        "network ib-rail0 needs the device nvidia.com/ib_rail0_vf, which no container requests",
        "add nvidia.com/ib_rail0_vf: 1 to the limits of the container that uses ib-rail0",
        "NetworkAttachmentDefinition fjord-ai/ib-rail0",
    ),
    "storage-class-not-granted.yaml": (
        "storage",
        "spec.template.spec.volumes[1].ephemeral.volumeClaimTemplate.spec.storageClassName",
        "tenant fjord-ai is not granted StorageClass ceph-clinical",
        "use a class the tenant is granted: lustre-shared",
        "ResourceQuota of fjord-ai (ceph-clinical.storageclass.storage.k8s.io/requests.storage: 0)",
    ),
}


def test_single_node_example_is_admitted() -> None:
    (verdict,) = judge(EXAMPLES / "fjord-ai-eval.yaml")
    assert verdict.admitted, [str(r) for r in verdict.reasons]
    assert verdict.placement["pools"] == [
        {"pod_set": "main", "pool": "h100-train", "pods": 1, "pods_per_node": 1, "nodes": 1}
    ]


def test_every_example_is_listed() -> None:
    assert sorted(EXAMPLES.glob("*.yaml")) == sorted([*TENANT_JOBS, EXAMPLES / "fjord-ai-eval.yaml"])


def test_every_refused_example_is_listed() -> None:
    assert sorted(p.name for p in (EXAMPLES / "refused").glob("*.yaml")) == sorted(REFUSED)
    stages = {stage for stage, *_ in REFUSED.values()}
    assert stages == {"admission", "kueue", "scheduling", "networks", "storage"}, "one refusal per stage at least"


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_example(name: str) -> None:
    stage, field, message, fix, decided_by = REFUSED[name]
    (verdict,) = judge(EXAMPLES / "refused" / name)
    assert verdict.stage == stage, [str(r) for r in verdict.reasons]
    reason = verdict.reasons[0]
    assert reason.field == field
    assert message in reason.message
    assert fix in reason.fix
    assert decided_by in reason.decided_by
    # Located in the file at the field itself: the line holds the field's last key (or list entry).
    assert reason.location.file == f"examples/jobs/refused/{name}" and reason.location.line > 0
    line = (EXAMPLES / "refused" / name).read_text().splitlines()[reason.location.line - 1]
    last = re.split(r"[.\[\]]", field.rsplit(".", 1)[-1])[0]
    assert last in line, f"{reason.location}: {line!r} does not hold {field}"


@pytest.mark.parametrize("path", TENANT_JOBS, ids=lambda p: p.name)
def test_tenant_example_is_admitted(path: str) -> None:
    (verdict,) = judge(EXAMPLES / str(path))
    assert verdict.admitted, [str(r) for r in verdict.reasons]


def test_tenant_examples_cover_every_tenant() -> None:
    namespaces = {judge(path)[0].job.namespace for path in TENANT_JOBS}
    assert namespaces == {"nordic-llm-lab", "fjord-ai", "oslo-hospital"}
