"""Forking a site: the new file keeps the source's shape and leaves exactly its environment blank."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from sitefiles import BASE, SITE, SiteFiles, edited

from infra.config.errors import dotted_path
from infra.config.fork import ForkError, environment_paths, fork_site, is_environment
from infra.config.loader import check_site, find_model, load_layers
from infra.config.model import SiteConfig
from infra.config.modelbase import Model
from infra.config.types import environment
from infra.config.yamlvalues import HexInt

REPO = Path(__file__).resolve().parents[2]
PILOT_PLACEHOLDERS = [
    "site.region",
    "site.country",
    "site.description",
    "site.kube_context",
    "fabrics.compute.ufm_credentials_secret",
    *(f"fabrics.compute.ipoib_subnets[{rail}].subnet" for rail in range(8)),
    "fabrics.storage.subnet",
    "node_pools[0].node_name_pattern",
    "node_pools[1].node_name_pattern",
    "storage[0].endpoint",
    "storage[1].endpoint",
    "storage[1].credentials_secret",
    "storage[2].kms.address",
    "storage[2].kms.secret",
    "storage[2].endpoint",
    "tenants[0].group",
    "tenants[0].pkey",
    "tenants[1].group",
    "tenants[1].pkey",
    "tenants[2].group",
    "tenants[2].pkey",
]


@pytest.fixture
def sites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the bundled site-configs folder, with the working directory above it."""
    shutil.copytree(REPO / "site-configs", tmp_path / "site-configs")
    monkeypatch.chdir(tmp_path)
    return Path("site-configs")


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def as_yaml(value: Any) -> str:
    """A source value as a YAML scalar the loader reads back as the same value."""
    if isinstance(value, HexInt):
        return f"0x{int(value):04x}"
    return json.dumps(value)  # a JSON string is a double-quoted YAML scalar


def fill_in(path: Path, source: Path) -> int:
    """Replace every placeholder validation reports in ``path`` with the source's value there."""
    _, errors = check_site(path)
    layers, _ = load_layers(source)
    assert layers is not None
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    filled = 0
    # Last first: filling a value changes the columns of those after it on the same line.
    for error in sorted(errors, key=lambda e: e.location, reverse=True):
        assert error.message.startswith("still a placeholder: <fill: "), f"{error.field}: {error}"
        row, column = error.location.line - 1, error.location.column - 1
        parts = [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", error.field)]
        value = layers.data
        for part in parts:
            value = value[part]
        token = re.compile(r"'<fill:(?:[^']|'')*'")
        match = token.match(lines[row], column)
        assert match is not None, f"{error.field}: no quoted placeholder at {error.location}"
        lines[row] = lines[row][:column] + as_yaml(value) + lines[row][match.end() :]
        filled += 1
    write(path, "".join(lines))
    return filled


def test_fork_lists_exactly_its_placeholders(sites: Path) -> None:
    forked = fork_site(sites / "eu-pilot.yaml", "eu-south", sites)
    assert forked.path == sites / "eu-south.yaml"
    assert list(forked.placeholders) == PILOT_PLACEHOLDERS
    write(forked.path, forked.text)
    config, errors = check_site(forked.path)
    assert config is None
    assert [e.field for e in errors] == PILOT_PLACEHOLDERS, "validation must list the placeholders and nothing else"
    assert all(e.message.startswith("still a placeholder: <fill: ") for e in errors)
    assert str(errors[0]) == (
        "site-configs/eu-south.yaml:17:11: site.region: still a placeholder: <fill: Region the site belongs to, "
        "e.g. eu-north>\n  hint: write this site's own value here"
    )


@pytest.mark.parametrize(("source", "count"), [("eu-pilot.yaml", 28), ("eu-gigafactory.yaml", 53)])
def test_filled_fork_validates_as_the_source(sites: Path, source: str, count: int) -> None:
    forked = fork_site(sites / source, "eu-new", sites)
    write(forked.path, forked.text)
    assert fill_in(forked.path, sites / source) == count == len(forked.placeholders)
    config, errors = check_site(forked.path)
    original, _ = check_site(sites / source)
    assert errors == [] and config is not None and original is not None
    assert config.site.name == "eu-new", "site.name is the name given to new-site"
    mine, theirs = config.model_dump(), original.model_dump()
    mine["site"]["name"] = theirs["site"]["name"]
    assert mine == theirs, f"{source}: a filled-in fork must describe the same site"


def test_fork_is_deterministic_and_keeps_yaml_traps(sites: Path) -> None:
    first = fork_site(sites / "eu-pilot.yaml", "eu-south", sites).text
    assert fork_site(sites / "eu-pilot.yaml", "eu-south", sites).text == first
    assert first.count("extends: base/eu.yaml\n") == 1
    # The source's own spelling survives the round trip: quotes, hex keys, comments.
    assert 'max_unavailable: "12%"' in first and 'vm.max_map_count: "1048576"' in first
    assert "# EU pilot site: 4 scalable units" in first


def test_fork_into_another_folder_extends_the_same_base(sites: Path) -> None:
    forked = fork_site(sites / "eu-pilot.yaml", "eu-far", Path("elsewhere/deeper"))
    assert "\nextends: ../../site-configs/base/eu.yaml\n" in forked.text
    forked.path.parent.mkdir(parents=True)
    write(forked.path, forked.text)
    fill_in(forked.path, sites / "eu-pilot.yaml")
    assert check_site(forked.path)[1] == []


def test_fork_refuses_an_existing_file(sites: Path) -> None:
    before = (sites / "eu-gigafactory.yaml").read_bytes()
    with pytest.raises(ForkError) as raised:
        fork_site(sites / "eu-pilot.yaml", "eu-gigafactory", sites)
    assert raised.value.lines == [
        "site-configs/eu-gigafactory.yaml: already exists; new-site never overwrites a site file"
    ]
    assert (sites / "eu-gigafactory.yaml").read_bytes() == before


@pytest.mark.parametrize("name", ["EU-South", "eu_south", "-eu", "eu-", "", "a" * 64, "eu/south"])
def test_fork_name_must_be_a_dns_label(sites: Path, name: str) -> None:
    with pytest.raises(ForkError) as raised:
        fork_site(sites / "eu-pilot.yaml", name, sites)
    assert raised.value.lines == [
        f"new site name {name!r}: must be a DNS-1123 label: lower-case letters, digits and '-', starting and "
        f"ending with a letter or digit, at most 63 characters (got {name!r})"
    ]


def test_fork_of_an_invalid_site_lists_its_errors(site_files: SiteFiles) -> None:
    source = site_files.write(("pkey: 0x8002", "pkey: 0x8001"))
    with pytest.raises(ForkError) as raised:
        fork_site(source, "copy", Path("."))
    assert raised.value.lines == [
        "site.yaml:67:11: tenants[1].pkey: 0x8001 names the same partition as tenants[0].pkey 0x8001 (tenant lab); "
        "the top bit only marks membership\n  hint: give each tenant its own partition key",
        "site.yaml: 1 error; fix the source site first",
    ]
    with pytest.raises(ForkError) as raised:
        fork_site(Path("missing.yaml"), "copy", Path("."))
    assert raised.value.lines == ["missing.yaml: file not found", "missing.yaml: 1 error; fix the source site first"]


def test_environment_value_written_in_a_base_is_blanked_too(site_files: SiteFiles) -> None:
    site_files.write(("  storage:\n    subnet: 10.1.0.0/24\n", ""))
    site_files.write(
        ("    subnet_manager: ufm\n", "    subnet_manager: ufm\n  storage:\n    subnet: 10.1.0.0/24\n"),
        text=BASE,
        name="base.yaml",
    )
    assert check_site(Path("site.yaml"))[1] == []
    forked = fork_site(Path("site.yaml"), "copy", Path("."))
    assert "fabrics.storage.subnet" in forked.placeholders
    assert "  storage:\n    subnet: '<fill: /24 or larger: 128 storage ports (nodes x hcas.storage)>'\n" in forked.text


def test_source_without_extends_forks_without_it(site_files: SiteFiles) -> None:
    whole = edited(SITE, ("extends: base.yaml\n", ""), ("  country: NO\n", "  country: NO\n  pue: 1.25\n"))
    site_files.write(text=whole, name="alone.yaml")
    assert check_site(Path("alone.yaml"))[1] == []
    forked = fork_site(Path("alone.yaml"), "copy", Path("."))
    assert "extends:" not in forked.text.replace("`extends`", "")


def test_environment_markers_are_the_issues_list() -> None:
    marked: set[str] = set()
    todo: list[type[Model]] = [SiteConfig]
    seen: set[type[Model]] = set()
    while todo:
        model = todo.pop()
        seen.add(model)
        for name, field in model.model_fields.items():
            if is_environment(field):
                marked.add(f"{model.__name__}.{name}")
            inner = find_model(field.annotation)
            if inner is not None and inner not in seen and issubclass(inner, Model):
                todo.append(inner)
    assert marked == {
        "Site.name",
        "Site.region",
        "Site.country",
        "Site.kube_context",
        "Site.description",
        "NodePool.node_name_pattern",
        "ComputeFabric.ufm_credentials_secret",
        "ComputeFabric.ipoib_subnets",
        "RailSubnet.subnet",
        "StorageFabric.subnet",
        "StorageSystem.endpoint",
        "StorageSystem.credentials_secret",
        "KeyManager.address",
        "KeyManager.secret",
        "Tenant.group",
        "Tenant.pkey",
    }


class _Leaf(Model):
    secret: str = environment("A secret reference.")
    size: int = 1


class _Root(Model):
    token: str = environment("A token.")
    leaves: tuple[_Leaf, ...] = ()
    note: str = ""


def test_environment_paths_follow_the_schema_markers() -> None:
    data = {"token": "t", "note": "n", "leaves": [{"secret": "a", "size": 2}, {"size": 3}]}
    found = [(dotted_path(path), field.description) for path, field in environment_paths(data, _Root)]
    assert found == [("token", "A token."), ("leaves[0].secret", "A secret reference.")]
