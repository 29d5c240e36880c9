"""Component inputs as their ``TypedDict`` Args say, whoever built them.

A program in another language reaches a component through the engine, which sends every number
as a float (protobuf ``Struct``), and Pulumi 3.272's component provider converts only some of them
back (``pulumi.provider.experimental.component.map_input_properties`` leaves integers in lists,
maps and top-level fields as floats). Each component reads its Args through ``plain_args`` first,
so ``range(nodes)`` and an ``f"{index:04d}"`` see the integers the schema promises.
"""

import functools
import inspect
import types
import typing
from collections.abc import Mapping
from typing import Any, ForwardRef, TypeVar, Union

from typing_extensions import NotRequired, Required, is_typeddict

T = TypeVar("T")


def plain_args(args: Mapping[str, Any], shape: type[T]) -> T:
    """``args`` with every whole-number float the ``shape`` (a ``TypedDict``) declares as ``int`` an ``int``."""
    hints = _hints(typing.cast(type, shape))  # a class: hashable, whatever T stands for
    converted = {key: _convert(value, hints[key]) if key in hints else value for key, value in args.items()}
    return typing.cast(T, converted)


@functools.cache
def _hints(shape: type) -> dict[str, Any]:
    # The annotations as written, like the schema analyzer reads them (pulumi.Input[...] holds
    # forward references that typing.get_type_hints cannot resolve).
    hints: dict[str, Any] = {}
    for cls in reversed(shape.__mro__):
        hints.update(inspect.get_annotations(cls))
    return hints


def _plain_member(hint: Any) -> Any:
    """Of Optional[X] or pulumi.Input[X] (a union of X, Awaitable[X] and Output[X]): X, or None."""
    plain = [
        a
        for a in typing.get_args(hint)
        if a is not type(None) and not isinstance(a, ForwardRef) and typing.get_origin(a) is None
    ]
    return plain[0] if plain else None


@functools.cache
def _holds_int(hint: Any) -> bool:
    """Whether a value of type ``hint`` can hold an ``int`` somewhere: only those can need converting.

    A pool's racks (every node's name, most of its Args) hold strings only, so they are left as
    they are instead of being walked element by element.
    """
    origin, parts = typing.get_origin(hint), typing.get_args(hint)
    if origin in (NotRequired, Required, list):
        return _holds_int(parts[0])
    if origin in (Union, types.UnionType):
        member = _plain_member(hint)
        return member is not None and _holds_int(member)
    if origin is dict:
        return _holds_int(parts[1])
    if is_typeddict(hint):
        return any(_holds_int(h) for h in _hints(hint).values())
    return hint is int


def _convert(value: Any, hint: Any) -> Any:
    if value is None or not _holds_int(hint):
        return value
    origin = typing.get_origin(hint)
    if origin in (NotRequired, Required):
        return _convert(value, typing.get_args(hint)[0])
    if origin in (Union, types.UnionType):
        member = _plain_member(hint)
        return _convert(value, member) if member is not None else value
    if hint is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if origin is list and isinstance(value, list):
        (item,) = typing.get_args(hint)
        return [_convert(v, item) for v in value]
    if origin is dict and isinstance(value, dict):
        _, item = typing.get_args(hint)
        return {k: _convert(v, item) for k, v in value.items()}
    if is_typeddict(hint) and isinstance(value, Mapping):
        return plain_args(value, hint)
    return value
