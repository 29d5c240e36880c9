"""``TenantAdmission``: the admission policies that keep tenants apart, enforced by the API server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.isolation.policies import IsolationRules, isolation_policies
from components.kube import meta


@dataclass(frozen=True)
class TenantAdmissionArgs:
    """What ``TenantAdmission`` needs."""

    rules: IsolationRules
    """Tenants, dedicated pools and granted priority classes the policies encode."""


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

    def __init__(self, name: str, args: TenantAdmissionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gigafactory:isolation:TenantAdmission", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        names: list[str] = []
        for policy in isolation_policies(args.rules):
            spec: Any = policy.policy()
            binding: Any = policy.binding()
            created = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
                f"{name}-{policy.name}", metadata=meta(policy.name), spec=spec, opts=child
            )
            k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
                f"{name}-{policy.name}-binding",
                metadata=meta(policy.name),
                spec=binding,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[created]),
            )
            names.append(policy.name)
        self.policies = pulumi.Output.from_input(names)
        self.register_outputs({"policies": self.policies})
