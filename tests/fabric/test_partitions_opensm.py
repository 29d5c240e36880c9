"""The isolated partitions as the real OpenSM sets them: P_Key tables read back from ibsim's ports.

The pilot's fabric runs in ibsim (its planned GUIDs are the simulator's), OpenSM programs it once
with the partitions.conf that ``gigafactory fabric --guid-map`` writes, and ``smpquery pkeys``
reads each port's P_Key table. The InfiniBand rule then decides who can talk: a shared key with
at least one full member (the 0x8000 bit).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fabric_sites import PILOT
from ibsim_harness import SimLimits, Simulator, missing_tools, simulator

from infra.config.loader import load_site
from infra.plan.fabric import plan_fabric
from infra.plan.fabric.artifacts import fabric_artifacts
from infra.plan.fabric.partitions import plan_partitions

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(missing_tools()), reason=f"needs {', '.join(missing_tools())} (tests/run.sh installs them)"
    ),
]


def pkeys(sim: Simulator, lid: str) -> set[int]:
    done = sim.run(["smpquery", "pkeys", lid, "1"])
    assert done.returncode == 0, done.stderr
    return {int(k, 16) for k in re.findall(r"0x[0-9a-f]{4}", done.stdout) if int(k, 16) & 0x7FFF}


def talk(a: set[int], b: set[int]) -> bool:
    return any((x & 0x7FFF) == (y & 0x7FFF) and (x | y) & 0x8000 for x in a for y in b)


def test_opensm_keeps_the_hospitals_ports_apart(tmp_path: Path) -> None:
    config = load_site(PILOT)
    plan = plan_fabric(config)
    model = plan_partitions(config, plan, {h.name: h.port_guid for h in plan.hcas()})
    files = fabric_artifacts(config, plan, model)
    net = tmp_path / "fabric.net"
    with net.open("w") as handle:
        handle.writelines(files["fabric.net"])
    partitions = tmp_path / "partitions.conf"
    partitions.write_text(str(files["partitions.conf"]))
    sm_host = plan.hca("h100-train", 0, 0)
    with simulator(net, sm_host.nodeid, SimLimits.of(plan)) as sim:
        run = sim.opensm(partitions)
        assert run.returncode == 0 and run.errors == [], run.errors
        assert run.lines("SUBNET UP")
        discovered = sim.run(["ibnetdiscover", "-p"]).stdout
        lids = dict(re.findall(r"^CA\s+(\d+)\s+1\s+0x[0-9a-f]+ .*\( '([^']+)'", discovered, re.M))
        lid = {name: number for number, name in lids.items()}
        names = ["pilot-clin-001 mlx5_0", "pilot-clin-032 mlx5_11", "pilot-gpu-002 mlx5_0", "pilot-gpu-096 mlx5_11"]
        tables = {name: pkeys(sim, lid[name]) for name in [*names, sm_host.name]}
    clinic, train = names[:2], names[2:]
    assert tables[clinic[0]] == {0x8201, 0x7FFF}, "own partition (full), default limited"
    assert tables[train[0]] == {0xFFFE, 0x7FFF}, "the shared partition (full), default limited"
    assert 0xFFFF in tables[sm_host.name], "the subnet manager is the default partition's full member"
    assert talk(tables[clinic[0]], tables[clinic[1]]) and talk(tables[train[0]], tables[train[1]])
    assert not any(talk(tables[c], tables[t]) for c in clinic for t in train)
    assert talk(tables[clinic[0]], tables[sm_host.name]), "hospital ports still reach the SA"
