"""Contracts ``kueue-covers-requests`` and ``topology-levels-labelled``: failing and passing states."""

from __future__ import annotations

import dataclasses

from contract_state import obj, pilot_plan, release, state

from components.compute.node_identity import labels_template, names_pattern
from infra.engine.contracts.kueue import check_coverage, check_topology_labels

KUEUE = "kueue.x-k8s.io/v1beta2"


def queue(covered: list[str]) -> dict[str, object]:
    flavor = {"name": "h100-train", "resources": [{"name": r, "nominalQuota": 1} for r in covered]}
    return obj(
        "ClusterQueue",
        "fjord-ai",
        api=KUEUE,
        labels={"gigafactory.eu/tenant": "fjord-ai"},
        spec={
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "fjord-ai"}},
            "resourceGroups": [{"coveredResources": covered, "flavors": [flavor]}],
        },
    )


NETWORK = obj(
    "NetworkAttachmentDefinition",
    "ib-rail0",
    api="k8s.cni.cncf.io/v1",
    namespace="fjord-ai",
    annotations={"k8s.v1.cni.cncf.io/resourceName": "nvidia.com/ib_rail0_vf"},
    spec={"config": "{}"},
)
FLAVOR = obj(
    "ResourceFlavor",
    "h100-train",
    api=KUEUE,
    spec={"nodeLabels": {"gigafactory.eu/pool": "h100-train"}, "topologyName": "fabric"},
)


def kueue_with(resources: dict[str, object]) -> object:
    config = "apiVersion: config.kueue.x-k8s.io/v1beta2\nkind: Configuration\nresources: " + str(resources).replace(
        "'", '"'
    )
    return release("kueue", {"managerConfig": {"controllerManagerConfigYaml": config}})


def test_a_network_resource_the_cluster_queue_does_not_cover_blocks_admission() -> None:
    # kueue v0.19.2 pkg/scheduler/flavorassigner: "resource unavailable in ClusterQueue".
    found = list(check_coverage(state([queue(["cpu", "memory", "nvidia.com/gpu"]), NETWORK, FLAVOR])))
    assert len(found) == 1 and "nvidia.com/ib_rail0_vf (network fjord-ai/ib-rail0)" in found[0].message
    assert found[0].fact == "tenants.fjord-ai.gpu_quotas"


def test_covered_or_excluded_resources_pass() -> None:
    assert list(check_coverage(state([queue(["cpu", "nvidia.com/ib_rail0_vf"]), NETWORK, FLAVOR]))) == []
    excluded = kueue_with({"excludeResourcePrefixes": ["nvidia.com/ib_"]})
    assert list(check_coverage(state([queue(["cpu"]), NETWORK, FLAVOR], releases=(excluded,)))) == []  # type: ignore[arg-type]


def test_ignore_undeclared_admits_undeclared_resources() -> None:
    ignoring = kueue_with({"quotaCheckStrategy": "IgnoreUndeclared"})
    assert list(check_coverage(state([queue(["cpu"]), NETWORK, FLAVOR], releases=(ignoring,)))) == []  # type: ignore[arg-type]


def test_hugepages_of_a_pool_must_be_covered() -> None:
    facts = pilot_plan().facts
    pool = facts.pools["h100-train"]
    assert pool.node is not None
    pools = {
        **facts.pools,
        "h100-train": dataclasses.replace(pool, node=dataclasses.replace(pool.node, hugepages_1gi=64)),
    }
    with_hugepages = dataclasses.replace(facts, pools=pools)
    found = list(check_coverage(state([queue(["cpu"]), FLAVOR], facts=with_hugepages)))
    assert len(found) == 1 and "hugepages-1Gi (pool h100-train's 1 GiB hugepages)" in found[0].message
    assert list(check_coverage(state([queue(["cpu", "hugepages-1Gi"]), FLAVOR], facts=with_hugepages))) == []


TOPOLOGY = obj(
    "Topology",
    "fabric",
    api=KUEUE,
    spec={
        "levels": [
            {"nodeLabel": "gigafactory.eu/fabric-block"},
            {"nodeLabel": "gigafactory.eu/rack"},
            {"nodeLabel": "kubernetes.io/hostname"},
        ]
    },
)


def node(labels: dict[str, str]) -> dict[str, object]:
    return obj("Node", "n1", labels={"gigafactory.eu/pool": "h100-train", **labels})


def test_topology_levels_every_node_carries_pass() -> None:
    labels = {"gigafactory.eu/fabric-block": "su0", "gigafactory.eu/rack": "r0"}
    assert list(check_topology_labels(state([TOPOLOGY, FLAVOR, node(labels)]))) == []


def test_a_topology_level_no_node_carries_fails() -> None:
    found = list(check_topology_labels(state([TOPOLOGY, FLAVOR, node({"gigafactory.eu/fabric-block": "su0"})])))
    assert (
        len(found) == 1
        and "level gigafactory.eu/rack is not a label of 1 node(s) of pool h100-train" in found[0].message
    )


def rule(name: str, labels: dict[str, str], nodes: list[str]) -> dict[str, object]:
    match = {"feature": "system.name", "matchExpressions": {"nodename": {"op": "In", "value": nodes}}}
    return {"name": name, "labels": {"gigafactory.eu/pool": "h100-train", **labels}, "matchFeatures": [match]}


def test_topology_levels_the_nfd_rules_write_pass_and_a_missing_one_counts_the_rules_nodes() -> None:
    # Nodes get their labels from NodeFeatureRules (components/compute/node_identity.py), not Node patches.
    full = {"gigafactory.eu/fabric-block": "su0", "gigafactory.eu/rack": "r0"}
    rules = [rule("r0", full, ["n1", "n2"]), rule("r1", {"gigafactory.eu/fabric-block": "su0"}, ["n3", "n4", "n5"])]
    nfd = obj("NodeFeatureRule", "h100-train-su000", api="nfd.k8s-sigs.io/v1alpha1", spec={"rules": rules})
    found = list(check_topology_labels(state([TOPOLOGY, FLAVOR, nfd])))
    assert [v.message.split(":")[0] for v in found] == [
        "Topology fabric level gigafactory.eu/rack is not a label of 3 node(s) of pool h100-train"
    ]
    nfd["spec"] = {"rules": rules[:1]}
    assert list(check_topology_labels(state([TOPOLOGY, FLAVOR, nfd]))) == []


def test_topology_levels_a_rules_template_writes_count_for_the_nodes_its_pattern_names() -> None:
    # One rule per scalable unit: names by InRegexp, the rack from labelsTemplate (node_identity.py).
    racks = [({"gigafactory.eu/rack": "r0"}, ["n1", "n2"]), ({"gigafactory.eu/rack": "r1"}, ["n3"])]
    templated = {
        **rule("su0", {"gigafactory.eu/fabric-block": "su0"}, []),
        "labelsTemplate": labels_template(racks),
        "matchFeatures": [
            {
                "feature": "system.name",
                "matchExpressions": {"nodename": {"op": "InRegexp", "value": [names_pattern(["n1", "n2", "n3"])]}},
            }
        ],
    }
    nfd = obj("NodeFeatureRule", "h100-train-su000", api="nfd.k8s-sigs.io/v1alpha1", spec={"rules": [templated]})
    assert list(check_topology_labels(state([TOPOLOGY, FLAVOR, nfd]))) == []
    untemplated = {key: value for key, value in templated.items() if key != "labelsTemplate"}
    nfd["spec"] = {"rules": [untemplated]}
    found = list(check_topology_labels(state([TOPOLOGY, FLAVOR, nfd])))
    assert [v.message.split(":")[0] for v in found] == [
        "Topology fabric level gigafactory.eu/rack is not a label of 3 node(s) of pool h100-train"
    ]
