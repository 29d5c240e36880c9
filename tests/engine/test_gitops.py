"""GitOps output of `render`: kustomizations, Flux and Argo CD objects that validate and keep order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from kube_schemas import validate_object

from infra.cli import main
from infra.engine.gitops import GitOpsError, GitOpsOptions, Release, argocd_objects, flux_objects

REPO = Path(__file__).resolve().parents[2]
PILOT = str(REPO / "site-configs" / "eu-pilot.yaml")


def _docs(folder: Path, pattern: str) -> dict[str, dict[str, Any]]:
    return {p.relative_to(folder).as_posix(): yaml.safe_load(p.read_text()) for p in sorted(folder.glob(pattern))}


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("gitops")
    folders = {"plain": out / "plain", "flux": out / "flux", "argocd": out / "argocd"}
    assert main(["render", PILOT, "-o", str(folders["plain"])]) == 0
    assert main(["render", PILOT, "-o", str(folders["flux"]), "--gitops", "flux", "--gitops-path", "deploy/pilot"]) == 0
    argocd = ["--gitops", "argocd", "--gitops-path", "deploy/pilot", "--repo-url", "https://git.example.eu/site.git"]
    assert main(["render", PILOT, "-o", str(folders["argocd"]), *argocd]) == 0
    return folders


@pytest.mark.parametrize("mode", ["plain", "flux", "argocd"])
def test_every_folder_is_a_kustomization_listing_exactly_its_contents(renders: dict[str, Path], mode: str) -> None:
    root = renders[mode]
    for kustomization in root.rglob("kustomization.yaml"):
        folder = kustomization.parent
        listed = yaml.safe_load(kustomization.read_text())["resources"]
        assert listed == sorted(set(listed), key=listed.index), f"{kustomization}: a resource listed twice"
        for name in listed:
            target = folder / name
            assert target.is_file() or (target / "kustomization.yaml").is_file(), f"{kustomization}: {name} missing"
        if folder != root:
            present = {p.name for p in folder.glob("*.yaml") if p.name != "kustomization.yaml"}
            present |= {p.name for p in folder.iterdir() if (p / "kustomization.yaml").is_file()}
            assert present == set(listed), f"{kustomization} must list every file and folder beside it"
    entry = {"plain": ["manifests"], "flux": ["flux"], "argocd": ["argocd"]}[mode]
    assert yaml.safe_load((root / "kustomization.yaml").read_text())["resources"] == entry


def test_flux_objects_validate_and_carry_the_releases_values(renders: dict[str, Path]) -> None:
    root = renders["flux"]
    docs = _docs(root, "releases/flux/*--*.yaml")
    kinds = sorted({d["kind"] for d in docs.values()})
    assert kinds == ["HelmRelease", "HelmRepository", "OCIRepository"]
    for path, doc in docs.items():
        assert validate_object(doc, "1.35") == [], path
    plain = yaml.safe_load((renders["plain"] / "helm" / "releases.yaml").read_text())["releases"]
    releases = {d["spec"]["releaseName"]: d for d in docs.values() if d["kind"] == "HelmRelease"}
    assert sorted(releases) == sorted(r["name"] for r in plain), "one HelmRelease per release"
    for entry in plain:
        values = yaml.safe_load((renders["plain"] / "helm" / entry["values"]).read_text())
        assert releases[entry["name"]]["spec"]["values"] == values, entry["name"]
        assert releases[entry["name"]]["spec"]["targetNamespace"] == entry["namespace"]
    # The order pulumi up keeps: the Ceph cluster after the Rook operator whose CRDs it needs.
    depends = releases["rook-ceph-cluster"]["spec"]["dependsOn"]
    assert {"name": "rook-ceph-rook-ceph", "namespace": "flux-system"} in depends


def test_flux_layers_apply_base_then_releases_then_manifests(renders: dict[str, Path]) -> None:
    root = renders["flux"]
    layers = {d["metadata"]["name"]: d["spec"] for d in _docs(root, "flux/kustomization--*.yaml").values()}
    assert {n: s.get("dependsOn") for n, s in layers.items()} == {
        "eu-pilot-base": None,
        "eu-pilot-releases": [{"name": "eu-pilot-base"}],
        "eu-pilot-manifests": [{"name": "eu-pilot-releases"}],
    }
    assert (
        layers["eu-pilot-releases"]["wait"] is True
        and layers["eu-pilot-manifests"]["path"] == "./deploy/pilot/manifests"
    )
    base = [d["kind"] for d in _docs(root, "base/*/*--*.yaml").values()]
    assert "Namespace" in base and "NicClusterPolicy" not in base
    assert any(d["kind"] == "NicClusterPolicy" for d in _docs(root, "manifests/*/*--*.yaml").values())


@pytest.mark.parametrize(
    ("mode", "annotation"),
    [("flux", "kustomize.toolkit.fluxcd.io/prune"), ("argocd", "argocd.argoproj.io/sync-options")],
)
def test_node_identity_is_never_pruned(renders: dict[str, Path], mode: str, annotation: str) -> None:
    rules = [d for d in _docs(renders[mode], "*/*/nodefeaturerule*.yaml").values()]
    assert rules, "the pilot's node identity comes from NodeFeatureRules"
    for rule in rules:
        assert rule["metadata"]["annotations"][annotation] in ("disabled", "Prune=false")
    plain = _docs(renders["plain"], "*/*/nodefeaturerule*.yaml").values()
    assert all(annotation not in (d["metadata"].get("annotations") or {}) for d in plain)


def test_argocd_applications_validate_and_sync_in_waves(renders: dict[str, Path]) -> None:
    docs = _docs(renders["argocd"], "argocd/application--*.yaml")
    for path, doc in docs.items():
        assert validate_object(doc, "1.35") == [], path
    wave = {
        d["metadata"]["name"]: int(d["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) for d in docs.values()
    }
    releases = {n: w for n, w in wave.items() if not n.startswith("eu-pilot-")}
    assert wave["eu-pilot-base"] < min(releases.values()) and max(releases.values()) < wave["eu-pilot-manifests"]
    assert wave["rook-ceph-rook-ceph"] < wave["rook-ceph-rook-ceph-cluster"]
    kueue = docs["argocd/application--kueue-system-kueue.yaml"]["spec"]["source"]
    assert (kueue["repoURL"], kueue["chart"], kueue["targetRevision"]) == (
        "registry.k8s.io/kueue/charts",
        "kueue",
        "0.19.2",
    )


def test_argocd_needs_the_repository_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", PILOT, "-o", str(tmp_path / "out"), "--gitops", "argocd"]) == 2
    assert "needs --repo-url" in capsys.readouterr().err
    assert not (tmp_path / "out").exists(), "nothing is written"


def _release(**changes: Any) -> Release:
    base: dict[str, Any] = {
        "name": "vault-csi",
        "namespace": "storage",
        "chart": "vault-csi",
        "version": "1.0.0",
        "repository": "https://charts.example.eu",
        "values": {"auth": {"token": "[secret]", "user": "svc"}, "replicas": 2},
        "secret_values": ("auth.token",),
        "depends_on": (),
    }
    return Release(**{**base, **changes})


def test_secret_values_come_from_a_secret_never_inline() -> None:
    options = GitOpsOptions(target="flux", site="s", path="deploy/s")
    release = flux_objects([_release()], options)["releases/flux/helmrelease--storage-vault-csi.yaml"]
    assert release["spec"]["values"] == {"auth": {"user": "svc"}, "replicas": 2}
    assert release["spec"]["valuesFrom"] == [
        {"kind": "Secret", "name": "vault-csi-secret-values", "valuesKey": "auth.token", "targetPath": "auth.token"}
    ]
    assert validate_object(release, "1.35") == []
    argocd = GitOpsOptions(target="argocd", site="s", path="deploy/s", repo_url="https://git.example.eu/s.git")
    with pytest.raises(GitOpsError, match="hold secret values"):
        argocd_objects([_release()], argocd)


def test_a_dependency_cycle_is_refused() -> None:
    options = GitOpsOptions(target="argocd", site="s", path="p", repo_url="https://git.example.eu/s.git")
    a = _release(name="a", secret_values=(), depends_on=("b",))
    b = _release(name="b", secret_values=(), depends_on=("a",))
    with pytest.raises(GitOpsError, match="cycle: a -> b -> a"):
        argocd_objects([a, b], options)
