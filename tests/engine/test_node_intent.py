"""Node-level intent: what every node of a pool must become (the facts `verify` checks), with the
reboot or drain each change needs."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from synthetic_site import synthetic_plan

from infra.acceptance.expectations import pool_expectations
from infra.config.loader import load_site
from infra.engine.facts import site_facts
from infra.engine.recording import RecordedPlan
from infra.engine.report import diff_plans
from infra.plan.site_plan import build_site_plan

ROOT = Path(__file__).resolve().parents[2]
BASE = synthetic_plan()


def with_node(edit: Callable[[dict[str, Any]], None]) -> RecordedPlan:
    site = copy.deepcopy(BASE.site)
    edit(site["pools"]["train"]["node"])
    return RecordedPlan(project=BASE.project, stack=BASE.stack, site=site, resources=BASE.resources)


def node_lines(after: RecordedPlan) -> list[tuple[str, str, str]]:
    return [(i.message, i.needs, i.where) for i in diff_plans(BASE, after).intents if i.kind == "nodes"]


def test_node_facts_are_what_verify_checks() -> None:
    config = load_site(ROOT / "site-configs" / "eu-pilot.yaml")
    facts = site_facts(build_site_plan(config))
    for pool in config.node_pools:
        expected = pool_expectations(config, pool)
        node = facts.pools[pool.name].node
        assert node is not None
        assert dict(node.sysctls) == dict(expected.sysctls) and node.hugepages_1gi == expected.hugepages_1gi
        assert node.driver_version == expected.driver_version
        assert [h.split(" ")[0] for h in node.hcas] == [h.device for h in expected.hcas]
        assert node.partitions == tuple(f"{p.text} ({p.tenant})" for p in expected.partitions)
        assert node.ipoib_mtu == expected.ipoib_partition_mtu
    assert facts.pools["h100-train"].node is not None
    assert facts.pools["h100-train"].node.partitions == ("0x8101 (nordic-llm-lab)", "0x8102 (fjord-ai)")


def test_sysctl_change_is_intent_applied_live() -> None:
    after = with_node(lambda n: n["sysctls"].update({"vm.max_map_count": "2097152", "net.core.rmem_max": "1"}))
    assert node_lines(after) == [
        (
            "pool train nodes: sysctl net.core.rmem_max none -> 1 (set live by node provisioning, no reboot)",
            "",
            "synth.yaml:4:5",
        ),
        (
            "pool train nodes: sysctl vm.max_map_count 1048576 -> 2097152 (set live by node provisioning, no reboot)",
            "",
            "synth.yaml:9:25",
        ),
    ]


def test_hugepages_need_a_reboot() -> None:
    (line,) = node_lines(with_node(lambda n: n.update(hugepages_1gi=16)))
    assert line[0] == "pool train nodes: 1 GiB hugepages 0 -> 16 per node (reserved at boot: reboot every node)"
    assert line[1] == "reboot"


def test_hca_and_mount_changes_need_a_drain() -> None:
    lines = node_lines(
        with_node(lambda n: n.update(hcas=n["hcas"][:4], mounts=["/lustre (lustre)", "/scratch (weka)"]))
    )
    assert [needs for _, needs, _ in lines] == ["drain, reboot", "drain"]
    assert lines[0][0].startswith("pool train nodes: compute HCAs - mlx5_4 rail 4 at 400 Gb/sec (4X NDR); - mlx5_5")
    assert lines[1][0] == "pool train nodes: mounts + /scratch (weka)"


def test_pilot_sysctl_and_hugepages_change_shows_in_the_diff(tmp_path: Path) -> None:
    """The issue's case: a pool's sysctls and hugepages used to plan as 'no resource changes'."""
    text = (ROOT / "site-configs" / "eu-pilot.yaml").read_text()
    changed = tmp_path / "site-configs" / "eu-pilot.yaml"
    changed.parent.mkdir()
    (tmp_path / "site-configs" / "base").symlink_to(ROOT / "site-configs" / "base")
    changed.write_text(
        text.replace('vm.max_map_count: "1048576"', 'vm.max_map_count: "2097152"').replace(
            "hugepages_1gi: 0", "hugepages_1gi: 8"
        )
    )
    old = site_facts(build_site_plan(load_site(ROOT / "site-configs" / "eu-pilot.yaml")))
    new = site_facts(build_site_plan(load_site(changed)), changed)
    plan = synthetic_plan()

    def as_plan(facts: Any) -> RecordedPlan:
        return RecordedPlan(project="gigafactory", stack="eu-pilot", site=facts.to_json(), resources=plan.resources)

    lines = [(i.needs, i.where.rsplit("/", 1)[-1], i.message) for i in diff_plans(as_plan(old), as_plan(new)).intents]
    assert lines == [
        (
            "",
            "eu-pilot.yaml:23:25",
            "pool h100-train nodes: sysctl vm.max_map_count 1048576 -> 2097152 "
            "(set live by node provisioning, no reboot)",
        ),
        (
            "reboot",
            "eu-pilot.yaml:24:20",
            "pool h100-train nodes: 1 GiB hugepages 0 -> 8 per node (reserved at boot: reboot every node)",
        ),
    ]
