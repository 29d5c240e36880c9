"""The staged pilot nodes, each behind its own real sshd: what they are and how to run them.

Three nodes of the pilot site are staged: ``pilot-gpu-001`` (healthy, pool h100-train),
``pilot-gpu-002`` (pool h100-train, with injected faults: a port down, a wrong driver, a missing
mount and a missing GPU) and ``pilot-clin-001`` (healthy, the hospital's dedicated pool).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from staged_node import StagedNode, build_root, dgx_h100
from staged_sshd import SSHD, StagedSshd, keygen

REPO = Path(__file__).resolve().parents[2]
PILOT = REPO / "site-configs" / "eu-pilot.yaml"
PINNED_DRIVER = "595.91.07"
WRONG_DRIVER = "580.126.20"

LUSTRE_SHARED = "10.101.1.10@o2ib:/exafs /lustre/shared lustre rw,flock,lazystatfs,encrypt 0 0"
CEPH_CLINICAL = (
    "10.101.0.21:6789,10.101.0.22:6789,10.101.0.23:6789:/volumes/clinical /clinical ceph "
    "rw,relatime,name=clinical,secret=<hidden>,acl,mds_namespace=clinical 0 0"
)

HEALTHY = "pilot-gpu-001"
FAULTY = "pilot-gpu-002"
CLINICAL = "pilot-clin-001"


def staged_nodes() -> dict[str, StagedNode]:
    """The staged nodes, described literally (tenant keys from the pilot's tenants section)."""
    # Shared ports before discovery: full members of the default partition (partitions.conf ALL=full).
    healthy = dgx_h100(HEALTHY, (0xFFFF, 0x8101, 0x8102), (LUSTRE_SHARED,), PINNED_DRIVER)
    faulty = dgx_h100(FAULTY, (0xFFFF, 0x8101, 0x8102), (), WRONG_DRIVER)  # the Lustre mount is missing
    faulty = replace(faulty, gpus=faulty.gpus[:7])  # GPU 00000000:DF:00.0 fell off the bus
    faulty = faulty.with_hca("mlx5_5", state="1: DOWN", phys_state="3: Disabled", rate="10 Gb/sec (4X SDR)")
    # The hospital's ports as the exact partitions leave them (fabric --guid-map): its own partition
    # at index 0, a limited member of the default one, never in the shared one.
    clinical = dgx_h100(CLINICAL, (0x8201, 0x7FFF), (CEPH_CLINICAL,), PINNED_DRIVER)
    return {HEALTHY: healthy, FAULTY: faulty, CLINICAL: clinical}


@dataclass(frozen=True)
class StagedSite:
    """The running staged nodes and the client files that reach them."""

    ssh_config: Path
    identity: Path
    servers: dict[str, StagedSshd]
    workdir: Path


def why_not_staged() -> str | None:
    if os.geteuid() != 0:
        return "staged hosts run sshd with ChrootDirectory, which needs root (CI runs the tests as root)"
    if not SSHD.is_file():
        return "/usr/sbin/sshd is missing: install openssh-server (tests/run.sh does)"
    if shutil.which("busybox") is None:
        return "busybox is missing: install busybox-static (tests/run.sh does)"
    if shutil.which("ssh-keygen") is None:
        return "ssh-keygen is missing: install openssh-client"
    run = Path("/run")
    info = run.stat()
    if info.st_uid != 0 or info.st_mode & 0o022 or not os.access(run, os.W_OK):
        return "/run is not a root-owned directory writable only by root; sshd's ChrootDirectory needs one"
    return None


@contextmanager
def run_staged_site() -> Iterator[StagedSite]:
    """Start one chrooted sshd per staged node on 127.0.0.1; stop them by PID afterwards."""
    busybox = Path(str(shutil.which("busybox")))
    # sshd refuses to start, and drops every connection, without its privilege separation directory,
    # which the system's own sshd unit creates at boot (RuntimeDirectory=sshd). It is created when
    # missing and left in place: removing it would cut off the staged sshd of a run beside this one.
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    # Under /run, not /tmp: every component of a ChrootDirectory must be root-owned, not writable by others.
    workdir = Path(tempfile.mkdtemp(prefix="gigafactory-staged-", dir="/run"))
    servers: dict[str, StagedSshd] = {}
    try:
        identity = workdir / "client_ed25519"
        public_key = keygen(identity)
        for name, node in staged_nodes().items():
            root = workdir / "roots" / name
            root.parent.mkdir(mode=0o755, exist_ok=True)
            build_root(root, node, busybox)
            servers[name] = StagedSshd(name, root, workdir / "sshd" / name, public_key)
            (workdir / "sshd").mkdir(mode=0o700, exist_ok=True)
            servers[name].start()
        known_hosts = workdir / "known_hosts"
        known_hosts.write_text("".join(s.known_hosts_line() + "\n" for s in servers.values()), encoding="utf-8")
        ssh_config = workdir / "ssh_config"
        ssh_config.write_text("".join(s.ssh_config(identity, known_hosts) for s in servers.values()), encoding="utf-8")
        yield StagedSite(ssh_config, identity, servers, workdir)
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
