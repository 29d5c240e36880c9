"""render writes the control plane's encryption configuration and audit policy."""

from __future__ import annotations

from pathlib import Path

import yaml

from infra.config.loader import load_site
from infra.engine.control_plane import ENCRYPTED_RESOURCES
from infra.engine.planner import plan_site
from infra.engine.render import render_files

REPO = Path(__file__).resolve().parents[2]


def test_render_writes_kms_encryption_and_an_audit_policy() -> None:
    files = render_files(plan_site(load_site(REPO / "site-configs" / "eu-pilot.yaml")))
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
