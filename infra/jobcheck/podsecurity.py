"""Pod Security Standards (baseline, restricted) as the API server's pod-security admission enforces them.

Each rule names its check in kubernetes/pod-security-admission ``policy/`` (Kubernetes 1.35): the
site labels tenant namespaces ``pod-security.kubernetes.io/enforce``; a Job's pod template is
checked when the Job is created (workload resources are checked like pods, and refused pods never
start). Rules that no training job meets (AppArmor, SELinux, /proc mount, sysctls) are left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from infra.config.yamldoc import ConfigPath

ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
LEVELS = ("privileged", "baseline", "restricted")

# policy/check_capabilities_baseline.go: the capabilities a baseline pod may add.
BASELINE_CAPABILITIES = frozenset(
    (
        "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP",
        "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
    )
)  # fmt: skip
# policy/check_restrictedVolumes.go: the volume sources a restricted pod may use.
RESTRICTED_VOLUMES = frozenset(
    ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret")
)
RDMA_LOCKED_MEMORY = (
    "RDMA pins memory without IPC_LOCK here: the container runtime on every GPU node grants unlimited "
    "locked memory (memlock), and node acceptance checks it"
)


@dataclass(frozen=True)
class Violation:
    """One field of a pod template that the namespace's level forbids."""

    path: ConfigPath
    message: str
    fix: str
    level: str


def _containers(spec: dict[str, Any], base: ConfigPath) -> Iterator[tuple[dict[str, Any], ConfigPath]]:
    for key in ("initContainers", "containers"):
        for index, container in enumerate(spec.get(key) or []):
            if isinstance(container, dict):
                yield container, (*base, key, index)


def violations(template_spec: dict[str, Any], base: ConfigPath, level: str) -> list[Violation]:
    """What ``level`` forbids in a pod spec at ``base`` (nothing under ``privileged``)."""
    if level not in ("baseline", "restricted"):
        return []
    found = list(_baseline(template_spec, base))
    if level == "restricted":
        found.extend(_restricted(template_spec, base))
    return found


def _baseline(spec: dict[str, Any], base: ConfigPath) -> Iterator[Violation]:
    for key in ("hostNetwork", "hostPID", "hostIPC"):  # check_hostNamespaces.go
        if spec.get(key) is True:
            yield Violation((*base, key), f"{key}: true is forbidden", f"remove {key}", "baseline")
    for index, volume in enumerate(spec.get("volumes") or []):  # check_hostPathVolumes.go
        if isinstance(volume, dict) and "hostPath" in volume:
            yield Violation(
                (*base, "volumes", index, "hostPath"),
                "hostPath volumes are forbidden",
                "read data from the tenant's persistentVolumeClaim instead of a node path",
                "baseline",
            )
    for container, path in _containers(spec, base):
        context = container.get("securityContext") or {}
        if context.get("privileged") is True:  # check_privileged.go
            yield Violation(
                (*path, "securityContext", "privileged"),
                "privileged containers are forbidden",
                "remove privileged: true; GPUs and InfiniBand devices come from device-plugin resources",
                "baseline",
            )
        added = (context.get("capabilities") or {}).get("add") or []
        for i, capability in enumerate(added):  # check_capabilities_baseline.go
            if str(capability) not in BASELINE_CAPABILITIES:
                fix = f"remove {capability} from capabilities.add"
                if str(capability) == "IPC_LOCK":
                    fix += f" ({RDMA_LOCKED_MEMORY})"
                yield Violation(
                    (*path, "securityContext", "capabilities", "add", i),
                    f"adding capability {capability} is forbidden",
                    fix,
                    "baseline",
                )
        for j, port in enumerate(container.get("ports") or []):  # check_hostPorts.go
            if isinstance(port, dict) and port.get("hostPort"):
                yield Violation(
                    (*path, "ports", j, "hostPort"), "host ports are forbidden", "remove hostPort", "baseline"
                )


def _restricted(spec: dict[str, Any], base: ConfigPath) -> Iterator[Violation]:
    for index, volume in enumerate(spec.get("volumes") or []):  # check_restrictedVolumes.go
        if isinstance(volume, dict):
            kinds = [k for k in volume if k != "name" and k not in RESTRICTED_VOLUMES]
            for kind in kinds:
                if kind != "hostPath":  # already a baseline violation
                    yield Violation(
                        (*base, "volumes", index, kind),
                        f"{kind} volumes are forbidden",
                        "use a persistentVolumeClaim, emptyDir, configMap, secret or projected volume",
                        "restricted",
                    )
    pod_context = spec.get("securityContext") or {}
    pod_non_root = pod_context.get("runAsNonRoot") is True
    pod_seccomp = (pod_context.get("seccompProfile") or {}).get("type")
    for container, path in _containers(spec, base):
        context = container.get("securityContext") or {}
        here = (*path, "securityContext")
        if context.get("allowPrivilegeEscalation") is not False:  # check_allowPrivilegeEscalation.go
            yield Violation(
                (*here, "allowPrivilegeEscalation"),
                "allowPrivilegeEscalation must be false",
                "set securityContext.allowPrivilegeEscalation: false",
                "restricted",
            )
        capabilities = context.get("capabilities") or {}
        if "ALL" not in [str(c) for c in capabilities.get("drop") or []]:  # check_capabilities_restricted.go
            yield Violation(
                (*here, "capabilities", "drop"),
                "capabilities must drop ALL",
                "set securityContext.capabilities.drop: [ALL]",
                "restricted",
            )
        for i, capability in enumerate(capabilities.get("add") or []):
            if str(capability) != "NET_BIND_SERVICE" and str(capability) in BASELINE_CAPABILITIES:
                yield Violation(
                    (*here, "capabilities", "add", i),
                    f"adding capability {capability} is forbidden",
                    f"remove {capability}; restricted allows adding only NET_BIND_SERVICE",
                    "restricted",
                )
        if not (context.get("runAsNonRoot") is True or (pod_non_root and context.get("runAsNonRoot") is not False)):
            yield Violation(  # check_runAsNonRoot.go
                (*here, "runAsNonRoot"),
                "runAsNonRoot must be true",
                "set securityContext.runAsNonRoot: true (pod or container) and run the image as a non-root user",
                "restricted",
            )
        if context.get("runAsUser") == 0:  # check_runAsUser.go
            yield Violation((*here, "runAsUser"), "runAsUser must not be 0", "run as a non-zero user id", "restricted")
        seccomp = (context.get("seccompProfile") or {}).get("type") or pod_seccomp
        if seccomp not in ("RuntimeDefault", "Localhost"):  # check_seccompProfile_restricted.go
            yield Violation(
                (*here, "seccompProfile"),
                "seccompProfile must be RuntimeDefault or Localhost",
                "set securityContext.seccompProfile.type: RuntimeDefault on the pod",
                "restricted",
            )
    if pod_context.get("runAsUser") == 0:
        yield Violation(
            (*base, "securityContext", "runAsUser"),
            "runAsUser must not be 0",
            "run as a non-zero user id",
            "restricted",
        )
