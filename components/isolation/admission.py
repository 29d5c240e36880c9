"""``TenantAdmission``: the admission policies that keep tenants apart, enforced by the API server."""

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from typing_extensions import TypedDict

from components.args import plain_args
from components.isolation.policies import IsolationRules, isolation_policies
from components.kube import child_options, component_options, component_type, meta

# The token sites were deployed with before the component package (an alias keeps their URNs).
FORMER_TYPE = "gigafactory:isolation:TenantAdmission"


class TenantAdmissionArgs(TypedDict):
    """What ``TenantAdmission`` needs: the facts of the site its policies encode."""

    rules: IsolationRules
    """Dedicated pools with their owners and taints, and the priority classes each tenant was granted."""


class TenantAdmission(pulumi.ComponentResource):
    """The site's ValidatingAdmissionPolicies (CEL) and one binding each (``validationActions: [Deny]``).

    Policies (``components.isolation.policies``): ``gigafactory-dedicated-nodes`` (no toleration,
    node selector, affinity or nodeName reaching another tenant's dedicated pool),
    ``gigafactory-tenant-networks`` (network annotations name only the pod's own namespace, both
    forms), ``gigafactory-no-external-ips``, ``gigafactory-priority-classes``,
    ``gigafactory-node-isolation`` (``system:node:*`` may not change isolation labels or taints) and
    ``gigafactory-tenant-claims`` (no claim bound to a named volume). Every policy fails closed.

    Outputs: ``policies`` (names).
    """

    policies: pulumi.Output[list[str]]
    """Names of the ValidatingAdmissionPolicies (each binding has its policy's name)."""

    def __init__(self, name: str, args: TenantAdmissionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(component_type(TenantAdmission), name, None, component_options(opts, FORMER_TYPE))
        args = plain_args(args, TenantAdmissionArgs)
        child = child_options(self, opts)
        names: list[str] = []
        for policy in isolation_policies(args["rules"]):
            spec: Any = policy.policy()
            binding: Any = policy.binding()
            created = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
                f"{name}-{policy.name}", metadata=meta(policy.name), spec=spec, opts=child
            )
            k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
                f"{name}-{policy.name}-binding",
                metadata=meta(policy.name),
                spec=binding,
                opts=child_options(self, opts, created),
            )
            names.append(policy.name)
        self.policies = pulumi.Output.from_input(names)
        self.register_outputs({"policies": self.policies})
