"""Diff classification on crafted before/after plan pairs: each dangerous case flagged, harmless ones not."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest
from synthetic_site import Shape, synthetic_plan

from infra.engine.diff import CREATE, DELETE, REPLACE, UPDATE, field_changes, outer_path
from infra.engine.immutable import replace_reasons
from infra.engine.recording import RecordedPlan
from infra.engine.report import PlanDiff, diff_plans

BASE = synthetic_plan()


def with_site(plan: RecordedPlan, edit: Callable[[dict[str, Any]], None]) -> RecordedPlan:
    """``plan`` with its site facts edited (as a changed site config would give)."""
    site = copy.deepcopy(plan.site)
    edit(site)
    return RecordedPlan(project=plan.project, stack=plan.stack, site=site, resources=plan.resources)


def ops(diff: PlanDiff) -> dict[str, str]:
    return {c.name: c.op for group in diff.components for c in group.changes}


def danger_kinds(diff: PlanDiff) -> list[str]:
    return [d.kind for d in diff.dangers]


def test_same_plan_has_no_changes() -> None:
    diff = diff_plans(BASE, synthetic_plan())
    assert diff.components == () and diff.dangers == () and diff.intents == ()


# -- storage ----------------------------------------------------------------------------------


def test_pvc_storage_class_change_replaces_protected_pvc_dangerously() -> None:
    diff = diff_plans(BASE, synthetic_plan(Shape(pvc_class="lustre-fast")))
    assert ops(diff)["synth-lustre-datasets"] == REPLACE
    pvc = next(c for g in diff.components for c in g.changes if c.name == "synth-lustre-datasets")
    assert any(r.startswith("spec.storageClassName: ") for r in pvc.replace_reasons), pvc.replace_reasons
    assert "protected-storage" in danger_kinds(diff)
    assert any("PersistentVolumeClaim synth-lustre-datasets" in d.message for d in diff.dangers)


def test_pvc_namespace_change_replaces_it() -> None:
    diff = diff_plans(BASE, synthetic_plan(Shape(pvc_namespace="team-b")))
    assert ops(diff)["synth-lustre-datasets"] == REPLACE
    assert danger_kinds(diff) == ["protected-storage"]


def test_pvc_removed_is_dangerous() -> None:
    diff = diff_plans(BASE, synthetic_plan(Shape(with_pvc=False)))
    assert ops(diff) == {"synth-lustre-datasets": DELETE}
    assert danger_kinds(diff) == ["protected-storage"]
    assert "delete of PersistentVolumeClaim synth-lustre-datasets" in diff.dangers[0].message


def test_pvc_growing_is_an_update_not_a_danger() -> None:
    diff = diff_plans(BASE, synthetic_plan(Shape(pvc_size="200Ti")))
    assert ops(diff) == {"synth-lustre-datasets": UPDATE}, "a storage request resizes the volume in place"
    assert diff.dangers == ()


def test_storage_class_provisioner_change_replaces_protected_class() -> None:
    diff = diff_plans(BASE, synthetic_plan(Shape(storage_class_provisioner="csi.weka.io")))
    assert ops(diff) == {"synth-lustre-class": REPLACE}
    assert danger_kinds(diff) == ["protected-storage"]


@pytest.mark.parametrize(
    ("kind", "api_version", "path", "replaces"),
    [
        ("StorageClass", "storage.k8s.io/v1", "reclaimPolicy", True),
        ("StorageClass", "storage.k8s.io/v1", "parameters.fsName", True),
        ("StorageClass", "storage.k8s.io/v1", "allowVolumeExpansion", False),
        ("PersistentVolumeClaim", "v1", "spec.resources.requests.storage", False),
        ("PersistentVolumeClaim", "v1", "spec.accessModes[0]", True),
        ("ConfigMap", "v1", "data.config.yaml", True),
        ("ConfigMap", "v1", "metadata.labels.app", False),
        ("Namespace", "v1", "metadata.name", True),
        ("Namespace", "v1", "metadata.labels.team", False),
        ("RoleBinding", "rbac.authorization.k8s.io/v1", "roleRef.name", True),
        ("RoleBinding", "rbac.authorization.k8s.io/v1", "subjects[0].name", False),
        ("ClusterQueue", "kueue.x-k8s.io/v1beta2", "spec.resourceGroups[0].flavors[0].resources[0]", False),
        ("Deployment", "apps/v1", "spec.selector.matchLabels.app", True),
        ("Pod", "v1", "spec.containers[1].image", True),
        ("Pod", "v1", "metadata.annotations.a", False),
    ],
)
def test_kubernetes_replace_rules(kind: str, api_version: str, path: str, replaces: bool) -> None:
    inputs = {"apiVersion": api_version, "kind": kind}
    reasons = replace_reasons("kubernetes:x:" + kind, inputs, inputs, [path])
    assert bool(reasons) is replaces, f"{kind} {path}: {reasons}"


@pytest.mark.parametrize(
    ("kind", "path", "old_spec", "replaces"),
    [
        ("Topology", "spec.levels[0].nodeLabel", {}, True),
        ("LocalQueue", "spec.clusterQueue", {}, True),
        ("ResourceFlavor", "spec.tolerations[0].value", {"topologyName": "fabric"}, True),
        ("ResourceFlavor", "spec.nodeLabels.pool", {"topologyName": "fabric"}, True),
        ("ResourceFlavor", "spec.nodeLabels.pool", {}, False),
        ("ResourceFlavor", "spec.nodeTaints[0].value", {"topologyName": "fabric"}, False),
    ],
)
def test_kueue_crd_immutable_fields(kind: str, path: str, old_spec: dict[str, Any], replaces: bool) -> None:
    old = {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": kind, "spec": old_spec}
    new = {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": kind, "spec": {}}
    reasons = replace_reasons("kubernetes:kueue.x-k8s.io/v1beta2:" + kind, old, new, [path])
    assert bool(reasons) is replaces, f"{kind} {path}: {reasons}"


def test_whole_subtree_added_under_an_immutable_field_replaces() -> None:
    inputs = {"apiVersion": "apps/v1", "kind": "Deployment"}
    assert replace_reasons("kubernetes:apps/v1:Deployment", inputs, inputs, ["spec.selector"])


# -- helm releases and providers --------------------------------------------------------------


def test_helm_release_namespace_change_replaces_values_change_updates() -> None:
    moved = diff_plans(BASE, synthetic_plan(Shape(release_namespace="nvidia-gpu")))
    assert ops(moved) == {"synth-gpu-operator": REPLACE}
    assert moved.dangers == (), "an operator release holds no data"
    tuned = diff_plans(BASE, synthetic_plan(Shape(driver_version="595.100.02")))
    assert ops(tuned)["synth-gpu-operator"] == UPDATE


def test_provider_on_another_cluster_replaces_everything_it_manages() -> None:
    diff = diff_plans(BASE, synthetic_plan(Shape(kube_context="other-cluster")))
    managed = {r.name for r in BASE.resources if r.provider}
    assert {name for name, op in ops(diff).items() if op == REPLACE} >= managed | {"synth-k8s"}
    assert "protected-storage" in danger_kinds(diff), "the protected PVC would be replaced with its provider"


def test_provider_pinned_by_cluster_identifier_is_updated_in_place() -> None:
    before = synthetic_plan(Shape(cluster_identifier="eu-pilot"))
    after = synthetic_plan(Shape(cluster_identifier="eu-pilot", kube_context="renamed-context"))
    diff = diff_plans(before, after)
    assert ops(diff) == {"synth-k8s": UPDATE}
    assert diff.dangers == ()


# -- harmless changes -------------------------------------------------------------------------


def test_node_label_change_and_added_nodes_are_harmless() -> None:
    after = with_site(synthetic_plan(Shape(nodes=5, extra_labels={"gigafactory.eu/rack": "r1"})), lambda s: None)
    diff = diff_plans(BASE, after)
    assert ops(diff)["synth-node-000"] == UPDATE
    assert ops(diff)["synth-node-004"] == CREATE
    assert diff.dangers == ()
    assert any("pool train: +16 GPUs" in i.message for i in diff.intents), [i.message for i in diff.intents]


def test_pool_label_and_taint_changes_are_intents_from_the_facts() -> None:
    """Nodes carry no resource of their own: the diff reads label and taint changes from the pool's facts."""
    after = synthetic_plan(Shape(extra_labels={"gigafactory.eu/data-class": "health"}, taints=("t=x:NoSchedule",)))
    found = {i.kind: i.message for i in diff_plans(BASE, after).intents}
    assert found["node-labels"] == "pool train: node labels gigafactory.eu/data-class (none) -> health"
    assert found["node-taints"].startswith("pool train: node taints none -> t=x:NoSchedule"), found


def test_quota_change_is_reported_but_harmless() -> None:
    diff = diff_plans(BASE, synthetic_plan(Shape(quota_gpus=20)))
    assert ops(diff) == {"synth-team-a-quota": UPDATE}
    assert [i.kind for i in diff.intents] == ["quotas"]
    assert "tenant team-a quota on train: 16 GPUs -> 20 GPUs" in diff.intents[0].message
    assert diff.dangers == ()


def test_storage_quota_and_capacity_changes_are_reported_but_harmless() -> None:
    def grow(site: dict[str, Any]) -> None:
        site["tenants"]["team-a"]["storage_quotas_tb"] = {"lustre": 80.0, "vast": 10.0}
        site["storage"]["lustre"].update(capacity_tb=200.0, booked_tb=90.0)

    diff = diff_plans(BASE, with_site(BASE, grow))
    assert [i.message for i in diff.intents] == [
        "tenant team-a storage quota on lustre: 50 TB -> 80 TB",
        "tenant team-a storage quota on vast: none -> 10 TB",
        "storage lustre: booked by tenants 50 -> 90 TB, capacity 100 -> 200 TB",
    ]
    assert diff.dangers == ()


# -- capacity under quota ---------------------------------------------------------------------


def test_removing_gpus_tenants_hold_quota_on_is_dangerous() -> None:
    # 3 nodes = 24 GPUs, tenant team-a holds 16: only 8 are unbooked.
    diff = diff_plans(BASE, synthetic_plan(Shape(nodes=1)))
    assert danger_kinds(diff) == ["quota-capacity"]
    assert "team-a 16" in diff.dangers[0].message, diff.dangers[0].message


def test_removing_only_unbooked_gpus_is_harmless() -> None:
    diff = diff_plans(BASE, synthetic_plan(Shape(nodes=2)))
    assert diff.dangers == (), [d.message for d in diff.dangers]


def test_removing_a_pool_with_quota_is_dangerous() -> None:
    after = with_site(BASE, lambda s: s["pools"].pop("train"))
    assert danger_kinds(diff_plans(BASE, after)) == ["quota-capacity"]


# -- driver upgrades --------------------------------------------------------------------------


def _no_drain(site: dict[str, Any]) -> None:
    site["pools"]["train"]["driver_upgrade"]["drain"] = False


def test_driver_upgrade_without_drain_is_dangerous() -> None:
    before = with_site(BASE, _no_drain)
    after = with_site(synthetic_plan(Shape(driver_version="595.100.02")), _no_drain)
    diff = diff_plans(before, after)
    assert danger_kinds(diff) == ["driver-without-drain"]
    assert "pool train" in diff.dangers[0].message


def test_driver_upgrade_with_drain_is_an_intent_only() -> None:
    diff = diff_plans(BASE, synthetic_plan(Shape(driver_version="595.100.02")))
    assert diff.dangers == ()
    assert any(i.kind == "upgrades" and "595.91.07 (open) -> 595.100.02 (open)" in i.message for i in diff.intents)


def test_no_drain_policy_without_a_driver_change_is_not_dangerous() -> None:
    diff = diff_plans(BASE, with_site(BASE, _no_drain))
    assert diff.dangers == ()
    assert [i.kind for i in diff.intents] == ["drain-policy"]


def test_operator_upgrade_is_listed() -> None:
    after = with_site(BASE, lambda s: s["operators"]["kueue"].update(version="v0.20.0"))
    diff = diff_plans(BASE, after)
    assert [i.message for i in diff.intents] == ["kueue v0.19.2 -> v0.20.0"]
    assert diff.dangers == ()


# -- partition keys ---------------------------------------------------------------------------


@pytest.mark.parametrize(("pkey", "what"), [("0x8102", "partition"), ("0x0101", "membership bit")])
def test_partition_key_change_is_dangerous(pkey: str, what: str) -> None:
    after = with_site(BASE, lambda s: s["tenants"]["team-a"].update(pkey=pkey))
    diff = diff_plans(BASE, after)
    assert danger_kinds(diff) == ["partition-key"]
    assert f"changes its {what}" in diff.dangers[0].message


def test_new_tenant_with_a_pkey_is_not_a_pkey_change() -> None:
    def add(site: dict[str, Any]) -> None:
        site["tenants"]["team-b"] = {**copy.deepcopy(site["tenants"]["team-a"]), "pkey": "0x8109"}

    diff = diff_plans(BASE, with_site(BASE, add))
    assert diff.dangers == ()
    assert [i.kind for i in diff.intents] == ["tenants"]


# -- field diff -------------------------------------------------------------------------------


def test_field_changes_paths() -> None:
    old = {"a": {"b": 1, "c": [1, 2]}, "gone": True}
    new = {"a": {"b": 2, "c": [1, 3]}, "added": "x"}
    assert list(field_changes(old, new)) == [
        ("a.b", 1, 2),
        ("a.c[1]", 2, 3),
        ("added", None, "x"),
        ("gone", True, None),
    ]
    assert list(field_changes({"l": [1]}, {"l": [1, 2]})) == [("l", [1], [1, 2])]
    assert list(field_changes({"n": 1}, {"n": True})) == [("n", 1, True)], "1 and True are different inputs"


def test_ignore_changes_are_not_reported() -> None:
    before = BASE
    pvc = next(r for r in before.resources if r.name == "synth-lustre-datasets")
    ignoring = [
        r if r.urn != pvc.urn else dataclasses.replace(r, ignore_changes=("spec",))
        for r in synthetic_plan(Shape(pvc_class="other")).resources
    ]
    after = RecordedPlan(project=before.project, stack=before.stack, site=before.site, resources=tuple(ignoring))
    changed = ops(diff_plans(before, after))
    assert changed.get("synth-lustre-datasets") == UPDATE, "only the ignore_changes option itself changed"


# -- documents held in strings ----------------------------------------------------------------


def test_json_in_a_string_is_diffed_structurally() -> None:
    config = {"cniVersion": "0.3.1", "plugins": [{"type": "ib-sriov", "pkey": "0x0102"}, {"type": "rdma"}]}
    changed = copy.deepcopy(config)
    changed["plugins"][0]["pkey"] = "0x0103"
    old = {"spec": {"config": json.dumps(config, sort_keys=True)}}
    new = {"spec": {"config": json.dumps(changed, sort_keys=True)}}
    assert list(field_changes(old, new)) == [("spec.config{json}.plugins[0].pkey", "0x0102", "0x0103")]
    assert outer_path("spec.config{json}.plugins[0].pkey") == "spec.config"


def test_yaml_in_a_string_is_diffed_structurally_and_keeps_its_replace_rule() -> None:
    old = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"values.yaml": "a: 1\nb:\n  c: x\n"}}
    new = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"values.yaml": "a: 1\nb:\n  c: y\n"}}
    assert list(field_changes(old, new)) == [("data.values.yaml{yaml}.b.c", "x", "y")]
    # pulumi-kubernetes replaces a ConfigMap whose data changes: the rule sees the outer field.
    assert replace_reasons("kubernetes:core/v1:ConfigMap", old, new, [outer_path("data.values.yaml{yaml}.b.c")])


def test_plain_strings_stay_strings() -> None:
    assert list(field_changes({"s": "a: 1"}, {"s": "a: 2"})) == [("s", "a: 1", "a: 2")], "one-line text is not YAML"
    assert list(field_changes({"s": "{x"}, {"s": "{y"})) == [("s", "{x", "{y")]
    assert list(field_changes({"s": '{"a": 1}'}, {"s": "a: 1\nb: 2\n"})) == [("s", '{"a": 1}', "a: 1\nb: 2\n")]


def test_pilot_pkey_change_reads_as_pkey_in_the_network_definition() -> None:
    """The issue's case: a tenant's pkey change showed as eight blobs of CNI config."""
    from pathlib import Path

    from infra.config.loader import load_site
    from infra.engine.planner import plan_site

    root = Path(__file__).resolve().parents[2]
    config = load_site(root / "site-configs" / "eu-pilot.yaml")
    tenants = tuple(t.model_copy(update={"pkey": 0x8103}) if t.name == "fjord-ai" else t for t in config.tenants)
    diff = diff_plans(plan_site(config), plan_site(config.model_copy(update={"tenants": tenants})))
    networks = [c for g in diff.components for c in g.changes if c.kind == "NetworkAttachmentDefinition"]
    assert len(networks) == 8 and {c.component for c in networks} == {"eu-pilot-tenant-fjord-ai"}
    for change in networks:
        assert [(f.path, f.old, f.new) for f in change.fields] == [
            ("spec.config{json}.plugins[0].pkey", "0x0102", "0x0103")
        ]


# -- moved resources (old -> new URN map) -------------------------------------------------------


def _split_storage(plan: RecordedPlan) -> tuple[RecordedPlan, dict[str, str]]:
    """``plan`` with its storage component moved to stack ``synth-storage``, and the URN map of the move."""
    from infra.engine.diff import _renamed

    moved = {
        r.urn: r.urn.replace(f"urn:pulumi:{plan.stack}::", f"urn:pulumi:{plan.stack}-storage::", 1)
        for r in plan.resources
        if r.component == "synth-lustre"
    }
    return _renamed(plan, moved), moved


def test_moved_resources_without_the_map_read_as_delete_and_create() -> None:
    after, _ = _split_storage(BASE)
    diff = diff_plans(BASE, after)
    assert {c.op for g in diff.components for c in g.changes} == {CREATE, DELETE}
    assert "protected-storage" in danger_kinds(diff)


def test_urn_map_reads_a_move_as_a_move(tmp_path: Any) -> None:
    after, moved = _split_storage(BASE)
    diff = diff_plans(BASE, after, moved)
    assert diff.components == (), "a move that changes nothing else is no resource change"
    assert [i.message.split(" (")[0] for i in diff.intents] == [
        f"{len(moved)} resources move from stack synth to synth-storage"
    ]
    assert diff.dangers == (), "a moved PVC is not deleted"
    # A moved resource that also changes shows its move first.
    resized, _ = _split_storage(synthetic_plan(Shape(pvc_size="200Ti")))
    (change,) = [c for g in diff_plans(BASE, resized, moved).components for c in g.changes]
    assert [f.path for f in change.fields] == ["urn", "spec.resources.requests.storage"]
    assert moved[change.fields[0].old] == change.fields[0].new == change.urn
    # An entry whose new URN is not in the new plan is ignored: that resource really goes.
    gone = RecordedPlan(
        project=after.project,
        stack=after.stack,
        site=after.site,
        resources=tuple(r for r in after.resources if "datasets" not in r.urn),
    )
    assert "protected-storage" in danger_kinds(diff_plans(BASE, gone, moved))


def test_urn_map_on_the_command_line(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from infra.cli import main

    after, moved = _split_storage(BASE)
    (tmp_path / "old.json").write_text(BASE.to_json())
    (tmp_path / "new.json").write_text(after.to_json())
    from infra.engine.migration import UrnMap

    (tmp_path / "urns.json").write_text(UrnMap(site="synth", moves=moved).to_json())
    files = [str(tmp_path / "old.json"), str(tmp_path / "new.json")]
    assert main(["diff", *files, "--fail-on-danger"]) == 3
    assert main(["diff", *files, "--fail-on-danger", "--urn-map", str(tmp_path / "urns.json")]) == 0
    assert "move from stack synth to synth-storage" in capsys.readouterr().out
    (tmp_path / "bad.json").write_text('{"synth": "not a map"}')
    assert main(["diff", *files, "--urn-map", str(tmp_path / "bad.json")]) == 2
    assert "not a URN map" in capsys.readouterr().err
