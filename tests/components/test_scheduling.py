"""Scheduling: the Kueue Topology, cohorts, priority classes and one ClusterQueue per tenant."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
from component_harness import assert_parented, gigafactory, pilot, record, schema_errors, spec
from pulumi.provider.experimental.analyzer import Analyzer

from components.scheduling.quotas import FlavorResources, quota_resources
from components.scheduling.scheduling import PRIORITY_CLASSES, Scheduling, SchedulingArgs, TenantGpuQuota, TenantQueue
from infra.config.model import SiteConfig
from infra.plan.site_plan import build_site_plan
from infra.site import flavor_resources, scheduling_args

TYPE = "gigafactory:index:Scheduling"


def build(config: SiteConfig) -> Any:
    args = scheduling_args(build_site_plan(config))

    def program(opts: pulumi.ResourceOptions) -> None:
        kueue = k8s.helm.v3.Release("kueue", chart="kueue", opts=opts)
        Scheduling("sched", args, pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[kueue])))

    return record(program)


def resources_of(queue: Any, flavor: str) -> dict[str, dict[str, Any]]:
    flavors = spec(queue)["resourceGroups"][0]["flavors"]
    found = next(f for f in flavors if f["name"] == flavor)
    return {r["name"]: r for r in found["resources"]}


def test_topology_levels_follow_the_fabric() -> None:
    pilot_levels = spec(build(pilot()).one("Topology", "gigafactory-fabric"))["levels"]
    assert [lv["nodeLabel"] for lv in pilot_levels] == [
        "gigafactory.eu/fabric-block",
        "gigafactory.eu/rack",
        "kubernetes.io/hostname",
    ]
    # 13,896 nodes on 144-port switches need a core tier: the pod is the widest level.
    levels = spec(build(gigafactory()).one("Topology", "gigafactory-fabric"))["levels"]
    assert levels[0]["nodeLabel"] == "gigafactory.eu/fabric-pod"
    assert levels[-1]["nodeLabel"] == "kubernetes.io/hostname"


def test_each_tenant_queue_has_its_nominal_quota_per_flavor_and_its_cohort() -> None:
    recording = build(pilot())
    lab = recording.one("ClusterQueue", "nordic-llm-lab")
    body = spec(lab)
    assert body["cohortName"] == "pilot-shared"
    assert body["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "nordic-llm-lab"}}
    assert body["resourceGroups"][0]["coveredResources"] == ["cpu", "memory", "nvidia.com/gpu"]
    gpu = resources_of(lab, "h100-train")["nvidia.com/gpu"]
    assert gpu == {"name": "nvidia.com/gpu", "nominalQuota": 512, "borrowingLimit": 256, "lendingLimit": 256}
    # 512 GPUs are 64 DGX H100: 64 x 224 CPUs and 64 x 2 TiB.
    cpu = resources_of(lab, "h100-train")["cpu"]
    assert (cpu["nominalQuota"], resources_of(lab, "h100-train")["memory"]["nominalQuota"]) == (14336, "131072Gi")


def test_regulated_tenant_has_no_cohort_and_no_borrowing() -> None:
    body = spec(build(pilot()).one("ClusterQueue", "oslo-hospital"))
    assert "cohortName" not in body
    for resource in body["resourceGroups"][0]["flavors"][0]["resources"]:
        assert "borrowingLimit" not in resource and "lendingLimit" not in resource


def test_mig_flavor_quota_counts_mig_devices() -> None:
    config = gigafactory()
    queue = build(config).one("ClusterQueue", "vectorforge")
    # 1,024 B200 GPUs split 2 ways by the 3g.90gb profile.
    assert resources_of(queue, "b200-infer")["nvidia.com/gpu"]["nominalQuota"] == 2048
    pool = config.pool("b200-infer")
    assert pool is not None
    assert quota_resources(flavor_resources(pool), 8)["nvidia.com/gpu"] == 16


def test_cohorts_and_priority_classes_exist_once() -> None:
    recording = build(gigafactory())
    assert sorted(r.inputs["metadata"]["name"] for r in recording.kind("Cohort")) == [
        "industry",
        "research",
        "startups",
    ]
    priorities = {r.inputs["metadata"]["name"]: r.inputs["value"] for r in recording.kind("WorkloadPriorityClass")}
    assert priorities == {p.name: p.value for p in PRIORITY_CLASSES}


def test_queues_wait_for_kueue_and_their_cohorts() -> None:
    recording = build(pilot())
    queue = recording.one("ClusterQueue", "fjord-ai")
    assert recording.named("kueue").urn in queue.depends_on
    assert recording.one("Cohort", "pilot-shared").urn in queue.depends_on


def test_children_are_parented_and_objects_validate() -> None:
    recording = build(gigafactory())
    assert_parented(recording, recording.component(TYPE))
    assert schema_errors(recording, "1.35") == []


def test_quotas_from_plain_args_alone() -> None:
    """Without the site model: a time-sliced flavor's GPUs count its replicas, CPU and memory follow the GPUs."""
    flavor = FlavorResources(
        name="l40s", gpus_per_node=4, cpus_per_node=64, memory_gib_per_node=512, gpu_units_per_gpu=2
    )
    tenants = [TenantQueue(name="lab", gpu_quotas=[TenantGpuQuota(pool="l40s", gpus=8, borrowing_limit=4)])]

    def program(opts: pulumi.ResourceOptions) -> None:
        Scheduling(
            "sched", SchedulingArgs(tenants=tenants, pools=[flavor], topology_levels=["kubernetes.io/hostname"]), opts
        )

    queue = record(program).one("ClusterQueue", "lab")
    resources = resources_of(queue, "l40s")
    assert resources["nvidia.com/gpu"] == {"name": "nvidia.com/gpu", "nominalQuota": 16}, "no cohort: no limits"
    assert (resources["cpu"]["nominalQuota"], resources["memory"]["nominalQuota"]) == (128, "1024Gi")
    assert "cohortName" not in spec(queue)


def test_a_quota_in_a_pool_it_was_not_given_is_refused() -> None:
    tenants = [TenantQueue(name="lab", gpu_quotas=[TenantGpuQuota(pool="nowhere", gpus=8)])]

    def program(opts: pulumi.ResourceOptions) -> None:
        Scheduling("sched", SchedulingArgs(tenants=tenants, pools=[], topology_levels=[]), opts)

    with pytest.raises(Exception, match="pool nowhere, which is not in pools"):
        record(program)


def test_the_analyzer_infers_the_schema_of_the_inputs_outputs_and_types() -> None:
    schema = Analyzer("gigafactory").analyze([Scheduling])
    component = schema["component_definitions"]["Scheduling"]
    assert set(component.inputs) == {"tenants", "pools", "topologyLevels", "topologyName"}
    assert [k for k, v in component.inputs.items() if v.optional] == ["topologyName"]
    assert set(component.outputs) == {"topologyName", "clusterQueues", "cohorts", "priorityClasses"}
    types = schema["type_definitions"]
    assert [k for k, v in types["FlavorResources"].properties.items() if v.optional] == ["gpuUnitsPerGpu"]
    assert [k for k, v in types["TenantGpuQuota"].properties.items() if v.optional] == [
        "borrowingLimit",
        "lendingLimit",
    ]
    assert {"TenantQueue", "TenantGpuQuota", "FlavorResources"} <= set(types)
