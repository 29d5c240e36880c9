"""Switch and cable counts per tier, against NVIDIA's published DGX SuperPOD builds."""

from __future__ import annotations

import pytest
from fabric_sites import SiteFactory, pool

from infra.config.model import SiteConfig
from infra.plan.fabric import FabricPlanError, plan_fabric

# DGX SuperPOD, 32-node SUs of DGX H100/B200, NDR QM9700, 8 rails (../shared/REFERENCE.md table;
# NVIDIA DGX SuperPOD B200 RA, "Compute fabric component count"): SUs -> leaf, spine, core.
SUPERPOD = {
    2: (16, 8, 0),
    4: (32, 16, 0),
    8: (64, 32, 0),
    16: (128, 128, 64),
    32: (256, 256, 128),
    64: (512, 512, 256),
}


@pytest.mark.parametrize("sus", sorted(SUPERPOD))
def test_superpod_table(sus: int, make_site: SiteFactory) -> None:
    plan = plan_fabric(make_site([pool("dgx", 32 * sus)]))
    leaves, spines, cores = SUPERPOD[sus]
    assert (plan.counts.leaves, plan.counts.spines, plan.counts.cores) == SUPERPOD[sus], f"{sus} SUs"
    gpus = 32 * sus * 8
    assert plan.endpoints == gpus, f"{sus} SUs: endpoints"
    # "Cables per tier equal the GPU count" (SuperPOD table: node-leaf, leaf-spine, spine-core).
    assert plan.cables.node_leaf == gpus, f"{sus} SUs: node-leaf cables"
    assert plan.cables.leaf_spine == gpus, f"{sus} SUs: leaf-spine cables"
    assert plan.cables.spine_core == (gpus if cores else 0), f"{sus} SUs: spine-core cables"
    assert plan.tiers == (3 if cores else 2)
    assert plan.switches_total == leaves + spines + cores


@pytest.mark.parametrize(("sus", "spines"), [(1, 4), (3, 16)])
def test_superpod_h100_one_and_three_su_builds(sus: int, spines: int, make_site: SiteFactory) -> None:
    # DGX SuperPOD H100 RA, Table 4: 1 SU = 8 leaves + 4 spines, 3 SUs = 24 leaves + 16 spines (the
    # smallest spine count that splits every leaf's 32 uplinks evenly: 16, not 12).
    plan = plan_fabric(make_site([pool("dgx", 32 * sus)]))
    assert (plan.counts.leaves, plan.counts.spines, plan.counts.cores) == (8 * sus, spines, 0)
    assert plan.shape.leaf_spine_links * spines == 32


def test_pilot_site(pilot: SiteConfig) -> None:
    plan = plan_fabric(pilot)
    assert (plan.tiers, plan.counts.leaves, plan.counts.spines, plan.counts.cores) == (2, 32, 16, 0)
    assert (plan.nodes, plan.endpoints, plan.scalable_units, plan.rails) == (128, 1024, 4, 8)
    assert (plan.cables.node_leaf, plan.cables.leaf_spine, plan.cables.spine_core) == (1024, 1024, 0)
    assert plan.leaf_ratio == (32, 32)
    assert plan.shape.leaf_spine_links == 2  # every leaf to all 16 spines, twice


def test_partial_last_su_gets_whole_leaves_and_uplinks(make_site: SiteFactory) -> None:
    plan = plan_fabric(make_site([pool("odd", 100)]))
    assert plan.scalable_units == 4
    assert (plan.counts.leaves, plan.counts.spines) == (32, 16)
    assert plan.cables.node_leaf == 800, "only the 100 nodes' HCA ports are cabled"
    assert plan.cables.leaf_spine == 32 * 32, "the partial SU's leaves are cabled up in full"
    last_leaf = plan.leaves[-1]
    node_ports = [port for port, _ in plan.ports(last_leaf) if port <= 32]
    assert node_ports == [1, 2, 3, 4], f"{last_leaf.name}: 100 - 96 nodes on the last SU"


def test_four_hca_trays_use_rails_zero_to_three(make_site: SiteFactory) -> None:
    config = make_site([pool("b200", 64), pool("gb200", 36, su=18, model="GB200-NVL72")])
    plan = plan_fabric(config)
    assert plan.counts.leaves == 2 * 8 + 2 * 4
    gb200_leaves = [leaf.name for leaf in plan.leaves if leaf.name.startswith("gb200")]
    assert gb200_leaves == [f"gb200-su{su:03d}-leaf-r{r}" for su in range(2) for r in range(4)]
    assert plan.endpoints == 64 * 8 + 36 * 4
    assert plan.leaf_ratio == (32, 32), "leaves reserve ports for the widest SU of the fabric"


def test_oversubscription_halves_the_uplinks(make_site: SiteFactory) -> None:
    plan = plan_fabric(make_site([pool("dgx", 128)], oversubscription=2.0))
    assert plan.leaf_ratio == (32, 16)
    assert (plan.counts.leaves, plan.counts.spines) == (32, 8)
    assert plan.cables.leaf_spine == 32 * 16
    assert "oversubscription 2:1" in "\n".join(plan.summary_lines())


@pytest.mark.parametrize(("sus", "spines"), [(1, 4), (2, 8), (3, 12)])
def test_quantum_x800_72_node_su(sus: int, spines: int, make_site: SiteFactory) -> None:
    # DGX B300 on Quantum-X800: a 72-node SU has 8 leaves and 4 spines (REFERENCE.md).
    plan = plan_fabric(make_site([pool("b200", 72 * sus, su=72, model="B200")], switch="Q3400"))
    assert (plan.radix, plan.counts.leaves, plan.counts.spines) == (144, 8 * sus, spines)
    assert plan.leaf_ratio == (72, 72)


def test_gigafactory_counts() -> None:
    from fabric_sites import GIGAFACTORY

    from infra.config.loader import load_site

    plan = plan_fabric(load_site(GIGAFACTORY))
    assert (plan.tiers, plan.pods, plan.endpoints) == (3, 3, 100_800)
    assert (plan.counts.leaves, plan.counts.spines, plan.counts.cores) == (1400, 1728, 864)
    assert (plan.cables.node_leaf, plan.cables.leaf_spine, plan.cables.spine_core) == (100_800, 100_800, 124_416)
    assert not plan.shape.pure, "pod 2 is part-filled, and 4 of its rails have GB200 trays only"


def test_more_than_three_tiers_is_a_plan_error(make_site: SiteFactory) -> None:
    # On 16-port switches three tiers join at most 16 spine groups: 2 pods of 8 SUs x 8 rails.
    config = make_site([pool("h100", 17 * 8, su=8)])
    plan_fabric(make_site([pool("h100", 16 * 8, su=8)], name="fits.yaml"), radix=16)
    with pytest.raises(FabricPlanError) as caught:
        plan_fabric(config, radix=16)
    (problem,) = caught.value.problems
    assert problem.path == ("node_pools",)
    assert "1,088 HCA ports need 24 spine groups" in problem.message
    assert "split the site" in problem.hint


def test_pool_name_too_long_for_a_switch_name(make_site: SiteFactory) -> None:
    name = "a" * 52
    with pytest.raises(FabricPlanError) as caught:
        plan_fabric(make_site([pool(name, 32, prefix="n")]))
    (problem,) = caught.value.problems
    assert problem.path == ("node_pools", 0, "name")
    assert "NodeDescription holds 64" in problem.message
    assert "at most 50 characters" in problem.hint
