"""The rendered state the contracts read: the plan's objects, the charts' objects, partitions.conf."""

from __future__ import annotations

import re
from collections.abc import Mapping

from infra.engine.charts.render import ChartRendering, helm_releases
from infra.engine.contracts.model import ClusterState, StateObject
from infra.engine.manifests import is_kubernetes_object, manifest
from infra.engine.recording import RecordedPlan

# partitions.conf: `Name=PKey[,flags...] : members ;` (OpenSM opensm/osm_prtn_config.c).
_PARTITION = re.compile(r"^\s*([^#=\s,:]+)\s*=\s*(0x[0-9a-fA-F]+)", re.MULTILINE)


def parse_partitions(text: str) -> dict[str, int]:
    """Partition name -> pkey of a ``partitions.conf``."""
    return {name: int(pkey, 16) for name, pkey in _PARTITION.findall(text)}


def build_state(
    plan: RecordedPlan, charts: ChartRendering | None = None, partitions_conf: str | None = None
) -> ClusterState:
    """The state of ``plan`` (with ``charts``' objects when rendered).

    ``partitions_conf`` is the fabric plan's ``partitions.conf`` (``infra.plan.fabric.opensm``); from a
    plan file, which does not hold it, the tenants' keys the plan records (the values it renders) stand in.
    """
    facts = plan.facts
    objects = [StateObject(manifest(r)) for r in plan.resources if is_kubernetes_object(r)]
    if charts is not None:
        objects.extend(StateObject(o.document, o.release) for o in charts.objects)
    if partitions_conf is not None:
        partitions: Mapping[str, int] = parse_partitions(partitions_conf)
    else:
        partitions = {name: int(tenant.pkey, 16) for name, tenant in facts.tenants.items()}
    return ClusterState(tuple(objects), tuple(helm_releases(plan)), facts, charts, partitions)
