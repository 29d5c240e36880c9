"""Secrets never pass validation or reach a message: credentials in URLs, values where a reference belongs."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.cli import main

REPO = Path(__file__).resolve().parents[2]
PILOT = (REPO / "site-configs" / "eu-pilot.yaml").read_text(encoding="utf-8")
SECRET = "S3CRETPW-never-shown"


def site(tmp_path: Path, old: str, new: str) -> Path:
    assert old in PILOT
    path = tmp_path / "sites" / "x.yaml"
    path.parent.mkdir()
    (path.parent / "base").symlink_to(REPO / "site-configs" / "base")
    path.write_text(PILOT.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "endpoint",
    [f"https://admin:{SECRET}@vms.example/fs", f"s3://rgw.example/bucket?secret_key={SECRET}"],
)
def test_credentials_inside_a_url_are_refused_without_echo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], endpoint: str
) -> None:
    path = site(tmp_path, 'endpoint: "10.101.1.10@o2ib:/exafs"', f'endpoint: "{endpoint}"')
    out = tmp_path / "plan.json"
    assert main(["plan", str(path), "-o", str(out)]) == 1
    _, err = capsys.readouterr()
    assert f"{path}:" in err and "storage[0].endpoint: holds credentials inside a URL (not shown here)" in err
    assert "hint: put them in a Pulumi config secret and name it in storage[0].credentials_secret" in err
    assert SECRET not in err and not out.exists()


def test_a_secret_reference_given_as_a_value_is_not_echoed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = site(tmp_path, "credentials_secret: cephObjectsAdmin", "credentials_secret: 982451653")
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert "storage[1].credentials_secret: must be a valid string (got a number, not shown here)" in err
    assert "982451653" not in err


@pytest.mark.parametrize("name", ["rook-ceph", "gpu-operator", "kueue-system", "kube-public", "openshift-x"])
def test_a_tenant_is_never_named_after_a_site_namespace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    path = site(tmp_path, "name: fjord-ai", f"name: {name}")
    assert main(["validate", str(path)]) == 1
    assert f"name: {name} is " in capsys.readouterr().err.replace("].name: ", "name: ")
