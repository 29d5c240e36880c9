"""Stage a GPU node's state as a chroot tree that a real sshd serves.

A staged root holds a static busybox (the shell and coreutils a node has), sysfs trees for the
HCAs laid out as the kernel lays them out (class symlinks into the PCI device tree), procfs files
(mounts, modules, the NVIDIA driver version, sysctls), and two small programs that print recorded
node state in the real tools' formats: ``nvidia-smi`` (-L, --query-gpu CSV, -q) and ``systemctl
is-active``. Nothing here touches the machine's own /sys, /proc or services.

The node descriptions are written out literally from vendor documents (DGX H100 User Guide network
table, real ``nvidia-smi -q`` output in fixtures/), not derived from the code under test.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import stat
import subprocess
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from string import Template

FIXTURES = Path(__file__).parent / "fixtures"
STATE_DIR = "var/lib/staged-node"

# DGX H100: GPU PCI addresses, and the compute HCAs as (RDMA device, PCI address, IPoIB netdev)
# in rail order (DGX H100 User Guide, "Network Modules": ibp24s0 is PCI bus 24 = 0x18, ...).
DGX_H100_GPU_BUSES = ("1B", "43", "52", "61", "9D", "C3", "D1", "DF")
DGX_H100_COMPUTE_HCAS = (
    ("mlx5_0", "0000:18:00.0", "ibp24s0"),
    ("mlx5_3", "0000:40:00.0", "ibp64s0"),
    ("mlx5_4", "0000:4f:00.0", "ibp79s0"),
    ("mlx5_5", "0000:5e:00.0", "ibp94s0"),
    ("mlx5_6", "0000:9a:00.0", "ibp154s0"),
    ("mlx5_9", "0000:c0:00.0", "ibp192s0"),
    ("mlx5_10", "0000:ce:00.0", "ibp206s0"),
    ("mlx5_11", "0000:dc:00.0", "ibp220s0"),
)
# The dual-port storage/management cards: present on the node, not compute rails.
DGX_H100_STORAGE_HCAS = (
    ("mlx5_1", "0000:29:00.0", "ibp41s0f0"),
    ("mlx5_2", "0000:29:00.1", "ibp41s0f1"),
    ("mlx5_7", "0000:aa:00.0", "ibp170s0f0"),
    ("mlx5_8", "0000:aa:00.1", "ibp170s0f1"),
)

OS_RELEASE = """PRETTY_NAME="Ubuntu 22.04.5 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.5 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
SUPPORT_URL="https://help.ubuntu.com/"
BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"
PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"
UBUNTU_CODENAME=jammy
"""

# /proc/modules lines as the kernel prints them: name size refcount users state address taint.
BASE_MODULES = (
    "nvidia_uvm 6545408 0 - Live 0xffffffffc3a42000 (POE)",
    "nvidia_drm 122880 0 - Live 0xffffffffc3a23000 (POE)",
    "nvidia_modeset 1540096 1 nvidia_drm, Live 0xffffffffc3891000 (POE)",
    "nvidia 11563008 40 nvidia_uvm,nvidia_peermem,nvidia_modeset, Live 0xffffffffc2d5a000 (POE)",
    "ib_ipoib 155648 0 - Live 0xffffffffc1ad8000 (OE)",
    "mlx5_ib 495616 0 - Live 0xffffffffc1a3f000 (OE)",
    "ib_uverbs 163840 2 nvidia_peermem,mlx5_ib, Live 0xffffffffc19f1000 (OE)",
    "ib_core 471040 5 ib_ipoib,mlx5_ib,ib_uverbs, Live 0xffffffffc1938000 (OE)",
    "mlx5_core 2330624 1 mlx5_ib, Live 0xffffffffc1626000 (OE)",
)
PEERMEM_MODULE = "nvidia_peermem 16384 0 - Live 0xffffffffc1a2d000 (OE)"


@dataclass(frozen=True)
class StagedGpu:
    """One GPU as nvidia-smi reports it."""

    bus: str
    uuid: str
    serial: str
    module_id: int
    persistence: str = "Enabled"
    fabric_state: str = "Completed"
    fabric_status: str = "Success"

    @property
    def bus_id(self) -> str:
        return f"00000000:{self.bus}:00.0"


@dataclass(frozen=True)
class StagedHca:
    """One RDMA device with port 1 and its IPoIB interface."""

    device: str
    pci: str
    netdev: str
    pkeys: tuple[int, ...]
    state: str = "4: ACTIVE"
    phys_state: str = "5: LinkUp"
    rate: str = "400 Gb/sec (4X NDR)"
    link_layer: str = "InfiniBand"
    mtu: int = 4092


@dataclass(frozen=True)
class StagedNode:
    """Everything a staged node presents."""

    hostname: str
    product: str
    architecture: str
    driver: str
    cuda: str
    open_kernel_module: bool
    kernel: str
    gpus: tuple[StagedGpu, ...]
    hcas: tuple[StagedHca, ...]
    mounts: tuple[str, ...]
    units: dict[str, str]
    sysctls: dict[str, str]
    modules: tuple[str, ...] = field(default=(*BASE_MODULES, PEERMEM_MODULE))
    hugepages_1gi: int = 0
    nvidia_smi_failure: str | None = None

    def with_hca(self, device: str, **changes: object) -> StagedNode:
        """A copy with one HCA changed (e.g. its port state)."""
        hcas = tuple(replace(h, **changes) if h.device == device else h for h in self.hcas)  # type: ignore[arg-type]
        return replace(self, hcas=hcas)

    def with_gpu(self, index: int, **changes: object) -> StagedNode:
        """A copy with one GPU changed (e.g. its persistence mode)."""
        gpus = tuple(replace(g, **changes) if i == index else g for i, g in enumerate(self.gpus))  # type: ignore[arg-type]
        return replace(self, gpus=gpus)


def dgx_h100(hostname: str, pkeys: tuple[int, ...], mounts: tuple[str, ...], driver: str) -> StagedNode:
    """A healthy DGX H100 on NDR: compute ports with the P_Key table ``pkeys``, extra mounts and driver."""
    gpus = tuple(
        StagedGpu(bus, f"GPU-{uuid.uuid5(uuid.NAMESPACE_DNS, f'{hostname}.gpu{i}')}", f"165442300{1593 + i:04d}", i + 1)
        for i, bus in enumerate(DGX_H100_GPU_BUSES)
    )
    compute = tuple(StagedHca(dev, pci, net, pkeys) for dev, pci, net in DGX_H100_COMPUTE_HCAS)
    storage = tuple(StagedHca(dev, pci, net, (0xFFFF,)) for dev, pci, net in DGX_H100_STORAGE_HCAS)
    return StagedNode(
        hostname=hostname,
        product="NVIDIA H100 80GB HBM3",
        architecture="Hopper",
        driver=driver,
        cuda="13.2",
        open_kernel_module=True,
        kernel="5.15.0-1063-nvidia",
        gpus=gpus,
        hcas=compute + storage,
        mounts=(
            "sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0",
            "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0",
            "/dev/md0 / ext4 rw,relatime 0 0",
            "tmpfs /run tmpfs rw,nosuid,nodev,noexec,relatime,size=203188776k,mode=755,inode64 0 0",
            "/dev/md1 /raid ext4 rw,relatime,stripe=256 0 0",
            *mounts,
        ),
        # containerd's unit sets LimitMEMLOCK=infinity: the site's stance on locked memory for RDMA.
        units={
            "kubelet": "active",
            "containerd": "active",
            "containerd.LimitMEMLOCK": "infinity",
            "nvidia-fabricmanager": "active",
        },
        sysctls={"vm.max_map_count": "1048576", "net.ipv4.tcp_rmem": "4096\t131072\t6291456"},
    )


def _write(root: Path, relative: str, content: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")


def _symlink(root: Path, relative: str, target: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


def _nvidia_smi_state(root: Path, node: StagedNode) -> None:
    base = f"{STATE_DIR}/nvidia-smi"
    fields = ("index", "name", "uuid", "serial", "driver_version", "persistence_mode", "pci.bus_id")
    rows = ["\t".join(fields)]
    listed = []
    blocks = []
    gpu_template = Template((FIXTURES / "nvidia-smi-q-gpu.txt").read_text(encoding="utf-8"))
    for i, gpu in enumerate(node.gpus):
        rows.append("\t".join((str(i), node.product, gpu.uuid, gpu.serial, node.driver, gpu.persistence, gpu.bus_id)))
        listed.append(f"GPU {i}: {node.product} (UUID: {gpu.uuid})")
        blocks.append(
            gpu_template.substitute(
                bus_id=gpu.bus_id,
                product=node.product,
                architecture=node.architecture,
                persistence=gpu.persistence,
                serial=gpu.serial,
                uuid=gpu.uuid,
                minor=i,
                board_id=f"0x{gpu.bus.lower()}00",
                module_id=gpu.module_id,
                driver=node.driver,
                pci_bus=gpu.bus,
                fabric_state=gpu.fabric_state,
                fabric_status=gpu.fabric_status,
            )
        )
    header = Template((FIXTURES / "nvidia-smi-q-header.txt").read_text(encoding="utf-8")).substitute(
        driver=node.driver, cuda=node.cuda, attached=len(node.gpus)
    )
    _write(root, f"{base}/gpus.tsv", "\n".join(rows) + "\n")
    _write(root, f"{base}/list.txt", "".join(f"{line}\n" for line in listed))
    _write(root, f"{base}/query.txt", header + "".join(f"{block}\n" for block in blocks))
    if node.nvidia_smi_failure is not None:
        _write(root, f"{base}/failure.txt", node.nvidia_smi_failure + "\n")
    for tool in ("nvidia-smi", "systemctl"):
        target = root / "usr/bin" / tool
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / "bin" / tool, target)
        target.chmod(0o755)


def _sysfs(root: Path, node: StagedNode) -> None:
    for hca in node.hcas:
        device_dir = f"sys/devices/pci0000:00/{hca.pci}"
        port = f"{device_dir}/infiniband/{hca.device}/ports/1"
        for name, value in (
            ("state", hca.state),
            ("phys_state", hca.phys_state),
            ("rate", hca.rate),
            ("link_layer", hca.link_layer),
        ):
            _write(root, f"{port}/{name}", f"{value}\n")
        # The P_Key table has 128 entries; unused ones read 0x0000.
        table = [*hca.pkeys, *([0] * (128 - len(hca.pkeys)))]
        for index, key in enumerate(table):
            _write(root, f"{port}/pkeys/{index}", f"0x{key:04x}\n")
        _symlink(root, f"{device_dir}/infiniband/{hca.device}/device", f"../../../{hca.pci}")
        _symlink(
            root, f"sys/class/infiniband/{hca.device}", f"../../devices/pci0000:00/{hca.pci}/infiniband/{hca.device}"
        )
        _write(root, f"{device_dir}/net/{hca.netdev}/mtu", f"{hca.mtu}\n")
        _symlink(root, f"sys/class/net/{hca.netdev}", f"../../devices/pci0000:00/{hca.pci}/net/{hca.netdev}")
    _write(root, "sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages", f"{node.hugepages_1gi}\n")
    _write(root, "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "0\n")


def _procfs(root: Path, node: StagedNode) -> None:
    _write(root, "proc/mounts", "".join(f"{line}\n" for line in node.mounts))
    _write(root, "proc/modules", "".join(f"{line}\n" for line in node.modules))
    flavour = (
        "NVIDIA UNIX Open Kernel Module for x86_64" if node.open_kernel_module else "NVIDIA UNIX x86_64 Kernel Module"
    )
    _write(
        root,
        "proc/driver/nvidia/version",
        f"NVRM version: {flavour}  {node.driver}  Release Build  (dvs-builder@U22-I3-B17-02-5)  "
        "Tue Sep 23 09:55:41 UTC 2025\nGCC version:  gcc version 12.3.0 (Ubuntu 12.3.0-1ubuntu1~22.04)\n",
    )
    _write(root, "proc/sys/kernel/osrelease", f"{node.kernel}\n")
    _write(root, "proc/sys/kernel/hostname", f"{node.hostname}\n")
    for name, value in node.sysctls.items():
        _write(root, "proc/sys/" + name.replace(".", "/"), f"{value}\n")


def _userland(root: Path, busybox: Path) -> None:
    (root / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(busybox, root / "bin/busybox")
    (root / "bin/busybox").chmod(0o755)
    applets = subprocess.run([str(busybox), "--list-full"], check=True, capture_output=True, text=True).stdout
    for applet in applets.split():
        path = root / applet
        if not path.exists() and not path.is_symlink():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.symlink_to("/bin/busybox")
    # sshd runs commands through the user's login shell, looked up on the real machine.
    shell = pwd.getpwnam("root").pw_shell or "/bin/sh"
    if not (root / shell.lstrip("/")).exists():
        _write(root, shell.lstrip("/"), '#!/bin/sh\nexec /bin/sh "$@"\n')
        (root / shell.lstrip("/")).chmod(0o755)
    for directory in ("root", "tmp", "dev", "run/systemd/system"):
        (root / directory).mkdir(parents=True, exist_ok=True)
    (root / "tmp").chmod(0o1777)
    with contextlib.suppress(OSError):  # no CAP_MKNOD: the checks do not need /dev/null
        os.mknod(root / "dev/null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))


def build_root(root: Path, node: StagedNode, busybox: Path) -> None:
    """Write the chroot tree of ``node`` under ``root`` (which must not exist yet)."""
    root.mkdir(mode=0o755)
    _userland(root, busybox)
    _write(root, "etc/os-release", OS_RELEASE)
    _write(root, "etc/hostname", f"{node.hostname}\n")
    _write(root, "etc/passwd", f"root:x:0:0:root:/root:{pwd.getpwnam('root').pw_shell or '/bin/sh'}\n")
    _nvidia_smi_state(root, node)
    _sysfs(root, node)
    _procfs(root, node)
    for unit, state in node.units.items():
        _write(root, f"{STATE_DIR}/units/{unit}", f"{state}\n")
