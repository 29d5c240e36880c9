"""OpenSM's files for the fabric: ``partitions.conf``, an ``opensm.conf`` fragment, the ftree roots.

Rendered with Jinja2 from ``infra/templates``. Numbers are IBTA encodings as OpenSM reads them:
partition ``mtu`` 4 = 2048 and 5 = 4096 bytes; ``rate`` 21 = 400 Gb/s (NDR 4x) and 23 = 800
Gb/s (XDR 4x) (PathRecord rate codes, OpenSM ib_types.h ``IB_PATH_RECORD_RATE_*``). OpenSM 3.3.23
(Debian's) predates XDR: it parses ``rate=23`` but cannot create the IPoIB group at that rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import jinja2

from infra.config.catalog import FabricGeneration
from infra.config.model import SiteConfig
from infra.config.types import format_pkey
from infra.plan.fabric.plan import FabricPlan

MTU_CODES = {2048: 4, 4096: 5}
RATE_CODES = {FabricGeneration.NDR: 21, FabricGeneration.XDR: 23}
CONFIG_DIR = "/etc/opensm"
ROOT_GUID_FILE = "root-guids.conf"
# Full membership is the top bit of a partition key (IBTA: P_Key membership type).
FULL_MEMBER_BIT = 0x8000

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("infra", "templates"),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,
)


@dataclass(frozen=True)
class TenantPartition:
    """What partitions.conf says about one tenant."""

    name: str
    kind: str
    pkey: str
    defmember: str
    own_partition: bool


def tenant_partitions(config: SiteConfig) -> list[TenantPartition]:
    """One partition per tenant, in config order."""
    return [
        TenantPartition(
            tenant.name,
            tenant.kind,
            format_pkey(tenant.pkey),
            "full" if tenant.pkey & FULL_MEMBER_BIT else "limited",
            tenant.isolation.own_partition,
        )
        for tenant in config.tenants
    ]


def render_partitions(config: SiteConfig, plan: FabricPlan) -> str:
    """``partitions.conf``: the default partition and one per tenant."""
    mtu = config.fabrics.compute.ipoib_mtu
    return _TEMPLATES.get_template("partitions.conf.j2").render(
        site=plan.site,
        tenants=tenant_partitions(config),
        mtu=mtu,
        mtu_code=MTU_CODES[mtu],
        rate_code=RATE_CODES[plan.generation],
        rate_gbps=plan.link_gbps,
        generation=plan.generation.value,
    )


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
