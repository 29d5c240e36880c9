"""Object validation: built-ins against the Kubernetes OpenAPI schema, custom resources against CRDs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kube_schemas import (
    CHARTS_ENV,
    CRDS_ENV,
    CrdsUnavailableError,
    ObjectValidator,
    SchemaNotFoundError,
    default_charts_dir,
    default_crds_dir,
)

from infra.engine.charts.capabilities import kubernetes_schema_version


@pytest.fixture(scope="module")
def validator() -> ObjectValidator:
    crds = default_crds_dir()
    if crds is None:
        pytest.skip("no CRD folder at ../shared/crds: custom resources cannot be validated")
    return ObjectValidator("1.35", crds)


def flavor(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ResourceFlavor", "metadata": {"name": "f"}, "spec": spec}


def test_builtin_objects_are_checked_strictly(validator: ObjectValidator) -> None:
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n", "labels": {"a": "b"}}}
    assert validator.errors(node) == []
    assert validator.errors({**node, "spec": {"taintz": []}}) == [
        "spec: Additional properties are not allowed ('taintz' was unexpected)"
    ]
    quota = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"}, "spec": {"hard": {"cpu": "4"}}}
    assert validator.errors(quota) == []
    assert validator.errors({**quota, "spec": {"hard": ["cpu"]}}) != [], "hard is a map of quantities"


def test_custom_resources_are_checked_against_their_crd(validator: ObjectValidator) -> None:
    assert validator.errors(flavor(nodeLabels={"a": "b"}, topologyName="fabric")) == []
    assert validator.errors(flavor(nodeLabel={})) == [
        "spec: Additional properties are not allowed ('nodeLabel' was unexpected)"
    ]
    assert validator.errors(flavor(topologyName="Not_A_Name")) != []


def test_custom_resource_metadata_is_checked_as_object_meta(validator: ObjectValidator) -> None:
    body = {**flavor(), "metadata": {"name": "f", "lables": {}}}
    assert validator.errors(body) == ["metadata: Additional properties are not allowed ('lables' was unexpected)"]


def test_int_or_string_and_top_level_fields(validator: ObjectValidator) -> None:
    queue = {
        "apiVersion": "kueue.x-k8s.io/v1beta2",
        "kind": "ClusterQueue",
        "metadata": {"name": "q"},
        "spec": {
            "resourceGroups": [
                {
                    "coveredResources": ["nvidia.com/gpu"],
                    "flavors": [{"name": "f", "resources": [{"name": "nvidia.com/gpu", "nominalQuota": 8}]}],
                }
            ]
        },
    }
    assert validator.errors(queue) == []
    priority = {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "WorkloadPriorityClass", "metadata": {"name": "p"}}
    assert validator.errors({**priority, "value": 10}) == []
    assert validator.errors(priority) == ["(object): 'value' is a required property"]


def test_unknown_kinds_and_versions_are_reported(validator: ObjectValidator) -> None:
    with pytest.raises(SchemaNotFoundError, match="Nope"):
        validator.errors({"apiVersion": "example.com/v1", "kind": "Nope", "metadata": {"name": "x"}})
    with pytest.raises(SchemaNotFoundError, match="does not serve version v9"):
        validator.errors({**flavor(), "apiVersion": "kueue.x-k8s.io/v9"})


def test_custom_resources_need_the_crd_folder() -> None:
    with pytest.raises(CrdsUnavailableError):
        ObjectValidator("1.35", None).errors(flavor())


def test_crd_folder_can_be_moved_by_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(CRDS_ENV, str(tmp_path))
    assert default_crds_dir() == tmp_path
    monkeypatch.setenv(CRDS_ENV, str(tmp_path / "missing"))
    assert default_crds_dir() is None


def test_chart_folder_can_be_moved_by_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(CHARTS_ENV, raising=False)
    found = default_charts_dir()
    assert found is None or found == Path(__file__).resolve().parents[2] / "shared" / "charts"
    monkeypatch.setenv(CHARTS_ENV, str(tmp_path))
    assert default_charts_dir() == tmp_path
    monkeypatch.setenv(CHARTS_ENV, str(tmp_path / "missing"))
    assert default_charts_dir() is None


def test_schema_version_is_the_newest_not_after_the_site_version() -> None:
    assert kubernetes_schema_version("1.35") == "1.35.0"
    assert kubernetes_schema_version("v1.33") == "1.33.0"
