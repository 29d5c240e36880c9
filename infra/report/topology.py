"""The fat tree as one SVG: scalable units, spine groups and cores, with link bundles and counts.

Aggregated so that a 100,000-GPU site draws in the same space as the pilot: a scalable unit is one
box (its leaves, one per rail, and its nodes), a spine group one box, the core tier one box per
core group; a link bundle is one line with its cable count, never one line per cable. Boxes are
coloured by pool; a pool dedicated to a regulated tenant is drawn apart (hatched, with its
partition named), as its nodes are on no other tenant's partition.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from infra.config.model import SiteConfig
from infra.plan.fabric import FabricPlan

WIDTH = 1500
MARGIN = 20
SU_SIZE = 26
MAX_SU_SIZE = 120
SU_GAP = 6
ROW_GAP = 70
PALETTE = ("#3b6ea5", "#d08c2c", "#4b9a62", "#a14f8c", "#7a6f4d", "#4aa3a8", "#b05c4a", "#6d6fb8")
REGULATED_FILL = "url(#regulated)"
UNBOOKED = "#c9d3de"


@dataclass(frozen=True)
class TopologyDrawing:
    """The SVG text and what it holds (for the report's legend and the browser tests)."""

    svg: str
    scalable_units: int
    spine_groups: int
    bundles: int
    pool_colours: dict[str, str]


def tenant_colours_of(config: SiteConfig) -> dict[str, str]:
    """A colour per tenant, in config order (the palette read from its end, apart from the pools')."""
    return {tenant.name: PALETTE[-1 - i % len(PALETTE)] for i, tenant in enumerate(config.tenants)}


def pool_colours(config: SiteConfig) -> dict[str, str]:
    """A colour per pool, in config order."""
    return {pool.name: PALETTE[i % len(PALETTE)] for i, pool in enumerate(config.node_pools)}


def _text(x: float, y: float, label: str, *, cls: str = "label", anchor: str = "middle") -> str:
    return f'<text class="{cls}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(label)}</text>'


def draw_topology(
    config: SiteConfig, fabric: FabricPlan, changed_pools: frozenset[str] = frozenset()
) -> TopologyDrawing:
    """The SVG of ``fabric``; pools in ``changed_pools`` are outlined as changed by a diff."""
    colours = pool_colours(config)
    regulated = {
        p.name: p.dedicated_to for p in config.node_pools if p.dedicated_to and _is_regulated(config, p.dedicated_to)
    }
    quota_holders: dict[str, list[str]] = {p.name: [] for p in config.node_pools}
    largest: dict[str, tuple[int, str]] = {}
    for tenant in config.tenants:
        for quota in tenant.gpu_quotas:
            quota_holders.setdefault(quota.pool, []).append(tenant.name)
            largest[quota.pool] = max(largest.get(quota.pool, (-1, "")), (quota.gpus, tenant.name))
    tenant_colours = tenant_colours_of(config)
    shape = fabric.shape
    pods = max(shape.pods, 1)
    # Scalable units in global order, each with its pool and pod.
    units: list[tuple[int, str, int, int]] = []  # (su index, pool, pod, nodes)
    for layout in fabric.layouts:
        spec = layout.pool
        for local in range(spec.scalable_units):
            nodes = min(spec.scalable_unit_nodes, spec.nodes - local * spec.scalable_unit_nodes)
            su = layout.first_su + local
            units.append((su, spec.name, fabric.pod_of_su(su), nodes))
    column_width = (WIDTH - 2 * MARGIN) / pods
    most = max((sum(1 for u in units if u[2] == pod) for pod in range(pods)), default=1)
    # As large as the busiest pod's units fit on one row (up to a box that shows each rail's leaf),
    # but never smaller than SU_SIZE: beyond that, rows wrap.
    size = max(SU_SIZE, min(MAX_SU_SIZE, int((column_width - SU_GAP) // max(most, 1)) - SU_GAP))
    per_row = max(1, int((column_width - SU_GAP) // (size + SU_GAP)))
    rows_per_pod = (most + per_row - 1) // per_row
    core_y = MARGIN + 20
    spine_y = core_y + (60 + ROW_GAP if shape.tiers == 3 else 0)
    su_y = spine_y + 40 + ROW_GAP
    height = su_y + rows_per_pod * (size + SU_GAP) + 30
    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="topology" class="figure" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-label="compute fabric of {escape(config.site.name)}">',
        '<defs><pattern id="regulated" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#f3e3e3"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#b03a3a" stroke-width="3"/></pattern></defs>',
    ]
    bundles = 0
    # Spine groups: one box per group, placed in its pod's column, one slot per group of that pod.
    groups_by_pod: dict[int, list[int]] = {}
    for group in shape.spine_groups:
        groups_by_pod.setdefault(group.pod, []).append(group.index)
    group_centre: dict[int, tuple[float, float]] = {}
    for pod, indexes in sorted(groups_by_pod.items()):
        left = MARGIN + pod * column_width
        slot = column_width / len(indexes)
        for position, index in enumerate(indexes):
            group = shape.spine_groups[index]
            x = left + position * slot + 2
            w = max(slot - 4, 4)
            label = f"{shape.spines_per_group} spines" if group.rail is None else f"r{group.rail}"
            title = (
                f"spine group {index}: {shape.spines_per_group} spines"
                + (f", pod {group.pod}, rail {group.rail}" if group.rail is not None else "")
                + f", {len(group.leaves)} leaves"
            )
            parts.append(
                f'<g class="spine-group" data-group="{index}"><title>{escape(title)}</title>'
                f'<rect x="{x:.1f}" y="{spine_y}" width="{w:.1f}" height="34" rx="3" class="switch"/>'
                + (_text(x + w / 2, spine_y + 22, label) if w >= 18 else "")
                + "</g>"
            )
            group_centre[index] = (x + w / 2, spine_y + 34)
    # Scalable units per pod, in rows.
    su_centre: dict[int, tuple[float, float]] = {}
    for pod in range(pods):
        mine = [u for u in units if u[2] == pod]
        left = MARGIN + pod * column_width + SU_GAP
        for position, (index, pool, _pod, nodes) in enumerate(mine):
            x = left + (position % per_row) * (size + SU_GAP)
            y = su_y + (position // per_row) * (size + SU_GAP)
            fill = REGULATED_FILL if pool in regulated else colours[pool]
            classes = "su" + (" regulated" if pool in regulated else "") + (" changed" if pool in changed_pools else "")
            holders = ", ".join(quota_holders.get(pool, [])) or "no tenant holds quota"
            title = f"SU {index} of pool {pool}: {nodes} nodes, {fabric.rails} leaves (one per rail); quota: {holders}"
            if pool in regulated:
                title += f"; dedicated to {regulated[pool]}, on its own partition only"
            inner = ""
            if size >= MAX_SU_SIZE:
                # Room for the unit's leaves, one per rail, and its name.
                rails = fabric.layout(pool).rails
                leaf_w = (size - 8) / max(rails, 1)
                inner = "".join(
                    f'<rect class="leaf" x="{x + 4 + r * leaf_w:.1f}" y="{y + 4:.1f}" width="{leaf_w - 2:.1f}" '
                    f'height="14"><title>leaf of rail {r}</title></rect>'
                    for r in range(rails)
                )
                label_cls = "label su-label" + (" on-hatch" if pool in regulated else "")
                inner += _text(x + size / 2, y + size - 22, f"SU {index}", cls=label_cls)
                inner += _text(x + size / 2, y + size - 8, f"{pool}", cls=label_cls)
            # Coloured by pool, or (the reader's choice) by the tenant holding the most quota on it.
            holder = largest.get(pool, (0, ""))[1]
            by_tenant = REGULATED_FILL if pool in regulated else tenant_colours.get(holder, UNBOOKED)
            parts.append(
                f'<g class="{classes}" data-pool="{escape(pool)}" data-su="{index}"><title>{escape(title)}</title>'
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{size}" height="{size}" rx="2" fill="{fill}" '
                f'data-fill-pool="{fill}" data-fill-tenant="{by_tenant}" '
                f'stroke="{colours[pool]}" stroke-width="2"/>{inner}</g>'
            )
            su_centre[index] = (x + size / 2, y)
    # Link bundles: leaves of each pod (all SUs) to each of its spine groups, with cable counts.
    for pod, indexes in sorted(groups_by_pod.items()):
        pod_units = [u for u in units if u[2] == pod]
        if not pod_units:
            continue
        xs = [su_centre[u[0]][0] for u in pod_units]
        anchor = ((min(xs) + max(xs)) / 2, su_y - 4)
        for index in indexes:
            group = shape.spine_groups[index]
            cables = len(group.leaves) * shape.spines_per_group * shape.leaf_spine_links
            gx, gy = group_centre[index]
            bundles += 1
            parts.append(
                f'<g class="link-bundle" data-tier="leaf-spine" data-cables="{cables}"><title>'
                f"{cables:,} leaf-spine cables to spine group {index}</title>"
                f'<line x1="{anchor[0]:.1f}" y1="{anchor[1]:.1f}" x2="{gx:.1f}" y2="{gy:.1f}" class="bundle"/></g>'
            )
        total = sum(
            len(shape.spine_groups[i].leaves) * shape.spines_per_group * shape.leaf_spine_links for i in indexes
        )
        below = su_y + ((len(pod_units) + per_row - 1) // per_row) * (size + SU_GAP) + 12
        parts.append(_text(anchor[0], below, f"{total:,} leaf-spine cables", cls="count"))
    if shape.tiers == 3:
        cores = fabric.counts.cores
        parts.append(
            f'<g class="core-tier"><title>{cores:,} core switches in {shape.spines_per_group} groups</title>'
            f'<rect x="{MARGIN}" y="{core_y}" width="{WIDTH - 2 * MARGIN}" height="40" rx="4" class="switch core"/>'
            + _text(WIDTH / 2, core_y + 25, f"core: {cores:,} switches in {shape.spines_per_group} groups")
            + "</g>"
        )
        for pod, indexes in sorted(groups_by_pod.items()):
            xs = [group_centre[i][0] for i in indexes]
            cables = len(indexes) * shape.spines_per_group * shape.spine_uplinks
            centre = (min(xs) + max(xs)) / 2
            bundles += 1
            parts.append(
                f'<g class="link-bundle" data-tier="spine-core" data-cables="{cables}"><title>'
                f"{cables:,} spine-core cables of pod {pod}</title>"
                f'<line x1="{centre:.1f}" y1="{spine_y:.1f}" x2="{centre:.1f}" y2="{core_y + 40}" class="bundle"/></g>'
            )
            parts.append(
                _text(centre + 6, spine_y - 8, f"pod {pod}: {cables:,} spine-core cables", cls="count", anchor="start")
            )
    parts.append("</svg>")
    return TopologyDrawing("\n".join(parts), len(units), len(shape.spine_groups), bundles, colours)


def _is_regulated(config: SiteConfig, tenant: str) -> bool:
    found = config.tenant(tenant)
    return found is not None and found.kind == "regulated"
