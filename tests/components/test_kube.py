"""The helpers every component shares: forwarding dependencies to children, type tokens, upgrade values."""

from __future__ import annotations

import pulumi
import pytest
from component_harness import record

from components.kube import child_options, component_options, component_type, dependencies
from components.labels import Taint, tolerations_for
from components.upgrades import UpgradePolicy, gpu_driver_upgrade_policy, int_or_percent


class _Thing(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("test:index:Thing", name, None, opts)


def _custom(name: str) -> pulumi.CustomResource:
    # Depending on a component means depending on its custom children: plain custom resources show the edge.
    return pulumi.CustomResource("test:index:Custom", name, {})


def test_children_wait_for_what_their_component_was_told_to_wait_for() -> None:
    def build(opts: pulumi.ResourceOptions) -> None:
        first = _custom("first")
        extra = _custom("extra")
        outer = _Thing("outer", pulumi.ResourceOptions(depends_on=[first]))
        pulumi.CustomResource(
            "test:index:Custom",
            "outer-child",
            {},
            child_options(outer, pulumi.ResourceOptions(depends_on=[first]), extra),
        )

    recording = record(build)
    child = recording.named("outer-child")
    assert child.parent == recording.named("outer").urn
    assert set(child.depends_on) == {recording.named("first").urn, recording.named("extra").urn}


def test_dependencies_accepts_one_resource_a_list_or_nothing() -> None:
    def build(opts: pulumi.ResourceOptions) -> None:
        thing = _custom("thing")
        assert dependencies(None) == []
        assert dependencies(pulumi.ResourceOptions()) == []
        assert dependencies(pulumi.ResourceOptions(depends_on=thing)) == [thing]
        assert dependencies(pulumi.ResourceOptions(depends_on=[thing])) == [thing]

    record(build)


def test_component_tokens_are_in_the_package_index_module_with_an_alias_from_the_former_token() -> None:
    assert component_type(_Thing) == "gigafactory:index:_Thing"
    opts = component_options(pulumi.ResourceOptions(protect=True), "gigafactory:compute:Thing")
    assert opts.protect is True
    assert [a.type_ for a in opts.aliases or [] if isinstance(a, pulumi.Alias)] == ["gigafactory:compute:Thing"]


@pytest.mark.parametrize(("text", "value"), [("1", 1), ("0", 0), ("25%", "25%")])
def test_max_unavailable_is_a_count_or_a_percentage(text: str, value: int | str) -> None:
    policy = UpgradePolicy(max_unavailable=text, max_parallel_upgrades=2, drain=True, drain_timeout_seconds=60)
    assert gpu_driver_upgrade_policy(policy)["maxUnavailable"] == value
    assert int_or_percent(text) == value


def test_one_toleration_per_distinct_taint_in_a_stable_order() -> None:
    a = Taint(key="gigafactory.eu/tenant", value="oslo-hospital", effect="NoSchedule")
    b = Taint(key="gigafactory.eu/dedicated", value="", effect="NoExecute")
    assert (
        tolerations_for([a, b, a])
        == tolerations_for([b, a])
        == [
            {"key": "gigafactory.eu/dedicated", "operator": "Equal", "value": "", "effect": "NoExecute"},
            {"key": "gigafactory.eu/tenant", "operator": "Equal", "value": "oslo-hospital", "effect": "NoSchedule"},
        ]
    )
