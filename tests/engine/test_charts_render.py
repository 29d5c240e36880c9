"""Helm releases rendered by real Helm (helm-python-sdk): capabilities, crds/, hooks, namespaces, failures.

Each test builds a tiny chart in a temporary folder and a plan holding one recorded
``helm.sh/v3:Release`` for it, so the behaviour is Helm's own on a chart whose templates show it.
"""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

import pytest

from infra.engine.charts.render import GENERATED, ChartRenderErrors, render_charts
from infra.engine.charts.source import ChartFolder, ChartFolderError, chart_name
from infra.engine.recording import PlannedResource, RecordedPlan

pytest.importorskip("helm_python")

RELEASE = "kubernetes:helm.sh/v3:Release"


def write_chart(
    root: Path, name: str, version: str, templates: dict[str, str], crds: dict[str, str] | None = None
) -> Path:
    chart = root / f"{name}-{version}"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: {version}\n")
    for file, text in templates.items():
        (chart / "templates" / file).write_text(text)
    for file, text in (crds or {}).items():
        (chart / "crds").mkdir(exist_ok=True)
        (chart / "crds" / file).write_text(text)
    return chart


def release(
    name: str, chart: str, version: str, values: dict[str, Any] | None = None, *, component: str = "s-operators"
) -> PlannedResource:
    return PlannedResource(
        urn=f"urn:pulumi:s::gigafactory::gigafactory:operators:ClusterOperators${RELEASE}::{name}",
        type=RELEASE,
        name=name,
        component=component,
        parent="",
        provider="",
        custom=True,
        inputs={"name": name, "namespace": f"ns-{name}", "chart": chart, "version": version, "values": values or {}},
    )


def plan_of(*resources: PlannedResource, kubernetes_version: str = "1.35") -> RecordedPlan:
    return RecordedPlan(
        project="gigafactory", stack="s", site={"kubernetes_version": kubernetes_version}, resources=resources
    )


CAPABILITIES = """apiVersion: v1
kind: ConfigMap
metadata:
  name: caps
data:
  kube: {{ .Capabilities.KubeVersion.Version | quote }}
  deviceClass: {{ .Capabilities.APIVersions.Has "resource.k8s.io/v1/DeviceClass" | quote }}
  widget: {{ .Capabilities.APIVersions.Has "example.org/v1/Widget" | quote }}
  gadget: {{ .Capabilities.APIVersions.Has "example.org/v1/Gadget" | quote }}
  openshift: {{ .Capabilities.APIVersions.Has "security.openshift.io/v1" | quote }}
"""


def crd(kind: str, scope: str = "Namespaced") -> str:
    plural = kind.lower() + "s"
    return f"""apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {plural}.example.org
spec:
  group: example.org
  scope: {scope}
  names: {{kind: {kind}, plural: {plural}, singular: {kind.lower()}, listKind: {kind}List}}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {{openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}}}
"""


def test_charts_see_the_sites_kubernetes_version_and_every_api_the_site_serves(tmp_path: Path) -> None:
    # Widget comes from another release's crds/ folder, Gadget from another release's CRD template
    # (as Kueue and Rook ship theirs); DeviceClass is built into Kubernetes 1.35 (resource.k8s.io/v1).
    write_chart(tmp_path, "asker", "1.0.0", {"caps.yaml": CAPABILITIES})
    write_chart(tmp_path, "widgets", "2.0.0", {}, crds={"widget.yaml": crd("Widget")})
    write_chart(tmp_path, "gadgets", "3.0.0", {"crd.yaml": crd("Gadget", "Cluster")})
    plan = plan_of(
        release("asker", "asker", "1.0.0"),
        release("widgets", "widgets", "2.0.0"),
        release("gadgets", "oci://r.example/charts/gadgets", "v3.0.0"),
    )
    rendering = render_charts(plan, ChartFolder(tmp_path))
    caps = next(o.document for o in rendering.objects if o.document["kind"] == "ConfigMap")
    assert caps["data"] == {
        "kube": "v1.35.0",
        "deviceClass": "true",
        "widget": "true",
        "gadget": "true",
        "openshift": "false",
    }


def test_an_older_site_gets_the_apis_of_its_own_version(tmp_path: Path) -> None:
    write_chart(tmp_path, "asker", "1.0.0", {"caps.yaml": CAPABILITIES})
    rendering = render_charts(
        plan_of(release("asker", "asker", "1.0.0"), kubernetes_version="1.33"), ChartFolder(tmp_path)
    )
    data = rendering.objects[0].document["data"]
    assert data["kube"] == "v1.33.0"
    assert data["deviceClass"] == "false", "resource.k8s.io/v1 is GA from Kubernetes 1.34"


def test_crds_folder_is_part_of_what_a_release_creates_and_objects_land_in_its_namespace(tmp_path: Path) -> None:
    write_chart(
        tmp_path,
        "widgets",
        "2.0.0",
        {
            "objects.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa}\n"
            "---# a comment Helm splits on\n"
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: cr}\n---\n"
            "apiVersion: example.org/v1\nkind: Widget\nmetadata: {name: w}\n",
            "test.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: t\n  annotations: {helm.sh/hook: test}\n",
            "NOTES.txt": "thanks: for installing\n",
        },
        crds={"widget.yaml": crd("Widget")},
    )
    rendering = render_charts(plan_of(release("widgets", "widgets", "2.0.0")), ChartFolder(tmp_path))
    placed = {(o.document["kind"], o.document["metadata"].get("namespace")) for o in rendering.objects}
    assert placed == {
        ("CustomResourceDefinition", None),
        ("ServiceAccount", "ns-widgets"),
        ("ClusterRole", None),
        ("Widget", "ns-widgets"),
    }, "Helm's test hooks are not installed; namespaced objects go to the release's namespace"
    assert rendering.objects[0].source == "widgets/crds/widget.yaml"


def test_values_are_the_ones_the_plan_recorded_and_archives_are_read(tmp_path: Path) -> None:
    chart = write_chart(
        tmp_path / "src",
        "echo",
        "0.1.0",
        {"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: e}\ndata: {v: {{ .Values.v | quote }}}\n"},
    )
    (tmp_path / "charts").mkdir()
    with tarfile.open(tmp_path / "charts" / "echo-0.1.0.tgz", "w:gz") as archive:
        archive.add(chart, arcname="echo")
    rendering = render_charts(
        plan_of(release("echo", "echo", "0.1.0", {"v": "[secret]"})), ChartFolder(tmp_path / "charts")
    )
    assert rendering.objects[0].document["data"] == {"v": "[secret]"}


def test_values_a_chart_makes_up_are_marked_so_renders_are_identical(tmp_path: Path) -> None:
    write_chart(
        tmp_path,
        "pw",
        "1.0.0",
        {
            "s.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"
            "data: {password: {{ randAlphaNum 20 | b64enc | quote }}, user: YWRtaW4=}\n"
        },
    )
    plan = plan_of(release("pw", "pw", "1.0.0"))
    first, second = (render_charts(plan, ChartFolder(tmp_path)) for _ in range(2))
    assert first.objects[0].document == second.objects[0].document
    assert first.objects[0].document["data"] == {"password": GENERATED, "user": "YWRtaW4="}


def test_every_failing_chart_is_reported_with_helms_message(tmp_path: Path) -> None:
    write_chart(
        tmp_path,
        "strict",
        "1.0.0",
        {"x.yaml": '{{ required "storageClasses needs at least one class" .Values.storageClasses }}'},
    )
    write_chart(tmp_path, "angry", "1.0.0", {"x.yaml": '{{ fail "no, never" }}'})
    with pytest.raises(ChartRenderErrors) as raised:
        render_charts(
            plan_of(release("strict", "strict", "1.0.0"), release("angry", "angry", "1.0.0")), ChartFolder(tmp_path)
        )
    messages = sorted(str(e) for e in raised.value.errors)
    assert len(messages) == 2
    assert "ns-angry/angry (angry 1.0.0)" in messages[0] and "no, never" in messages[0]
    assert "storageClasses needs at least one class" in messages[1]


def test_a_missing_chart_names_the_helm_pull_that_fetches_it(tmp_path: Path) -> None:
    write_chart(tmp_path, "kueue", "0.18.0", {})
    plan = plan_of(release("kueue", "oci://registry.k8s.io/kueue/charts/kueue", "0.19.2"))
    with pytest.raises(ChartFolderError) as raised:
        render_charts(plan, ChartFolder(tmp_path))
    assert f"helm pull oci://registry.k8s.io/kueue/charts/kueue --version 0.19.2 -d {tmp_path}" in str(raised.value)
    assert "the folder has kueue 0.18.0" in str(raised.value)


def test_the_exascaler_chart_is_not_rendered_without_its_archive(tmp_path: Path) -> None:
    plan = plan_of(release("exa-csi", "./vendor/charts/exa-csi-2.7.0.tgz", "2.7.0", component="s-storage-exascaler"))
    rendering = render_charts(plan, ChartFolder(tmp_path))
    assert rendering.objects == () and [r.name for r, _ in rendering.not_rendered] == ["exa-csi"]


@pytest.mark.parametrize(
    ("reference", "version", "name"),
    [
        ("gpu-operator", "v26.7.0", "gpu-operator"),
        ("oci://quay.io/jetstack/charts/cert-manager", "v1.21.1", "cert-manager"),
        ("./vendor/charts/exa-csi-2.7.0.tgz", "2.7.0", "exa-csi"),
    ],
)
def test_chart_names_from_release_references(reference: str, version: str, name: str) -> None:
    assert chart_name(reference, version) == name


def test_a_file_is_not_a_chart_folder(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("")
    with pytest.raises(ChartFolderError):
        ChartFolder(tmp_path / "x")


def test_the_objects_are_those_of_the_api_set_their_last_render_was_given(tmp_path: Path) -> None:
    # Gadget is a CRD template; gizmos templates Gizmo only once Gadget is served, so the second
    # pass finds an API the first did not. Two passes offer it to no chart, and the check for
    # generated values renders with the APIs the objects came from: nothing differs between them.
    asks = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: caps}\n"
    asks += 'data: {gizmo: {{ .Capabilities.APIVersions.Has "example.org/v1/Gizmo" | quote }}}\n'
    write_chart(tmp_path, "asker", "1.0.0", {"caps.yaml": asks})
    write_chart(tmp_path, "gadgets", "3.0.0", {"crd.yaml": crd("Gadget", "Cluster")})
    gizmo = '{{ if .Capabilities.APIVersions.Has "example.org/v1/Gadget" }}\n' + crd("Gizmo") + "{{ end }}\n"
    write_chart(tmp_path, "gizmos", "1.0.0", {"crd.yaml": gizmo})
    plan = plan_of(
        release("asker", "asker", "1.0.0"), release("gadgets", "gadgets", "3.0.0"), release("gizmos", "gizmos", "1.0.0")
    )
    rendering = render_charts(plan, ChartFolder(tmp_path))
    caps = next(o.document for o in rendering.objects if o.document["kind"] == "ConfigMap")
    assert caps["data"] == {"gizmo": "false"}, "not a value the chart generates: the API set changed under it"
    kinds = {
        o.document["metadata"]["name"] for o in rendering.objects if o.document["kind"] == "CustomResourceDefinition"
    }
    assert kinds == {"gadgets.example.org", "gizmos.example.org"}
