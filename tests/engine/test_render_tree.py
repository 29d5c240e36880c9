"""``gigafactory render``: layout, secrets withheld, and every rendered object valid against its schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from kube_schemas import ObjectValidator
from synthetic_site import synthetic_plan

from infra.config.loader import load_site
from infra.engine.planner import plan_site
from infra.engine.render import render_files

ROOT = Path(__file__).resolve().parents[2]
CRDS = ROOT.parent / "shared" / "crds"


KUSTOMIZATION = "/kustomization.yaml"  # kustomize's index of a folder, not an API object


def test_layout_of_the_synthetic_site() -> None:
    files = render_files(synthetic_plan())
    assert sorted(files) == [
        "control-plane/audit-policy.yaml",
        "control-plane/encryption-configuration.yaml",
        "helm/gpu-operator--gpu-operator.values.yaml",
        "helm/releases.yaml",
        "index.yaml",
        "kustomization.yaml",
        "manifests/_cluster/kustomization.yaml",
        "manifests/_cluster/namespace--team-a.yaml",
        "manifests/_cluster/storageclass.storage.k8s.io--lustre.yaml",
        "manifests/kustomization.yaml",
        "manifests/team-a/kustomization.yaml",
        "manifests/team-a/persistentvolumeclaim--datasets.yaml",
        "manifests/team-a/resourcequota--gpus.yaml",
        "patches/_cluster/node--node-000.yaml",
        "patches/_cluster/node--node-001.yaml",
        "patches/_cluster/node--node-002.yaml",
    ]
    index = yaml.safe_load(files["index.yaml"])
    withheld = index["withheld"]
    assert [(w["kind"], w["name"]) for w in withheld] == [("Secret", "ufm")], "a Secret from a config secret"
    assert "stringData" in withheld[0]["reason"]
    release = yaml.safe_load(files["helm/releases.yaml"])["releases"][0]
    assert release["secret_values"] == ["ufm.password"]
    assert release["chart"] == "gpu-operator" and release["repository"] == "https://helm.ngc.nvidia.com/nvidia"
    values = yaml.safe_load(files["helm/gpu-operator--gpu-operator.values.yaml"])
    assert values["driver"] == {"upgradePolicy": {"maxParallelUpgrades": 4}, "version": "595.91.07"}
    assert all("s3cr3t-dummy-value" not in content for content in files.values())


def test_manifest_keys_come_in_kubectl_order() -> None:
    files = render_files(synthetic_plan())
    text = files["manifests/team-a/persistentvolumeclaim--datasets.yaml"]
    keys = [line.split(":")[0] for line in text.splitlines() if line and not line.startswith((" ", "#", "-"))]
    assert keys == ["apiVersion", "kind", "metadata", "spec"]


@pytest.fixture(scope="module")
def pilot_files() -> tuple[str, dict[str, str]]:
    plan = plan_site(load_site(ROOT / "site-configs" / "eu-pilot.yaml"))
    return plan.site["kubernetes_version"], render_files(plan)


@pytest.mark.skipif(not CRDS.is_dir(), reason=f"the operators' CRDs are not at {CRDS}")
def test_every_rendered_pilot_object_validates(pilot_files: tuple[str, dict[str, str]]) -> None:
    kubernetes_version, files = pilot_files
    validator = ObjectValidator(kubernetes_version, CRDS)
    kinds = ("manifests/", "patches/")
    objects = {
        name: yaml.safe_load(text)
        for name, text in files.items()
        if name.startswith(kinds) and not name.endswith(KUSTOMIZATION)
    }
    assert len(objects) > 100
    problems: dict[str, list[str]] = {}
    for name, obj in objects.items():
        errors = validator.errors(obj)
        if errors:
            problems[name] = errors
    assert problems == {}, "rendered objects that fail their schema: " + repr(problems)[:3000]


def test_pilot_render_index_matches_files(pilot_files: tuple[str, dict[str, str]]) -> None:
    _, files = pilot_files
    index: dict[str, Any] = yaml.safe_load(files["index.yaml"])
    listed = {entry["file"] for entry in index["objects"] + index["patches"]}
    written = {
        name for name in files if name.startswith(("manifests/", "patches/")) and not name.endswith(KUSTOMIZATION)
    }
    assert listed == written
    for entry in index["withheld"]:
        assert "secret" in entry["reason"] or "deployment" in entry["reason"], entry
    releases = yaml.safe_load(files["helm/releases.yaml"])["releases"]
    assert {r["name"] for r in releases} >= {"gpu-operator", "network-operator", "kueue"}
    for release in releases:
        assert f"helm/{release['values']}" in files, release["name"]
