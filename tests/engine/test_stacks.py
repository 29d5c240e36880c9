"""A site as several stacks: names, order, what each holds, which stacks a change touches, their cost."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from infra.config.loader import load_site
from infra.engine.planner import plan_site
from infra.engine.recording import RecordedPlan
from infra.engine.stackplan import by_stack, one_stack_cost, plan_costs, stack_of, touched_stacks
from infra.stacks import site_stacks, split_stack_name, stack_name

REPO = Path(__file__).resolve().parents[2]
PILOT = REPO / "site-configs" / "eu-pilot.yaml"
GIGAFACTORY = REPO / "site-configs" / "eu-gigafactory.yaml"


@cache
def planned(path: Path) -> RecordedPlan:
    return plan_site(load_site(path))


def test_stack_names_select_site_and_part() -> None:
    assert split_stack_name("eu-pilot") == ("eu-pilot", "operators")
    assert split_stack_name("eu-pilot.tenants") == ("eu-pilot", "tenants")
    assert split_stack_name("eu-pilot.pool-h100-train") == ("eu-pilot", "pool-h100-train")
    assert stack_name("eu-pilot", "operators") == "eu-pilot"
    assert [s.stack for s in site_stacks(load_site(PILOT))] == [
        "eu-pilot",
        "eu-pilot.fabric",
        "eu-pilot.pool-h100-train",
        "eu-pilot.pool-h100-clinical",
        "eu-pilot.tenants",
        "eu-pilot.storage",
    ]


def test_every_stack_stands_alone() -> None:
    plan = planned(PILOT)
    stacks = by_stack(plan)
    assert list(stacks) == list(plan.stacks)
    order = {name: i for i, name in enumerate(plan.stacks)}
    for name, resources in stacks.items():
        providers = [r for r in resources if r.type == "pulumi:providers:kubernetes"]
        assert len(providers) == 1, f"{name}: one Kubernetes provider of its own"
        for resource in resources:
            # The engine cannot wait on another stack's resource: only on its own, or a StackReference.
            crossing = [u for u in resource.depends_on if stack_of(u) != name]
            assert crossing == [], f"{resource.urn} depends on another stack's {crossing}"
            if resource.provider:
                assert stack_of(resource.provider) == name, resource.urn
    # What each stack needs is deployed before it.
    for part in site_stacks(load_site(PILOT)):
        for need in part.needs:
            assert order[stack_name("eu-pilot", need)] < order[part.stack], (part.stack, need)


def test_stacks_hold_the_same_resources_as_one_stack() -> None:
    """Splitting moves resources between stacks; it neither adds nor loses any but the per-stack roots."""
    config = load_site(PILOT)
    split, whole = planned(PILOT), plan_site(config, single_stack=True)
    tails = {r.urn.split("::", 1)[1]: r for r in split.resources}
    for resource in whole.resources:
        twin = tails.get(resource.urn.split("::", 1)[1])
        assert twin is not None, f"{resource.urn} has no counterpart in the split plan"
        assert twin.inputs == resource.inputs, resource.urn
    extra = {
        r.type
        for r in split.resources
        if r.urn.split("::", 1)[1] not in {u.urn.split("::", 1)[1] for u in whole.resources}
    }
    assert extra <= {"pulumi:providers:kubernetes", "gigafactory:site:GigafactorySite"}, extra


@pytest.mark.slow
def test_eu_gigafactory_targets_resources_and_stack_size() -> None:
    plan = planned(GIGAFACTORY)
    assert len(plan.resources) <= 1_500
    sizes = {name: len(found) for name, found in by_stack(plan).items()}
    assert max(sizes.values()) <= 500, sizes
    costs = plan_costs(plan)
    whole = one_stack_cost(plan)
    assert max(c.per_change_bytes for c in costs) < whole.per_change_bytes


@pytest.mark.slow
def test_adding_1000_nodes_touches_that_pool_and_only_what_is_derived_from_its_size(tmp_path: Path) -> None:
    text = GIGAFACTORY.read_text(encoding="utf-8")
    text = text.replace("extends: base/eu.yaml", f"extends: {REPO / 'site-configs/base/eu.yaml'}")
    start = text.index("name: b200-infer")
    at = text.index("nodes: 648", start)
    text = text[:at] + "nodes: 1648\n    allow_partial_scalable_unit: true" + text[at + len("nodes: 648") :]
    bigger = tmp_path / "eu-gigafactory.yaml"
    bigger.write_text(text, encoding="utf-8")
    before, after = planned(GIGAFACTORY), plan_site(load_site(bigger))
    touched = touched_stacks(before, after)
    assert touched[-2:] == ["eu-gigafactory.pool-b200-infer", "eu-gigafactory.tenants"], touched
    old, new = by_stack(before)["eu-gigafactory.tenants"], by_stack(after)["eu-gigafactory.tenants"]
    changed = {r.inputs.get("kind") for r, s in zip(old, new, strict=True) if r.to_json() != s.to_json()}
    assert changed <= {"ClusterQueue", "ResourceQuota"}, changed
    if touched[0] == "eu-gigafactory":
        # The one other value derived from the site's size: Prometheus gets a shard per 1,000 nodes
        # (13,896 -> 14,896 nodes: 14 -> 15 shards). Nothing else of the operators' stack changes.
        old, new = by_stack(before)["eu-gigafactory"], by_stack(after)["eu-gigafactory"]
        (release,) = [(r, s) for r, s in zip(old, new, strict=True) if r.to_json() != s.to_json()]
        values = [r.inputs["values"]["prometheus"]["prometheusSpec"] for r in release]
        assert values[0]["shards"] + 1 == values[1]["shards"]
        assert {**values[0], "shards": 0} == {**values[1], "shards": 0}
    assert len(touched) <= 3, touched
    pools = after.facts.pools
    assert pools["b200-infer"].nodes == 1648 and pools["b200-infer"].identity is not None


def test_a_change_to_one_pool_touches_its_stack_only(tmp_path: Path) -> None:
    text = PILOT.read_text(encoding="utf-8").replace(
        "extends: base/eu.yaml", f"extends: {REPO / 'site-configs/base/eu.yaml'}"
    )
    labelled = text.replace("data-class: health", "data-class: health-records")
    assert labelled != text
    path = tmp_path / "eu-pilot.yaml"
    path.write_text(labelled, encoding="utf-8")
    assert touched_stacks(planned(PILOT), plan_site(load_site(path))) == ["eu-pilot.pool-h100-clinical"]
    assert touched_stacks(planned(PILOT), planned(PILOT)) == []
