"""Proof with the real subnet manager: OpenSM's fat-tree engine routes the generated cabling plans.

Each fabric is written by the same code as ``gigafactory fabric``, loaded into ibsim and routed
by ``opensm -o -R ftree``. Routed means: ``ftree tables configured on all switches`` and
``SUBNET UP`` in the log, no error line, and ``ibhosts``/``ibswitches`` find exactly the HCAs and
switches the plan counts. A plan with one HCA cabled to a spine must be refused by ftree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from fabric_sites import GIGAFACTORY, PILOT, SiteFactory, pool, tenant
from ibsim_harness import Rewired, SimLimits, Simulator, SmRun, missing_tools, simulator

from infra.cli import main
from infra.config.loader import load_site
from infra.config.model import SiteConfig
from infra.plan.fabric import End, FabricPlan, plan_fabric
from infra.plan.fabric.artifacts import fabric_artifacts, link_speed
from infra.plan.fabric.netfile import Cabling, net_chunks
from infra.plan.fabric.opensm import render_partitions, render_root_guids

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(missing_tools()), reason=f"needs {', '.join(missing_tools())} (tests/run.sh installs them)"
    ),
]

ROUTED = "ftree tables configured on all switches"


def write_fabric(directory: Path, config: SiteConfig, plan: FabricPlan) -> tuple[Path, Path]:
    """fabric.net and partitions.conf for ``plan`` in ``directory``, as the command writes them."""
    files = fabric_artifacts(config, plan)
    net = directory / "fabric.net"
    with net.open("w") as handle:
        handle.writelines(files["fabric.net"])
    partitions = directory / "partitions.conf"
    partitions.write_text(str(files["partitions.conf"]))
    return net, partitions


def first_hca(plan: FabricPlan) -> str:
    """The SIM_HOST the subnet manager runs on: the first HCA of the first pool."""
    return plan.hca(plan.layouts[0].pool.name, 0, 0).nodeid


Route = Callable[..., tuple[Simulator, SmRun]]


@pytest.fixture
def routed(tmp_path: Path) -> Iterator[Route]:
    """``routed(config, plan, *opensm_args) -> (Simulator, SmRun)``: the plan in ibsim, routed once."""
    with ExitStack() as stack:

        def route(config: SiteConfig, plan: FabricPlan, *extra: str) -> tuple[Simulator, SmRun]:
            net, partitions = write_fabric(tmp_path, config, plan)
            sim = stack.enter_context(simulator(net, first_hca(plan), SimLimits.of(plan)))
            return sim, sim.opensm(partitions, *extra)

        yield route


def assert_routed(sim: Simulator, run: SmRun, plan: FabricPlan, what: str) -> None:
    """ftree routed every switch, the subnet came up clean, and discovery finds what the plan counts."""
    assert run.returncode == 0, f"{what}: opensm exited {run.returncode}"
    assert run.lines(ROUTED), f"{what}: no '{ROUTED}' in the OpenSM log"
    assert run.lines("SUBNET UP"), f"{what}: subnet never came up"
    assert run.errors == [], f"{what}: OpenSM errors: {run.errors[:5]}"
    assert not run.lines("cannot build lid matrices"), f"{what}: ftree gave up"
    ranks = run.lines("FatTree rank (roots to leaf switches)")
    assert ranks and ranks[0].rstrip().endswith(f": {plan.tiers}"), f"{what}: ftree saw {ranks}"
    roots = run.lines("switches at rank 0 (roots)")
    assert roots and f"has {len(plan.top_tier)} switches" in roots[0], f"{what}: roots {roots}"
    assert sim.count("ibhosts") == plan.endpoints, f"{what}: ibhosts count"
    assert sim.count("ibswitches") == plan.switches_total, f"{what}: ibswitches count"


@pytest.mark.parametrize("sus", [1, 2, 4, 8])
def test_superpod_sized_fabric_is_routed_by_ftree(sus: int, make_site: SiteFactory, routed: Route) -> None:
    config = make_site([pool("h100", 32 * sus)], tenants=[tenant("lab", 0x8101)])
    plan = plan_fabric(config)
    assert (plan.counts.leaves, plan.endpoints) == (8 * sus, 256 * sus)
    # ibsim counts switches as nodes: 8 SUs are 2,048 HCAs + 96 switches, past its default 2,048
    # nodes (switches 96 of 256 and ports 8,288 of 13,312 fit), so the harness raises -N for them.
    limits = SimLimits.of(plan)
    assert limits.within_defaults() == (sus < 8), limits
    if sus == 8:
        assert (limits.nodes, limits.switches, limits.ports) == (2144, 96, 8288)
    sim, run = routed(config, plan)
    assert_routed(sim, run, plan, f"{sus} SU")


def test_odd_sized_pools_with_partial_sus_and_four_rail_trays_are_routed(make_site: SiteFactory, routed: Route) -> None:
    config = make_site([pool("h100", 100), pool("gb200", 27, su=18, model="GB200-NVL72")])
    plan = plan_fabric(config)
    assert plan.scalable_units == 6 and plan.endpoints == 100 * 8 + 27 * 4
    sim, run = routed(config, plan)
    assert_routed(sim, run, plan, "h100 x 100 + gb200 x 27")


def test_three_tier_fabric_with_a_partial_pod_is_routed_from_its_root_guids(
    tmp_path: Path, make_site: SiteFactory, routed: Route
) -> None:
    # 16-port switches make a three-tier fabric (two pods, a core) small enough for ibsim. The
    # second pod holds 3 of its 8 SUs, so its spines have fewer leaves: not a pure fat tree.
    config = make_site([pool("h100", 76, su=8), pool("extra", 8, su=8)])
    plan = plan_fabric(config, radix=16)
    assert (plan.tiers, plan.pods, plan.counts.cores, plan.shape.pure) == (3, 2, 64, False)
    roots = tmp_path / "root-guids.conf"
    roots.write_text(render_root_guids(plan))
    sim, run = routed(config, plan, "-a", str(roots))
    assert_routed(sim, run, plan, "three tiers, radix 16, with root GUIDs")
    # Without the roots ftree insists on a pure fat tree: why opensm.conf names them here.
    unguided = sim.opensm(tmp_path / "partitions.conf", name="unguided")
    assert unguided.lines("ERR AB0A: Different number of downward port groups"), unguided.errors
    assert not unguided.lines(ROUTED)


def test_bundled_pilot_routes_with_the_generated_opensm_conf(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "pilot"
    assert main(["fabric", str(PILOT), "-o", str(out)]) == 0
    capsys.readouterr()
    # The fragment names /etc/opensm; point it at the output folder instead.
    conf = tmp_path / "opensm.conf"
    conf.write_text((out / "opensm.conf").read_text().replace("/etc/opensm", str(out)))
    plan = plan_fabric(load_site(PILOT))
    assert (plan.counts.leaves, plan.counts.spines) == (32, 16)
    with simulator(out / "fabric.net", first_hca(plan), SimLimits.of(plan)) as sim:
        run = sim.opensm(out / "partitions.conf", "-F", str(conf))
        assert_routed(sim, run, plan, "eu-pilot")


def test_hca_cabled_to_a_spine_is_refused_by_ftree(tmp_path: Path, pilot: SiteConfig) -> None:
    plan = plan_fabric(pilot)
    moved = plan.hca("h100-train", 37, 3)
    spine = plan.spines[5]
    broken: Cabling = Rewired(plan, [(End(moved, 1), End(spine, 7))])
    net = tmp_path / "fabric.net"
    with net.open("w") as handle:
        handle.writelines(net_chunks(broken, link_speed(plan)))
    partitions = tmp_path / "partitions.conf"
    partitions.write_text(render_partitions(pilot, plan))
    roots = tmp_path / "root-guids.conf"
    roots.write_text(render_root_guids(plan))
    with simulator(net, first_hca(plan), SimLimits.of(plan)) as sim:
        # As the pilot's opensm.conf runs it (no roots: ftree ranks from the compute ports) ...
        run = sim.opensm(partitions)
        # ... and told the roots, when ftree names the very port that is wrong.
        guided = sim.opensm(partitions, "-a", str(roots), name="guided")
    for what, result in (("without roots", run), ("with roots", guided)):
        assert not result.lines(ROUTED), f"{what}: ftree routed a fabric with an HCA on a spine"
        assert result.lines("ERR AB26"), f"{what}: no ftree refusal in the log: {result.errors}"
        assert result.lines("ftree: cannot build lid matrices"), what
    refused = guided.lines("ERR AB26")[0]
    assert re.search(rf"CN port 0x0*{moved.port_guid:x} is connected to switch 0x0*{spine.guid:x} with rank 0", refused)


def test_partitions_of_every_bundled_site_parse(tmp_path: Path, make_site: SiteFactory) -> None:
    """Both sites' partitions.conf parse; only the XDR rate is beyond Debian's OpenSM 3.3.23."""
    small = make_site([pool("h100", 32)])
    plan = plan_fabric(small)
    net, _ = write_fabric(tmp_path, small, plan)
    with simulator(net, first_hca(plan), SimLimits.of(plan)) as sim:
        for site in (PILOT, GIGAFACTORY):
            config = load_site(site)
            partitions = tmp_path / f"{site.stem}.partitions.conf"
            partitions.write_text(render_partitions(config, plan_fabric(config)))
            run = sim.opensm(partitions, name=site.stem)
            assert run.returncode == 0, site.name
            assert not run.lines("PARSE ERROR"), f"{site.name}: {run.lines('PARSE')}"
            assert not run.lines("Partition configuration in error"), site.name
            unrealizable = run.lines("ERR 1B26")
            if config.fabrics.compute.generation.value == "XDR":
                # rate=23 (800 Gb/s) postdates OpenSM 3.3.23; a current UFM/OpenSM creates the group.
                assert len(unrealizable) == len(config.tenants), f"{site.name}: {run.errors}"
            else:
                assert run.errors == [], f"{site.name}: {run.errors}"
