"""``extends:``: layers merge key by key, and every error points at the file that wrote the value."""

from __future__ import annotations

from pathlib import Path

from sitefiles import BASE, SiteFiles, edited

from infra.config.loader import check_site, load_layers

R570 = (
    "operators.gpu_operator.driver_version: driver branch R570 is not supported by the pinned GPU Operator line\n"
    "  hint: use a driver from branch R580 or R595"
)


def test_base_values_reach_the_model(site_files: SiteFiles) -> None:
    config, errors = check_site(site_files.write())
    assert errors == [] and config is not None
    assert config.site.pue == 1.25, "site.pue comes from base.yaml"
    assert config.fabrics.compute.subnet_manager == "ufm", "fabrics.compute.subnet_manager comes from base.yaml"
    assert config.fabrics.compute.ufm_credentials_secret == "ufmCredentials", "the site's own key merges beside it"


def test_error_in_a_base_value_points_at_the_base(site_files: SiteFiles) -> None:
    site_files.write(('driver_version: "595.91.07"', 'driver_version: "570.124.06"'), text=BASE, name="base.yaml")
    assert site_files.errors() == [f"base.yaml:10:21: {R570}"]


def test_site_override_points_at_the_site(site_files: SiteFiles) -> None:
    override = "operators:\n  gpu_operator:\n    driver_version: 570.124.06\n"
    assert site_files.errors(("tenants:\n", f"{override}tenants:\n")) == [f"site.yaml:58:21: {R570}"]


def test_site_override_hides_a_bad_base_value(site_files: SiteFiles) -> None:
    site_files.write(('driver_version: "595.91.07"', 'driver_version: "570.124.06"'), text=BASE, name="base.yaml")
    override = "operators:\n  gpu_operator:\n    driver_version: 580.126.20\n"
    assert site_files.errors(("tenants:\n", f"{override}tenants:\n")) == []


def test_unknown_and_missing_keys_in_a_base(site_files: SiteFiles) -> None:
    site_files.write(("  pue: 1.25\n", "  pue: 1.25\n  pwer_envelope_mw: 3\n"), text=BASE, name="base.yaml")
    assert site_files.errors() == [
        "base.yaml:4:3: site.pwer_envelope_mw: unknown key\n  hint: did you mean power_envelope_mw?"
    ]
    site_files.write(
        ("operators:\n", "storage:\n  - {name: shared, kind: weka}\noperators:\n"), text=BASE, name="base.yaml"
    )
    # The site's own storage list replaces the base's whole, so the base's incomplete entry is gone.
    assert site_files.errors() == []
    assert site_files.errors(("storage:\n  - name: lustre", "storag:\n  - name: lustre")) == [
        "base.yaml:8:5: storage[0].capacity_tb: is required\n  hint: add capacity_tb: Usable capacity, TB.",
        "base.yaml:8:5: storage[0].endpoint: is required\n"
        "  hint: add endpoint: Storage endpoint: Lustre NID and fs, WEKA/VAST API, Ceph cluster.",
        "base.yaml:8:5: storage[0].read_gb_per_s: is required\n"
        "  hint: add read_gb_per_s: Target aggregate read bandwidth, GB/s.",
        "base.yaml:8:5: storage[0].write_gb_per_s: is required\n"
        "  hint: add write_gb_per_s: Target aggregate write bandwidth, GB/s.",
        "site.yaml:37:1: storag: unknown key\n  hint: did you mean storage?",
    ]


def test_lists_replace_and_mappings_merge(site_files: SiteFiles) -> None:
    site_files.write(("operators:\n", "node_pools: [{name: base-pool}]\noperators:\n"), text=BASE, name="base.yaml")
    layers, errors = load_layers(site_files.write())
    assert errors == [] and layers is not None
    assert [p["name"] for p in layers.data["node_pools"]] == ["train", "clinic"], "node_pools replaced whole"
    assert str(layers.location(("node_pools", 0, "name"))) == "site.yaml:9:11"
    assert layers.data["site"]["pue"] == 1.25 and layers.data["site"]["name"] == "test-site", "site merged"
    assert str(layers.location(("site", "pue"))) == "base.yaml:3:8"
    assert str(layers.location(("site", "name"))) == "site.yaml:3:9"


def test_three_layers(site_files: SiteFiles) -> None:
    (site_files.root / "root.yaml").write_text("site:\n  pue: 4.5\n")
    site_files.write(("site:\n", "extends: root.yaml\nsite:\n"), ("  pue: 1.25\n", ""), text=BASE, name="base.yaml")
    assert site_files.errors() == ["root.yaml:2:8: site.pue: must be less than or equal to 3 (got 4.5)"]


def test_extends_is_relative_to_the_file(site_files: SiteFiles) -> None:
    (site_files.root / "sites").mkdir()
    site_files.write(("extends: base.yaml", "extends: ../base.yaml"), name="sites/x.yaml")
    config, errors = check_site(Path("sites/x.yaml"))
    assert errors == [] and config is not None


def test_missing_base(site_files: SiteFiles) -> None:
    assert site_files.errors(("extends: base.yaml", "extends: bases/eu.yaml")) == [
        "site.yaml:1:10: extends: base file bases/eu.yaml not found\n  hint: extends is relative to this file"
    ]


def test_extends_must_be_a_path(site_files: SiteFiles) -> None:
    assert site_files.errors(("extends: base.yaml", "extends: [base.yaml]")) == [
        "site.yaml:1:10: extends: must be the path of a base file\n  hint: e.g. extends: base/eu.yaml"
    ]


def test_a_nul_in_extends_is_a_located_error_not_a_crash(site_files: SiteFiles) -> None:
    # Found by the fuzz contract: os.path.realpath raises ValueError on an embedded NUL.
    assert site_files.errors(("extends: base.yaml", 'extends: "base\\0.yaml"')) == [
        "site.yaml:1:10: extends: must be the path of a base file\n  hint: e.g. extends: base/eu.yaml"
    ]


def test_cycles(site_files: SiteFiles) -> None:
    assert site_files.errors(("extends: base.yaml", "extends: site.yaml")) == [
        "site.yaml:1:10: extends: site.yaml extends this file again (a cycle)\n  hint: break the cycle"
    ]
    site_files.write(("site:\n", "extends: site.yaml\nsite:\n"), text=BASE, name="base.yaml")
    assert site_files.errors() == [
        "base.yaml:1:10: extends: site.yaml extends this file again (a cycle)\n  hint: break the cycle"
    ]


def test_unreadable_base(site_files: SiteFiles) -> None:
    site_files.write(("  pue: 1.25\n", "  pue: [1.25\n"), text=BASE, name="base.yaml")
    assert site_files.errors() == [
        "base.yaml:4:8: not valid YAML: expected ',' or ']', but got ':'\n  hint: fix the YAML syntax at that position"
    ]


def test_placeholder_in_a_base(site_files: SiteFiles) -> None:
    site_files.write(("  pue: 1.25\n", "  pue: 1.25\n  description: '<fill: what>'\n"), text=BASE, name="base.yaml")
    assert site_files.errors() == [
        "base.yaml:4:16: site.description: still a placeholder: <fill: what>\n  hint: write this site's own value here"
    ]


def test_edited_rejects_ambiguous_fixture_edits() -> None:
    try:
        edited("a a", ("a", "b"))
    except AssertionError as exc:
        assert "matches 2 times" in str(exc)
    else:
        raise AssertionError("an edit matching twice must be refused")
