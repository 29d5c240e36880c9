"""The plan summary warns about what a site's hardware has and the deployment does not build."""

from __future__ import annotations

from infra.engine.summary import warning_lines


def test_nvl72_pools_are_warned_that_multi_node_nvlink_is_not_deployed() -> None:
    """GPU Operator v26.7.0 offers ComputeDomains only through `gpuCluster.deployCR`, which its
    values.yaml marks experimental and invalid beside ClusterPolicy: an NVL72 rack's 18-node NVLink
    domain goes unused, and the plan must say so."""
    lines = warning_lines({"gb200-train": {"gpu_model": "GB200-NVL72"}, "b200-train": {"gpu_model": "B200"}})
    assert len(lines) == 1
    assert "pool gb200-train" in lines[0] and "NVLink domains of 18 nodes" in lines[0]
    assert "no ComputeDomain is deployed" in lines[0]
