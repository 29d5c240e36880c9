"""Storage drivers' Helm values against what each vendored chart (../shared/charts) reads and requires.

Each test states the chart's rule and the file it lives in at the pinned version. Rendering the
charts with Helm itself is the contract checks' work; these read the templates' rules directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from component_harness import gigafactory, pilot

from components.storage.driver import StorageSpec
from components.storage.drivers import driver_for
from components.storage.rook import CEPH_CSI_DRIVERS_CHART
from infra.site import storage_servers, storage_spec

CHARTS = Path(__file__).resolve().parents[3] / "shared" / "charts"
TOLERATION = {"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}


def chart_values(chart_dir: str) -> Any:
    path = CHARTS / chart_dir / "values.yaml"
    if not path.is_file():
        pytest.skip(f"no vendored chart at {path}")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def specs(kind: str) -> tuple[StorageSpec, ...]:
    systems = [*pilot().storage, *gigafactory().storage]
    config = pilot() if kind == "rook-ceph" else gigafactory()
    return tuple({s.name: storage_spec(s, storage_servers(config)) for s in systems if s.kind == kind}.values())


def undeclared(values: Any, defaults: Any, path: str = "") -> list[str]:
    """Paths of ``values`` that the chart's values.yaml does not declare (a chart ignores them)."""
    if not isinstance(values, dict) or not isinstance(defaults, dict):
        return []
    found = []
    for key, value in values.items():
        if key not in defaults:
            found.append(f"{path}{key}")
        else:
            found += undeclared(value, defaults[key], f"{path}{key}.")
    return found


def contains(values: Any, required: Any, path: str = "") -> list[str]:
    """Paths where ``values`` differs from ``required`` (every key of ``required`` must be there, equal)."""
    if isinstance(required, dict):
        if not isinstance(values, dict):
            return [path or "(root)"]
        return [p for key, value in required.items() for p in contains(values.get(key), value, f"{path}{key}.")]
    return [] if values == required else [path.rstrip(".")]


def test_rook_installs_ceph_csi_drivers_with_rooks_values_after_the_operator() -> None:
    """Rook v1.20 needs the ceph-csi-drivers chart, installed after rook-ceph with Rook's values
    (rook/rook v1.20.6 Documentation/Upgrade/rook-upgrade.md; values: rook v1.20.6
    deploy/charts/ceph-csi-drivers/values.yaml, vendored as values/ceph-csi-drivers.rook-v1.20.6.yaml)."""
    driver = driver_for("rook-ceph")
    assert [c.chart for c in driver.charts] == ["rook-ceph", "ceph-csi-drivers"], "drivers after the operator"
    rook_values = yaml.safe_load((CHARTS / "values" / "ceph-csi-drivers.rook-v1.20.6.yaml").read_text())
    values = driver.chart_values(CEPH_CSI_DRIVERS_CHART, specs("rook-ceph"), (TOLERATION,))
    assert contains(values, rook_values) == []
    assert values["drivers"]["cephfs"]["nodePlugin"]["tolerations"] == [TOLERATION]
    assert set(values) <= set(chart_values("ceph-csi-drivers-1.0.4"))
    assert (
        CEPH_CSI_DRIVERS_CHART.version
        == yaml.safe_load((CHARTS / "ceph-csi-drivers-1.0.4" / "Chart.yaml").read_text())["version"]
    )


def test_rook_ceph_values_are_settings_the_v1_20_chart_still_has() -> None:
    """`csi.pluginTolerations` left the rook-ceph chart in v1.20 (rook/rook v1.20.6
    deploy/charts/rook-ceph/values.yaml): every value the site sets must be one the chart declares."""
    driver = driver_for("rook-ceph")
    defaults = chart_values("rook-ceph-v1.20.6")
    assert undeclared(driver.chart_values(driver.charts[0], specs("rook-ceph"), (TOLERATION,)), defaults) == []
    cluster_defaults = chart_values("rook-ceph-cluster-v1.20.6")
    for release in driver.extra_releases(specs("rook-ceph")):
        # cephClusterSpec passes through to the CephCluster (validated against its CRD elsewhere).
        assert set(release.values) <= set(cluster_defaults), release.chart.release


def test_vast_values_give_every_storage_class_what_the_chart_template_requires() -> None:
    """vastcsi 2.5.0 `fail`s on empty `storageClasses` and on a class without storagePath or
    viewPolicy; vipPool and vipPoolFQDN are exclusive; a working class needs vipPool and
    secretName (vast-data/vast-csi v2.5.0 charts/vastcsi/templates/storage-class.yaml)."""
    driver = driver_for("vast")
    systems = specs("vast")
    assert systems, "the 100k site has VAST systems"
    values = driver.chart_values(driver.charts[0], systems, (TOLERATION,))
    classes = values["storageClasses"]
    assert sorted(classes) == sorted(s["name"] for s in systems)
    defaults = chart_values("vastcsi-2.5.0")
    for name, entry in classes.items():
        merged = {**defaults["storageClassDefaults"], **entry}
        assert merged["storagePath"] and merged["viewPolicy"], name
        assert merged["vipPool"] and not merged["vipPoolFQDN"], name
        assert merged["secretName"], name
        assert set(entry) <= set(defaults["storageClassDefaults"]), name
    assert values["node"]["tolerations"] == [TOLERATION]
    assert driver.classes_from_chart


def test_vast_view_policy_and_vip_pool_come_from_the_site() -> None:
    driver = driver_for("vast")
    system = StorageSpec(
        name="vast-x", kind="vast", endpoint="https://vms", mount_path="/x", view_policy="k8s-rw", vip_pool="pool-a"
    )
    entry = driver.chart_values(driver.charts[0], (system,), ())["storageClasses"]["vast-x"]
    assert (entry["viewPolicy"], entry["vipPool"]) == ("k8s-rw", "pool-a")


def test_exascaler_example_filesystem_does_not_survive_the_merge_and_classes_name_their_config() -> None:
    """The exa-csi chart's values.yaml ships an example `config.exascaler_map.exa1`
    (DDNStorage/exa-csi-driver deploy/helm-chart/values.yaml); Helm merges maps, so the site's map
    must delete it with null. A class picks its map entry with `configName` (exa-csi-driver README,
    "CSI Parameters")."""
    driver = driver_for("exascaler")
    systems = specs("exascaler")
    exa_map = driver.chart_values(driver.charts[0], systems, ())["config"]["exascaler_map"]
    chart_default = {"exa1": {"mountPoint": "/exaFS", "exaFS": "10.204.86.217@tcp:/testfs", "zone": "zone-1"}}
    merged = {k: v for k, v in {**chart_default, **exa_map}.items() if v is not None}
    assert sorted(merged) == sorted(s["name"] for s in systems)
    for system in systems:
        assert driver.storage_class(system, with_secret=False).parameters["configName"] in merged, system["name"]


def test_ceph_runs_on_the_storage_nodes_only_with_their_named_disks() -> None:
    """`useAllNodes`/`useAllDevices` put OSDs on every node (GPU nodes included) and take any raw disk
    (Rook v1.20.6 CephCluster `storage`, Documentation/CRDs/Cluster/ceph-cluster-crd.md); Rook's
    managed PodDisruptionBudgets then cover pods on GPU nodes and hold up their driver-upgrade drains.
    The site's Ceph runs on its storage nodes only."""
    config = pilot()
    driver = driver_for("rook-ceph")
    storage_nodes = {name for pool in config.storage_nodes for name in pool.node_names()}
    gpu_nodes = {name for pool in config.node_pools for name in pool.node_names()}
    assert storage_nodes and not storage_nodes & gpu_nodes
    placements = {}
    for release in driver.extra_releases(specs("rook-ceph")):
        spec = release.values["cephClusterSpec"]
        placements[release.chart.namespace] = spec["placement"]["all"]
        storage = spec["storage"]
        assert storage["useAllNodes"] is False and storage["useAllDevices"] is False, release.chart.release
        assert {n["name"] for n in storage["nodes"]} == storage_nodes
        assert all(n["devices"] == [{"name": d} for d in config.storage_nodes[0].devices] for n in storage["nodes"])
        terms = spec["placement"]["all"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        (term,) = terms["nodeSelectorTerms"]
        assert term["matchExpressions"] == [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": sorted(storage_nodes)}
        ]
    # The pods each store runs besides the OSDs, and the spec field that places them (Rook v1.20.6
    # CephFilesystem `metadataServer.placement`, CephObjectStore `gateway.placement`); a CephBlockPool
    # runs none: its data sits on the OSDs placed above.
    daemons = {"CephFilesystem": "metadataServer", "CephObjectStore": "gateway"}
    placed = set()
    for system in specs("rook-ceph"):
        store = driver.backing_store(system)
        if store.kind == "CephBlockPool":
            continue
        assert store.spec[daemons[store.kind]]["placement"] == placements[store.namespace], system["name"]
        placed.add(store.kind)
    assert placed == set(daemons), "the pilot has a filesystem and an object store"


def test_ceph_without_storage_nodes_never_reaches_composition() -> None:
    bare = StorageSpec(name="objects", kind="rook-ceph", endpoint="rook-ceph/objects", interface="object")
    with pytest.raises(ValueError, match="no storage nodes to run on"):
        driver_for("rook-ceph").extra_releases((bare,))
