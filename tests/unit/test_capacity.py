"""CapacityPlan: GPUs, schedulable units, bookings and power of the bundled sites."""

from __future__ import annotations

import pytest
from plan_sites import bundled

from infra.plan.capacity import gpu_units_per_gpu, mig_instances_per_gpu, plan_capacity

H100_PROFILES = ("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb")


def test_pilot_totals_and_power() -> None:
    plan = plan_capacity(bundled("eu-pilot"))
    assert (plan.total_nodes, plan.total_gpus) == (128, 1024)
    # 128 DGX H100 at 10.2 kW, PUE 1.25 -> 1.632 MW of a 2.5 MW envelope.
    assert plan.it_load_kw == pytest.approx(1305.6)
    assert plan.facility_kw == pytest.approx(1632.0)
    assert plan.headroom_kw == pytest.approx(868.0)
    assert plan.total_gpus == sum(p.gpus for p in plan.pools), "site totals agree with the pools"
    assert plan.it_load_kw == pytest.approx(sum(p.it_load_kw for p in plan.pools))


def test_bookings_per_pool() -> None:
    plan = plan_capacity(bundled("eu-pilot"))
    train = plan.pool("h100-train")
    assert (train.gpus, train.booked_gpus, train.unbooked_gpus) == (768, 768, 0)
    clinical = plan.pool("h100-clinical")
    assert (clinical.booked_gpus, clinical.scalable_units) == (256, 1)


def test_gigafactory_has_100800_gpus_and_mig_units() -> None:
    plan = plan_capacity(bundled("eu-gigafactory"))
    assert plan.total_gpus == 100_800
    infer = plan.pool("b200-infer")
    assert (infer.units_per_gpu, infer.gpu_units) == (2, 10_368)
    assert plan.pool("b200-train").gpu_units == plan.pool("b200-train").gpus


def test_storage_bookings_and_per_node_read_bandwidth() -> None:
    plan = plan_capacity(bundled("eu-pilot"))
    lustre = next(s for s in plan.storage if s.name == "lustre-shared")
    assert lustre.booked_tb == 3000
    # Lustre's tenants run on h100-train (96 nodes); the clinical Ceph only on h100-clinical (32).
    assert (lustre.nodes, lustre.read_gb_per_s_per_node) == (96, pytest.approx(500 / 96))
    clinical = next(s for s in plan.storage if s.name == "ceph-clinical")
    assert (clinical.nodes, clinical.read_gb_per_s_per_node) == (32, pytest.approx(40 / 32))


def test_per_node_bandwidth_ignores_systems_and_pools_the_storage_does_not_serve() -> None:
    config = bundled("eu-pilot")
    before = {s.name: s.read_gb_per_s_per_node for s in plan_capacity(config).storage}
    without_lustre = config.model_copy(
        update={"storage": tuple(s for s in config.storage if s.name != "lustre-shared")}
    )
    after = {s.name: s.read_gb_per_s_per_node for s in plan_capacity(without_lustre).storage}
    assert after["ceph-clinical"] == before["ceph-clinical"], "removing another system changes nothing here"
    bigger = config.model_copy(
        update={"node_pools": (config.node_pools[0].model_copy(update={"nodes": 128}), config.node_pools[1])}
    )
    grown = {s.name: s.read_gb_per_s_per_node for s in plan_capacity(bigger).storage}
    assert grown["ceph-clinical"] == before["ceph-clinical"], "the clinical pool did not grow"
    assert grown["lustre-shared"] == pytest.approx(500 / 128)


@pytest.mark.parametrize(
    ("profile", "instances"),
    [("1g.10gb", 7), ("1g.20gb", 4), ("2g.20gb", 3), ("3g.40gb", 2), ("4g.40gb", 1), ("7g.80gb", 1)],
)
def test_mig_instances_follow_the_mig_user_guide(profile: str, instances: int) -> None:
    assert mig_instances_per_gpu(H100_PROFILES, profile) == instances


def test_unknown_mig_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="not one of the MIG profiles"):
        mig_instances_per_gpu(H100_PROFILES, "3g.90gb")


def test_whole_gpu_pools_count_one_unit_per_gpu() -> None:
    pool = bundled("eu-pilot").pool("h100-train")
    assert pool is not None
    assert gpu_units_per_gpu(pool) == 1
