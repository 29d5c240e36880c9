"""The fat-tree arithmetic for any radix, SU count and rail mix: properties that must always hold."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from infra.plan.fabric.shape import FabricShape, FabricTooLarge, leaf_uplinks, plan_shape


@st.composite
def fabrics(draw: st.DrawFn) -> tuple[int, float, list[int], int]:
    radix = draw(st.sampled_from([8, 16, 32, 64, 144]))
    oversubscription = draw(st.sampled_from([1.0, 1.5, 2.0, 3.0]))
    most_down = int(radix * oversubscription / (1 + oversubscription))
    down = draw(st.integers(1, most_down))
    pools = draw(st.lists(st.tuples(st.integers(1, 40), st.sampled_from([1, 2, 4, 8])), min_size=1, max_size=4))
    su_rails = [rails for sus, rails in pools for _ in range(sus)]
    return radix, oversubscription, su_rails, down


def check(shape: FabricShape, su_rails: list[int]) -> None:
    radix = shape.radix
    assert shape.leaf_down_ports + shape.leaf_uplinks <= radix, "leaf ports"
    assert shape.spines_per_group * shape.leaf_spine_links == shape.leaf_uplinks, "uplinks split evenly"
    assert shape.leaves == sum(su_rails)
    members = sorted(leaf for group in shape.spine_groups for leaf in group.leaves)
    assert members == list(range(shape.leaves)), "every leaf in exactly one spine group"
    for group in shape.spine_groups:
        assert len(group.leaves) * shape.leaf_spine_links <= shape.spine_down_ports, f"group {group.index}"
    if shape.tiers == 2:
        assert shape.leaves <= radix and len(shape.spine_groups) == 1 and shape.cores == 0
        # No fewer spines would do: the next smaller divisor of the uplinks lacks ports.
        smaller = [d for d in range(1, shape.spines_per_group) if shape.leaf_uplinks % d == 0]
        if smaller:
            assert shape.leaves * (shape.leaf_uplinks // smaller[-1]) > radix
    else:
        assert shape.leaves > radix, "three tiers only when two cannot hold the leaves"
        assert shape.cores_per_group * shape.spine_core_links == radix // 2, "spine uplinks split evenly"
        assert len(shape.spine_groups) * shape.spine_core_links <= radix, "core ports"
        first = [0]
        for rails in su_rails:
            first.append(first[-1] + rails)
        for group in shape.spine_groups:
            sus = [s for s in range(len(su_rails)) if any(first[s] <= leaf < first[s + 1] for leaf in group.leaves)]
            assert {s // shape.sus_per_pod for s in sus} == {group.pod}, f"group {group.index} in one pod"
            assert all(leaf - first[s] == group.rail for s, leaf in zip(sus, group.leaves, strict=True)), (
                "one rail per group"
            )


@settings(max_examples=300, deadline=None)
@given(fabrics())
def test_shape_properties(fabric: tuple[int, float, list[int], int]) -> None:
    radix, oversubscription, su_rails, down = fabric
    if down + leaf_uplinks(down, oversubscription) > radix:
        return
    try:
        shape = plan_shape(radix, oversubscription, su_rails, down)
    except FabricTooLarge as exc:
        assert exc.groups > radix
        return
    check(shape, su_rails)


def test_largest_three_tier_fabric_of_64_port_switches() -> None:
    # r^3/4 = 65,536 endpoints (REFERENCE.md): 256 SUs of 32 nodes x 8 rails, and not one SU more.
    shape = plan_shape(64, 1.0, [8] * 256, 32)
    assert (shape.leaves, shape.spines, shape.cores) == (2048, 2048, 1024)
    assert shape.leaves * 32 == 64**3 // 4
    try:
        plan_shape(64, 1.0, [8] * 257, 32)
    except FabricTooLarge as exc:
        assert (exc.groups, exc.radix) == (72, 64)
    else:
        raise AssertionError("257 SUs fit three tiers of 64-port switches")


def test_two_tier_limit_is_radix_leaves() -> None:
    # r^2/2 = 2,048 endpoints with 3r/2 = 96 switches (REFERENCE.md): 8 SUs x 8 rails.
    shape = plan_shape(64, 1.0, [8] * 8, 32)
    assert (shape.tiers, shape.leaves + shape.spines) == (2, 96)
    assert plan_shape(64, 1.0, [8] * 9, 32).tiers == 3


def test_uplinks_follow_oversubscription() -> None:
    assert leaf_uplinks(32, 1.0) == 32
    assert leaf_uplinks(32, 2.0) == 16
    assert leaf_uplinks(32, 1.5) == 22  # 21.33 rounds up: never below the configured ratio
    assert leaf_uplinks(30, 1.1) == 28
