"""Property: whatever a site file holds, ``check_site`` returns a model or errors, never raises.

Inputs are arbitrary YAML documents (generated values dumped to YAML), random text edits of the
bundled sites, and structural mutations of them (a key dropped, a value's type changed, a value
replaced by a random scalar). Example counts are kept small so the module runs in seconds.
"""

from __future__ import annotations

import copy
import os
import shutil
import string
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yaml_writer import to_yaml

from infra.config.errors import ConfigError
from infra.config.loader import check_site
from infra.config.model import SiteConfig
from infra.config.yamldoc import read_yaml
from infra.config.yamlvalues import HexInt, YamlFloat

REPO = Path(__file__).resolve().parents[2]
BUNDLED = ("eu-pilot.yaml", "eu-gigafactory.yaml")
# Keys the schema knows, so generated documents reach past the unknown-key check now and then.
KEYS = sorted(
    {*SiteConfig.model_fields, "name", "nodes", "gpu_model", "pkey", "subnet", "rail", "hcas", "compute", "extends"}
)
# GIGAFACTORY_PROPERTY_EXAMPLES raises the count for a deeper local hunt; CI keeps it small.
EXAMPLES = int(os.environ.get("GIGAFACTORY_PROPERTY_EXAMPLES", "60"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["NO", "0x8001", "1.30", "<fill: x>", "H100-SXM-80GB", "10.0.0.0/24", "ufm", "~", "*a"]),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(string.ascii_lowercase + "_", min_size=1, max_size=12))
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=25,
)


def _check(path: Path) -> None:
    """The property itself: a model and no errors, or no model and at least one printable error."""
    config, errors = check_site(path)
    if config is not None:
        assert errors == [], f"{path}: a model came back with errors"
        assert isinstance(config, SiteConfig)
        return
    assert errors, f"{path}: neither a model nor an error"
    for error in errors:
        assert isinstance(error, ConfigError) and str(error).strip(), f"{path}: empty error"


def _folder(tmp_path_factory: Any) -> Path:
    folder: Path = tmp_path_factory.mktemp("sites")
    shutil.copytree(REPO / "site-configs" / "base", folder / "base")
    return folder


@SETTINGS
@given(document=documents)
def test_arbitrary_yaml_documents(tmp_path_factory: Any, document: Any) -> None:
    folder = _folder(tmp_path_factory)
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    _check(path)


@SETTINGS
@given(
    site=st.sampled_from(BUNDLED),
    edits=st.lists(
        st.tuples(
            st.floats(0, 1),
            st.integers(0, 40),
            st.text(max_size=12) | st.sampled_from(["\n", ": ", "- ", "&a", "*a", "{", "]", "\t", "---\n"]),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_text_mutations_of_bundled_sites(tmp_path_factory: Any, site: str, edits: list[tuple[float, int, str]]) -> None:
    folder = _folder(tmp_path_factory)
    text = (REPO / "site-configs" / site).read_text(encoding="utf-8")
    for where, cut, insert in edits:
        at = int(where * len(text))
        text = text[:at] + insert + text[at + cut :]
    path = folder / site
    path.write_text(text, encoding="utf-8")
    _check(path)


@SETTINGS
@given(site=st.sampled_from(BUNDLED), data=st.binary(max_size=64), where=st.floats(0, 1))
def test_byte_mutations_of_bundled_sites(tmp_path_factory: Any, site: str, data: bytes, where: float) -> None:
    folder = _folder(tmp_path_factory)
    raw = (REPO / "site-configs" / site).read_bytes()
    at = int(where * len(raw))
    path = folder / site
    path.write_bytes(raw[:at] + data + raw[at:])
    _check(path)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*prefix, i))
    return found


@SETTINGS
@given(
    site=st.sampled_from(BUNDLED),
    mutations=st.lists(
        st.tuples(st.integers(min_value=0), st.sampled_from(["drop", "scalar", "list", "mapping", "null"]), scalars),
        min_size=1,
        max_size=3,
    ),
)
def test_structural_mutations_of_bundled_sites(
    tmp_path_factory: Any, site: str, mutations: list[tuple[int, str, Any]]
) -> None:
    folder = _folder(tmp_path_factory)
    document, errors = read_yaml(REPO / "site-configs" / site, site)
    assert document is not None, errors
    data = copy.deepcopy(document.data)
    for pick, how, value in mutations:
        paths = _paths(data)
        if not paths:
            break
        path = paths[pick % len(paths)]
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        key = path[-1]
        if how == "drop":
            del parent[key]
        elif how == "scalar":
            parent[key] = value
        elif how == "list":
            parent[key] = [parent[key]]
        elif how == "mapping":
            parent[key] = {"value": parent[key]}
        else:
            parent[key] = None
    path_out = folder / site
    path_out.write_text(to_yaml(data) + "\n", encoding="utf-8")
    _check(path_out)


# Values as the YAML reader produces them: what new-site writes back out must read back the same.
read_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=0, max_value=2**20).map(HexInt),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: YamlFloat(repr(f))),
    st.text(max_size=20),
    st.sampled_from(["NO", "yes", "1.30", "1e3", "0o17", "0x8001", "~", "null", "- a", "a: b", "#", "'", '"', "{x}"]),
)
read_documents = st.recursive(
    read_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8).filter(lambda k: k != "<<"), inner, max_size=4)
    ),
    max_leaves=20,
)


@SETTINGS
@given(
    document=st.dictionaries(
        st.text(min_size=1, max_size=8).filter(lambda k: k != "<<"), read_documents, min_size=1, max_size=4
    )
)
def test_forked_values_read_back_unchanged(tmp_path_factory: Any, document: dict[str, Any]) -> None:
    path = tmp_path_factory.mktemp("roundtrip") / "site.yaml"
    path.write_text(to_yaml(document) + "\n", encoding="utf-8")
    read, errors = read_yaml(path, "site.yaml")
    assert errors == [] and read is not None, [str(e) for e in errors]
    assert read.data == document
    assert repr(read.data) == repr(document), "hex keys and float texts must keep their form"


def test_bundled_sites_validate() -> None:
    for site in BUNDLED:
        config, errors = check_site(REPO / "site-configs" / site)
        assert errors == [] and config is not None, f"site-configs/{site}: {[str(e) for e in errors]}"
