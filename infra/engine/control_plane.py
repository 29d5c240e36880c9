"""Files for the control plane the project does not run: API server encryption at rest and audit policy.

``render`` writes them under ``control-plane/`` for whoever runs the API servers (kubeadm,
a managed control plane, or the site's own automation):

- ``encryption-configuration.yaml`` (``apiserver.config.k8s.io/v1`` EncryptionConfiguration),
  passed as ``--encryption-provider-config``: Secrets (and ConfigMaps) are encrypted by a KMS v2
  plugin listening on a local socket, which wraps data keys with the site's KMS (Vault or KMIP);
  ``identity`` last only so objects written before encryption stay readable until they are
  rewritten (``kubectl get secrets -A -o json | kubectl replace -f -``);
- ``audit-policy.yaml`` (``audit.k8s.io/v1`` Policy), passed as ``--audit-policy-file``: who read
  or changed what in the regulated tenants' namespaces, and every change to what holds isolation
  (admission policies, RBAC, NetworkPolicies, quotas, namespaces, nodes), with request and response
  bodies; never the bodies of Secrets or tokens.

Kubernetes docs: "Encrypting Confidential Data at Rest", "Using a KMS provider for data
encryption" (KMS v2 is GA since 1.29), "Auditing".
"""

from __future__ import annotations

from typing import Any

from components.labels import TENANT_KIND_LABEL
from infra.engine.recording import RecordedPlan

FOLDER = "control-plane"
# Where the KMS v2 plugin (e.g. Vault's or a KMIP plugin) serves the API server on each control-plane node.
KMS_SOCKET = "unix:///var/run/kmsplugin/socket.sock"
ENCRYPTED_RESOURCES = ("secrets", "configmaps")
# What holds isolation in place: every change to these is logged with its bodies.
ISOLATION_RESOURCES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("admissionregistration.k8s.io", ("validatingadmissionpolicies", "validatingadmissionpolicybindings",
                                      "validatingwebhookconfigurations", "mutatingwebhookconfigurations")),
    ("rbac.authorization.k8s.io", ("roles", "rolebindings", "clusterroles", "clusterrolebindings")),
    ("networking.k8s.io", ("networkpolicies",)),
    ("", ("namespaces", "resourcequotas", "nodes", "persistentvolumes")),
    ("k8s.cni.cncf.io", ("network-attachment-definitions",)),
    ("nfd.k8s-sigs.io", ("nodefeaturerules", "nodefeatures")),
    ("kueue.x-k8s.io", ("clusterqueues", "localqueues", "resourceflavors")),
)  # fmt: skip


def regulated_namespaces(plan: RecordedPlan) -> list[str]:
    """Namespaces of regulated tenants in ``plan`` (their Namespace objects carry the tenant kind)."""
    found = []
    for resource in plan.resources:
        inputs = resource.inputs
        if inputs.get("kind") == "Namespace" and resource.type == "kubernetes:core/v1:Namespace":
            labels = (inputs.get("metadata") or {}).get("labels") or {}
            if labels.get(TENANT_KIND_LABEL) == "regulated":
                found.append(inputs["metadata"]["name"])
    return sorted(found)


def encryption_configuration(site: str) -> dict[str, Any]:
    """The API server's EncryptionConfiguration: KMS v2 first, identity to read what predates it."""
    return {
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "EncryptionConfiguration",
        "resources": [
            {
                "resources": list(ENCRYPTED_RESOURCES),
                "providers": [
                    {"kms": {"apiVersion": "v2", "name": f"{site}-kms", "endpoint": KMS_SOCKET, "timeout": "3s"}},
                    {"identity": {}},
                ],
            }
        ],
    }


def audit_policy(namespaces: list[str]) -> dict[str, Any]:
    """The audit Policy: the first matching rule decides each request's level."""
    rules: list[dict[str, Any]] = [
        # Secrets and tokens: who and when, never their content.
        {
            "level": "Metadata",
            "resources": [
                {"group": "", "resources": ["secrets", "serviceaccounts/token"]},
                {"group": "authentication.k8s.io", "resources": ["tokenreviews"]},
            ],
        },
        {
            "level": "RequestResponse",
            "verbs": ["create", "update", "patch", "delete", "deletecollection"],
            "resources": [{"group": g, "resources": list(r)} for g, r in ISOLATION_RESOURCES],
        },
    ]
    if namespaces:
        rules.append(
            {
                "level": "RequestResponse",
                "namespaces": namespaces,
                "verbs": ["create", "update", "patch", "delete", "deletecollection"],
            }
        )
        rules.append({"level": "Metadata", "namespaces": namespaces})
    rules += [
        # High-volume reads and heartbeats carry no decision.
        {"level": "None", "verbs": ["get", "list", "watch"], "resources": [{"group": "", "resources": ["events"]}]},
        {"level": "None", "resources": [{"group": "coordination.k8s.io", "resources": ["leases"]}]},
        {"level": "Metadata"},
    ]
    return {"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"], "rules": rules}


def control_plane_files(plan: RecordedPlan) -> dict[str, str]:
    """The files ``render`` writes under ``control-plane/``."""
    import yaml

    def text(document: dict[str, Any]) -> str:
        return yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=4096)

    return {
        f"{FOLDER}/encryption-configuration.yaml": text(encryption_configuration(plan.stack)),
        f"{FOLDER}/audit-policy.yaml": text(audit_policy(regulated_namespaces(plan))),
    }
