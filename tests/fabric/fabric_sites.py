"""Site configs of any shape for the fabric tests, written as YAML and loaded for real.

A test site extends the bundled pilot (``site-configs/eu-pilot.yaml``) and replaces its node
pools, fabric switch and tenants, so every config goes through the same loader and rules users
meet. Subnets and power are sized so that any pool the tests ask for validates.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from infra.config.model import SiteConfig

REPO = Path(__file__).resolve().parents[2]
PILOT = REPO / "site-configs" / "eu-pilot.yaml"
GIGAFACTORY = REPO / "site-configs" / "eu-gigafactory.yaml"

SiteFactory = Callable[..., SiteConfig]


def pool(
    name: str,
    nodes: int,
    *,
    su: int = 32,
    model: str = "H100-SXM-80GB",
    rack: int | None = None,
    prefix: str | None = None,
) -> dict[str, Any]:
    """A training pool; a partly filled last SU is allowed so odd node counts validate."""
    gpus = {"GB200-NVL72": 4}.get(model, 8)
    return {
        "name": name,
        "gpu_model": model,
        "nodes": nodes,
        "node_name_pattern": f"{prefix or name}-{{index:05d}}",
        "scalable_unit_nodes": su,
        "allow_partial_scalable_unit": True,
        "nodes_per_rack": rack or (18 if model == "GB200-NVL72" else 4),
        "hcas": {"compute": gpus, "storage": 2},
        "purpose": "training",
    }


def tenant(name: str, pkey: int, kind: str = "research") -> dict[str, Any]:
    """A tenant with a partition key and no quotas."""
    return {"name": name, "kind": kind, "group": f"gf-{name}", "pkey": f"0x{pkey:04x}"}


def write_site(
    directory: Path,
    pools: list[dict[str, Any]],
    *,
    switch: str = "QM9700",
    oversubscription: float = 1.0,
    ipoib_mtu: int = 4096,
    tenants: list[dict[str, Any]] | None = None,
    name: str = "site.yaml",
    floor: dict[str, Any] | None = None,
) -> Path:
    """Write a site file extending the pilot with these pools; returns its path."""
    rails = max(p["hcas"]["compute"] for p in pools)
    data: dict[str, Any] = {
        "extends": str(PILOT),
        "site": {"power_envelope_mw": 1000},
        "node_pools": pools,
        "fabrics": {
            "compute": {
                "generation": "XDR" if switch == "Q3400" else "NDR",
                "switch_model": switch,
                "oversubscription": oversubscription,
                "ipoib_mtu": ipoib_mtu,
                "ipoib_subnets": [{"rail": r, "subnet": f"10.{100 + r}.0.0/16"} for r in range(rails)],
            },
            "storage": {"subnet": "10.200.0.0/14"},
        },
        "storage": [],
        "tenants": tenants or [],
    }
    if any(p["gpu_model"] == "GB200-NVL72" for p in pools):
        data["floor"] = {"rack_power_kw": 130}  # an NVL72 rack draws ~120 kW
    if floor:
        data["floor"] = {**data.get("floor", {}), **floor}
    path = directory / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
