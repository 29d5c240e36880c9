"""The composed pilot against the rules the operators enforce at run time, each read at its pinned tag.

Schemas prove shape; these prove behaviour: what ib-kubernetes, rdma-cni, Kueue's flavor
assigner, Rook and the storage charts accept. Each test names the upstream file the rule lives in.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from test_site import ComposedSite, compose

from components.scheduling.quotas import COVERED_RESOURCES

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pilot_site() -> ComposedSite:
    return compose(REPO / "site-configs" / "eu-pilot.yaml")


def kueue_excluded_prefixes(site: ComposedSite) -> list[str]:
    release = next(r for r in site.resources if r.type.endswith("Release") and r.inputs["name"] == "kueue")
    text = release.inputs["values"].get("managerConfig", {}).get("controllerManagerConfigYaml", "")
    config = yaml.safe_load(text) or {}
    return list(config.get("resources", {}).get("excludeResourcePrefixes", []))


def test_kueue_admits_every_extended_resource_a_tenant_pod_requests(pilot_site: ComposedSite) -> None:
    """Kueue refuses a workload requesting a resource its ClusterQueue does not cover ("resource
    unavailable in ClusterQueue": kubernetes-sigs/kueue v0.19.2 pkg/scheduler/flavorassigner/
    flavorassigner.go) unless its name starts with a `resources.excludeResourcePrefixes` entry
    (apis/config/v1beta2/configuration_types.go; plain prefix match in pkg/workload/workload.go).
    A tenant's multi-node pod requests a VF per rail (its networks' resourceName), and 1 GiB
    hugepages where its pool reserves them."""
    excluded = kueue_excluded_prefixes(pilot_site)
    requested = {
        n.inputs["metadata"]["annotations"]["k8s.v1.cni.cncf.io/resourceName"]
        for n in pilot_site.objects("NetworkAttachmentDefinition")
    }
    requested |= {"hugepages-1Gi"}
    for queue in pilot_site.objects("ClusterQueue"):
        covered = {r for g in queue.inputs["spec"]["resourceGroups"] for r in g["coveredResources"]}
        assert covered == set(COVERED_RESOURCES), queue.urn
        unadmitted = sorted(r for r in requested if r not in covered and not r.startswith(tuple(excluded)))
        assert not unadmitted, f"{queue.urn}: Kueue would never admit a pod requesting {unadmitted}"
    assert not any("nvidia.com/gpu".startswith(p) for p in excluded), "GPUs stay under quota"


def test_every_network_pkey_is_one_ib_kubernetes_accepts(pilot_site: ComposedSite) -> None:
    """ib-kubernetes: `IsPKeyValid(pkey) = pkey == pkey & 0x7fff` (Mellanox/ib-kubernetes
    pkg/ib-utils/utils.go); the tenant's partition in partitions.conf is the same 15 bits."""
    for network in pilot_site.objects("NetworkAttachmentDefinition"):
        tenant = pilot_site.config.tenant(network.inputs["metadata"]["namespace"])
        assert tenant is not None
        pkey = int(json.loads(network.inputs["spec"]["config"])["plugins"][0]["pkey"], 16)
        assert pkey == pkey & 0x7FFF == tenant.pkey & 0x7FFF, network.urn


def test_the_nic_cluster_policy_upgrades_doca_ofed_at_the_pools_combined_pace(pilot_site: ComposedSite) -> None:
    """One cluster-wide `ofedDriver.upgradePolicy.maxParallelUpgrades` (network-operator v26.4.1
    NicClusterPolicy CRD): the pilot's pools allow 4 and 1 at a time, so 5, not the strictest 1."""
    policy = pilot_site.one("NicClusterPolicy", "nic-cluster-policy").inputs["spec"]
    assert policy["ofedDriver"]["upgradePolicy"]["maxParallelUpgrades"] == 5
    assert policy["ofedDriver"]["upgradePolicy"]["drain"]["enable"] is True
