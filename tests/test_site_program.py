"""``infra/__main__.py``, the Pulumi program, run on the mock runtime as ``pulumi up`` would run it."""

from __future__ import annotations

import json
import logging
import re
import runpy
from pathlib import Path

import pulumi
import pytest

from infra.config.loader import load_site
from infra.engine.runtime import record_program
from infra.site import planning_secret_values

REPO = Path(__file__).resolve().parents[1]
PROGRAM = REPO / "infra" / "__main__.py"
PILOT = REPO / "site-configs" / "eu-pilot.yaml"


def run(stack: str, *, config: dict[str, str] | None = None, secrets: dict[str, str] | None = None) -> list[str]:
    """Run the program as stack ``stack``; the types it registered."""
    resources = record_program(
        lambda: runpy.run_path(str(PROGRAM), run_name="__main__"),
        project="gigafactory",
        stack=stack,
        config=config,
        secret_config=secrets,
    )
    return [r.type for r in resources]


def test_stack_name_selects_the_site_file_and_its_part() -> None:
    secrets = planning_secret_values(load_site(PILOT))
    operators = run("eu-pilot", secrets=secrets)
    assert operators.count("gigafactory:site:GigafactorySite") == 1
    assert operators.count("gigafactory:index:ClusterOperators") == 1
    assert "gigafactory:index:GpuNodePool" not in operators and "gigafactory:index:Tenant" not in operators
    pool = run("eu-pilot.pool-h100-train", secrets=secrets)
    assert pool.count("gigafactory:index:GpuNodePool") == 1
    assert pool.count("kubernetes:nfd.k8s-sigs.io/v1alpha1:NodeFeatureRule") == 3
    assert "kubernetes:helm.sh/v3:Release" not in pool, "the operators are another stack's"
    tenants = run("eu-pilot.tenants", secrets=secrets)
    assert tenants.count("gigafactory:index:Tenant") == 3 and "gigafactory:index:Scheduling" in tenants


def test_an_unknown_part_names_the_site_s_stacks() -> None:
    with pytest.raises(pulumi.RunError, match=r"has no part 'pool-nowhere'; its stacks: eu-pilot, eu-pilot.fabric"):
        run("eu-pilot.pool-nowhere", secrets=planning_secret_values(load_site(PILOT)))


def test_stack_config_can_name_another_site_file_and_context() -> None:
    secrets = planning_secret_values(load_site(PILOT))
    resources = record_program(
        lambda: runpy.run_path(str(PROGRAM), run_name="__main__"),
        project="gigafactory",
        stack="pilot-staging",
        config={"gigafactory:siteConfig": "site-configs/eu-pilot.yaml", "gigafactory:kubeContext": "staging"},
        secret_config=secrets,
    )
    provider = next(r for r in resources if r.type == "pulumi:providers:kubernetes")
    assert provider.inputs["context"] == "staging"


def test_a_missing_secret_is_pulumi_s_own_config_error() -> None:
    with pytest.raises(pulumi.ConfigMissingError, match="cephObjectsAdmin"):
        run(
            "eu-pilot.storage",
            secrets={
                "ufmCredentials": json.dumps({"username": "u", "password": "p", "address": "a"}),
                "cephClinicalKms": json.dumps({"token": "t"}),
            },
        )


def test_an_unknown_stack_says_which_file_it_looked_for() -> None:
    with pytest.raises(pulumi.RunError, match=r"no site config at .*site-configs/eu-nowhere.yaml"):
        run("eu-nowhere")


def test_a_bad_site_file_logs_every_error_and_fails_without_a_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = tmp_path / "bad.yaml"
    text = PILOT.read_text(encoding="utf-8").replace(
        "extends: base/eu.yaml", f"extends: {REPO / 'site-configs/base/eu.yaml'}"
    )
    bad.write_text(text.replace("nodes: 96", "nodes: -4").replace("power_envelope_mw: 2.5", "power_mw: 2.5"), "utf-8")
    with (
        caplog.at_level(logging.ERROR),
        pytest.raises(pulumi.RunError, match=r"bad.yaml: \d+ errors in the site config"),
    ):
        run("bad", config={"gigafactory:siteConfig": str(bad)})
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "node_pools[0].nodes" in logged
    assert "power_mw" in logged


def test_a_site_that_cannot_be_planned_logs_the_planner_problems_at_their_lines(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # 8,224 rail-optimized H100 nodes on 64-port switches: beyond a 3-tier fat tree, though the config is valid.
    text = PILOT.read_text(encoding="utf-8").replace(
        "extends: base/eu.yaml", f"extends: {REPO / 'site-configs/base/eu.yaml'}"
    )
    text = text.replace("nodes: 96", "nodes: 8224").replace("power_envelope_mw: 2.5", "power_envelope_mw: 200")
    for rail in range(8):
        text = text.replace(f"subnet: 10.100.{8 * rail}.0/21", f"subnet: 10.{2 * rail}.0.0/15")
    big = tmp_path / "big.yaml"
    big.write_text(text.replace("subnet: 10.101.0.0/23", "subnet: 10.101.0.0/16"), "utf-8")
    with (
        caplog.at_level(logging.ERROR),
        pytest.raises(pulumi.RunError, match=r"big.yaml: the site cannot be planned \(\d+ problems?\)"),
    ):
        run("big", config={"gigafactory:siteConfig": str(big)}, secrets=planning_secret_values(load_site(big)))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert re.search(r"big\.yaml:\d+:\d+: node_pools: 66,048 HCA ports", logged), logged
    assert "hint:" in logged
