"""Site facts recorded in a plan: what a reviewer reasons about, from the site config and its SitePlan.

The plan diff's intent summary and danger checks read these (GPUs per pool and who booked them,
quotas, partition keys, driver version and drain policy, storage) instead of reverse-engineering
them from Kubernetes objects, whose shape belongs to the components and may change. Switch and
cable counts come from the fabric planner, power and bookings from the capacity planner.
"""

from __future__ import annotations

from typing import Any

from infra.config.schema import NodePool, StorageSystem
from infra.config.tenants import Tenant
from infra.config.types import format_pkey
from infra.plan.capacity import PoolCapacity, StorageCapacity
from infra.plan.site_plan import SitePlan


def site_facts(plan: SitePlan) -> dict[str, Any]:
    """JSON-ready facts of a planned site: site, power, pools, fabric, storage, operators, tenants."""
    config = plan.config
    capacity = plan.capacity
    site = config.site
    return {
        "name": site.name,
        "region": site.region,
        "country": site.country,
        "description": site.description,
        "kubernetes_version": site.kubernetes_version,
        "gpus": capacity.total_gpus,
        "nodes": capacity.total_nodes,
        "power": {
            "envelope_kw": round(capacity.envelope_kw, 3),
            "pue": capacity.pue,
            "it_load_kw": round(capacity.it_load_kw, 3),
            "facility_kw": round(capacity.facility_kw, 3),
        },
        "pools": {pool.name: _pool(pool, capacity.pool(pool.name)) for pool in config.node_pools},
        "fabric": _fabric(plan),
        "storage": {
            system.name: _storage(system, usage) for system, usage in zip(config.storage, capacity.storage, strict=True)
        },
        "operators": config.operators.model_dump(mode="json"),
        "tenants": {tenant.name: _tenant(tenant) for tenant in config.tenants},
    }


def _pool(pool: NodePool, capacity: PoolCapacity) -> dict[str, Any]:
    return {
        "gpu_model": pool.gpu_model.value,
        "product": pool.system.product_name,
        "nodes": pool.nodes,
        "gpus_per_node": pool.gpus_per_node,
        "gpus": pool.gpus,
        "gpu_units": capacity.gpu_units,
        "booked_gpus": capacity.booked_gpus,
        "scalable_units": pool.scalable_units,
        "purpose": pool.purpose,
        "dedicated_to": pool.dedicated_to,
        "node_kw": pool.system.node_kw,
        "gpu_sharing": pool.gpu_sharing.model_dump(mode="json"),
        "driver_upgrade": pool.driver_upgrade.model_dump(mode="json"),
    }


def _storage(system: StorageSystem, usage: StorageCapacity) -> dict[str, Any]:
    return {
        "kind": system.kind,
        "interface": system.interface,
        "capacity_tb": system.capacity_tb,
        "booked_tb": usage.booked_tb,
        "read_gb_per_s": system.read_gb_per_s,
        "write_gb_per_s": system.write_gb_per_s,
        "read_gb_per_s_per_node": round(usage.read_gb_per_s_per_node, 3),
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


def _fabric(plan: SitePlan) -> dict[str, Any]:
    """The compute fabric's settings and, where the fabric was planned, its switch and cable counts."""
    config = plan.config
    compute = config.fabrics.compute
    facts: dict[str, Any] = {
        "generation": compute.generation.value,
        "switch_model": compute.switch_model.value,
        "radix": compute.radix,
        "oversubscription": compute.oversubscription,
        "rails": config.rails,
        "subnet_manager": compute.subnet_manager,
    }
    fabric = plan.fabric
    if fabric is not None:
        counts, cables = fabric.counts, fabric.cables
        facts["tiers"] = fabric.tiers
        facts["switches"] = {
            "leaf": counts.leaves,
            "spine": counts.spines,
            "core": counts.cores,
            "total": counts.switches,
        }
        facts["cables"] = {
            "node-leaf": cables.node_leaf,
            "leaf-spine": cables.leaf_spine,
            "spine-core": cables.spine_core,
            "total": cables.total,
        }
    return facts
