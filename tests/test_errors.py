"""One error hierarchy: every exception the product defines is a GigafactoryError, and infra/errors.py names each."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import infra
from infra.errors import BadInputError, GigafactoryError, PlanningError, Problem
from infra.plan.addressing import AddressingError
from infra.plan.fabric import FabricPlanError

# The Pulumi program runs on import; it defines no error class.
_NOT_IMPORTED = {"infra.__main__"}


def _product_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for module_info in pkgutil.walk_packages(infra.__path__, "infra."):
        if module_info.name in _NOT_IMPORTED:
            continue
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, Exception)  # not Terminated, a KeyboardInterrupt: a signal, not an error
                and value.__module__ == module.__name__
                and not name.startswith("_")
            ):
                found[f"{module.__name__}.{name}"] = value
    return found


EXCEPTIONS = _product_exceptions()


def test_the_walk_finds_the_errors() -> None:
    assert "infra.engine.recording.PlanFileError" in EXCEPTIONS
    assert "infra.plan.fabric.errors.FabricPlanError" in EXCEPTIONS


@pytest.mark.parametrize("qualified", sorted(EXCEPTIONS))
def test_every_product_error_is_a_gigafactory_error(qualified: str) -> None:
    assert issubclass(EXCEPTIONS[qualified], GigafactoryError), f"{qualified} is outside the hierarchy"


@pytest.mark.parametrize("qualified", sorted(EXCEPTIONS))
def test_the_hierarchy_is_documented_in_one_place(qualified: str) -> None:
    tree = (Path(infra.__file__).parent / "errors.py").read_text(encoding="utf-8").split("```")[1]
    name = qualified.rsplit(".", 1)[1]
    assert re.search(rf"^[│├└─ ]*{name} ", tree, re.MULTILINE), (
        f"{qualified} is missing from the tree in infra/errors.py"
    )


def test_planning_errors_carry_problems() -> None:
    problem = Problem(("node_pools", 0, "name"), "too long", "shorten it")
    fabric = FabricPlanError([problem])
    assert isinstance(fabric, PlanningError) and isinstance(fabric, ValueError)
    assert fabric.problems == [problem] and str(fabric) == "too long"
    # A problem-less planning error names its fields in its message.
    assert AddressingError("rail 0: too small (fabrics.compute.ipoib_subnets)").problems == []


def test_input_errors_are_one_branch() -> None:
    for qualified in (
        "infra.inputs.InputError",
        "infra.engine.recording.PlanFileError",
        "infra.engine.migration.UrnMapError",
        "infra.plan.fabric.discovery.DiscoveryError",
    ):
        assert issubclass(EXCEPTIONS[qualified], BadInputError), qualified
