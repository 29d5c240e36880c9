"""The danger registry: its order, located dangers that say how to accept them, and facts the judging
code does not know (newer plans) reported as not judged instead of passing silently."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from synthetic_site import Shape, synthetic_plan

from infra.engine.dangers import DANGER_KINDS, DANGER_RULES
from infra.engine.recording import PLAN_FORMAT, RecordedPlan
from infra.engine.report import diff_plans, to_text

BASE = synthetic_plan()


def with_site(plan: RecordedPlan, edit: Callable[[dict[str, Any]], None], fmt: str | None = None) -> RecordedPlan:
    site = copy.deepcopy(plan.site)
    edit(site)
    return RecordedPlan(
        project=plan.project, stack=plan.stack, site=site, resources=plan.resources, format=fmt or plan.format
    )


def test_registry_order_is_the_report_order() -> None:
    assert DANGER_KINDS == (
        "protected-storage",
        "quota-capacity",
        "isolation",
        "driver-without-drain",
        "partition-key",
        "not-judged",
    )
    assert all(rule.catches and rule.accept for rule in DANGER_RULES)
    # A change that trips three rules lists them in registry order.
    before = with_site(BASE, lambda s: s["pools"]["train"]["driver_upgrade"].update(drain=False))
    after = with_site(
        synthetic_plan(Shape(nodes=1, driver_version="595.100.02", with_pvc=False)),
        lambda s: (
            s["pools"]["train"]["driver_upgrade"].update(drain=False),
            s["tenants"]["team-a"].update(pkey="0x8109"),
        ),
    )
    kinds = [d.kind for d in diff_plans(before, after).dangers]
    assert kinds == ["protected-storage", "quota-capacity", "driver-without-drain", "partition-key"]


def test_every_danger_names_where_and_how_to_accept() -> None:
    after = with_site(synthetic_plan(Shape(nodes=1)), lambda s: s["tenants"]["team-a"].update(pkey="0x8109"))
    diff = diff_plans(BASE, after)
    where = {d.kind: d.where for d in diff.dangers}
    assert where == {"quota-capacity": "synth.yaml:6:12", "partition-key": "synth.yaml:23:11"}
    for danger in diff.dangers:
        assert "danger-acknowledged after the last push" in danger.accept, danger
    assert "stop the tenant's jobs" in next(d.accept for d in diff.dangers if d.kind == "partition-key")
    text = to_text(diff)
    assert "! [partition-key] synth.yaml:23:11: tenant team-a partition key 0x8101 -> 0x8109" in text
    assert "      to accept: stop the tenant's jobs before applying" in text


def test_removed_storage_danger_is_located_in_the_old_plan() -> None:
    diff = diff_plans(BASE, synthetic_plan(Shape(with_pvc=False)))
    assert [(d.kind, d.where) for d in diff.dangers] == [("protected-storage", "synth.yaml:14:5")]


def test_intent_lines_name_the_changed_value() -> None:
    diff = diff_plans(BASE, synthetic_plan(Shape(nodes=5)))
    gpus = next(i for i in diff.intents if i.kind == "gpus")
    assert (gpus.where, gpus.message) == ("synth.yaml:6:12", "pool train: +16 GPUs (3 -> 5 nodes)")
    driver = diff_plans(BASE, synthetic_plan(Shape(driver_version="595.100.02")))
    upgrade = next(i for i in driver.intents if i.subject == "GPU driver")
    assert (upgrade.where, upgrade.needs) == ("base/synth.yaml:3:21", "drain")


def test_a_fact_newer_code_added_is_not_judged_but_listed() -> None:
    after = with_site(BASE, lambda s: s["pools"]["train"]["node"].update(firmware={"hca": "28.43.1014"}))
    diff = diff_plans(BASE, after)
    assert [d.kind for d in diff.dangers] == ["not-judged"]
    message = diff.dangers[0].message
    assert message.startswith("pools.train.node.firmware: (none) -> {'hca': '28.43.1014'}")
    assert "not judged by the base: acknowledge" in message
    assert diff.dangers[0].where == "synth.yaml:4:5"
    # The unknown fact survives a round trip through this code's plan reader and writer.
    assert json.loads(RecordedPlan.from_json(after.to_json()).to_json())["site"]["pools"]["train"]["node"]["firmware"]


def test_an_unknown_fact_that_did_not_change_is_not_reported() -> None:
    same = with_site(BASE, lambda s: s.update(scheduling={"fair_sharing": True}))
    assert diff_plans(same, same).dangers == ()


def test_a_newer_plan_format_is_not_judged() -> None:
    newer = with_site(BASE, lambda s: None, fmt="gigafactory-plan/9")
    read = RecordedPlan.from_json(newer.to_json())
    assert read.newer_format and read.format == "gigafactory-plan/9"
    diff = diff_plans(BASE, read)
    assert [d.kind for d in diff.dangers] == ["not-judged"]
    assert f"newer than this code's {PLAN_FORMAT}" in diff.dangers[0].message


def test_a_plan_written_before_node_facts_still_diffs() -> None:
    def strip(site: dict[str, Any]) -> None:
        for pool in site["pools"].values():
            pool.pop("node")
        site.pop("locations")
        for system in site["storage"].values():
            system.pop("nodes")

    old = with_site(BASE, strip, fmt="gigafactory-plan/1")
    read = RecordedPlan.from_json(old.to_json())
    diff = diff_plans(read, synthetic_plan(Shape(nodes=5)))
    assert [d.kind for d in diff.dangers] == []
    assert any(i.message == "pool train: +16 GPUs (3 -> 5 nodes)" for i in diff.intents)
    assert not any(i.kind == "nodes" for i in diff.intents), "no node facts on the old side: nothing to compare"


@pytest.mark.parametrize("bad", [{"gpus": "many"}, {"pools": []}, {"power": None}])
def test_malformed_known_facts_are_a_plan_file_error(bad: dict[str, Any]) -> None:
    from infra.engine.recording import PlanFileError

    broken = with_site(BASE, lambda s: s.update(bad))
    with pytest.raises(PlanFileError, match="malformed plan facts"):
        diff_plans(BASE, broken)


@pytest.mark.parametrize(
    ("key", "before", "after", "danger"),
    [
        ("dedicated_nodes", True, False, True),
        ("own_partition", True, False, True),
        ("encrypted_storage", True, False, True),
        ("egress", "deny", "allow", True),
        ("egress", "allow", "deny", False),
        ("dedicated_nodes", False, True, False),
    ],
)
def test_weakened_isolation_is_dangerous(key: str, before: Any, after: Any, danger: bool) -> None:
    old = with_site(BASE, lambda s: s["tenants"]["team-a"]["isolation"].update({key: before}))
    new = with_site(BASE, lambda s: s["tenants"]["team-a"]["isolation"].update({key: after}))
    kinds = [d.kind for d in diff_plans(old, new).dangers]
    assert kinds == (["isolation"] if danger else [])


def test_unencrypted_storage_for_a_tenant_that_requires_encryption_is_dangerous() -> None:
    def require(site: dict[str, Any]) -> None:
        site["tenants"]["team-a"]["isolation"]["encrypted_storage"] = True
        site["storage"]["lustre"]["encrypted"] = True

    old = with_site(BASE, require)
    new = with_site(old, lambda s: s["storage"]["lustre"].update(encrypted=False))
    (danger,) = diff_plans(old, new).dangers
    assert danger.kind == "isolation" and "storage lustre it uses is not encrypted" in danger.message
    assert danger.where == "synth.yaml:14:5"


def test_a_dedicated_pool_shared_is_dangerous() -> None:
    old = with_site(BASE, lambda s: s["pools"]["train"].update(dedicated_to="team-a"))
    (danger,) = diff_plans(old, BASE).dangers
    assert danger.kind == "isolation" and "pool train dedicated to team-a -> shared" in danger.message


def test_a_fact_an_older_plan_lacks_is_not_read_as_zero() -> None:
    old = with_site(BASE, lambda s: s["storage"]["lustre"].pop("nodes"), fmt="gigafactory-plan/1")
    diff = diff_plans(RecordedPlan.from_json(old.to_json()), BASE)
    assert not any("nodes using it" in i.message for i in diff.intents), [i.message for i in diff.intents]
