"""The YAML reader: YAML 1.2 scalars, positions, and every way a file can fail to be a site."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sitefiles import SiteFiles

from infra.config.loader import check_site
from infra.config.yamldoc import MAX_DEPTH, MAX_VALUES, read_yaml, resolve_plain_scalar
from infra.config.yamlvalues import HexInt, YamlFloat


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NO", "NO"),  # Norway, not false (YAML 1.1 reads it as a boolean)
        ("yes", "yes"),
        ("off", "off"),
        ("y", "y"),
        ("true", True),
        ("False", False),
        ("~", None),
        ("null", None),
        ("", None),
        ("0x8001", 0x8001),
        ("0o17", 15),
        ("0755", 755),  # YAML 1.2 has no leading-zero octal
        ("-12", -12),
        ("1_000", "1_000"),  # YAML 1.2 has no digit separators
        ("12:30", "12:30"),  # nor sexagesimal numbers
        ("2026-01-01", "2026-01-01"),  # timestamps stay text
        (".inf", ".inf"),
        ("1e3", 1000.0),
        ("eu-north", "eu-north"),
    ],
)
def test_plain_scalars_resolve_as_yaml_1_2(text: str, expected: Any) -> None:
    value = resolve_plain_scalar(text)
    assert value == expected and type(value) in (type(expected), HexInt, YamlFloat), f"{text!r} -> {value!r}"


def test_hex_keeps_hex_and_floats_keep_their_text() -> None:
    hex_value = resolve_plain_scalar("0x8001")
    assert isinstance(hex_value, HexInt) and repr(hex_value) == "0x8001"
    version = resolve_plain_scalar("1.30")
    assert isinstance(version, YamlFloat) and version.source == "1.30" and version == 1.3


def test_values_and_keys_carry_line_and_column(site_files: SiteFiles) -> None:
    document, errors = read_yaml(site_files.write(), "site.yaml")
    assert errors == [] and document is not None
    assert document.data["site"]["country"] == "NO", "site.country: NO must stay the string NO"
    assert isinstance(document.data["tenants"][0]["pkey"], HexInt), "tenants[0].pkey: 0x8001 must be a hex int"
    assert str(document.value_locations[("tenants", 0, "pkey")]) == "site.yaml:60:11"
    assert str(document.key_locations[("tenants", 0, "pkey")]) == "site.yaml:60:5"
    assert str(document.value_locations[("node_pools", 1, "taints", 0, "effect")]) == "site.yaml:22:68"


def test_quoted_scalars_stay_strings(site_files: SiteFiles) -> None:
    document, _ = read_yaml(site_files.write(("country: NO", 'country: "0x10"')), "site.yaml")
    assert document is not None and document.data["site"]["country"] == "0x10"


def test_country_no_and_pkey_hex_reach_the_model(site_files: SiteFiles) -> None:
    config, errors = check_site(site_files.write())
    assert errors == [] and config is not None
    assert config.site.country == "NO"
    assert [t.pkey for t in config.tenants] == [0x8001, 0x8002, 0x8003]


def test_quoted_hex_pkey_is_a_partition_key(site_files: SiteFiles) -> None:
    config, errors = check_site(site_files.write(("pkey: 0x8001", 'pkey: "0x8001"')))
    assert errors == [] and config is not None and config.tenants[0].pkey == 0x8001


def test_decimal_pkey_is_refused(site_files: SiteFiles) -> None:
    assert site_files.errors(("pkey: 0x8001", "pkey: 32769")) == [
        "site.yaml:60:11: tenants[0].pkey: must be written in hex (0x8001 is the number 32769); a decimal "
        "number here is usually a hex key with its 0x left off (got 32769)"
    ]


def test_unquoted_version_keeps_its_text(site_files: SiteFiles) -> None:
    config, errors = check_site(site_files.write(("  country: NO\n", "  country: NO\n  kubernetes_version: 1.35\n")))
    assert errors == [] and config is not None and config.site.kubernetes_version == "1.35"
    # 1.30 read as a float would be 1.3: the message shows the digits written.
    assert site_files.errors(("  country: NO\n", "  country: NO\n  kubernetes_version: 1.30\n")) == [
        "site.yaml:6:23: site.kubernetes_version: Kubernetes 1.30 is not supported by the pinned operators\n"
        "  hint: use one of 1.33, 1.34, 1.35, 1.36"
    ]


def test_duplicate_key_names_both_lines(site_files: SiteFiles) -> None:
    assert site_files.errors(("  power_envelope_mw: 1.0\n", "  power_envelope_mw: 1.0\n  name: other\n")) == [
        "site.yaml:8:3: site.name: duplicate key (first set at line 3)\n"
        "  hint: remove one of the two; YAML would silently keep only the last"
    ]


def test_merge_keys_are_refused(site_files: SiteFiles) -> None:
    assert site_files.errors(("  - name: clinic\n", "  - name: clinic\n    <<: {nodes: 32}\n")) == [
        "site.yaml:16:5: node_pools[1]: YAML merge keys (<<) are not supported\n"
        "  hint: put shared values in a base file and use `extends:`"
    ]


def test_complex_keys_are_refused(site_files: SiteFiles) -> None:
    assert site_files.errors(("  name: test-site\n", "  name: test-site\n  ? [a]\n  : b\n")) == [
        "site.yaml:4:5: site: mapping keys must be plain names"
    ]


def test_multiple_documents_are_refused(site_files: SiteFiles) -> None:
    text = "site: {name: a}\n---\nsite: {name: b}\n"
    assert site_files.errors(text=text) == [
        "site.yaml:3:1: holds more than one YAML document\n  hint: keep one site per file"
    ]


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n"])
def test_empty_file(site_files: SiteFiles, text: str) -> None:
    path = site_files.root / "site.yaml"
    path.write_text(text)
    _, errors = check_site(Path("site.yaml"))
    assert [str(e) for e in errors] == ["site.yaml:1:1: file is empty\n  hint: a site config is a YAML mapping"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("site: [1, 2\n", "site.yaml:2:1: not valid YAML: expected ',' or ']', but got '<stream end>'"),
        ("site:\n  name: a: b\n", "site.yaml:2:10: not valid YAML: mapping values are not allowed here"),
        ("site:\n\tname: a\n", "site.yaml:2:1: not valid YAML: found character '\\t' that cannot start any token"),
    ],
)
def test_syntax_error_has_position(site_files: SiteFiles, text: str, expected: str) -> None:
    (site_files.root / "site.yaml").write_text(text)
    _, errors = check_site(Path("site.yaml"))
    assert [str(e) for e in errors] == [f"{expected}\n  hint: fix the YAML syntax at that position"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a\n- b\n", "site.yaml:1:1: must be a YAML mapping of site settings"),
        ("just text\n", "site.yaml:1:1: must be a YAML mapping of site settings"),
        ("~\n", "site.yaml:1:1: must be a YAML mapping of site settings"),
    ],
)
def test_top_level_must_be_a_mapping(site_files: SiteFiles, text: str, expected: str) -> None:
    (site_files.root / "site.yaml").write_text(text)
    _, errors = check_site(Path("site.yaml"))
    assert [str(e) for e in errors] == [expected]


def test_missing_file(site_files: SiteFiles) -> None:
    _, errors = check_site(Path("nowhere.yaml"))
    assert [str(e) for e in errors] == ["nowhere.yaml: file not found"]


def test_directory_and_binary_file(site_files: SiteFiles) -> None:
    (site_files.root / "folder").mkdir()
    _, errors = check_site(Path("folder"))
    assert [str(e) for e in errors] == ["folder: is a directory, not a site config file"]
    (site_files.root / "binary.yaml").write_bytes("site:\n  name: Tromsø\n".encode("latin-1"))
    _, errors = check_site(Path("binary.yaml"))
    assert [str(e) for e in errors] == [
        "binary.yaml:2:14: is not UTF-8 text (byte 0xf8)\n  hint: save the file as UTF-8; a site config file is text"
    ]


def test_alias_that_contains_itself(site_files: SiteFiles) -> None:
    assert site_files.errors(text="site: {name: a}\nloop: &a [1, *a]\n") == [
        "site.yaml:2:7: loop[1]: a YAML alias here refers to a collection that contains it\n"
        "  hint: an alias may only repeat a value defined outside itself"
    ]


def test_alias_fan_out_is_bounded(site_files: SiteFiles) -> None:
    # "Billion laughs": each level repeats the one below ten times; 10**6 values at the top.
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    # Aliases share their anchor's position: the value that crosses the limit was written in a0.
    assert site_files.errors(text="\n".join(lines) + "\n") == [
        f"site.yaml:1:37: a4[7][8][8][8][9]: the document expands to more than {MAX_VALUES:,} values\n"
        "  hint: write the values out instead of multiplying them through YAML aliases"
    ]


def test_nesting_is_bounded(site_files: SiteFiles) -> None:
    deep = "site: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n"
    errors = site_files.errors(text=deep)
    assert len(errors) == 1 and errors[0].startswith(f"site.yaml:1:39: nests deeper than {MAX_DEPTH} levels"), errors
    # Stopped while composing, at the first level too deep: no recursion limit is reached.
    very_deep = "site: " + "[" * 50_000 + "]" * 50_000 + "\n"
    assert site_files.errors(text=very_deep) == errors


def test_explicit_tags_and_yaml_1_1_strings(site_files: SiteFiles) -> None:
    # PyYAML tags 1e3 and 0o17 as strings (YAML 1.1); the reader resolves them as YAML 1.2 does.
    text = 'a: 1e3\nb: 0o17\nc: !!str 1.30\nd: !!int "5"\ne: !!str NO\nf: on\n'
    document, errors = read_yaml(site_files.write(text=text), "site.yaml")
    assert errors == [] and document is not None
    assert document.data == {"a": 1000.0, "b": 15, "c": "1.30", "d": 5, "e": "NO", "f": "on"}
