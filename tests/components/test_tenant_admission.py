"""TenantAdmission: one ValidatingAdmissionPolicy and one Deny binding per isolation policy, from plain data."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from component_harness import assert_parented, record, schema_errors, spec
from pulumi.provider.experimental.analyzer import Analyzer

from components.isolation.admission import TenantAdmission, TenantAdmissionArgs
from components.isolation.policies import DedicatedPool, IsolationRules
from components.labels import Taint

TYPE = "gigafactory:index:TenantAdmission"
TAINT = Taint(key="gigafactory.eu/tenant", value="clinic", effect="NoSchedule")


def build(rules: IsolationRules) -> Any:
    def program(opts: pulumi.ResourceOptions) -> None:
        api = k8s.helm.v3.Release("api", chart="api", opts=opts)
        waits = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[api]))
        TenantAdmission("admission", TenantAdmissionArgs(rules=rules), waits)

    return record(program)


def variables(policy: Any) -> dict[str, Any]:
    return {v["name"]: v["expression"] for v in spec(policy)["variables"]}


def test_every_policy_has_a_deny_binding_that_waits_for_it_and_for_what_the_component_waits_for() -> None:
    recording = build(IsolationRules())
    policies = recording.kind("ValidatingAdmissionPolicy")
    assert sorted(p.inputs["metadata"]["name"] for p in policies) == [
        "gigafactory-dedicated-nodes",
        "gigafactory-no-external-ips",
        "gigafactory-node-isolation",
        "gigafactory-priority-classes",
        "gigafactory-tenant-claims",
        "gigafactory-tenant-networks",
    ]
    api = recording.named("api").urn
    for policy in policies:
        binding = recording.one("ValidatingAdmissionPolicyBinding", policy.inputs["metadata"]["name"])
        assert spec(binding)["validationActions"] == ["Deny"]
        assert policy.urn in binding.depends_on and api in binding.depends_on
        assert api in policy.depends_on and spec(policy)["failurePolicy"] == "Fail"


def test_plain_rules_reach_the_policies() -> None:
    rules = IsolationRules(
        dedicated=[DedicatedPool(pool="gpu-clinic", tenant="clinic", taints=[TAINT], node_names="^clinic-[0-9]{3,}$")],
        granted_priorities={"clinic": ["gigafactory-critical"], "lab": []},
    )
    recording = build(rules)
    dedicated = variables(recording.one("ValidatingAdmissionPolicy", "gigafactory-dedicated-nodes"))
    assert json.loads(dedicated["ownerOf"]) == {"gpu-clinic": "clinic"}
    node = variables(recording.one("ValidatingAdmissionPolicy", "gigafactory-node-isolation"))
    assert json.loads(node["required"]) == [{**TAINT, "names": "^clinic-[0-9]{3,}$"}]
    priorities = variables(recording.one("ValidatingAdmissionPolicy", "gigafactory-priority-classes"))
    assert json.loads(priorities["granted"]) == {"clinic": ["gigafactory-critical"], "lab": []}
    # Not given: the ladder Scheduling creates, so a tenant cannot name one it was not granted.
    assert json.loads(priorities["known"]) == [
        "gigafactory-critical",
        "gigafactory-high",
        "gigafactory-standard",
        "gigafactory-preemptible",
    ]


def test_children_are_parented_and_objects_validate() -> None:
    recording = build(IsolationRules())
    assert_parented(recording, recording.component(TYPE))
    assert schema_errors(recording, "1.35") == []


def test_the_analyzer_infers_the_schema_of_the_inputs_outputs_and_types() -> None:
    schema = Analyzer("gigafactory").analyze([TenantAdmission])
    component = schema["component_definitions"]["TenantAdmission"]
    assert set(component.inputs) == {"rules"} and set(component.outputs) == {"policies"}
    types = schema["type_definitions"]
    assert set(types["IsolationRules"].properties) == {"dedicated", "grantedPriorities", "priorityClasses"}
    assert all(p.optional for p in types["IsolationRules"].properties.values())
    assert {"IsolationRules", "DedicatedPool"} <= set(types)
