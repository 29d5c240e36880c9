"""An evaluator of Pod Security admission's ``baseline`` and ``restricted`` levels (the checks that matter here).

From the Pod Security Standards (kubernetes.io/docs/concepts/security/pod-security-standards)
and k8s.io/pod-security-admission/policy: baseline forbids host namespaces, privileged
containers, hostPath volumes, host ports and added capabilities beyond its list; restricted also
limits volume types, requires ``allowPrivilegeEscalation: false``, ``runAsNonRoot: true``, a
RuntimeDefault or Localhost seccomp profile and ``capabilities.drop: [ALL]``. The level comes from
the namespace label ``pod-security.kubernetes.io/enforce``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ENFORCE = "pod-security.kubernetes.io/enforce"
BASELINE_CAPABILITIES = {
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}  # fmt: skip
RESTRICTED_VOLUMES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
}  # fmt: skip


def _containers(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [*spec.get("initContainers", []), *spec.get("containers", []), *spec.get("ephemeralContainers", [])]


def baseline_violations(spec: Mapping[str, Any]) -> list[str]:
    """What breaks the baseline level."""
    found = [f"{field}=true" for field in ("hostNetwork", "hostPID", "hostIPC") if spec.get(field)]
    found += [f"hostPath volume {v['name']}" for v in spec.get("volumes", []) if "hostPath" in v]
    for c in _containers(spec):
        context = c.get("securityContext") or {}
        if context.get("privileged"):
            found.append(f"privileged container {c['name']}")
        added = set((context.get("capabilities") or {}).get("add", [])) - BASELINE_CAPABILITIES
        found += [f"capability {cap}" for cap in sorted(added)]
        found += [f"hostPort {p['hostPort']}" for p in c.get("ports", []) if p.get("hostPort")]
    return found


def restricted_violations(spec: Mapping[str, Any]) -> list[str]:
    """What breaks the restricted level (baseline's checks included)."""
    found = baseline_violations(spec)
    for volume in spec.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            found.append(f"volume {volume['name']} of type {sorted(kinds)}")
    pod_context = spec.get("securityContext") or {}
    for c in _containers(spec):
        context = c.get("securityContext") or {}
        if context.get("allowPrivilegeEscalation") is not False:
            found.append(f"{c['name']}: allowPrivilegeEscalation != false")
        if not context.get("runAsNonRoot", pod_context.get("runAsNonRoot")):
            found.append(f"{c['name']}: runAsNonRoot != true")
        profile = (context.get("seccompProfile") or pod_context.get("seccompProfile") or {}).get("type")
        if profile not in ("RuntimeDefault", "Localhost"):
            found.append(f"{c['name']}: seccompProfile not RuntimeDefault or Localhost")
        if "ALL" not in ((context.get("capabilities") or {}).get("drop") or []):
            found.append(f"{c['name']}: capabilities.drop lacks ALL")
    return found


def violations(namespace_labels: Mapping[str, str], spec: Mapping[str, Any]) -> list[str]:
    """What the namespace's enforced level refuses in a pod ``spec`` (empty: admitted)."""
    level = namespace_labels.get(ENFORCE, "privileged")
    if level == "restricted":
        return restricted_violations(spec)
    if level == "baseline":
        return baseline_violations(spec)
    return []
