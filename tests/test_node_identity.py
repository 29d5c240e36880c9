"""How nodes get their labels and taints, for both bundled sites (issue 9 item 7's regression tests).

Any design must pass these: nothing the project emits creates, patches or server-side-applies a
Node (a patch of a Node that has not joined creates a phantom Node; a server-side apply of
``spec.taints`` takes the atomic list from the kubelet, the node controller and acceptance's
quarantine taint); every node of every pool still gets its pool's labels and taints and every
label the Kueue Topology levels name, and no node gets a label or taint of another pool, unit or
rack. The rules are read as nfd-master evaluates them (``tests/components/nfd_master.py``, from NFD
v0.19.0 ``pkg/nfd-master/nfd-master.go`` and ``pkg/apis/nfd/nodefeaturerule``; templates in Go's
text/template).
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path

import pytest

from components.compute.node_identity import RESTRICTED_LABEL_NS, TOKEN_NODE_EXTRA, pool_labels
from infra.config.loader import load_site
from infra.config.model import SiteConfig
from infra.engine.manifests import is_kubernetes_object
from infra.engine.runtime import RecordedResource, record_program
from infra.plan.site_plan import build_site_plan
from infra.plan.topology import HOSTNAME_LABEL
from infra.site import build_site, planning_secret_values, pool_identity

sys.path.insert(0, str(Path(__file__).parent / "components"))
from nfd_master import NodeOutcome, node_rules, outcomes

REPO = Path(__file__).resolve().parents[1]
SITES = ("eu-pilot", "eu-gigafactory")
# Acceptance's quarantine taint (infra/acceptance: --label-failed) belongs to the operator.
QUARANTINE_KEY = "gigafactory.eu/acceptance"


@cache
def composed(site: str) -> tuple[SiteConfig, tuple[RecordedResource, ...]]:
    config = load_site(REPO / "site-configs" / f"{site}.yaml")
    resources = record_program(
        lambda: build_site(config),
        project="gigafactory",
        stack=site,
        secret_config=planning_secret_values(config),
    )
    return config, tuple(resources)


def _kind(resource: RecordedResource) -> str:
    return str(resource.inputs.get("kind", "")) if is_kubernetes_object(resource) else ""


@cache
def written(site: str) -> dict[str, NodeOutcome]:
    """Node name -> what nfd-master writes on it, for every node of the site and near misses of each name."""
    config, resources = composed(site)
    names = [name for pool in config.node_pools for name in pool.node_names()]
    near = [
        missed
        for pool in config.node_pools
        for name in (pool.node_name(0), pool.node_name(pool.nodes - 1))
        for missed in (f"x{name}", f"{name}0", name[:-1], name.upper())
    ]
    beyond = [pool.node_name_pattern.format(index=pool.first_index + pool.nodes) for pool in config.node_pools]
    return outcomes(node_rules(resources), names + near + beyond)


@pytest.mark.parametrize("site", SITES)
def test_nothing_creates_or_patches_a_node(site: str) -> None:
    _, resources = composed(site)
    touching = [r.urn for r in resources if "core/v1:Node" in r.type or _kind(r) == "Node"]
    assert touching == [], "a Node object or patch would create phantom Nodes and own spec.taints"


@pytest.mark.parametrize("site", SITES)
def test_no_object_the_project_emits_owns_node_taints(site: str) -> None:
    _, resources = composed(site)
    for resource in resources:
        if _kind(resource) in ("Node", "NodeFeature"):
            pytest.fail(f"{resource.urn}: writes a Node's spec or a node's features")
    # Taints travel only in NodeFeatureRules: nfd-master adds and removes just the taints listed in
    # its own annotation by strategic-merge patch (setTaints), never replacing the list.
    for resource in resources:
        text = json.dumps(resource.inputs)
        if '"taints"' in text and _kind(resource) != "NodeFeatureRule":
            spec = resource.inputs.get("spec") or {}
            assert "taints" not in spec, f"{resource.urn}: only NodeFeatureRules carry node taints"
    for rule in (rule for r in node_rules(resources) for rule in r.inputs["spec"]["rules"]):
        assert all(t["key"] != QUARANTINE_KEY for t in rule.get("taints", [])), rule["name"]


@pytest.mark.parametrize("site", SITES)
def test_every_node_gets_exactly_its_pool_labels_taints_and_place(site: str) -> None:
    config, resources = composed(site)
    (topology,) = [r for r in resources if _kind(r) == "Topology"]
    levels = [level["nodeLabel"] for level in topology.inputs["spec"]["levels"]]
    assert levels[-1] == HOSTNAME_LABEL, "the kubelet sets the hostname level"
    plan = build_site_plan(config)
    found = written(site)
    for pool in config.node_pools:
        taints = [{"key": t.key, "value": t.value, "effect": t.effect} for t in pool.taints]
        for position, name in enumerate(pool.node_names()):
            node = found[name]
            assert len(node.rules) == 1, f"{name}: matched by {node.rules}"
            place = plan.node_topology(pool, position).labels()
            del place[HOSTNAME_LABEL]
            # Exactly its own labels: a label of another pool, unit or rack would be one too many.
            assert node.labels == {**pool_labels(pool_identity(pool)), **place}, name
            assert all(level in node.labels for level in levels[:-1]), f"{name}: lacks a Kueue topology level"
            assert node.taints == taints, name


@pytest.mark.parametrize("site", SITES)
def test_a_name_outside_the_pools_matches_no_rule(site: str) -> None:
    config, _ = composed(site)
    real = {name for pool in config.node_pools for name in pool.node_names()}
    misses = {name: node for name, node in written(site).items() if name not in real}
    assert len(misses) >= 5 * len(config.node_pools), "near misses of every pool's names are tried"
    assert {name: node.rules for name, node in misses.items() if node.rules} == {}


@pytest.mark.parametrize("site", SITES)
def test_nfd_master_may_write_isolation_labels_and_taints_and_reads_bound_node_features(site: str) -> None:
    _, resources = composed(site)
    releases = [r for r in resources if r.type.endswith("Release")]
    (release,) = [r for r in releases if r.inputs.get("name") == "node-feature-discovery"]
    config = release.inputs["values"]["master"]["config"]
    assert RESTRICTED_LABEL_NS in config["extraLabelNs"], "nfd-master refuses *.kubernetes.io labels otherwise"
    assert config["enableTaints"] is True, "NodeFeatureRule taints are ignored otherwise"
    selector = config["restrictions"]["nodeFeatureNamespaceSelector"]["matchLabels"]
    assert selector == {"kubernetes.io/metadata.name": release.inputs["namespace"]}
    (policy,) = [r for r in resources if _kind(r) == "ValidatingAdmissionPolicy" and "nodefeature" in r.name]
    expressions = " ".join(v["expression"] for v in policy.inputs["spec"]["validations"])
    assert TOKEN_NODE_EXTRA in expressions and "system.name" in expressions
    assert policy.urn in release.depends_on or any(
        r.urn in release.depends_on for r in resources if _kind(r) == "ValidatingAdmissionPolicyBinding"
    ), "the binding policy exists before any nfd-worker writes a NodeFeature"
