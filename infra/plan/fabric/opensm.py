"""OpenSM's files for the fabric: ``partitions.conf``, an ``opensm.conf`` fragment, the ftree roots.

Rendered with Jinja2 from ``infra/templates``. Numbers are IBTA encodings as OpenSM reads them:
partition ``mtu`` 4 = 2048 and 5 = 4096 bytes; ``rate`` 21 = 400 Gb/s (NDR 4x) and 23 = 800
Gb/s (XDR 4x) (PathRecord rate codes, OpenSM ib_types.h ``IB_PATH_RECORD_RATE_*``). OpenSM 3.3.23
(Debian's) predates XDR: it parses ``rate=23`` but cannot create the IPoIB group at that rate.
"""

from __future__ import annotations

import jinja2

from components.network.naming import format_pkey
from infra.config.catalog import FabricGeneration
from infra.config.model import SiteConfig
from infra.plan.fabric.partitions import Partition, PartitionPlan, plan_partitions
from infra.plan.fabric.plan import FabricPlan

MTU_CODES = {2048: 4, 4096: 5}
RATE_CODES = {FabricGeneration.NDR: 21, FabricGeneration.XDR: 23}
CONFIG_DIR = "/etc/opensm"
ROOT_GUID_FILE = "root-guids.conf"

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("infra", "templates"),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,
)


def render_partitions(config: SiteConfig, plan: FabricPlan, partitions: PartitionPlan | None = None) -> str:
    """``partitions.conf``: the partitions of ``plan_partitions`` (no GUIDs unless ``partitions`` has them)."""
    mtu = config.fabrics.compute.ipoib_mtu
    model = partitions if partitions is not None else plan_partitions(config, plan)
    mtu_code, rate_code = MTU_CODES[mtu], RATE_CODES[plan.generation]
    return _TEMPLATES.get_template("partitions.conf.j2").render(
        site=plan.site,
        partitions=[(p, _definition(p, mtu_code, rate_code)) for p in model.partitions],
        pending=len(model.pending),
        discovered=model.discovered and any(p.isolated for p in model.partitions),
        mtu=mtu,
        mtu_code=mtu_code,
        rate_code=rate_code,
        rate_gbps=plan.link_gbps,
        generation=plan.generation.value,
    )


def _definition(partition: Partition, mtu_code: int, rate_code: int) -> str:
    """One partition definition, a member per line when it has members."""
    flags = [f"{partition.name}={format_pkey(partition.pkey)}", "ipoib"]
    if partition.tenant is not None:
        flags += [f"rate={rate_code}", f"mtu={mtu_code}", f"defmember={partition.defmember}"]
    else:
        # No rate on the default and shared partitions: a slower port (a management HCA) may still join.
        flags.append(f"mtu={mtu_code}")
    if partition.index0:
        flags.append("indx0")
    head = ",".join(flags)
    if not any(m.id.startswith("0x") for m in partition.members):
        listed = ", ".join(f"{m.id}={m.membership}" for m in partition.members)
        return f"{head} : {listed} ;" if listed else f"{head} : ;"
    members = ",\n".join(f"  {m.id}={m.membership}" for m in partition.members)
    return f"{head} :\n{members} ;"


def render_opensm_conf(plan: FabricPlan) -> str:
    """The ``opensm.conf`` lines that select ftree routing, its roots (when the tree is not pure), partitions."""
    return _TEMPLATES.get_template("opensm.conf.j2").render(
        site=plan.site,
        tiers=plan.tiers,
        config_dir=CONFIG_DIR,
        root_guid_file=ROOT_GUID_FILE,
        root_count=len(plan.top_tier),
        root_role="core" if plan.tiers == 3 else "spine",
        needs_roots=not plan.shape.pure,
    )


def render_root_guids(plan: FabricPlan) -> str:
    """ftree's ``root_guid_file``: the node GUID of every top-tier switch, one per line."""
    return "".join(f"0x{switch.guid:016x}\n" for switch in plan.top_tier)
