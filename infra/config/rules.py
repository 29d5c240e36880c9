"""Cross-field rules: declared on the model that holds the fields they bind, collected in one pass.

A rule is a method decorated with ``@rule`` that yields ``Problem``s whose ``path`` is relative
to the model it is declared on; ``collect_problems`` walks the whole model tree and prefixes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from pydantic import BaseModel

from infra.errors import ConfigPath, Problem

RuleMethod = Callable[[Any], Iterator[Problem]]
F = TypeVar("F", bound=RuleMethod)


def rule(method: F) -> F:
    """Mark a model method as a cross-field rule."""
    method.__gigafactory_rule__ = True  # type: ignore[attr-defined]
    return method


def rules_of(model_type: type[BaseModel]) -> list[RuleMethod]:
    """The ``@rule`` methods declared on ``model_type`` (and its bases), by name."""
    found: list[RuleMethod] = []
    for name in sorted(dir(model_type)):
        member = getattr(model_type, name, None)
        if callable(member) and getattr(member, "__gigafactory_rule__", False):
            found.append(member)
    return found


def collect_problems(model: BaseModel, prefix: ConfigPath = ()) -> list[Problem]:
    """Run every rule of ``model`` and of every model nested in it."""
    found: list[Problem] = []
    for check in rules_of(type(model)):
        found.extend(Problem((*prefix, *v.path), v.message, v.hint) for v in check(model))
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            found.extend(collect_problems(value, (*prefix, name)))
        elif isinstance(value, (list, tuple)):
            # Lists of models are tuples on the frozen models; both must be walked.
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    found.extend(collect_problems(item, (*prefix, name, i)))
    return found
