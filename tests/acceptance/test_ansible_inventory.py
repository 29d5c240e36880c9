"""The Ansible inventory written from a site config, and reading inventories back for verify."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.acceptance.inventory import InventoryError, read_inventory, render_inventory
from infra.config.loader import load_site

REPO = Path(__file__).resolve().parents[2]


def _hosts(group: dict[str, Any]) -> dict[str, Any]:
    found = dict(group.get("hosts") or {})
    for child in (group.get("children") or {}).values():
        found.update(_hosts(child))
    return found


def test_pilot_inventory_groups_and_host_vars() -> None:
    site = load_site(REPO / "site-configs" / "eu-pilot.yaml")
    document = yaml.safe_load(render_inventory(site))
    top = document["all"]
    assert top["vars"] == {"gigafactory_site": "eu-pilot"}
    assert list(top["children"]) == ["pool_h100_train", "pool_h100_clinical"]
    train = top["children"]["pool_h100_train"]
    assert train["vars"] == {
        "gigafactory_gpu_model": "H100-SXM-80GB", "gigafactory_gpus_per_node": 8, "gigafactory_compute_hcas": 8,
    }  # fmt: skip
    assert list(train["children"]) == ["su_h100_train_000", "su_h100_train_001", "su_h100_train_002"]
    su1 = train["children"]["su_h100_train_001"]["hosts"]
    assert next(iter(su1)) == "pilot-gpu-033" and len(su1) == 32
    assert su1["pilot-gpu-036"] == {
        "gigafactory_pool": "h100-train",
        "gigafactory_scalable_unit": "h100-train-su001",
        "gigafactory_rack": "h100-train-r0008",
    }
    hosts = _hosts(top)
    assert len(hosts) == 128 and list(hosts)[-1] == "pilot-clin-032"
    assert hosts["pilot-clin-001"]["gigafactory_pool"] == "h100-clinical"
    # A tainted pool's nodes register with its taint (kubelet --register-with-taints).
    clinical = top["children"]["pool_h100_clinical"]["vars"]
    assert clinical["gigafactory_kubelet_register_with_taints"] == "gigafactory.eu/tenant=oslo-hospital:NoSchedule"
    assert "gigafactory_kubelet_register_with_taints" not in train["vars"]


def test_gigafactory_inventory_is_complete() -> None:
    site = load_site(REPO / "site-configs" / "eu-gigafactory.yaml")
    text = render_inventory(site)
    assert text == render_inventory(site), "the same config gives the same bytes"
    hosts = _hosts(yaml.load(text, Loader=yaml.CSafeLoader)["all"])
    assert len(hosts) == 13_896
    assert hosts["gf-gb200-00001"] == {
        "gigafactory_pool": "gb200-train",
        "gigafactory_scalable_unit": "gb200-train-su000",
        "gigafactory_rack": "gb200-train-r0000",
    }


def test_read_inventory_merges_group_and_host_vars(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(
        """\
all:
  vars: {ansible_user: admin}
  children:
    pool_h100_train:
      vars: {ansible_port: 2222}
      hosts:
        pilot-gpu-001: {ansible_host: 10.0.0.1}
        pilot-gpu-002: {ansible_host: 10.0.0.2, ansible_user: root, ansible_port: 22}
    pool_h100_clinical:
      hosts:
        pilot-clin-001:
""",
        encoding="utf-8",
    )
    hosts = read_inventory(path)
    assert [(h.name, h.address, h.port, h.user) for h in hosts] == [
        ("pilot-gpu-001", "10.0.0.1", 2222, "admin"),
        ("pilot-gpu-002", "10.0.0.2", 22, "root"),
        ("pilot-clin-001", None, None, "admin"),
    ]
    assert [h.name for h in read_inventory(path, "pool_h100_clinical")] == ["pilot-clin-001"]


def test_read_generated_inventory_with_limit(tmp_path: Path) -> None:
    site = load_site(REPO / "site-configs" / "eu-pilot.yaml")
    path = tmp_path / "pilot.yaml"
    path.write_text(render_inventory(site), encoding="utf-8")
    assert len(read_inventory(path)) == 128
    su = read_inventory(path, "su_h100_train_002")
    assert [h.name for h in su][:2] == ["pilot-gpu-065", "pilot-gpu-066"] and len(su) == 32


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[all]\nnode1\n", "not a YAML inventory"),
        ("- a\n- b\n", "a YAML inventory is a mapping of groups"),
        ("all:\n  hosts: [a, b]\n", "group all: hosts must be a mapping"),
        ("all:\n  hosts:\n    a: 3\n", "host a: its variables must be a mapping"),
        ("all:\n  hosts:\n    a: {ansible_port: http}\n", "host a: ansible_port must be a TCP port number"),
        ("all:\n  children: {}\n", "the inventory lists no hosts"),
    ],
)
def test_bad_inventories(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InventoryError, match=message) as caught:
        read_inventory(path)
    assert str(caught.value).startswith(str(path)), "errors name the inventory file"


def test_binary_file_is_not_an_inventory(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_bytes(b"all:\n  hosts:\n    gpu-\xff01:\n")
    with pytest.raises(InventoryError, match=r"inventory.yaml:3:9: is not UTF-8 text \(byte 0xff\)") as caught:
        read_inventory(path)
    assert str(caught.value).startswith(str(path)), "errors name the inventory file"


def test_unknown_limit_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text("all:\n  hosts:\n    a:\n", encoding="utf-8")
    with pytest.raises(InventoryError, match="no group called 'pool_x'"):
        read_inventory(path, "pool_x")
    with pytest.raises(InventoryError, match=r"missing\.yaml: file not found"):
        read_inventory(tmp_path / "missing.yaml")


def test_storage_nodes_are_not_gpu_nodes_to_accept_or_cable() -> None:
    """Storage nodes hold no GPUs and sit on the storage fabric: the GPU nodes' inventory (what
    `verify` checks) and the compute fabric plan leave them out."""
    from infra.plan.fabric import plan_fabric

    site = load_site(Path(__file__).resolve().parents[2] / "site-configs" / "eu-pilot.yaml")
    storage_nodes = {name for pool in site.storage_nodes for name in pool.node_names()}
    assert storage_nodes
    text = render_inventory(site)
    assert not any(name in text for name in storage_nodes)
    gpu_ports = sum(p.nodes * p.hcas.compute for p in site.node_pools)
    assert plan_fabric(site).endpoints == gpu_ports
