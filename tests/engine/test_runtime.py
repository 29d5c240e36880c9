"""The mock-runtime recorder: what it keeps of each registration, secrets, isolation between runs."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pytest

from infra.engine.manifests import is_kubernetes_object, manifest
from infra.engine.runtime import SECRET, DuplicateResourceError, record_program


def _program() -> None:
    provider = k8s.Provider("k8s", context="ctx")
    parent = pulumi.ComponentResource("gigafactory:test:Thing", "thing", None)
    namespace = k8s.core.v1.Namespace(
        "ns",
        metadata={"name": "team"},
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, protect=True),
    )
    k8s.core.v1.Secret(
        "creds",
        metadata={"name": "creds", "namespace": "team"},
        string_data={"password": pulumi.Config().require_secret("ufmCredentials")},
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=[namespace], retain_on_delete=True),
    )
    parent.register_outputs({})


def test_records_type_parent_provider_and_options() -> None:
    recorded = record_program(_program, project="gigafactory", stack="s1", secret_config={"ufmCredentials": "pw-1"})
    by_name = {r.name: r for r in recorded}
    ns = by_name["ns"]
    assert ns.type == "kubernetes:core/v1:Namespace"
    assert ns.urn == "urn:pulumi:s1::gigafactory::gigafactory:test:Thing$kubernetes:core/v1:Namespace::ns"
    assert ns.parent == by_name["thing"].urn
    assert ns.provider.startswith(by_name["k8s"].urn)
    assert ns.protect and not ns.retain_on_delete
    creds = by_name["creds"]
    assert creds.depends_on == (ns.urn,)
    assert creds.retain_on_delete
    assert is_kubernetes_object(ns) and not is_kubernetes_object(by_name["thing"])
    assert manifest(ns) == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}


def test_secret_values_never_recorded() -> None:
    recorded = record_program(_program, project="gigafactory", stack="s1", secret_config={"ufmCredentials": "pw-1"})
    creds = next(r for r in recorded if r.name == "creds")
    assert creds.inputs["stringData"] == SECRET
    assert "pw-1" not in repr(recorded)


def test_runs_are_isolated() -> None:
    first = record_program(_program, project="gigafactory", stack="alpha", secret_config={"ufmCredentials": "x"})
    second = record_program(_program, project="gigafactory", stack="beta", secret_config={"ufmCredentials": "x"})
    assert len(first) == len(second)
    assert all("::alpha::" not in r.urn for r in second), "second run must not reuse the first run's stack"


def test_duplicate_urns_fail_like_the_engine() -> None:
    def twice() -> None:
        k8s.core.v1.Namespace("same", metadata={"name": "a"})
        k8s.core.v1.Namespace("same", metadata={"name": "b"})

    with pytest.raises(DuplicateResourceError, match="Namespace::same"):
        record_program(twice, project="gigafactory", stack="dup")


def test_a_registered_resource_can_be_looked_up_by_urn() -> None:
    # Registrations are echoed without decoding; a lookup (getResource) still finds them decoded.
    found: dict[str, object] = {}

    def program() -> None:
        thing = pulumi.CustomResource("test:index:Thing", "a", {"size": 3, "tags": {"k": "v"}})

        def lookup(urn: str) -> pulumi.Output[list[object]]:
            again = pulumi.CustomResource("test:index:Thing", "a", None, opts=pulumi.ResourceOptions(urn=urn))
            return pulumi.Output.all(again.id, again.urn).apply(lambda got: found.setdefault("again", got))

        thing.urn.apply(lookup)
        thing.id.apply(lambda got: found.setdefault("id", got))

    (recorded,) = record_program(program, project="p", stack="s")
    assert recorded.inputs == {"size": 3, "tags": {"k": "v"}}
    assert found == {"id": "a-id", "again": ["a-id", recorded.urn]}
