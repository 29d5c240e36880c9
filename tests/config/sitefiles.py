"""Helpers for the site-model tests: a compact valid site (and its base) written to a temp folder.

Tests build failing fixtures as small text edits of ``SITE`` so every line and column they
assert is fixed by the text below; the working directory is the temp folder, so errors read
``site.yaml:LINE:COL: ...`` and ``base.yaml:LINE:COL: ...``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from infra.config.loader import check_site

BASE = """\
site:
  kubernetes_version: "1.35"
  pue: 1.25
fabrics:
  compute:
    subnet_manager: ufm
operators:
  gpu_operator:
    version: v26.7.0
    driver_version: "595.91.07"
"""

SITE = """\
extends: base.yaml
site:
  name: test-site
  region: eu-north
  country: NO
  kube_context: test-admin
  power_envelope_mw: 1.0
node_pools:
  - name: train
    gpu_model: H100-SXM-80GB
    nodes: 32
    node_name_pattern: "gpu-{index:03d}"
    hcas: {compute: 8, storage: 2}
    purpose: training
  - name: clinic
    gpu_model: H100-SXM-80GB
    nodes: 32
    node_name_pattern: "clin-{index:03d}"
    hcas: {compute: 8, storage: 2}
    purpose: regulated
    dedicated_to: hospital
    taints: [{key: gigafactory.eu/tenant, value: hospital, effect: NoSchedule}]
fabrics:
  compute:
    ufm_credentials_secret: ufmCredentials
    ipoib_subnets:
      - {rail: 0, subnet: 10.0.0.0/22}
      - {rail: 1, subnet: 10.0.4.0/22}
      - {rail: 2, subnet: 10.0.8.0/22}
      - {rail: 3, subnet: 10.0.12.0/22}
      - {rail: 4, subnet: 10.0.16.0/22}
      - {rail: 5, subnet: 10.0.20.0/22}
      - {rail: 6, subnet: 10.0.24.0/22}
      - {rail: 7, subnet: 10.0.28.0/22}
  storage:
    subnet: 10.1.0.0/24
storage:
  - name: lustre
    kind: exascaler
    capacity_tb: 1000
    read_gb_per_s: 100
    write_gb_per_s: 50
    mount_path: /lustre
    tenants: [lab, startup]
    endpoint: "10.1.0.10@o2ib:/fs"
  - name: clinical
    kind: weka
    capacity_tb: 100
    read_gb_per_s: 10
    write_gb_per_s: 5
    mount_path: /clinical
    encrypted: true
    tenants: [hospital]
    endpoint: https://vms.example.internal
    credentials_secret: vastApi
tenants:
  - name: lab
    kind: research
    group: gf-lab
    pkey: 0x8001
    cohort: shared
    gpu_quotas: [{pool: train, gpus: 128, borrowing_limit: 64, lending_limit: 64}]
    storage: [{system: lustre, quota_tb: 500}]
  - name: startup
    kind: startup
    group: gf-startup
    pkey: 0x8002
    cohort: shared
    gpu_quotas: [{pool: train, gpus: 128}]
    storage: [{system: lustre, quota_tb: 400}]
  - name: hospital
    kind: regulated
    group: gf-hospital
    pkey: 0x8003
    gpu_quotas: [{pool: clinic, gpus: 256}]
    storage: [{system: clinical, quota_tb: 50}]
    isolation: {dedicated_nodes: true, own_partition: true, encrypted_storage: true, egress: deny}
"""

Edit = tuple[str, str]


def edited(text: str, *edits: Edit) -> str:
    """``text`` with each ``(old, new)`` applied; ``old`` must occur exactly once."""
    for old, new in edits:
        count = text.count(old)
        assert count == 1, f"fixture edit {old!r} matches {count} times; make it unique"
        text = text.replace(old, new)
    return text


@dataclass
class SiteFiles:
    """The compact site and its base in a temp folder that is also the working directory."""

    root: Path

    def write(self, *edits: Edit, text: str = SITE, name: str = "site.yaml") -> Path:
        """Write ``text`` with ``edits`` to ``name``; returns the path relative to the folder."""
        (self.root / name).write_text(edited(text, *edits), encoding="utf-8")
        return Path(name)

    def errors(self, *edits: Edit, text: str = SITE) -> list[str]:
        """The printed errors of the site with ``edits`` (empty when it validates)."""
        config, errors = check_site(self.write(*edits, text=text))
        assert (config is None) == bool(errors), "check_site must return a model or errors, not both"
        return [str(e) for e in errors]


def make_site_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SiteFiles:
    """A folder holding ``base.yaml`` that is also the working directory (for the ``site_files`` fixture)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "base.yaml").write_text(BASE, encoding="utf-8")
    return SiteFiles(tmp_path)
