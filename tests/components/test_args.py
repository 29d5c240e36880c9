"""Args built by another language's program arrive with floats for integers: plain_args restores them."""

from typing import TypedDict

import pulumi
from typing_extensions import NotRequired

from components.args import plain_args


class _Inner(TypedDict):
    rails: list[int]
    sizes: dict[str, int]


class _Args(TypedDict):
    nodes: int
    ratio: float
    name: str
    first: NotRequired[int]
    limit: int | None
    count: pulumi.Input[int]
    inner: _Inner
    inners: list[_Inner]


def test_whole_floats_become_the_integers_the_args_declare() -> None:
    sent = {
        "nodes": 4.0,
        "ratio": 2.0,
        "name": "a",
        "first": 1.0,
        "limit": None,
        "count": 3.0,
        "inner": {"rails": [0.0, 1.0], "sizes": {"a": 2.0}},
        "inners": [{"rails": [2.0], "sizes": {}}],
    }
    args = plain_args(sent, _Args)
    assert args == sent
    assert type(args["nodes"]) is int and type(args["first"]) is int and type(args["count"]) is int
    assert type(args["ratio"]) is float, "a float field stays a float"
    assert [type(r) for r in args["inner"]["rails"]] == [int, int] and type(args["inner"]["sizes"]["a"]) is int
    assert type(args["inners"][0]["rails"][0]) is int
    assert args["limit"] is None


def test_a_fractional_number_for_an_integer_is_left_for_the_component_to_refuse() -> None:
    assert plain_args({"nodes": 2.5}, _Args)["nodes"] == 2.5


def test_values_that_hold_no_integer_are_handed_back_as_they_are() -> None:
    # Only what can hold an int is walked: a pool's racks (every node's name) are taken as given.
    class _Rack(TypedDict):
        rack: str
        nodes: list[str]

    class _Pool(TypedDict):
        racks: list[_Rack]
        nodes: int

    racks = [{"rack": "r0", "nodes": ["a", "b"]}]
    args = plain_args({"racks": racks, "nodes": 2.0}, _Pool)
    assert args["racks"] is racks
    assert type(args["nodes"]) is int
