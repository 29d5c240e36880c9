"""What the nodes of each pool must become: node-level facts changed by a site change.

The facts are node acceptance's expectations (``infra/acceptance/expectations.py``): what
`gigafactory verify` checks on every node after the change. Each line says whether the change
needs the nodes rebooted or drained while it is applied:

- sysctls are set at runtime (``sysctl -w`` by node provisioning): no reboot, no drain;
- 1 GiB hugepages are reserved on the kernel command line at boot, since gigantic pages can rarely
  be allocated at runtime once memory is fragmented (Linux ``Documentation/admin-guide/mm/
  hugetlbpage.rst``, "gigantic pages"): reboot;
- the GPU driver and DOCA-OFED are reloaded by their operators' upgrade controllers, which
  cordon and drain each node first (GPU Operator ``driver.upgradePolicy``, Network Operator
  ``ofedDriver.upgradePolicy``): drain;
- compute HCAs, GPUs and the IPoIB MTU are hardware or link settings: drain and reboot;
- mounts change under running pods: drain; partitions follow the tenants (pods restart on them).
"""

from __future__ import annotations

from collections.abc import Mapping

from infra.engine.facts import NodeFacts, SiteFacts
from infra.engine.findings import DRAIN, REBOOT, Finding, paired, text, where

_SYSCTL = "set live by node provisioning, no reboot"


def node_intents(old: SiteFacts, new: SiteFacts) -> list[Finding]:
    """Node-level changes of every pool present in both plans (new pools are intent of their own)."""
    found: list[Finding] = []
    for name, before, after in paired(old.pools, new.pools):
        if before is None or after is None or before.node is None or after.node is None:
            continue
        found += _pool_nodes(name, before.node, after.node, old, new)
    return found


def _pool_nodes(pool: str, a: NodeFacts, b: NodeFacts, old: SiteFacts, new: SiteFacts) -> list[Finding]:
    found = []
    subject, at = f"pool {pool}", f"pools.{pool}"

    def add(message: str, fact: str, needs: str = "") -> None:
        found.append(Finding("nodes", subject, f"pool {pool} nodes: {message}", where(fact, new, old), needs=needs))

    for key, x, y in paired(a.sysctls, b.sysctls):
        if x != y:
            add(f"sysctl {key} {text(x)} -> {text(y)} ({_SYSCTL})", f"{at}.sysctls.{key}")
    if a.hugepages_1gi != b.hugepages_1gi:
        add(
            f"1 GiB hugepages {a.hugepages_1gi} -> {b.hugepages_1gi} per node (reserved at boot: reboot every node)",
            f"{at}.hugepages_1gi",
            REBOOT,
        )
    if a.gpudirect_rdma != b.gpudirect_rdma:
        add(
            f"GPUDirect RDMA {text(a.gpudirect_rdma)} -> {text(b.gpudirect_rdma)}", "operators.gpu_operator.rdma", DRAIN
        )
    if (a.gpu_count, a.gpu_product) != (b.gpu_count, b.gpu_product):
        add(
            f"GPUs {a.gpu_count} x {a.gpu_product} -> {b.gpu_count} x {b.gpu_product}",
            f"{at}.gpu_model",
            f"{DRAIN}, {REBOOT}",
        )
    if a.hcas != b.hcas:
        add(f"compute HCAs {_listing(a.hcas, b.hcas)}", f"{at}.hcas", f"{DRAIN}, {REBOOT}")
    if a.ipoib_mtu != b.ipoib_mtu:
        add(f"IPoIB partition MTU {a.ipoib_mtu} -> {b.ipoib_mtu}", "fabric.ipoib_mtu", f"{DRAIN}, {REBOOT}")
    if a.mounts != b.mounts:
        add(f"mounts {_listing(a.mounts, b.mounts)}", f"{at}", DRAIN)
    if a.partitions != b.partitions:
        # The partitions follow the tenants' keys and quotas: point at the first tenant that moved.
        moved = [item for item in (*b.partitions, *a.partitions) if (item in a.partitions) != (item in b.partitions)]
        tenant = moved[0].rsplit("(", 1)[-1].rstrip(")") if moved else ""
        add(f"partitions {_listing(a.partitions, b.partitions)}", f"tenants.{tenant}.pkey" if tenant else at)
    found += _unlisted(pool, a, b, old, new)
    return found


def _listing(before: tuple[str, ...], after: tuple[str, ...]) -> str:
    """``+ /x (y); - /z (w)``: what joined and what left a list of node facts."""
    added = [f"+ {item}" for item in after if item not in before]
    removed = [f"- {item}" for item in before if item not in after]
    return "; ".join(added + removed) or f"{', '.join(before)} -> {', '.join(after)} (order)"


# The GPU driver and DOCA-OFED are site-wide: one intent line each (intent.py), marked drain.
_COVERED = {
    "sysctls",
    "hugepages_1gi",
    "driver_version",
    "doca_ofed_version",
    "gpudirect_rdma",
    "gpu_count",
    "gpu_product",
    "hcas",
    "ipoib_mtu",
    "mounts",
    "partitions",
    # What one node offers and how the nodes group restate GPUs, hugepages and the pool's size, each
    # said above or in the pool's own intent.
    "allocatable",
    "topology",
}


def _unlisted(pool: str, a: NodeFacts, b: NodeFacts, old: SiteFacts, new: SiteFacts) -> list[Finding]:
    """Any other known node fact that changed (the NVLink service), so no node change goes unsaid."""
    found = []
    x_json: Mapping[str, object] = {k: v for k, v in a.to_json().items() if k not in _COVERED and k not in a.extra}
    y_json: Mapping[str, object] = {k: v for k, v in b.to_json().items() if k not in _COVERED and k not in b.extra}
    for key, x, y in paired(x_json, y_json):
        if x != y:
            message = f"pool {pool} nodes: {key.replace('_', ' ')} {text(x)} -> {text(y)}"
            found.append(Finding("nodes", f"pool {pool}", message, where(f"pools.{pool}", new, old), needs=DRAIN))
    return found
