"""The components are a Pulumi component package any program can use, and need nothing of ``infra/``.

The schema is the one Pulumi's own analyzer (``pulumi.provider.experimental``, the code
``component_provider_host`` runs) infers from the components; the example Pulumi YAML program is
checked against it with ``jsonschema``, then constructed through the package's real
``ComponentProvider`` on Pulumi's mock runtime, its inputs encoded as the engine sends them.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import inspect
import pkgutil
import re
import sys
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pulumi
import pytest
import yaml
from component_harness import Recording, record, schema_errors
from import_lines import imported_modules
from pulumi_schema import input_schema

import components
from components.package import COMPONENTS, VERSION, schema

REPO = Path(__file__).resolve().parents[2]
COMPONENTS_DIR = REPO / "components"
EXAMPLE = REPO / "examples" / "pulumi-yaml" / "Pulumi.yaml"


@cache
def package_schema() -> dict[str, Any]:
    return schema()


def _imports(path: Path) -> list[tuple[int, str]]:
    return imported_modules(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))


def test_components_import_nothing_from_infra() -> None:
    offending = [
        f"{path.relative_to(REPO)}:{line}: import {module}"
        for path in sorted(COMPONENTS_DIR.rglob("*.py"))
        for line, module in _imports(path)
        if module == "infra" or module.startswith("infra.")
    ]
    assert offending == [], "components/ must not import infra/:\n" + "\n".join(offending)


def test_the_import_rule_catches_an_import_of_infra(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import os\nfrom infra.config.schema import NodePool\n", encoding="utf-8")
    assert [m for _, m in _imports(module) if m.startswith("infra")] == ["infra.config.schema"]


def _component_classes() -> set[type[pulumi.ComponentResource]]:
    found: set[type[pulumi.ComponentResource]] = set()
    for info in pkgutil.walk_packages(components.__path__, "components."):
        if info.name == "components.__main__":
            continue
        module = importlib.import_module(info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, pulumi.ComponentResource) and value.__module__ == info.name:
                found.add(value)
    return found


def test_the_package_hosts_every_component() -> None:
    assert _component_classes() == set(COMPONENTS)


def test_every_component_input_and_output_is_in_the_schema_with_a_description() -> None:
    document = package_schema()
    assert document["name"] == "gigafactory" and document["version"] == VERSION
    assert set(document["resources"]) == {f"gigafactory:index:{c.__name__}" for c in COMPONENTS}
    missing = []
    for token, resource in document["resources"].items():
        assert resource["isComponent"] is True
        if not resource.get("description"):
            missing.append(token)
        for section in ("inputProperties", "properties"):
            for name, spec in resource.get(section, {}).items():
                if not spec.get("description"):
                    missing.append(f"{token} {section}.{name}")
        assert resource.get("properties"), f"{token} has no outputs"
    for token, spec in document.get("types", {}).items():
        assert token.startswith("gigafactory:index:")
        for name, prop in spec.get("properties", {}).items():
            if not prop.get("description"):
                missing.append(f"{token}.{name}")
    assert missing == [], "without a description: " + ", ".join(missing)


def test_the_plugin_manifest_and_its_requirements_match_the_project() -> None:
    manifest = yaml.safe_load((COMPONENTS_DIR / "PulumiPlugin.yaml").read_text(encoding="utf-8"))
    assert manifest == {"runtime": "python"}, "Python component packages take no other option"
    project = _pyproject_pins()
    assert project["version"] == VERSION
    pins = {_normalized(name): f"{name}=={version}" for name, version in project.items()}
    lines = (COMPONENTS_DIR / "requirements.txt").read_text(encoding="utf-8").splitlines()
    requirements = [line for line in lines if line and not line.startswith("#")]
    # Every distribution components/ imports beyond the standard library is pinned there as in pyproject.
    distributions = importlib.metadata.packages_distributions()
    third_party = {
        module.split(".")[0]
        for path in COMPONENTS_DIR.rglob("*.py")
        for _, module in _imports(path)
        if module.split(".")[0] not in sys.stdlib_module_names and module.split(".")[0] != "components"
    }
    needed = {_normalized(distributions[m][0]) for m in third_party}
    assert {"pulumi", "pulumi-kubernetes", "pyyaml", "typing-extensions"} <= needed
    for name in sorted(needed):
        assert pins[name] in requirements, f"{name}: components/requirements.txt pins what pyproject.toml pins"
    main = (COMPONENTS_DIR / "__main__.py").read_text(encoding="utf-8")
    assert "component_provider_host(list(COMPONENTS), name=PACKAGE, version=VERSION)" in main


def _normalized(distribution: str) -> str:
    """A distribution name as PEP 503 compares them (``PyYAML`` and ``pyyaml``, ``a_b`` and ``a-b``)."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _pyproject_pins() -> dict[str, str]:
    """The project's version (key ``version``) and its runtime pins, read from pyproject.toml itself.

    Read from the file, not the installed metadata, which a stale ``*.egg-info`` can hold back.
    (Python 3.10 has no tomllib: the ``dependencies`` list is one quoted ``name==version`` a line.)
    """
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    version = re.search(r'^version = "([^"]+)"$', text, re.MULTILINE)
    block = re.search(r"^dependencies = \[(.*?)^\]", text, re.MULTILINE | re.DOTALL)
    assert version is not None and block is not None, "pyproject.toml has a version and dependencies"
    found = dict(re.findall(r'^\s*"([A-Za-z0-9_.-]+)==([^"]+)",', block.group(1), re.MULTILINE))
    return {"version": version.group(1), **found}


def _example() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    return document


def test_the_example_program_uses_the_package_from_this_directory() -> None:
    program = _example()
    assert program["runtime"] == "yaml"
    (plugin,) = program["plugins"]["providers"]
    assert plugin["name"] == "gigafactory"
    assert (EXAMPLE.parent / plugin["path"] / "PulumiPlugin.yaml").is_file()
    types = {r["type"] for r in program["resources"].values()}
    assert {"gigafactory:index:GpuNodePool", "gigafactory:index:Tenant"} <= types


def _package_resources(program: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (name, r["type"], r.get("properties", {}))
        for name, r in program["resources"].items()
        if str(r["type"]).startswith("gigafactory:")
    ]


def test_the_example_program_s_properties_match_the_schema() -> None:
    document = package_schema()
    for _name, token, properties in _package_resources(_example()):
        jsonschema.validate(properties, input_schema(document, token))


def test_the_schema_check_refuses_a_misspelt_or_mistyped_property() -> None:
    document = package_schema()
    _name, token, properties = next(r for r in _package_resources(_example()) if r[1].endswith(":GpuNodePool"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**properties, "nodeCount": 4}, input_schema(document, token))
    key = next(k for k, v in properties.items() if isinstance(v, str))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**properties, key: 7}, input_schema(document, token))


def _wire(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` as the engine delivers a program's properties: through a protobuf ``Struct`` (numbers as floats)."""
    from google.protobuf import json_format, struct_pb2

    message = struct_pb2.Struct()
    message.update(value)
    decoded: dict[str, Any] = json_format.MessageToDict(message)
    return decoded


def _construct_example() -> Recording:
    """Every package resource of the example, constructed as the engine asks the hosted provider to."""
    from pulumi.provider.experimental.component import ComponentProvider

    provider = ComponentProvider(list(COMPONENTS), "gigafactory", version=VERSION)
    program = _example()
    built: dict[str, pulumi.Resource] = {}

    def keeping(cls: Any) -> Any:
        # The provider calls the class; keep each instance so a later resource can depend on it.
        def construct(name: str, args: Any, opts: pulumi.ResourceOptions | None) -> Any:
            built[name] = cls(name, args, opts)
            return built[name]

        return construct

    provider._components = {name: keeping(cls) for name, cls in provider._components.items()}

    def build(opts: pulumi.ResourceOptions) -> None:
        for name, token, properties in _package_resources(program):
            refs = program["resources"][name].get("options", {}).get("dependsOn", [])
            depends = [built[ref.strip("${}")] for ref in refs]
            options = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=depends))
            provider.construct(name, token, _wire(properties), options)

    return record(build)


@cache
def constructed() -> Recording:
    return _construct_example()


def test_the_example_program_builds_through_the_hosted_provider() -> None:
    recording = constructed()
    former = {"GpuNodePool": "gigafactory:compute:GpuNodePool", "Scheduling": "gigafactory:scheduling:Scheduling"}
    for name, token, _ in _package_resources(_example()):
        component = recording.named(name)
        assert component.type == token
        kind = token.rsplit(":", 1)[1]
        if kind in former:
            assert component.alias_types == (former[kind],), "deployed sites keep the component through its alias"
    flavor = recording.one("ResourceFlavor", "lab-h100")
    assert flavor.inputs["spec"]["topologyName"] == "lab-fabric"
    queue = recording.one("ClusterQueue", "lab-research")
    assert queue.inputs["spec"]["resourceGroups"][0]["flavors"][0]["name"] == "lab-h100"
    recording.one("Namespace", "lab-research")
    recording.one("LocalQueue", "default", "lab-research")
    # 32 GPUs of 8 per node are 4 nodes' CPUs and memory: integers, though the engine sent floats.
    resources = {
        r["name"]: r["nominalQuota"] for r in queue.inputs["spec"]["resourceGroups"][0]["flavors"][0]["resources"]
    }
    assert resources == {"cpu": 896, "memory": "8192Gi", "nvidia.com/gpu": 32}


def test_every_object_the_example_builds_is_valid_for_its_schema() -> None:
    assert schema_errors(constructed(), "1.35") == []


def test_children_wait_for_what_the_program_made_them_depend_on() -> None:
    recording = constructed()
    pool_children = {r.urn for r in recording.children(recording.named("pool")) if r.custom}
    queue = recording.one("ClusterQueue", "lab-research")
    assert pool_children & set(queue.depends_on), "the scheduling component's objects wait for the pool's"


def test_pyproject_pins_each_distribution_once() -> None:
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    block = re.search(r"^dependencies = \[(.*?)^\]", text, re.MULTILINE | re.DOTALL)
    assert block is not None
    names = [_normalized(n) for n in re.findall(r'^\s*"([A-Za-z0-9_.-]+)==', block.group(1), re.MULTILINE)]
    assert sorted(names) == sorted(set(names)), "a distribution pinned twice (under two spellings?)"
