"""Single-field checks: constrained types, enums and keys, each with its exact message and position."""

from __future__ import annotations

import pytest
from sitefiles import Edit, SiteFiles

HEX_ONLY = "must be a partition key written in hex, e.g. 0x8001"
PKEY_RANGE = (
    "must name a partition 0x0001-0x7FFE (0x7FFF is the default partition; the top bit 0x8000 only marks full "
    "membership)"
)
PATTERN = "must contain an {index} field and nothing else in braces, e.g. gpu-{index:04d}"
DNS = (
    "must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit, "
    "at most 63 characters"
)


def one(edit: Edit, error: str) -> object:
    """A fixture of one edit and the one error it must give."""
    return pytest.param(edit, error, id=edit[1].strip().split("\n")[-1][:40])


@pytest.mark.parametrize(
    ("edit", "error"),
    [
        one(("name: test-site", "name: Test_Site"), f"site.yaml:3:9: site.name: {DNS} (got 'Test_Site')"),
        one(("name: test-site", "name: " + "a" * 64), f"site.yaml:3:9: site.name: {DNS} (got '{'a' * 64}')"),
        one(
            ("country: NO", "country: Norway"),
            "site.yaml:5:12: site.country: must be an ISO 3166-1 alpha-2 country code in capitals, e.g. DE "
            "(got 'Norway')",
        ),
        one(
            ("country: NO", "country: no"),
            "site.yaml:5:12: site.country: must be an ISO 3166-1 alpha-2 country code in capitals, e.g. DE (got 'no')",
        ),
        one(
            ("  country: NO\n", '  country: NO\n  kubernetes_version: "v1.35"\n'),
            "site.yaml:6:23: site.kubernetes_version: must be a Kubernetes minor version such as '1.35' (got 'v1.35')",
        ),
        one(
            ("kube_context: test-admin", 'kube_context: ""'),
            "site.yaml:6:17: site.kube_context: must have at least 1 character (got '')",
        ),
        one(
            ("power_envelope_mw: 1.0", "power_envelope_mw: .inf"),
            "site.yaml:7:22: site.power_envelope_mw: must be a valid number (got '.inf')",
        ),
        one(
            ("power_envelope_mw: 1.0", 'power_envelope_mw: "1.0"'),
            "site.yaml:7:22: site.power_envelope_mw: must be a valid number (got '1.0')",
        ),
        one(
            ("power_envelope_mw: 1.0", "power_envelope_mw: 0"),
            "site.yaml:7:22: site.power_envelope_mw: must be greater than 0 (got 0)",
        ),
        one(
            ('    nodes: 32\n    node_name_pattern: "gpu', '    nodes: "32"\n    node_name_pattern: "gpu'),
            "site.yaml:11:12: node_pools[0].nodes: must be a valid integer (got '32')",
        ),
        one(
            ('    nodes: 32\n    node_name_pattern: "gpu', '    nodes: true\n    node_name_pattern: "gpu'),
            "site.yaml:11:12: node_pools[0].nodes: must be a valid integer (got true)",
        ),
        one(
            ('    nodes: 32\n    node_name_pattern: "gpu', '    nodes: -4\n    node_name_pattern: "gpu'),
            "site.yaml:11:12: node_pools[0].nodes: must be greater than 0 (got -4)",
        ),
        one(
            ('    nodes: 32\n    node_name_pattern: "gpu', '    nodes: 65024\n    node_name_pattern: "gpu'),
            "site.yaml:11:12: node_pools[0].nodes: must be less than or equal to 65000 (got 65024)",
        ),
        one(
            ('"gpu-{index:03d}"', '"gpu-{n}"'),
            f"site.yaml:12:24: node_pools[0].node_name_pattern: {PATTERN} (got 'gpu-{{n}}')",
        ),
        one(('"gpu-{index:03d}"', '"gpu"'), f"site.yaml:12:24: node_pools[0].node_name_pattern: {PATTERN} (got 'gpu')"),
        one(
            ('"gpu-{index:03d}"', '"gpu-{index}-{index}"'),
            f"site.yaml:12:24: node_pools[0].node_name_pattern: {PATTERN} (got 'gpu-{{index}}-{{index}}')",
        ),
        one(
            ('"gpu-{index:03d}"', '"gpu-{index[0]}"'),
            f"site.yaml:12:24: node_pools[0].node_name_pattern: {PATTERN} (got 'gpu-{{index[0]}}')",
        ),
        one(
            ('"gpu-{index:03d}"', '"gpu-{index!r}"'),
            f"site.yaml:12:24: node_pools[0].node_name_pattern: {PATTERN} (got 'gpu-{{index!r}}')",
        ),
        one(
            ('"gpu-{index:03d}"', '"gpu-{index"'),
            f"site.yaml:12:24: node_pools[0].node_name_pattern: {PATTERN} (got 'gpu-{{index')",
        ),
        one(
            ('"gpu-{index:03d}"', '"gpu-{index:0999999d}"'),
            "site.yaml:12:24: node_pools[0].node_name_pattern: may only zero-pad the index, e.g. {index:04d}, so "
            "every name is a hostname (got 'gpu-{index:0999999d}')",
        ),
        one(
            ('"gpu-{index:03d}"', '"gpu-{index:x}"'),
            "site.yaml:12:24: node_pools[0].node_name_pattern: may only zero-pad the index, e.g. {index:04d}, so "
            "every name is a hostname (got 'gpu-{index:x}')",
        ),
        one(
            ("    purpose: training\n", "    purpose: training\n    driver_upgrade: {max_unavailable: '25'}\n"),
            "site.yaml:15:39: node_pools[0].driver_upgrade.max_unavailable: must be a node count or a percentage "
            "such as '25%' (got '25')",
        ),
        one(
            ("    purpose: training\n", "    purpose: training\n    driver_upgrade: {max_unavailable: 0}\n"),
            "site.yaml:15:39: node_pools[0].driver_upgrade.max_unavailable: must be at least 1 node (got 0)",
        ),
        one(
            ("    purpose: training\n", "    purpose: training\n    driver_upgrade: {max_unavailable: true}\n"),
            "site.yaml:15:39: node_pools[0].driver_upgrade.max_unavailable: must be a node count or a percentage "
            "such as '25%' (got True)",
        ),
        one(
            ("    purpose: training\n", "    purpose: training\n    multi_node_nvlink: true\n"),
            "site.yaml:15:24: node_pools[0].multi_node_nvlink: multi-node NVLink (ComputeDomains) is not deployed: "
            "GPU Operator v26.7.0 offers it only through the experimental GPUCluster stack, exclusive with "
            "ClusterPolicy; set multi_node_nvlink: false (NVLink then spans one node) (got true)",
        ),
        one(
            ("ufm_credentials_secret: ufmCredentials", 'ufm_credentials_secret: "-----BEGIN PRIVATE KEY-----"'),
            "site.yaml:25:29: fabrics.compute.ufm_credentials_secret: must name a Pulumi config secret (letters, "
            "digits, '_', '.', ':' or '-'), never hold the secret itself; set the value with `pulumi config set "
            "--secret <name>` (got a value that is not a name, not shown here)",
        ),
        one(
            ("10.0.0.0/22", "10.0.0.1/22"),
            "site.yaml:27:27: fabrics.compute.ipoib_subnets[0].subnet: must be an IPv4 network in CIDR form such "
            "as 10.20.0.0/16; 10.0.0.1/22 has host bits set (got '10.0.0.1/22')",
        ),
        one(
            ("10.0.0.0/22", "fd00::/64"),
            "site.yaml:27:27: fabrics.compute.ipoib_subnets[0].subnet: must be an IPv4 network in CIDR form such "
            "as 10.20.0.0/16; Expected 4 octets in 'fd00::' (got 'fd00::/64')",
        ),
        one(
            ("10.0.0.0/22", "167772160"),
            "site.yaml:27:27: fabrics.compute.ipoib_subnets[0].subnet: must be an IPv4 network in CIDR form such "
            "as 10.20.0.0/16 (got 167772160)",
        ),
        one(
            ("mount_path: /lustre", "mount_path: lustre"),
            "site.yaml:43:17: storage[0].mount_path: must be an absolute path such as /lustre/datasets (got 'lustre')",
        ),
        one(
            ("    encrypted: true\n", "    encrypted: yes\n"),
            "site.yaml:52:16: storage[1].encrypted: must be a valid boolean (got 'yes')",
        ),
        one(
            ("capacity_tb: 1000", 'capacity_tb: "1000"'),
            "site.yaml:40:18: storage[0].capacity_tb: must be a valid number (got '1000')",
        ),
        one(("pkey: 0x8001", "pkey: 0x7fff"), f"site.yaml:60:11: tenants[0].pkey: {PKEY_RANGE} (got 0x7fff)"),
        one(("pkey: 0x8001", "pkey: 0xffff"), f"site.yaml:60:11: tenants[0].pkey: {PKEY_RANGE} (got 0xffff)"),
        one(("pkey: 0x8001", "pkey: 0x8000"), f"site.yaml:60:11: tenants[0].pkey: {PKEY_RANGE} (got 0x8000)"),
        one(("pkey: 0x8001", "pkey: 0x0000"), f"site.yaml:60:11: tenants[0].pkey: {PKEY_RANGE} (got 0x0000)"),
        one(("pkey: 0x8001", "pkey: 0x18001"), f"site.yaml:60:11: tenants[0].pkey: {PKEY_RANGE} (got 0x18001)"),
        one(("pkey: 0x8001", 'pkey: "8001"'), f"site.yaml:60:11: tenants[0].pkey: {HEX_ONLY} (got '8001')"),
        one(("pkey: 0x8001", "pkey: 0xZZ"), f"site.yaml:60:11: tenants[0].pkey: {HEX_ONLY} (got '0xZZ')"),
        one(("pkey: 0x8001", "pkey: true"), f"site.yaml:60:11: tenants[0].pkey: {HEX_ONLY} (got True)"),
        one(("pkey: 0x8001", "pkey: 1.0"), f"site.yaml:60:11: tenants[0].pkey: {HEX_ONLY} (got 1.0)"),
        one(
            ("tenants:\n", "operators:\n  kueue: {version: latest}\ntenants:\n"),
            "site.yaml:57:20: operators.kueue.version: must be a release version such as 'v26.7.0' (got 'latest')",
        ),
        one(
            ("tenants:\n", "operators:\n  gpu_operator: {driver_version: 595}\ntenants:\n"),
            "site.yaml:57:34: operators.gpu_operator.driver_version: must be an NVIDIA driver version such as "
            "'595.91.07' (got '595')",
        ),
    ],
)
def test_field_error(site_files: SiteFiles, edit: Edit, error: str) -> None:
    assert site_files.errors(edit) == [error]


@pytest.mark.parametrize(
    "edit",
    [
        ("pkey: 0x8001", "pkey: 0x0001"),
        # The field's top partition is 0x7ffe, which the site's shared partition takes (test_rules.py).
        ("pkey: 0x8001", "pkey: 0x7ffd"),
        ("pkey: 0x8001", "pkey: 0xfffd"),
        ("pkey: 0x8001", 'pkey: "0x8001"'),
        ("10.0.28.0/22", "10.0.32.0/21"),
        ('"gpu-{index:03d}"', '"gpu-{index}"'),
        ('"gpu-{index:03d}"', '"gpu-{index:d}"'),
        ('"gpu-{index:03d}"', '"r1-gpu{index:05d}"'),
        ("    purpose: training\n", "    purpose: training\n    driver_upgrade: {max_unavailable: '100%'}\n"),
        ("power_envelope_mw: 1.0", "power_envelope_mw: 1"),
        ("capacity_tb: 1000", "capacity_tb: 1e3"),
    ],
)
def test_field_accepts(site_files: SiteFiles, edit: Edit) -> None:
    assert site_files.errors(edit) == [], f"{edit[1].strip()} must validate"


@pytest.mark.parametrize(
    ("edit", "errors"),
    [
        (
            (
                'gpu_model: H100-SXM-80GB\n    nodes: 32\n    node_name_pattern: "gpu',
                'gpu_model: H100\n    nodes: 32\n    node_name_pattern: "gpu',
            ),
            ["site.yaml:10:16: node_pools[0].gpu_model: 'H100' is not allowed\n  hint: did you mean H100-SXM-80GB?"],
        ),
        (
            ("purpose: training", "purpose: train"),
            ["site.yaml:14:14: node_pools[0].purpose: 'train' is not allowed\n  hint: did you mean training?"],
        ),
        (
            ("kind: exascaler", "kind: lustre"),
            [
                "site.yaml:39:11: storage[0].kind: 'lustre' is not allowed\n"
                "  hint: allowed values: exascaler, weka, vast, rook-ceph"
            ],
        ),
        (
            ('    nodes: 32\n    node_name_pattern: "gpu', '    nodez: 32\n    node_name_pattern: "gpu'),
            [
                "site.yaml:9:5: node_pools[0].nodes: is required\n  hint: add nodes: Number of nodes.",
                "site.yaml:11:5: node_pools[0].nodez: unknown key\n  hint: did you mean nodes?",
            ],
        ),
        (
            ('    nodes: 32\n    node_name_pattern: "gpu', '    node_count: 32\n    node_name_pattern: "gpu'),
            [
                "site.yaml:9:5: node_pools[0].nodes: is required\n  hint: add nodes: Number of nodes.",
                "site.yaml:11:5: node_pools[0].node_count: unknown key\n  hint: node_count was renamed: use nodes",
            ],
        ),
        (
            ("power_envelope_mw: 1.0", "power_mw: 1.0"),
            [
                "site.yaml:3:3: site.power_envelope_mw: is required\n"
                "  hint: add power_envelope_mw: Facility power available to IT load, MW.",
                "site.yaml:7:3: site.power_mw: unknown key\n  hint: power_mw was renamed: use power_envelope_mw",
            ],
        ),
        (
            ("  compute:\n", "  compute:\n    radix: 64\n"),
            [
                "site.yaml:25:5: fabrics.compute.radix: unknown key\n"
                "  hint: radix was renamed: use switch_model (the radix follows from the model)"
            ],
        ),
        (
            ("tenants:\n", "operators:\n  nfd: {version: v0.19.0}\ntenants:\n"),
            ["site.yaml:57:3: operators.nfd: unknown key\n  hint: nfd was renamed: use node_feature_discovery"],
        ),
        (
            ("    pkey: 0x8001\n", "    partition_key: 0x8001\n"),
            [
                "site.yaml:57:5: tenants[0].pkey: is required\n"
                "  hint: add pkey: InfiniBand partition key, hex, e.g. 0x8001.",
                "site.yaml:60:5: tenants[0].partition_key: unknown key\n  hint: partition_key was renamed: use pkey",
            ],
        ),
        (
            ("extends: base.yaml\n", "extends: base.yaml\nxyz: 1\n"),
            [
                "site.yaml:2:1: xyz: unknown key\n"
                "  hint: known keys: site, node_pools, fabrics, storage, storage_nodes, operators, tenants, floor"
            ],
        ),
        (
            ("    purpose: training\n", ""),
            ["site.yaml:9:5: node_pools[0].purpose: is required\n  hint: add purpose: What the pool is for."],
        ),
        (
            ("node_pools:\n", "node_pools: []\nnodes_pools_old:\n"),
            [
                "site.yaml:8:13: node_pools: must have at least 1 item after validation, not 0 (got a list)",
                "site.yaml:9:1: nodes_pools_old: unknown key\n  hint: did you mean node_pools?",
            ],
        ),
        (
            ("  - name: train\n", "  - null\n  - name: train\n"),
            ["site.yaml:9:5: node_pools[0]: must be a mapping (got null)"],
        ),
        (
            ("tenants: [lab, startup]", "tenants: {lab: 1}"),
            ["site.yaml:44:14: storage[0].tenants: must be a list (got a mapping)"],
        ),
    ],
)
def test_keys_and_enums(site_files: SiteFiles, edit: Edit, errors: list[str]) -> None:
    assert site_files.errors(edit) == errors
