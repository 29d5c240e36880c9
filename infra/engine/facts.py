"""Site facts recorded in a plan: what a reviewer reasons about, derived from the site config.

The plan diff's intent summary and danger checks read these (GPUs per pool, quotas, partition
keys, driver version and drain policy, protected storage) instead of reverse-engineering them
from Kubernetes objects, whose shape belongs to the components and may change.
"""

from __future__ import annotations

from typing import Any

from infra.config.model import SiteConfig
from infra.config.schema import NodePool, StorageSystem
from infra.config.tenants import Tenant
from infra.config.types import format_pkey
from infra.plan.fabric import plan_fabric


def site_facts(config: SiteConfig) -> dict[str, Any]:
    """JSON-ready facts of ``config``: site, power, pools, fabric, storage, operators, tenants."""
    site = config.site
    it_load_kw = config.it_load_kw
    facility_kw = it_load_kw * site.pue
    return {
        "name": site.name,
        "region": site.region,
        "country": site.country,
        "description": site.description,
        "kubernetes_version": site.kubernetes_version,
        "gpus": config.total_gpus,
        "nodes": config.total_nodes,
        "power": {
            "envelope_kw": round(site.power_envelope_mw * 1000, 3),
            "pue": site.pue,
            "it_load_kw": round(it_load_kw, 3),
            "facility_kw": round(facility_kw, 3),
        },
        "pools": {pool.name: _pool(pool) for pool in config.node_pools},
        "fabric": _fabric(config),
        "storage": {system.name: _storage(system) for system in config.storage},
        "operators": config.operators.model_dump(mode="json"),
        "tenants": {tenant.name: _tenant(tenant) for tenant in config.tenants},
    }


def _pool(pool: NodePool) -> dict[str, Any]:
    return {
        "gpu_model": pool.gpu_model.value,
        "product": pool.system.product_name,
        "nodes": pool.nodes,
        "gpus_per_node": pool.gpus_per_node,
        "gpus": pool.gpus,
        "scalable_units": pool.scalable_units,
        "purpose": pool.purpose,
        "dedicated_to": pool.dedicated_to,
        "node_kw": pool.system.node_kw,
        "gpu_sharing": pool.gpu_sharing.model_dump(mode="json"),
        "driver_upgrade": pool.driver_upgrade.model_dump(mode="json"),
    }


def _storage(system: StorageSystem) -> dict[str, Any]:
    return {
        "kind": system.kind,
        "interface": system.interface,
        "capacity_tb": system.capacity_tb,
        "read_gb_per_s": system.read_gb_per_s,
        "write_gb_per_s": system.write_gb_per_s,
        "reclaim_policy": system.reclaim_policy,
        "encrypted": system.encrypted,
        "tenants": sorted(system.tenants),
    }


def _tenant(tenant: Tenant) -> dict[str, Any]:
    return {
        "kind": tenant.kind,
        "pkey": format_pkey(tenant.pkey),
        "cohort": tenant.cohort,
        "gpu_quotas": {
            quota.pool: {
                "gpus": quota.gpus,
                "borrowing_limit": quota.borrowing_limit,
                "lending_limit": quota.lending_limit,
            }
            for quota in tenant.gpu_quotas
        },
        "storage_quotas_tb": {share.system: share.quota_tb for share in tenant.storage},
        "isolation": tenant.isolation.model_dump(mode="json"),
    }


def _fabric(config: SiteConfig) -> dict[str, Any]:
    """The compute fabric's settings and, from the fabric planner, its switch and cable counts."""
    compute = config.fabrics.compute
    fabric = plan_fabric(config)
    counts = fabric.counts
    cables = fabric.cables
    return {
        "generation": compute.generation.value,
        "switch_model": compute.switch_model.value,
        "radix": compute.radix,
        "oversubscription": compute.oversubscription,
        "rails": config.rails,
        "subnet_manager": compute.subnet_manager,
        "tiers": fabric.tiers,
        "switches": {"leaf": counts.leaves, "spine": counts.spines, "core": counts.cores, "total": counts.switches},
        "cables": {
            "node-leaf": cables.node_leaf,
            "leaf-spine": cables.leaf_spine,
            "spine-core": cables.spine_core,
            "total": cables.total,
        },
    }
