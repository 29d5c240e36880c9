"""The plan model: components, ordering, deterministic JSON, reading plan files back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from synthetic_site import Shape, synthetic_plan

from infra.engine.dangers import unknown_facts
from infra.engine.recording import PLAN_FORMAT, STACK_COMPONENT, PlanFileError, RecordedPlan, component_of


def test_resources_sorted_by_urn_and_grouped_by_top_level_component() -> None:
    plan = synthetic_plan()
    urns = [r.urn for r in plan.resources]
    assert urns == sorted(urns), "plan resources must be ordered by URN"
    by_name = {r.name: r for r in plan.resources}
    assert by_name["synth-lustre-datasets"].component == "synth-lustre", by_name["synth-lustre-datasets"].urn
    assert by_name["synth-node-002"].component == "synth-pool", by_name["synth-node-002"].urn
    assert by_name["synth"].component == "synth", "the site component is its own group"
    assert plan.component_label("synth-pool") == "GpuNodePool synth-pool"
    assert plan.component_counts()["synth-pool"] == 4, "the pool component and its three node patches"


def test_records_options_and_provider() -> None:
    plan = synthetic_plan()
    pvc = next(r for r in plan.resources if r.name == "synth-lustre-datasets")
    assert pvc.protect, pvc.urn
    provider = next(r for r in plan.resources if r.type == "pulumi:providers:kubernetes")
    assert pvc.provider_urn == provider.urn, pvc.provider
    quota = next(r for r in plan.resources if r.name == "synth-team-a-quota")
    namespace = next(r for r in plan.resources if r.name == "synth-team-a-ns")
    assert quota.depends_on == (namespace.urn,), quota.urn


def test_component_of_a_resource_directly_under_the_stack() -> None:
    stack = "urn:pulumi:s::p::pulumi:pulumi:Stack::p-s"
    provider = "urn:pulumi:s::p::pulumi:providers:kubernetes::k8s"
    assert component_of(provider, {provider: stack}, stack) == STACK_COMPONENT


def test_json_is_deterministic_and_round_trips() -> None:
    first = synthetic_plan().to_json()
    second = synthetic_plan().to_json()
    assert first == second, "two plans of the same program must be byte-identical"
    document = json.loads(first)
    assert document["format"] == PLAN_FORMAT
    assert document["stack"] == "synth" and document["site"]["name"] == "synth"
    assert list(document) == sorted(document), "keys are sorted"
    assert RecordedPlan.from_json(first).to_json() == first, "reading a plan back must not change it"


def test_registration_order_does_not_change_the_plan() -> None:
    # More resources -> more interleaving of the SDK's asynchronous registrations.
    shape = Shape(nodes=40)
    assert synthetic_plan(shape).to_json() == synthetic_plan(shape).to_json()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{not json", "not valid JSON"),
        ('{"format": "something-else/1"}', "not a gigafactory plan"),
        ("[1, 2]", "not a gigafactory plan"),
        (json.dumps({"format": PLAN_FORMAT, "project": "p"}), "malformed plan"),
        (json.dumps({"format": PLAN_FORMAT, "project": "p", "stack": "s", "site": {}, "resources": [{}]}), "malformed"),
    ],
)
def test_bad_plan_files_give_one_clear_error(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(text)
    with pytest.raises(PlanFileError, match=expected) as caught:
        RecordedPlan.read(path)
    assert str(path) in str(caught.value), "the error names the file"


def test_missing_plan_file(tmp_path: Path) -> None:
    with pytest.raises(PlanFileError, match="file not found"):
        RecordedPlan.read(tmp_path / "absent.json")


def test_facts_shape_matches_the_real_one() -> None:
    """The synthetic site's facts have the keys ``site_facts`` gives a real site (diff tests rely on it)."""
    from infra.config.loader import load_site
    from infra.engine.facts import site_facts
    from infra.plan.site_plan import build_site_plan

    real = site_facts(build_site_plan(load_site(Path(__file__).resolve().parents[2] / "site-configs/eu-pilot.yaml")))
    assert type(real).from_json(real.to_json()) == real, "typed facts survive a JSON round trip"
    assert not unknown_facts(synthetic_plan().facts), "every synthetic fact is one the code knows"
    synthetic, real = synthetic_plan().site, real.to_json()
    assert set(synthetic) == set(real)
    for section in ("power", "fabric"):
        assert set(synthetic[section]) == set(real[section]), section
    for section in ("pools", "storage", "tenants", "operators"):
        real_keys = set(next(iter(real[section].values())))
        synthetic_keys = set(next(iter(synthetic[section].values())))
        assert synthetic_keys == real_keys, f"{section}: {synthetic_keys ^ real_keys}"
    real_node, synthetic_node = next(iter(real["pools"].values()))["node"], synthetic["pools"]["train"]["node"]
    assert set(real_node) == set(synthetic_node)
