"""A component whose type token changes keeps its deployed identity through its alias.

The components moved to the package's tokens (``gigafactory:index:<Class>``) with an alias from the
token sites were deployed with (``components.kube.component_options``). Both plans here come from
Pulumi's mock runtime: the program as deployed (former token) and as it is now (new token with the
alias). The map the reviewer's diff and ``gigafactory migrate`` use must carry every deployed
resource, children included, to its new URN, as the engine does when it follows the alias.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from components.kube import child_options, component_options
from infra.config.loader import load_site
from infra.engine.facts import SiteFacts, site_facts
from infra.engine.migration import former_tail, renamed_types, urn_map
from infra.engine.recording import RecordedPlan, build_recorded_plan
from infra.engine.report import diff_plans
from infra.engine.runtime import record_program
from infra.plan.site_plan import build_site_plan

FORMER = "gigafactory:compute:Pool"
NEW = "gigafactory:index:Pool"
PILOT = Path(__file__).resolve().parents[2] / "site-configs" / "eu-pilot.yaml"


@cache
def _facts() -> SiteFacts:
    # Both plans describe the same site: only the resources differ.
    return site_facts(build_site_plan(load_site(PILOT)))


class _Pool(pulumi.ComponentResource):
    def __init__(self, name: str, token: str, opts: pulumi.ResourceOptions | None) -> None:
        super().__init__(token, name, None, opts)
        pulumi.CustomResource(
            "kubernetes:nfd.k8s-sigs.io/v1alpha1:NodeFeatureRule",
            f"{name}-su1",
            {"spec": {}},
            child_options(self, None),
        )
        self.register_outputs({})


def _plan(*, token: str, alias: bool, stack: str = "site") -> RecordedPlan:
    def program() -> None:
        opts = component_options(None, FORMER) if alias else None
        _Pool("site-pool-a", token, opts)

    records = record_program(program, project="gigafactory", stack=stack)
    return build_recorded_plan(records, project="gigafactory", stack=stack, site=_facts())


def test_the_alias_is_recorded_and_kept_by_the_plan_file() -> None:
    new = _plan(token=NEW, alias=True)
    pool = next(r for r in new.resources if r.type == NEW)
    assert pool.alias_types == (FORMER,)
    assert renamed_types(new) == {NEW: FORMER}
    again = RecordedPlan.from_json(new.to_json())
    assert again.resource(pool.urn).alias_types == (FORMER,)  # type: ignore[union-attr]


def test_every_deployed_resource_maps_to_its_new_urn_children_included() -> None:
    old, new = _plan(token=FORMER, alias=False), _plan(token=NEW, alias=True)
    assert {r.urn for r in old.resources}.isdisjoint({r.urn for r in new.resources}), "the token is in every URN"
    mapping = urn_map(old, new)
    assert mapping.dropped == () and mapping.created == ()
    assert set(mapping.moves) == {r.urn for r in old.resources}
    for before, after in mapping.moves.items():
        assert former_tail(after, renamed_types(new)) == before.split("::", 1)[1]


def test_the_reviewer_s_diff_shows_no_replacement_and_says_why() -> None:
    old, new = _plan(token=FORMER, alias=False), _plan(token=NEW, alias=True)
    diff = diff_plans(old, new)
    assert [c for g in diff.components for c in g.changes] == []
    assert [i.message for i in diff.intents if i.kind == "moves"] == [
        "2 resources of stack site keep their identity through aliases: their component's type token changed "
        "(nothing to run)"
    ]


def test_without_the_alias_the_same_change_deletes_and_creates_everything() -> None:
    old, new = _plan(token=FORMER, alias=False), _plan(token=NEW, alias=False)
    ops = sorted(c.op for g in diff_plans(old, new).components for c in g.changes)
    assert ops == ["create", "create", "delete", "delete"]


def test_a_renamed_component_that_also_changes_stack_is_moved_then_aliased() -> None:
    old, new = _plan(token=FORMER, alias=False, stack="site"), _plan(token=NEW, alias=True, stack="site.pool-a")
    mapping = urn_map(old, new)
    assert mapping.dropped == () and len(mapping.moves) == 2
    assert all(after.startswith("urn:pulumi:site.pool-a::") for after in mapping.moves.values())


class _Operators(pulumi.ComponentResource):
    """A component whose children carry the kubernetes SDK's own aliases (other API versions of their kind)."""

    def __init__(self, name: str, token: str, opts: pulumi.ResourceOptions | None) -> None:
        super().__init__(token, name, None, opts)
        policy = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
            f"{name}-policy", metadata={"name": "p"}, spec={}, opts=child_options(self, None)
        )
        k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
            f"{name}-binding", metadata={"name": "p"}, spec={"policyName": "p"}, opts=child_options(self, None, policy)
        )
        self.register_outputs({})


def test_children_with_the_kubernetes_sdk_s_own_aliases_follow_their_component_too() -> None:
    """ClusterOperators' admission policy and binding: their aliases name v1alpha1/v1beta1 of their
    kind, which is no rename; they keep their identity through the component's alias, and the binding's
    dependency on the policy is not a change."""

    def plan(token: str, alias: bool) -> RecordedPlan:
        def program() -> None:
            _Operators("site-ops", token, component_options(None, "gigafactory:operators:Ops") if alias else None)

        records = record_program(program, project="gigafactory", stack="site")
        return build_recorded_plan(records, project="gigafactory", stack="site", site=_facts())

    old, new = plan("gigafactory:operators:Ops", False), plan("gigafactory:index:Ops", True)
    assert renamed_types(new) == {"gigafactory:index:Ops": "gigafactory:operators:Ops"}
    mapping = urn_map(old, new)
    assert mapping.dropped == () and mapping.created == ()
    assert set(mapping.moves) == {r.urn for r in old.resources}
    assert [c for g in diff_plans(old, new).components for c in g.changes] == []


def test_a_renamed_dependency_that_now_sorts_elsewhere_is_no_change() -> None:
    """Dependencies are recorded sorted: a Tenant's namespace under the new token sorts before the
    site's objects it sorted after, and the diff reads the old list through the aliases in that order."""

    class _Tenant(pulumi.ComponentResource):
        def __init__(self, token: str, opts: pulumi.ResourceOptions) -> None:
            super().__init__(token, "site-tenant-a", None, opts)
            ns = k8s.core.v1.Namespace("site-tenant-a-namespace", opts=pulumi.ResourceOptions(parent=self))
            role_opts = child_options(self, opts, ns)
            k8s.rbac.v1.Role("site-tenant-a-member-role", metadata={"name": "member"}, opts=role_opts)
            self.register_outputs({})

    def plan(token: str, alias: bool) -> RecordedPlan:
        def program() -> None:
            site = pulumi.ComponentResource("gigafactory:site:Site", "site", None, pulumi.ResourceOptions())
            site_object = k8s.core.v1.ConfigMap("site-object", opts=pulumi.ResourceOptions(parent=site))
            opts = pulumi.ResourceOptions(depends_on=[site_object])
            _Tenant(token, component_options(opts, "gigafactory:tenancy:Tenant") if alias else opts)

        records = record_program(program, project="gigafactory", stack="site")
        return build_recorded_plan(records, project="gigafactory", stack="site", site=_facts())

    old, new = plan("gigafactory:tenancy:Tenant", False), plan("gigafactory:index:Tenant", True)
    role = next(r for r in new.resources if r.type == "kubernetes:rbac.authorization.k8s.io/v1:Role")
    assert role.depends_on[0].endswith("site-tenant-a-namespace"), "the renamed namespace sorts first now"
    changes = [c for g in diff_plans(old, new).components for c in g.changes]
    assert [(c.op, c.type) for c in changes] == [], "the same Role, waiting for the same objects"
