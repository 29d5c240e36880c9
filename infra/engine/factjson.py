"""JSON form of the plan's typed facts: frozen dataclasses that read and write themselves.

A fact class lists its fields with types (``str``, ``int``, ``float``, ``bool``, ``X | None``,
``tuple[X, ...]``, ``dict[str, X]``, another fact class, or ``Any`` for a value kept as written).
Reading keeps every key this code does not know in ``extra`` and writes it back unchanged: a plan
written by newer code (a new kind of fact) survives a round trip through older code, and the diff
can say what the older code could not judge instead of dropping it silently.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any, TypeVar, get_args, get_origin

from infra.errors import BadInputError

T = TypeVar("T", bound="Facts")
EXTRA = "extra"


class FactsError(BadInputError, ValueError):
    """A facts document whose known fields do not have the types this code expects."""


@dataclasses.dataclass(frozen=True)
class Facts:
    """Base of the typed facts; ``extra`` holds the keys this code does not know (from newer code)."""

    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict, kw_only=True)

    def to_json(self) -> dict[str, Any]:
        """The JSON object: every known field, then the unknown keys as they were read."""
        document: dict[str, Any] = {}
        for item in dataclasses.fields(self):
            if item.name != EXTRA:
                document[item.name] = _dump(getattr(self, item.name))
        document.update(self.extra)
        return document

    @classmethod
    def from_json(cls: type[T], data: Any, where: str = "") -> T:
        """Read a JSON object; a missing field takes its default, an unknown key goes to ``extra``."""
        if not isinstance(data, Mapping):
            raise FactsError(f"{where or cls.__name__}: expected an object, got {type(data).__name__}")
        hints = _hints(typing.cast(type, cls))
        values: dict[str, Any] = {}
        for item in dataclasses.fields(cls):
            if item.name == EXTRA:
                continue
            if item.name in data:
                values[item.name] = _load(hints[item.name], data[item.name], f"{where}.{item.name}".lstrip("."))
            elif item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING:
                raise FactsError(f"{where or cls.__name__}: missing {item.name}")
        known = {item.name for item in dataclasses.fields(cls)} - {EXTRA}
        values[EXTRA] = {key: value for key, value in data.items() if key not in known}
        return cls(**values)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _dump(value: Any) -> Any:
    if isinstance(value, Facts):
        return value.to_json()
    if isinstance(value, Mapping):
        return {str(key): _dump(item) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return [_dump(item) for item in value]
    return value


def _load(hint: Any, value: Any, where: str) -> Any:
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [arg for arg in args if arg is not type(None)]
        return _load(inner[0], value, where)
    if isinstance(hint, type) and issubclass(hint, Facts):
        return hint.from_json(value, where)
    if origin is tuple:
        if not isinstance(value, list):
            raise FactsError(f"{where}: expected a list, got {type(value).__name__}")
        return tuple(_load(args[0], item, f"{where}[{i}]") for i, item in enumerate(value))
    if origin in (dict, Mapping, typing.Mapping):
        if not isinstance(value, Mapping):
            raise FactsError(f"{where}: expected an object, got {type(value).__name__}")
        return {str(key): _load(args[1], item, f"{where}.{key}") for key, item in value.items()}
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if hint in (str, int, bool) and type(value) is hint:
        return value
    if hint is int and isinstance(value, bool):
        raise FactsError(f"{where}: expected a number, got {value!r}")
    raise FactsError(f"{where}: expected {getattr(hint, '__name__', hint)}, got {value!r}")
