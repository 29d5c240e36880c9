"""The isolation summary: each regulated tenant's guarantees and what enforces them, as plan prints it."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.cli import main
from infra.config.loader import load_site
from infra.engine.isolation import isolation_guarantees, summary_lines

REPO = Path(__file__).resolve().parents[2]
PILOT = REPO / "site-configs" / "eu-pilot.yaml"
GIGAFACTORY = REPO / "site-configs" / "eu-gigafactory.yaml"


def test_each_regulated_tenant_has_every_guarantee_with_what_enforces_it() -> None:
    config = load_site(GIGAFACTORY)
    found = isolation_guarantees(config)
    assert sorted(found) == sorted(t.name for t in config.tenants if t.kind == "regulated")
    for tenant, guarantees in found.items():
        names = [g.name for g in guarantees]
        assert names == [
            "dedicated-nodes",
            "node-identity",
            "partition",
            "network",
            "storage",
            "access",
            "priority",
            "queueing",
        ], tenant
        for guarantee in guarantees:
            assert guarantee.enforced_by, (tenant, guarantee.name)
            assert guarantee.holds, (tenant, guarantee.name, guarantee.statement)


def test_pilot_hospital_guarantees_name_the_objects() -> None:
    guarantees = {g.name: g for g in isolation_guarantees(load_site(PILOT))["oslo-hospital"]}
    assert "ValidatingAdmissionPolicy/gigafactory-dedicated-nodes" in guarantees["dedicated-nodes"].enforced_by
    assert "ResourceFlavor/h100-clinical (node-restriction.kubernetes.io/gigafactory-pool)" in (
        guarantees["dedicated-nodes"].enforced_by
    )
    assert "NetworkPolicy/oslo-hospital/default-deny" in guarantees["network"].enforced_by
    assert "nothing leaves its namespace but DNS" in guarantees["network"].statement
    assert "0x8201" in guarantees["partition"].statement
    assert "StorageClass/ceph-clinical (encrypted)" in guarantees["storage"].enforced_by
    assert guarantees["dedicated-nodes"].to_json()["holds"] is True


def test_storage_encryption_names_whose_word_it_is() -> None:
    # WEKA's is configured (the class's encryptionEnabled, checked by csi.weka.io); VAST's is the
    # cluster's own setting, which vast-csi cannot check: the site attests it.
    found = isolation_guarantees(load_site(GIGAFACTORY))
    genome = {g.name: g for g in found["nordic-genome-centre"]}["storage"]
    assert "StorageClass/weka-genomics (encrypted)" in genome.enforced_by
    hospital = {g.name: g for g in found["rhine-university-hospital"]}["storage"]
    assert "vast-clinical: the vast system's own encryption at rest (attested by the site, not checked)" in (
        hospital.enforced_by
    )
    assert not any(e.startswith("StorageClass/vast-clinical") for e in hospital.enforced_by)


def test_a_regulated_tenant_on_unencrypted_storage_is_reported_not_met() -> None:
    config = load_site(PILOT)
    storage = tuple(
        s.model_copy(update={"encrypted": False}) if s.name == "ceph-clinical" else s for s in config.storage
    )
    weakened = config.model_copy(update={"storage": storage})
    guarantees = {g.name: g for g in isolation_guarantees(weakened)["oslo-hospital"]}
    assert not guarantees["storage"].holds and "ceph-clinical" in guarantees["storage"].statement
    assert any("(NOT MET)" in line for line in summary_lines(weakened))


def test_plan_prints_the_isolation_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(PILOT)]) == 0
    out = capsys.readouterr().out
    assert "Isolation of regulated tenants" in out
    assert "isolation of oslo-hospital:" in out
    assert "enforced by: ValidatingAdmissionPolicy/gigafactory-dedicated-nodes" in out
