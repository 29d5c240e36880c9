"""Every cross-field rule: a valid fixture that passes it and a failing one with its exact message.

Each fixture is the compact site of ``conftest.py`` with a few text edits, so the positions in
the expected messages are fixed. ``test_every_rule_has_a_failing_and_a_valid_fixture`` keeps
the tables complete: a new ``@rule`` without both cases here fails the suite.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from pydantic import BaseModel
from sitefiles import Edit, SiteFiles

from infra.config.loader import find_model
from infra.config.model import SiteConfig
from infra.config.rules import rules_of

# A GB200 NVL72 pool of one rack (18 compute trays, 4 GPUs and 4 HCAs each), added after clinic,
# and a floor whose racks take its ~120 kW (appended at the end, so no other line moves).
NVL_POOL_ENTRY: Edit = (
    "NoSchedule}]\n",
    "NoSchedule}]\n"
    "  - name: nvl\n"
    "    gpu_model: GB200-NVL72\n"
    "    nodes: 18\n"
    '    node_name_pattern: "nvl-{index:03d}"\n'
    "    scalable_unit_nodes: 18\n"
    "    nodes_per_rack: 18\n"
    "    hcas: {compute: 4, storage: 2}\n"
    "    purpose: training\n",
)
NVL_FLOOR: Edit = ("egress: deny}\n", "egress: deny}\nfloor: {rack_power_kw: 130}\n")
NVL_POOL: tuple[Edit, ...] = (NVL_POOL_ENTRY, NVL_FLOOR)
TRAIN_NODES = '    nodes: 32\n    node_name_pattern: "gpu-'
# Storage nodes for Ceph, appended at the end of the file (no line of the site moves).
CEPH_NODES: Edit = (
    "egress: deny}\n",
    "egress: deny}\n"
    'storage_nodes:\n  - {name: ceph, nodes: 3, node_name_pattern: "ceph-{index:02d}", devices: [nvme0n1]}\n',
)
LAB_QUOTA = "gpu_quotas: [{pool: train, gpus: 128, borrowing_limit: 64, lending_limit: 64}]"


def train_nodes(nodes: int, *lines: str) -> Edit:
    """Set the train pool's node count (line 11), adding ``lines`` after it."""
    extra = "".join(f"    {line}\n" for line in lines)
    return (TRAIN_NODES, TRAIN_NODES.replace("32", str(nodes)).replace("\n", f"\n{extra}", 1))


def operators(*lines: str) -> Edit:
    """Add ``operators.gpu_operator`` settings to the site (lines 58 onwards)."""
    body = "".join(f"    {line}\n" for line in lines)
    return ("tenants:\n", f"operators:\n  gpu_operator:\n{body}tenants:\n")


def in_site(line: str) -> Edit:
    """Add a line to the ``site:`` mapping as line 6."""
    return ("  country: NO\n", f"  country: NO\n  {line}\n")


def in_compute(line: str) -> Edit:
    """Add a line to ``fabrics.compute`` as line 25."""
    return ("  compute:\n", f"  compute:\n    {line}\n")


@dataclass(frozen=True)
class Case:
    """A rule, the edits that break (or satisfy) it, and the exact errors expected."""

    rule: str
    edits: tuple[Edit, ...]
    errors: tuple[str, ...] = ()


def case(rule: str, *edits: Edit, errors: tuple[str, ...] = (), id: str = "") -> object:
    """One row of a table: ``Case`` as a pytest parameter named after the rule."""
    return pytest.param(Case(rule, edits, errors), id=f"{rule}-{id}" if id else rule)


# The clinical system (storage[1], lines 46-55) as VAST, whose encryption at rest only the site can attest.
CLINICAL_VAST: Edit = ("    kind: weka\n", "    kind: vast\n")
ATTESTED: Edit = ("    encrypted: true\n", "    encrypted: true\n    encryption_attested: true\n")

FAILING = [
    case(
        "encryption_at_rest_is_configured_or_attested",
        CLINICAL_VAST,
        errors=(
            "site.yaml:52:16: storage[1].encrypted: kind vast encrypts at rest by a setting of the storage system "
            "itself, which its CSI driver can neither set nor check (no StorageClass parameter for it): encrypted: "
            "true alone is only a label\n  hint: if the system encrypts all data at rest, attest it with "
            "encryption_attested: true and verify it on the system; or keep the data on a kind whose encryption "
            "gigafactory configures (weka, rook-ceph)",
        ),
        id="vast-unattested",
    ),
    case(
        "encryption_at_rest_is_configured_or_attested",
        ("    credentials_secret: vastApi\n", ""),
        errors=(
            "site.yaml:52:16: storage[1].encrypted: the WEKA CSI driver checks that the filesystem is encrypted "
            "through the WEKA API, and credentials_secret is not set: it would refuse every volume\n  hint: set "
            "credentials_secret to the Pulumi config secret with the WEKA API credentials",
        ),
        id="weka-without-api",
    ),
    case(
        "encryption_at_rest_is_configured_or_attested",
        ATTESTED,
        errors=(
            "site.yaml:53:26: storage[1].encryption_attested: kind weka's encryption at rest is configured by "
            "gigafactory, not attested\n  hint: remove encryption_attested; encrypted: true configures it",
        ),
        id="weka-attested",
    ),
    case(
        "encryption_at_rest_is_configured_or_attested",
        ("    mount_path: /lustre\n", "    mount_path: /lustre\n    encryption_attested: true\n"),
        errors=(
            "site.yaml:44:26: storage[0].encryption_attested: attests encryption at rest, and encrypted is false\n"
            "  hint: set encrypted: true, or remove encryption_attested",
        ),
        id="attested-unencrypted",
    ),
    case(
        "encryption_keys_in_a_key_manager",
        (
            "    encrypted: true\n",
            '    encrypted: true\n    kms: {provider: vault, address: "https://vault:8200", secret: vaultToken}\n',
        ),
        errors=(
            "site.yaml:53:10: storage[1].kms: kind weka keeps its encryption keys on the storage system itself; kms "
            "configures Rook-Ceph\n  hint: remove kms and set up the key manager on the storage system",
        ),
        id="kms-on-weka",
    ),
    case(
        "racks_hold_their_nodes",
        ("purpose: training\n", "purpose: training\n    nodes_per_rack: 8\n"),
        errors=(
            "site.yaml:15:21: node_pools[0].nodes_per_rack: 8 H100-SXM-80GB nodes take 64U, more than "
            "floor.rack_units=48\n  hint: put at most 6 nodes in a rack",
            "site.yaml:15:21: node_pools[0].nodes_per_rack: a rack of 8 H100-SXM-80GB nodes draws 81.6 kW, over "
            "floor.rack_power_kw=60\n  hint: put at most 5 nodes in a rack, or raise floor.rack_power_kw",
        ),
    ),
    case(
        "racks_hold_their_nodes",
        ("egress: deny}\n", "egress: deny}\nfloor: {rack_power_kw: 1.5}\n"),
        errors=(
            "site.yaml:9:5: node_pools[0].nodes_per_rack: a rack of 4 H100-SXM-80GB nodes draws 40.8 kW, over "
            "floor.rack_power_kw=1.5\n  hint: raise floor.rack_power_kw to at least 10.2 (one node)",
            "site.yaml:15:5: node_pools[1].nodes_per_rack: a rack of 4 H100-SXM-80GB nodes draws 40.8 kW, over "
            "floor.rack_power_kw=1.5\n  hint: raise floor.rack_power_kw to at least 10.2 (one node)",
            "site.yaml:78:24: floor.rack_power_kw: one QM9700 switch (1.72 kW) does not fit a rack of 1.5 kW\n"
            "  hint: raise floor.rack_power_kw to at least 1.72",
        ),
        id="tiny",
    ),
    case(
        "kubernetes_supported",
        in_site('kubernetes_version: "1.32"'),
        errors=(
            "site.yaml:6:23: site.kubernetes_version: Kubernetes 1.32 is not supported by the pinned operators\n"
            "  hint: use one of 1.33, 1.34, 1.35, 1.36",
        ),
    ),
    case(
        "settings_match_mode",
        ("purpose: training\n", "purpose: training\n    gpu_sharing: {mode: mig}\n"),
        errors=(
            "site.yaml:15:18: node_pools[0].gpu_sharing.mig_profile: is required when mode is mig\n"
            "  hint: set a MIG profile such as 1g.10gb",
        ),
        id="mig",
    ),
    case(
        "settings_match_mode",
        ("purpose: training\n", "purpose: training\n    gpu_sharing: {mode: time-slicing, mig_profile: 1g.10gb}\n"),
        errors=(
            "site.yaml:15:18: node_pools[0].gpu_sharing.replicas: is required when mode is time-slicing\n"
            "  hint: set replicas, e.g. 4",
            "site.yaml:15:52: node_pools[0].gpu_sharing.mig_profile: is set but mode is time-slicing\n"
            "  hint: set mode: mig or remove mig_profile",
        ),
        id="time-slicing",
    ),
    case(
        "settings_match_mode",
        ("purpose: training\n", "purpose: training\n    gpu_sharing: {replicas: 4}\n"),
        errors=(
            "site.yaml:15:29: node_pools[0].gpu_sharing.replicas: is set but mode is none\n"
            "  hint: set mode: time-slicing or remove replicas",
        ),
        id="replicas",
    ),
    case(
        "gpus_match_system",
        ("purpose: training\n", "purpose: training\n    gpus_per_node: 4\n"),
        errors=(
            "site.yaml:11:12: node_pools[0].nodes: tenants' gpu_quotas on pool train add up to 256 GPUs but the "
            "pool has 128 (32 nodes x 4)\n  hint: lower the tenants' gpu_quotas or add nodes to the pool",
            "site.yaml:13:21: node_pools[0].hcas.compute: a rail-optimized node has one compute HCA per GPU: "
            "8 HCAs for gpus_per_node=4\n  hint: set hcas.compute to 4",
            "site.yaml:15:20: node_pools[0].gpus_per_node: H100-SXM-80GB nodes have 8 GPUs (got 4)\n"
            "  hint: remove gpus_per_node or set it to 8",
        ),
    ),
    case(
        "whole_scalable_units",
        train_nodes(40),
        errors=(
            "site.yaml:11:12: node_pools[0].nodes: 40 nodes is not a whole number of scalable units of "
            "scalable_unit_nodes=32\n  hint: use 32 or 64 nodes, or set allow_partial_scalable_unit: true",
        ),
        id="partial",
    ),
    case(
        "whole_scalable_units",
        train_nodes(16),
        ("gpus: 128}]", "gpus: 0}]"),
        errors=(
            "site.yaml:11:12: node_pools[0].nodes: 16 nodes is not a whole number of scalable units of "
            "scalable_unit_nodes=32\n  hint: use 32 nodes, or set allow_partial_scalable_unit: true",
        ),
        id="under-one-su",
    ),
    case(
        "whole_scalable_units",
        ("purpose: training\n", "purpose: training\n    nodes_per_rack: 5\n"),
        errors=(
            "site.yaml:15:21: node_pools[0].nodes_per_rack: scalable_unit_nodes=32 is not a whole number of racks "
            "of nodes_per_rack=5\n  hint: make scalable_unit_nodes a multiple of nodes_per_rack",
        ),
        id="racks",
    ),
    case(
        "one_hca_per_rail",
        (
            "hcas: {compute: 8, storage: 2}\n    purpose: training",
            "hcas: {compute: 4, storage: 2}\n    purpose: training",
        ),
        errors=(
            "site.yaml:13:21: node_pools[0].hcas.compute: a rail-optimized node has one compute HCA per GPU: "
            "4 HCAs for gpus_per_node=8\n  hint: set hcas.compute to 8",
        ),
    ),
    case(
        "mig_profile_exists",
        ("purpose: training\n", "purpose: training\n    gpu_sharing: {mode: mig, mig_profile: 1g.23gb}\n"),
        errors=(
            "site.yaml:15:43: node_pools[0].gpu_sharing.mig_profile: 1g.23gb is not a MIG profile of gpu_model "
            "H100-SXM-80GB\n  hint: use one of 1g.10gb, 1g.20gb, 2g.20gb, 3g.40gb, 4g.40gb, 7g.80gb",
        ),
    ),
    case(
        "node_names_are_hostnames",
        ('"gpu-{index:03d}"', '"GPU-{index:03d}"'),
        errors=(
            "site.yaml:12:24: node_pools[0].node_name_pattern: gives node name 'GPU-001', which is not a hostname "
            "(a DNS-1123 label: lower-case letters, digits and '-', at most 63 characters)\n"
            "  hint: write the pattern in lower case, e.g. gpu-{index:05d}, and keep it short",
        ),
        id="case",
    ),
    case(
        "node_names_are_hostnames",
        ('"gpu-{index:03d}"', '"' + "g" * 60 + '-{index:03d}"'),
        errors=(
            f"site.yaml:12:24: node_pools[0].node_name_pattern: gives node name '{'g' * 60}-001', which is not a "
            "hostname (a DNS-1123 label: lower-case letters, digits and '-', at most 63 characters)\n"
            "  hint: write the pattern in lower case, e.g. gpu-{index:05d}, and keep it short",
        ),
        id="length",
    ),
    case(
        "racks_match_system",
        *NVL_POOL,
        ("    nodes_per_rack: 18\n", "    nodes_per_rack: 9\n"),
        errors=(
            "site.yaml:28:21: node_pools[2].nodes_per_rack: a GB200-NVL72 rack holds 18 nodes (one NVLink domain), "
            "got nodes_per_rack=9\n  hint: set nodes_per_rack: 18",
        ),
    ),
    case(
        "regulated_pools_are_fenced",
        ("    dedicated_to: hospital\n", ""),
        errors=(
            "site.yaml:15:5: node_pools[1].dedicated_to: a pool with purpose regulated must be dedicated to one "
            "tenant\n  hint: set dedicated_to to the regulated tenant's name",
            "site.yaml:74:25: tenants[2].gpu_quotas[0].pool: tenant hospital requires dedicated nodes, but pool "
            "clinic is not dedicated to it (its dedicated_to is unset)\n"
            "  hint: set dedicated_to: hospital on pool clinic, or use a pool dedicated to it",
        ),
        id="owner",
    ),
    case(
        "regulated_pools_are_fenced",
        ("    taints: [{key: gigafactory.eu/tenant, value: hospital, effect: NoSchedule}]\n", ""),
        errors=(
            "site.yaml:15:5: node_pools[1].taints: a pool with purpose regulated needs a NoSchedule or NoExecute "
            "taint so other tenants' pods cannot land on it\n"
            "  hint: add a taint such as {key: gigafactory.eu/tenant, value: <tenant>, effect: NoSchedule}",
        ),
        id="taint",
    ),
    case(
        "switch_matches_generation",
        in_compute("generation: XDR"),
        errors=(
            "site.yaml:25:5: fabrics.compute.switch_model: QM9700 is an NDR switch but generation is XDR\n"
            "  hint: pick QM9700 for NDR or Q3400 for XDR",
        ),
    ),
    case(
        "ufm_has_credentials",
        ("    ufm_credentials_secret: ufmCredentials\n", ""),
        errors=(
            "site.yaml:25:5: fabrics.compute.ufm_credentials_secret: is required when subnet_manager is ufm "
            "(ib-kubernetes pushes partition keys through UFM)\n"
            "  hint: name the Pulumi config secret that holds the UFM credentials",
        ),
    ),
    case(
        "rails_numbered",
        ("{rail: 1,", "{rail: 2,"),
        errors=(
            "site.yaml:28:16: fabrics.compute.ipoib_subnets[1].rail: rails must be listed in order 0, 1, 2, ... "
            "(entry 1 says rail 2)\n  hint: set rail: 1",
        ),
    ),
    case(
        "tenants_listed_once",
        ("tenants: [lab, startup]", "tenants: [lab, startup, lab]"),
        errors=(
            "site.yaml:44:29: storage[0].tenants[2]: lab is already listed at tenants[0]\n"
            "  hint: list each tenant once",
        ),
    ),
    case(
        "interface_fits_kind",
        ("    kind: exascaler\n", "    kind: exascaler\n    interface: object\n"),
        errors=(
            "site.yaml:40:16: storage[0].interface: kind exascaler is served here as a filesystem only (got "
            "interface object)\n  hint: use interface: filesystem, or kind: rook-ceph for object or block storage",
            "site.yaml:44:17: storage[0].mount_path: an object store is not mounted on nodes\n"
            "  hint: remove mount_path",
        ),
        id="object",
    ),
    case(
        "interface_fits_kind",
        ("    mount_path: /lustre\n", ""),
        errors=(
            "site.yaml:38:5: storage[0].mount_path: is required for a filesystem\n"
            "  hint: set mount_path, e.g. /lustre/datasets",
        ),
        id="mount",
    ),
    case(
        "borrowing_needs_cohort",
        (
            "    cohort: shared\n    gpu_quotas: [{pool: train, gpus: 128, b",
            "    gpu_quotas: [{pool: train, gpus: 128, b",
        ),
        errors=(
            "site.yaml:61:60: tenants[0].gpu_quotas[0].borrowing_limit: borrowing needs a cohort to borrow from, but "
            "cohort is not set\n  hint: set cohort on the tenant, or remove borrowing_limit",
            "site.yaml:61:79: tenants[0].gpu_quotas[0].lending_limit: lending needs a cohort to lend to, but cohort "
            "is not set\n  hint: set cohort on the tenant, or remove lending_limit",
        ),
        id="cohort",
    ),
    case(
        "borrowing_needs_cohort",
        ("lending_limit: 64}", "lending_limit: 200}"),
        errors=(
            "site.yaml:62:79: tenants[0].gpu_quotas[0].lending_limit: lends 200 GPUs but the quota's gpus is 128\n"
            "  hint: set lending_limit to at most 128",
        ),
        id="lending-above-quota",
    ),
    case(
        "one_quota_per_pool_and_system",
        (LAB_QUOTA, "gpu_quotas: [{pool: train, gpus: 64}, {pool: train, gpus: 64}]"),
        (
            "storage: [{system: lustre, quota_tb: 500}]",
            "storage: [{system: lustre, quota_tb: 250}, {system: lustre, quota_tb: 250}]",
        ),
        errors=(
            "site.yaml:62:50: tenants[0].gpu_quotas[1].pool: train already has a quota in gpu_quotas[0]\n"
            "  hint: give the tenant one quota per pool; add the two together",
            "site.yaml:63:57: tenants[0].storage[1].system: lustre already has a quota in storage[0]\n"
            "  hint: give the tenant one quota per system; add the two together",
        ),
    ),
    case(
        "name_is_not_a_system_namespace",
        ("name: startup", "name: kube-startup"),
        ("tenants: [lab, startup]", "tenants: [lab, kube-startup]"),
        errors=(
            "site.yaml:64:11: tenants[1].name: kube-startup is a namespace Kubernetes or the platform reserves "
            "for itself\n  hint: name the tenant after the organisation, e.g. oslo-hospital",
        ),
    ),
    case(
        "name_is_not_a_system_namespace",
        ("name: startup", "name: rook-ceph"),
        ("tenants: [lab, startup]", "tenants: [lab, rook-ceph]"),
        errors=(
            "site.yaml:64:11: tenants[1].name: rook-ceph is the namespace of a component of the site; a tenant "
            "there would get its secrets\n  hint: name the tenant after the organisation, e.g. oslo-hospital",
        ),
        id="operator",
    ),
    case(
        "tenants_not_in_storage_namespaces",
        ("kind: weka", "kind: rook-ceph"),
        ("endpoint: https://vms.example.internal", "endpoint: startup/fs"),
        CEPH_NODES,
        errors=(
            "site.yaml:64:11: tenants[1].name: startup is the namespace of Ceph cluster clinical (storage "
            "endpoint)\n  hint: name the tenant after the organisation, e.g. oslo-hospital",
        ),
    ),
    case(
        "regulated_is_isolated",
        ("{dedicated_nodes: true, own_partition: true, encrypted_storage: true, egress: deny}", "{egress: allow}"),
        ("    gpu_quotas: [{pool: clinic", "    cohort: shared\n    gpu_quotas: [{pool: clinic"),
        errors=(
            "site.yaml:75:13: tenants[2].cohort: a regulated tenant may not share capacity through a cohort\n"
            "  hint: remove cohort from the regulated tenant",
            "site.yaml:78:16: tenants[2].isolation.dedicated_nodes: a regulated tenant must have "
            "isolation.dedicated_nodes: true\n"
            "  hint: set isolation.dedicated_nodes: true, or change kind if the tenant is not regulated",
            "site.yaml:78:16: tenants[2].isolation.encrypted_storage: a regulated tenant must have "
            "isolation.encrypted_storage: true\n"
            "  hint: set isolation.encrypted_storage: true, or change kind if the tenant is not regulated",
            "site.yaml:78:16: tenants[2].isolation.own_partition: a regulated tenant must have "
            "isolation.own_partition: true\n"
            "  hint: set isolation.own_partition: true, or change kind if the tenant is not regulated",
            "site.yaml:78:25: tenants[2].isolation.egress: a regulated tenant must have isolation.egress: deny\n"
            "  hint: set isolation.egress: deny",
        ),
    ),
    case(
        "names_unique",
        (
            "NoSchedule}]\n",
            "NoSchedule}]\n"
            "  - name: clinic\n"
            "    gpu_model: H100-SXM-80GB\n"
            "    nodes: 32\n"
            '    node_name_pattern: "clin2-{index:03d}"\n'
            "    hcas: {compute: 8, storage: 2}\n"
            "    purpose: training\n",
        ),
        ("power_envelope_mw: 1.0", "power_envelope_mw: 2.0"),
        errors=(
            "site.yaml:23:11: node_pools[2].name: 'clinic' is already the name of node_pools[1]\n"
            "  hint: give each entry its own name",
        ),
    ),
    case(
        "node_names_unique",
        ('"clin-{index:03d}"', '"gpu-{index:03d}"'),
        errors=(
            "site.yaml:18:24: node_pools[1].node_name_pattern: node name 'gpu-001' is also produced by "
            "node_pools[0].node_name_pattern\n"
            "  hint: give each pool its own prefix in node_name_pattern, or move first_index",
        ),
    ),
    case(
        "node_names_unique",
        (
            "egress: deny}\n",
            "egress: deny}\nstorage_nodes:\n"
            '  - {name: ceph, nodes: 3, node_name_pattern: "ceph-{index:02d}", devices: [nvme0n1]}\n'
            '  - {name: more, nodes: 3, node_name_pattern: "ceph-{index:02d}", first_index: 3, devices: [nvme0n1]}\n'
            '  - {name: gpus, nodes: 2, node_name_pattern: "gpu-{index:03d}", first_index: 32, devices: [nvme0n1]}\n',
        ),
        errors=(
            "site.yaml:80:47: storage_nodes[1].node_name_pattern: node name 'ceph-03' is also produced by "
            "storage_nodes[0].node_name_pattern\n"
            "  hint: give each pool its own prefix in node_name_pattern, or move first_index",
            "site.yaml:81:47: storage_nodes[2].node_name_pattern: node name 'gpu-032' is also produced by "
            "node_pools[0].node_name_pattern\n"
            "  hint: give each pool its own prefix in node_name_pattern, or move first_index",
        ),
        id="storage",
    ),
    case(
        "partition_keys_unique",
        ("pkey: 0x8002", "pkey: 0x0001"),
        errors=(
            "site.yaml:67:11: tenants[1].pkey: 0x0001 names the same partition as tenants[0].pkey 0x8001 (tenant "
            "lab); the top bit only marks membership\n  hint: give each tenant its own partition key",
        ),
    ),
    case(
        "partition_keys_unique",
        # The fabric planner's shared partition (infra/plan/fabric/partitions.py), with or without the
        # membership bit: the field accepts 0x7ffe, the site's rule refuses it.
        ("pkey: 0x8002", "pkey: 0xfffe"),
        ("pkey: 0x8003", "pkey: 0x7ffe"),
        errors=(
            "site.yaml:67:11: tenants[1].pkey: 0xfffe names 0x7ffe, the site's shared partition (every compute "
            "port but an isolated tenant's once the fabric is discovered)\n  hint: pick another partition key for "
            "the tenant",
            "site.yaml:74:11: tenants[2].pkey: 0x7ffe names 0x7ffe, the site's shared partition (every compute "
            "port but an isolated tenant's once the fabric is discovered)\n  hint: pick another partition key for "
            "the tenant",
        ),
        id="shared",
    ),
    case(
        "rails_have_subnets",
        ("      - {rail: 7, subnet: 10.0.28.0/22}\n", ""),
        errors=(
            "site.yaml:13:21: node_pools[0].hcas.compute: 8 compute HCAs need 8 rails, but "
            "fabrics.compute.ipoib_subnets lists 7\n  hint: add IPoIB subnets for rails 7..7",
            "site.yaml:19:21: node_pools[1].hcas.compute: 8 compute HCAs need 8 rails, but "
            "fabrics.compute.ipoib_subnets lists 7\n  hint: add IPoIB subnets for rails 7..7",
        ),
        id="missing",
    ),
    case(
        "rails_have_subnets",
        (
            "      - {rail: 7, subnet: 10.0.28.0/22}\n",
            "      - {rail: 7, subnet: 10.0.28.0/22}\n      - {rail: 8, subnet: 10.0.32.0/22}\n",
        ),
        errors=(
            "site.yaml:35:9: fabrics.compute.ipoib_subnets[8]: lists 9 rails but no node pool has more than 8 "
            "compute HCAs\n  hint: keep rails 0..7 only",
        ),
        id="extra",
    ),
    case(
        "scalable_units_fit_leaves",
        train_nodes(64, "scalable_unit_nodes: 64"),
        ("power_envelope_mw: 1.0", "power_envelope_mw: 2.0"),
        errors=(
            "site.yaml:12:26: node_pools[0].scalable_unit_nodes: 64 nodes per SU need 64 leaf ports per rail, but a "
            "QM9700 leaf at fabrics.compute.oversubscription=1 has 32\n"
            "  hint: use at most 32 nodes per SU, or raise oversubscription",
        ),
    ),
    case(
        "subnets_disjoint_and_large_enough",
        ("{rail: 1, subnet: 10.0.4.0/22}", "{rail: 1, subnet: 10.0.0.0/21}"),
        ("    subnet: 10.1.0.0/24\n", "    subnet: 10.0.28.0/22\n"),
        errors=(
            "site.yaml:28:27: fabrics.compute.ipoib_subnets[1].subnet: 10.0.0.0/21 overlaps "
            "fabrics.compute.ipoib_subnets[0].subnet 10.0.0.0/22\n"
            "  hint: give every rail and the storage fabric its own subnet",
            "site.yaml:36:13: fabrics.storage.subnet: 10.0.28.0/22 overlaps fabrics.compute.ipoib_subnets[7].subnet "
            "10.0.28.0/22\n  hint: give every rail and the storage fabric its own subnet",
        ),
        id="overlap",
    ),
    case(
        "subnets_disjoint_and_large_enough",
        *NVL_POOL,
        ("10.0.0.0/22", "10.0.0.0/26"),
        ("10.0.16.0/22", "10.0.16.0/26"),
        ("    subnet: 10.1.0.0/24\n", "    subnet: 10.1.0.0/25\n"),
        errors=(
            "site.yaml:35:27: fabrics.compute.ipoib_subnets[0].subnet: 10.0.0.0/26 holds 62 hosts but the 82 nodes "
            "with an HCA on rail 0 need 656 pod addresses (8 per node, one per GPU's virtual function)\n"
            "  hint: use a prefix of /22 or shorter",
            "site.yaml:39:27: fabrics.compute.ipoib_subnets[4].subnet: 10.0.16.0/26 holds 62 hosts but the 64 nodes "
            "with an HCA on rail 4 need 512 pod addresses (8 per node, one per GPU's virtual function)\n"
            "  hint: use a prefix of /22 or shorter",
            "site.yaml:44:13: fabrics.storage.subnet: 10.1.0.0/25 holds 126 hosts but the node pools have 164 "
            "storage ports (nodes x hcas.storage)\n  hint: use a prefix of /24 or shorter",
        ),
        id="size",
    ),
    case(
        "driver_supports_gpus",
        operators('driver_version: "530.30.02"'),
        errors=(
            "site.yaml:58:21: operators.gpu_operator.driver_version: 530.30.02 is older than 535.54.03, the first "
            "driver for node_pools[0].gpu_model H100-SXM-80GB\n  hint: use driver 535.54.03 or newer",
            "site.yaml:58:21: operators.gpu_operator.driver_version: 530.30.02 is older than 535.54.03, the first "
            "driver for node_pools[1].gpu_model H100-SXM-80GB\n  hint: use driver 535.54.03 or newer",
            "site.yaml:58:21: operators.gpu_operator.driver_version: driver branch R530 is not supported by the "
            "pinned GPU Operator line\n  hint: use a driver from branch R580 or R595",
        ),
        id="hopper",
    ),
    case(
        "driver_supports_gpus",
        (
            'gpu_model: H100-SXM-80GB\n    nodes: 32\n    node_name_pattern: "gpu',
            'gpu_model: B200\n    nodes: 32\n    node_name_pattern: "gpu',
        ),
        operators('driver_version: "570.124.06"', "version: v25.0.0"),
        errors=(
            "site.yaml:58:21: operators.gpu_operator.driver_version: 570.124.06 is older than 570.133.20, the first "
            "driver for node_pools[0].gpu_model B200\n  hint: use driver 570.133.20 or newer",
            "site.yaml:58:21: operators.gpu_operator.driver_version: driver branch R570 is not supported by the "
            "pinned GPU Operator line\n  hint: use a driver from branch R580 or R595",
            "site.yaml:59:14: operators.gpu_operator.version: GPU Operator v25.0.0 predates Blackwell support, "
            "needed by node_pools[0].gpu_model B200\n  hint: use GPU Operator v25.3.0 or newer",
        ),
        id="blackwell",
    ),
    case(
        "driver_supports_gpus",
        *NVL_POOL,
        operators("kernel_module_type: proprietary"),
        errors=(
            "site.yaml:66:25: operators.gpu_operator.kernel_module_type: node_pools[2].gpu_model GB200-NVL72 needs "
            "the open kernel modules\n  hint: set kernel_module_type: open",
        ),
        id="open-modules",
    ),
    case(
        "one_cluster_holds_nodes",
        train_nodes(40000),
        ('nodes: 32\n    node_name_pattern: "clin', 'nodes: 32000\n    node_name_pattern: "clin'),
        ("power_envelope_mw: 1.0", "power_envelope_mw: 1000"),
        *((f"10.0.{4 * rail}.0/22", f"10.{16 * rail}.0.0/12") for rail in range(8)),
        ("    subnet: 10.1.0.0/24\n", "    subnet: 10.128.0.0/14\n"),
        errors=(
            "site.yaml:11:12: node_pools[0].nodes: the site has 72,000 nodes in its node pools, more than the "
            "65,000 nodes the largest Kubernetes clusters run\n"
            "  hint: split the site into several sites (one cluster each)",
        ),
    ),
    case(
        "power_covers_gpus",
        ("power_envelope_mw: 1.0", "power_envelope_mw: 0.8"),
        errors=(
            "site.yaml:7:22: site.power_envelope_mw: 0.8 MW does not cover the GPU nodes: 0.65 MW at full load x "
            "site.pue 1.25 = 0.82 MW\n  hint: raise power_envelope_mw, lower pue, or remove nodes from node_pools",
        ),
    ),
    case(
        "quotas_fit_pools",
        ("{pool: train, gpus: 128, borrowing", "{pool: train, gpus: 200, borrowing"),
        errors=(
            "site.yaml:11:12: node_pools[0].nodes: tenants' gpu_quotas on pool train add up to 328 GPUs but the "
            "pool has 256 (32 nodes x 8)\n  hint: lower the tenants' gpu_quotas or add nodes to the pool",
        ),
        id="capacity",
    ),
    case(
        "quotas_fit_pools",
        ("{pool: train, gpus: 128}", "{pool: trian, gpus: 128}"),
        errors=(
            "site.yaml:69:25: tenants[1].gpu_quotas[0].pool: no node pool is called 'trian'\n"
            "  hint: known node pools: train, clinic",
        ),
        id="unknown-pool",
    ),
    case(
        "storage_access_consistent",
        ("tenants: [lab, startup]", "tenants: [lab, startup, nobody]"),
        errors=(
            "site.yaml:44:29: storage[0].tenants[2]: no tenant is called 'nobody'\n"
            "  hint: known tenants: lab, startup, hospital",
        ),
        id="unknown-tenant",
    ),
    case(
        "storage_access_consistent",
        ("[{system: lustre, quota_tb: 400}]", "[{system: lustr, quota_tb: 400}]"),
        errors=(
            "site.yaml:70:24: tenants[1].storage[0].system: no storage system is called 'lustr'\n"
            "  hint: known storage systems: lustre, clinical",
        ),
        id="unknown-system",
    ),
    case(
        "storage_access_consistent",
        ("tenants: [lab, startup]", "tenants: [lab]"),
        errors=(
            "site.yaml:70:24: tenants[1].storage[0].system: tenant startup has a quota on lustre, but storage "
            "lustre.tenants does not list it\n"
            "  hint: add startup to the tenants of storage lustre, or remove the quota",
        ),
        id="not-listed",
    ),
    case(
        "storage_quotas_fit_capacity",
        ("quota_tb: 500}", "quota_tb: 700}"),
        errors=(
            "site.yaml:40:18: storage[0].capacity_tb: tenants' storage quotas on lustre add up to 1100 TB but its "
            "capacity_tb is 1000\n  hint: lower the tenants' quota_tb on lustre or raise its capacity_tb",
        ),
    ),
    case(
        "mount_paths_distinct",
        ("mount_path: /clinical", "mount_path: /lustre/clinical"),
        errors=(
            "site.yaml:51:17: storage[1].mount_path: /lustre/clinical nests with storage[0].mount_path /lustre "
            "(lustre); one mount would hide the other on every node\n"
            "  hint: give each filesystem its own mount path beside the others, e.g. /lustre/a and /lustre/b",
        ),
        id="nested",
    ),
    case(
        "mount_paths_distinct",
        ("mount_path: /clinical", "mount_path: /lustre/"),
        errors=(
            "site.yaml:51:17: storage[1].mount_path: /lustre/ is storage[0].mount_path /lustre (lustre); one mount "
            "would hide the other on every node\n"
            "  hint: give each filesystem its own mount path beside the others, e.g. /lustre/a and /lustre/b",
        ),
        id="same",
    ),
    case(
        "dedicated_pools_owned",
        ("dedicated_to: hospital", "dedicated_to: hospitl"),
        errors=(
            "site.yaml:21:19: node_pools[1].dedicated_to: no tenant is called 'hospitl'\n"
            "  hint: known tenants: lab, startup, hospital",
            "site.yaml:75:25: tenants[2].gpu_quotas[0].pool: tenant hospital requires dedicated nodes, but pool "
            "clinic is not dedicated to it (its dedicated_to is hospitl)\n"
            "  hint: set dedicated_to: hospital on pool clinic, or use a pool dedicated to it",
        ),
        id="unknown-owner",
    ),
    case(
        "dedicated_pools_owned",
        ("[{pool: train, gpus: 128}]", "[{pool: train, gpus: 128}, {pool: clinic, gpus: 0}]"),
        errors=(
            "site.yaml:69:51: tenants[1].gpu_quotas[1].pool: pool clinic is dedicated to tenant hospital "
            "(node_pools[1].dedicated_to)\n  hint: move tenant startup's quota to a shared pool",
        ),
        id="other-tenant",
    ),
    case(
        "regulated_tenants_isolated",
        ("[{pool: clinic, gpus: 256}]", "[{pool: clinic, gpus: 256}, {pool: train, gpus: 0}]"),
        errors=(
            "site.yaml:75:52: tenants[2].gpu_quotas[1].pool: tenant hospital requires dedicated nodes, but pool "
            "train is not dedicated to it (its dedicated_to is unset)\n"
            "  hint: set dedicated_to: hospital on pool train, or use a pool dedicated to it",
        ),
        id="shared-pool",
    ),
    case(
        "regulated_tenants_isolated",
        ("    encrypted: true\n", ""),
        errors=(
            "site.yaml:75:24: tenants[2].storage[0].system: tenant hospital requires encrypted storage, but storage "
            "clinical has encrypted: false\n"
            "  hint: set encrypted: true on clinical, or give the tenant an encrypted system",
        ),
        id="unencrypted",
    ),
    case(
        "regulated_tenants_isolated",
        (
            "    cohort: shared\n    gpu_quotas: [{pool: train, gpus: 128}]",
            "    cohort: shared\n    gpu_quotas: [{pool: train, gpus: 128}]\n    isolation: {encrypted_storage: true}",
        ),
        errors=(
            "site.yaml:71:24: tenants[1].storage[0].system: tenant startup requires encrypted storage, but storage "
            "lustre has encrypted: false\n"
            "  hint: set encrypted: true on lustre, or give the tenant an encrypted system",
        ),
        id="unencrypted-not-regulated",
    ),
    case(
        "regulated_tenants_isolated",
        ("tenants: [hospital]", "tenants: [hospital, lab]"),
        errors=(
            "site.yaml:76:24: tenants[2].storage[0].system: regulated tenant hospital shares storage clinical with "
            "lab\n  hint: give hospital a storage system of its own",
        ),
        id="shared-storage",
    ),
    case(
        "regulated_tenants_isolated",
        ("    purpose: regulated\n", "    purpose: inference\n"),
        ("    taints: [{key: gigafactory.eu/tenant, value: hospital, effect: NoSchedule}]\n", ""),
        errors=(
            "site.yaml:15:5: node_pools[1].taints: pool clinic is dedicated to tenant hospital, which requires "
            "dedicated nodes, but has no NoSchedule or NoExecute taint to keep other pods off\n"
            "  hint: add a taint such as {key: gigafactory.eu/tenant, value: hospital, effect: NoSchedule}",
        ),
        id="untainted",
    ),
    case(
        "regulated_storage_access",
        ("tenants: [lab, startup]", "tenants: [lab, startup, hospital]"),
        errors=(
            "site.yaml:44:29: storage[0].tenants[2]: regulated tenant hospital is listed on storage lustre together "
            "with lab, startup\n  hint: give hospital a storage system of its own",
        ),
        id="regulated",
    ),
    case(
        "regulated_storage_access",
        ("    storage: [{system: lustre, quota_tb: 500}]\n", "    isolation: {encrypted_storage: true}\n"),
        errors=(
            "site.yaml:44:15: storage[0].tenants[0]: tenant lab requires encrypted storage, but storage lustre has "
            "encrypted: false\n  hint: set encrypted: true on lustre, or remove lab from its tenants",
        ),
        id="unencrypted",
    ),
    case(
        "ceph_runs_on_storage_nodes",
        ("    kind: weka\n", "    kind: rook-ceph\n"),
        errors=(
            "site.yaml:47:11: storage[1].kind: rook-ceph runs Ceph on the site's storage nodes, and storage_nodes is "
            "empty (Ceph on GPU nodes would take their disks and block their drains)\n"
            "  hint: add a storage_nodes pool: nodes, node_name_pattern and the devices Ceph may take",
        ),
    ),
]


VALID = [
    case("encryption_at_rest_is_configured_or_attested", CLINICAL_VAST, ATTESTED),
    case("ceph_runs_on_storage_nodes", ("    kind: weka\n", "    kind: rook-ceph\n"), CEPH_NODES),
    case(
        "encryption_keys_in_a_key_manager",
        ("    kind: weka\n", "    kind: rook-ceph\n"),
        (
            "    encrypted: true\n",
            '    encrypted: true\n    kms: {provider: vault, address: "https://vault:8200", secret: vaultToken}\n',
        ),
        CEPH_NODES,
    ),
    case("kubernetes_supported", in_site('kubernetes_version: "1.33"')),
    case(
        "settings_match_mode",
        ("purpose: training\n", "purpose: training\n    gpu_sharing: {mode: time-slicing, replicas: 4}\n"),
    ),
    case("gpus_match_system", ("purpose: training\n", "purpose: training\n    gpus_per_node: 8\n")),
    case(
        "whole_scalable_units",
        train_nodes(40),
        ("purpose: training\n", "purpose: training\n    allow_partial_scalable_unit: true\n    nodes_per_rack: 4\n"),
    ),
    case("racks_hold_their_nodes", *NVL_POOL),
    case(
        "one_hca_per_rail",
        (
            "hcas: {compute: 8, storage: 2}\n    purpose: training",
            "hcas: {compute: 8, storage: 0}\n    purpose: training",
        ),
    ),
    case(
        "mig_profile_exists",
        ("purpose: training\n", "purpose: training\n    gpu_sharing: {mode: mig, mig_profile: 1g.10gb}\n"),
    ),
    case("node_names_are_hostnames", ('"gpu-{index:03d}"', '"' + "g" * 59 + '-{index:03d}"')),
    case("racks_match_system", *NVL_POOL),
    case("regulated_pools_are_fenced", ("effect: NoSchedule}]", "effect: NoExecute}]")),
    case("switch_matches_generation", in_compute("generation: NDR")),
    case("ufm_has_credentials", ("    ufm_credentials_secret: ufmCredentials\n", "    subnet_manager: opensm\n")),
    case("rails_numbered"),
    case("tenants_listed_once"),
    case(
        "interface_fits_kind",
        ("    kind: weka\n", "    kind: rook-ceph\n    interface: block\n"),
        ("    mount_path: /clinical\n", ""),
        CEPH_NODES,
    ),
    case("borrowing_needs_cohort", ("lending_limit: 64}", "lending_limit: 128}")),
    case("one_quota_per_pool_and_system"),
    case(
        "name_is_not_a_system_namespace",
        ("name: startup", "name: kubeflow-startup"),
        ("tenants: [lab, startup]", "tenants: [lab, kubeflow-startup]"),
    ),
    case("regulated_is_isolated"),
    case(
        "tenants_not_in_storage_namespaces",
        ("kind: weka", "kind: rook-ceph"),
        ("endpoint: https://vms.example.internal", "endpoint: ceph-clinical/fs"),
        CEPH_NODES,
    ),
    case("names_unique", *NVL_POOL),
    case("node_names_unique", ('"clin-{index:03d}"', '"gpu-{index:03d}"\n    first_index: 33')),
    case("partition_keys_unique", ("pkey: 0x8002", "pkey: 0x7ffd"), ("pkey: 0x8003", "pkey: 0x0003")),
    case("rails_have_subnets"),
    case(
        "scalable_units_fit_leaves",
        train_nodes(48, "scalable_unit_nodes: 48"),
        in_compute("oversubscription: 3.0"),
        ("power_envelope_mw: 1.0", "power_envelope_mw: 2.0"),
    ),
    case(
        "subnets_disjoint_and_large_enough",
        # 64 nodes x 8 pod addresses = 512: a /22 (1,022 hosts) holds them, a /23 (510) would not.
        ("10.0.4.0/22", "10.0.32.0/22"),  # rail 1 moved next to rail 7's block: adjacent, not overlapping
        ("    subnet: 10.1.0.0/24\n", "    subnet: 10.0.36.0/24\n"),  # 128 storage ports in 254 hosts
    ),
    case(
        "driver_supports_gpus",
        (
            'gpu_model: H100-SXM-80GB\n    nodes: 32\n    node_name_pattern: "gpu',
            'gpu_model: B200\n    nodes: 32\n    node_name_pattern: "gpu',
        ),
        operators('driver_version: "580.126.20"', "version: v25.3.0"),
    ),
    case("one_cluster_holds_nodes"),
    case("power_covers_gpus", ("power_envelope_mw: 1.0", "power_envelope_mw: 0.816")),
    case("quotas_fit_pools"),  # the compact site books pool train exactly full: 128 + 128 of 256 GPUs
    case("storage_access_consistent"),
    case("storage_quotas_fit_capacity", ("quota_tb: 500}", "quota_tb: 600}")),
    case("mount_paths_distinct", ("mount_path: /clinical", "mount_path: /lustre-clinical")),
    case("dedicated_pools_owned"),
    case("regulated_tenants_isolated"),
    # Listed on a storage system without a quota there: fine for a tenant that is not regulated.
    case("regulated_storage_access", ("    storage: [{system: lustre, quota_tb: 400}]\n", "")),
]


# Every rule's message names the file, line and column, the field, and (in a hint) the fix.
LOCATED_WITH_FIX = re.compile(r"^(site|base)\.yaml:\d+:\d+: [a-z_]+(\[\d+\]|\.[a-z0-9_]+)*: \S.*\n  hint: \S", re.S)


@pytest.mark.parametrize("given", FAILING)
def test_rule_fails_with_exact_message(site_files: SiteFiles, given: Case) -> None:
    assert given.errors, f"rule {given.rule}: a failing fixture must name the errors it expects"
    for error in given.errors:
        assert LOCATED_WITH_FIX.match(error), f"rule {given.rule}: {error!r} lacks file:line:col, field or fix"
    errors = site_files.errors(*given.edits)
    assert errors == list(given.errors), f"rule {given.rule}: errors differ"


@pytest.mark.parametrize("given", VALID)
def test_rule_passes_valid_fixture(site_files: SiteFiles, given: Case) -> None:
    assert site_files.errors(*given.edits) == [], f"rule {given.rule}: the valid fixture must validate"


def site_models() -> set[type[BaseModel]]:
    """Every model class reachable from ``SiteConfig``."""
    found: set[type[BaseModel]] = set()
    todo: list[type[BaseModel]] = [SiteConfig]
    while todo:
        model = todo.pop()
        if model not in found:
            found.add(model)
            todo.extend(m for f in model.model_fields.values() if (m := find_model(f.annotation)) is not None)
    return found


def test_every_rule_has_a_failing_and_a_valid_fixture() -> None:
    models = site_models()
    assert len(models) >= 20, f"the walk must reach every part of the site model (found {len(models)})"
    rules = {check.__name__ for model in models for check in rules_of(model)}
    failing = {p.values[0].rule for p in FAILING}  # type: ignore[attr-defined]
    valid = {p.values[0].rule for p in VALID}  # type: ignore[attr-defined]
    assert rules - failing == set(), "rules without a failing fixture"
    assert rules - valid == set(), "rules without a valid fixture"
    assert failing | valid <= rules, "fixtures name rules that do not exist"
