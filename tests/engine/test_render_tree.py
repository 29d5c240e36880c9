"""``gigafactory render``: layout, secrets withheld, every rendered object valid against its schema, and the
control plane's encryption configuration and audit policy."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from kube_schemas import ObjectValidator
from synthetic_site import synthetic_plan

from infra.config.loader import load_site
from infra.engine.control_plane import ENCRYPTED_RESOURCES
from infra.engine.manifests import HELM_TYPES
from infra.engine.planner import plan_site
from infra.engine.recording import PlanFileError
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


def test_render_writes_kms_encryption_and_an_audit_policy(pilot_files: tuple[str, dict[str, str]]) -> None:
    _, files = pilot_files
    encryption = yaml.safe_load(files["control-plane/encryption-configuration.yaml"])
    assert (encryption["apiVersion"], encryption["kind"]) == ("apiserver.config.k8s.io/v1", "EncryptionConfiguration")
    entry = encryption["resources"][0]
    assert entry["resources"] == list(ENCRYPTED_RESOURCES)
    first, last = entry["providers"]
    assert first["kms"]["apiVersion"] == "v2" and first["kms"]["endpoint"].startswith("unix://")
    assert last == {"identity": {}}, "identity only last, to read what predates encryption"
    audit = yaml.safe_load(files["control-plane/audit-policy.yaml"])
    assert (audit["apiVersion"], audit["kind"]) == ("audit.k8s.io/v1", "Policy")
    rules = audit["rules"]
    # Secrets are logged without bodies, and that rule comes before any that would log bodies.
    assert (
        rules[0]["level"] == "Metadata"
        and {"group": "", "resources": ["secrets", "serviceaccounts/token"]} in (rules[0]["resources"])
    )
    hospital = [r for r in rules if r.get("namespaces") == ["oslo-hospital"]]
    assert [r["level"] for r in hospital] == ["RequestResponse", "Metadata"]
    isolation = rules[1]
    groups = {r["group"]: r["resources"] for r in isolation["resources"]}
    assert "validatingadmissionpolicies" in groups["admissionregistration.k8s.io"]
    assert "networkpolicies" in groups["networking.k8s.io"]
    assert rules[-1] == {"level": "Metadata"}
    index = yaml.safe_load(files["index.yaml"])
    assert index["control_plane"] == ["control-plane/audit-policy.yaml", "control-plane/encryption-configuration.yaml"]


@pytest.mark.parametrize("field", ["repositoryOpts", "values"])
def test_a_helm_release_whose_inputs_are_not_objects_is_a_malformed_plan(field: str) -> None:
    plan = synthetic_plan()
    release = next(r for r in plan.resources if r.type in HELM_TYPES)
    edited = dataclasses.replace(release, inputs={**release.inputs, field: ["not", "an", "object"]})
    resources = tuple(edited if r is release else r for r in plan.resources)
    with pytest.raises(PlanFileError, match=rf"^{re.escape(release.urn)}: inputs\.{field} must be an object$"):
        render_files(dataclasses.replace(plan, resources=resources))
