"""The acceptance checks of one pool, in order, each named and worded so a failure reads as a fix.

``checks_for(expectations)`` turns a pool's expectations into an ordered tuple of ``Check``; a
check that needs another to have passed first (the port before its partitions) names it in
``requires`` and is skipped when it did not, so one fault yields one failure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from components.network.naming import PKEY_MASK, format_pkey
from infra.acceptance.expectations import HcaExpectation, MountExpectation, PoolExpectations
from infra.acceptance.hardware import (
    CONTAINER_RUNTIME,
    DMABUF_MIN_KERNEL,
    HUGEPAGES_1GI_PATH,
    LINK_LAYER_INFINIBAND,
    MEMLOCK_PROPERTY,
    MEMLOCK_UNLIMITED,
    PHYS_LINK_UP,
    PORT_ACTIVE,
)
from infra.acceptance.parsers import (
    kernel_version,
    parse_fabric_states,
    parse_gpu_list,
    parse_nvrm_version,
    parse_pkeys,
    parse_proc_modules,
    parse_query_csv,
    state_name,
)
from infra.acceptance.reader import NodeReader, ReadError
from infra.config.types import SHARED_PKEY
from infra.plan.fabric.partitions import DEFAULT_PKEY, FULL_MEMBER_BIT


@dataclass(frozen=True)
class Verdict:
    """What a check found: passed or not, what the node showed, and (on failure) what to fix."""

    passed: bool
    observed: str
    message: str = ""


@dataclass(frozen=True)
class Check:
    """One named acceptance check."""

    name: str
    expected: str
    probe: Callable[[NodeReader], Verdict]
    requires: tuple[str, ...] = ()


REACHABLE = "node.reachable"
DRIVER_LOADED = "gpu.driver_loaded"
_GPU_FIELDS = ("index", "name", "driver_version", "persistence_mode", "pci.bus_id")


def _ok(observed: str) -> Verdict:
    return Verdict(True, observed)


def _fail(observed: str, message: str) -> Verdict:
    return Verdict(False, observed, message)


def _join(items: list[str]) -> str:
    return ", ".join(items)


# -- node and GPUs ---------------------------------------------------------------------------------


def _reachable(node: NodeReader) -> Verdict:
    out = node.run("uname -s")
    if out.rc != 0 or out.stdout.strip() != "Linux":
        return _fail(out.first_line(), f"`uname -s` answered {out.first_line()!r}, expected Linux")
    return _ok("Linux")


def _gpu_rows(node: NodeReader) -> list[dict[str, str]]:
    out = node.nvidia_smi(f"--query-gpu={','.join(_GPU_FIELDS)}", "--format=csv")
    if out.rc != 0:
        raise RuntimeError(f"nvidia-smi --query-gpu failed: {out.first_line()}")
    return parse_query_csv(out.stdout, _GPU_FIELDS)


def _driver_loaded(expect: PoolExpectations) -> Callable[[NodeReader], Verdict]:
    def probe(node: NodeReader) -> Verdict:
        out = node.nvidia_smi("-L")
        if out.rc == 124:
            return _fail(
                "nvidia-smi timed out",
                "nvidia-smi did not answer within its time limit: a GPU may have fallen off the bus "
                "(look for Xid 79 in the kernel log); drain the node and reset or replace the GPU",
            )
        if out.rc != 0:
            return _fail(
                out.first_line(),
                f"nvidia-smi fails ({out.first_line()}), expected the NVIDIA driver {expect.driver_version} "
                "loaded; check the GPU Operator's driver pod on this node",
            )
        return _ok("nvidia-smi answers")

    return probe


def _gpu_count(expect: PoolExpectations) -> Callable[[NodeReader], Verdict]:
    def probe(node: NodeReader) -> Verdict:
        gpus = parse_gpu_list(node.nvidia_smi("-L").stdout)
        if len(gpus) != expect.gpu_count:
            return _fail(
                f"{len(gpus)} GPUs",
                f"nvidia-smi -L lists {len(gpus)} GPUs, expected {expect.gpu_count} {expect.gpu_product} "
                f"(gpu_model {expect.gpu_model}, pool {expect.pool}); a missing GPU has fallen off the bus "
                "or is not seated: drain the node and service it",
            )
        return _ok(f"{len(gpus)} GPUs")

    return probe


def _gpu_model(expect: PoolExpectations) -> Callable[[NodeReader], Verdict]:
    def probe(node: NodeReader) -> Verdict:
        gpus = parse_gpu_list(node.nvidia_smi("-L").stdout)
        wrong = [f"GPU {g.index} is {g.name}" for g in gpus if g.name != expect.gpu_product]
        names = sorted({g.name for g in gpus})
        if wrong:
            return _fail(
                _join(names),
                f"{_join(wrong)}, expected {expect.gpu_product} (gpu_model {expect.gpu_model}, pool {expect.pool}); "
                "the node is in the wrong pool or has the wrong GPU board",
            )
        return _ok(_join(names))

    return probe


def _driver_version(expect: PoolExpectations) -> Callable[[NodeReader], Verdict]:
    def probe(node: NodeReader) -> Verdict:
        versions = sorted({row["driver_version"] for row in _gpu_rows(node)})
        if versions != [expect.driver_version]:
            return _fail(
                _join(versions),
                f"NVIDIA driver {_join(versions)} is loaded, expected {expect.driver_version} "
                "(operators.gpu_operator.driver_version); let the GPU Operator roll the pinned driver onto "
                "this node (delete its nvidia-driver-daemonset pod)",
            )
        return _ok(versions[0])

    return probe


def _persistence_mode(expect: PoolExpectations) -> Callable[[NodeReader], Verdict]:
    def probe(node: NodeReader) -> Verdict:
        rows = _gpu_rows(node)
        off = [row["index"] for row in rows if row["persistence_mode"] != expect.persistence_mode]
        if off:
            return _fail(
                f"not {expect.persistence_mode} on GPU {_join(off)}",
                f"persistence mode is not {expect.persistence_mode} on GPU {_join(off)}; "
                "run nvidia-persistenced (the GPU Operator driver does) or `nvidia-smi -pm 1`",
            )
        return _ok(f"{expect.persistence_mode} on {len(rows)} GPUs")

    return probe


def _fabric(expect: PoolExpectations) -> Callable[[NodeReader], Verdict]:
    def probe(node: NodeReader) -> Verdict:
        out = node.nvidia_smi("-q")
        if out.rc != 0:
            raise RuntimeError(f"nvidia-smi -q failed: {out.first_line()}")
        _, states = parse_fabric_states(out.stdout)
        bad = [f"{s.bus_id} ({s.state}/{s.status})" for s in states if (s.state, s.status) != ("Completed", "Success")]
        if bad:
            return _fail(
                f"not ready on {len(bad)} GPUs",
                f"NVLink fabric is not ready on GPU {_join(bad)}, expected State Completed, Status Success; "
                f"start {expect.nvlink_service} (its version must match the driver) and reset the GPUs",
            )
        return _ok(f"Completed/Success on {len(states)} GPUs")

    return probe


def _nvlink_service(expect: PoolExpectations) -> Callable[[NodeReader], Verdict]:
    def probe(node: NodeReader) -> Verdict:
        if node.service_active(expect.nvlink_service):
            return _ok("active (systemd)")
        if node.process_running(expect.nvlink_daemon):
            return _ok(f"{expect.nvlink_daemon} running")
        return _fail(
            "inactive",
            f"{expect.nvlink_service} is not active and no {expect.nvlink_daemon} process runs, expected it "
            f"running on {expect.gpu_product} nodes (pool {expect.pool}); `systemctl enable --now "
            f"{expect.nvlink_service}`, or check the GPU Operator driver pod that starts it",
        )

    return probe


def _gpudirect_rdma(node: NodeReader) -> Verdict:
    modules = parse_proc_modules(node.text("/proc/modules"))
    if "nvidia_peermem" in modules:
        return _ok("nvidia_peermem loaded")
    nvrm = parse_nvrm_version(node.text("/proc/driver/nvidia/version"))
    release = node.text("/proc/sys/kernel/osrelease")
    open_modules = nvrm is not None and nvrm[1]
    if open_modules and kernel_version(release) >= DMABUF_MIN_KERNEL:
        return _ok(f"DMA-BUF (open kernel modules, kernel {release})")
    why = "proprietary kernel modules" if not open_modules else f"kernel {release} is older than 5.12"
    return _fail(
        "no nvidia_peermem, no DMA-BUF",
        f"GPUDirect RDMA is unavailable: nvidia_peermem is not loaded and DMA-BUF cannot be used ({why}), "
        "expected it (operators.gpu_operator.rdma: true); set driver.rdma.enabled in the GPU Operator or use "
        "the open kernel modules on Linux 5.12+",
    )


# -- InfiniBand ------------------------------------------------------------------------------------


def _port_dir(hca: HcaExpectation) -> str:
    return f"/sys/class/infiniband/{hca.device}/ports/1"


def _net_dir(hca: HcaExpectation) -> str:
    return f"/sys/class/infiniband/{hca.device}/device/net"


def _hca_paths(expect: PoolExpectations) -> tuple[str, ...]:
    """Every sysfs file the HCA checks read, for one ``read_many`` round trip per node."""
    paths: list[str] = []
    for hca in expect.hcas:
        port = _port_dir(hca)
        paths += [f"{port}/{name}" for name in ("state", "phys_state", "rate", "link_layer")]
        paths += [f"{port}/pkeys/*", f"{_net_dir(hca)}/*/mtu"]
    return tuple(paths)


def _sysfs(node: NodeReader, expect: PoolExpectations) -> dict[str, str]:
    return node.read_many(_hca_paths(expect))


def _port_value(node: NodeReader, expect: PoolExpectations, hca: HcaExpectation, name: str) -> str:
    path = f"{_port_dir(hca)}/{name}"
    value = _sysfs(node, expect).get(path)
    if value is None:
        raise ReadError(f"cannot read {path}")
    return value


def _where(expect: PoolExpectations, hca: HcaExpectation) -> str:
    return f"(pool {expect.pool}, rail {hca.rail})"


def _hca_present(expect: PoolExpectations, hca: HcaExpectation) -> Callable[[NodeReader], Verdict]:
    def probe(node: NodeReader) -> Verdict:
        if f"{_port_dir(hca)}/state" in _sysfs(node, expect):
            return _ok("present")
        return _fail(
            "missing",
            f"{hca.device} is missing from /sys/class/infiniband, expected the rail-{hca.rail} compute HCA "
            f"{_where(expect, hca)}; check the ConnectX card and that the DOCA-OFED mlx5 driver is loaded",
        )

    return probe


def _link_layer(expect: PoolExpectations, hca: HcaExpectation) -> Callable[[NodeReader], Verdict]:
    def probe(node: NodeReader) -> Verdict:
        layer = _port_value(node, expect, hca, "link_layer")
        if layer != LINK_LAYER_INFINIBAND:
            return _fail(
                layer,
                f"{hca.device} port 1 runs {layer}, expected {LINK_LAYER_INFINIBAND} {_where(expect, hca)}; "
                "set LINK_TYPE_P1=IB with mlxconfig and reboot",
            )
        return _ok(layer)

    return probe


def _port(expect: PoolExpectations, hca: HcaExpectation) -> Callable[[NodeReader], Verdict]:
    def probe(node: NodeReader) -> Verdict:
        state, phys, rate = (_port_value(node, expect, hca, name) for name in ("state", "phys_state", "rate"))
        observed = f"{state}; {phys}; {rate}"
        target = f"ACTIVE at {hca.rate_gbps} Gb/s {_where(expect, hca)}"
        if state != PORT_ACTIVE:
            if phys != PHYS_LINK_UP:
                fix = f"physical state {phys}: check the cable, transceiver and leaf switch port"
            else:
                fix = "the link is up but the subnet manager has not activated the port: check UFM sees it"
            return _fail(observed, f"{hca.device} port 1 is {state_name(state)}, expected {target}; {fix}")
        if phys != PHYS_LINK_UP:
            return _fail(observed, f"{hca.device} port 1 physical state is {phys}, expected {PHYS_LINK_UP}")
        if rate != hca.rate_text:
            return _fail(
                observed,
                f"{hca.device} port 1 runs at {rate}, expected {hca.rate_text} {_where(expect, hca)}; "
                "a degraded link: reseat or replace the cable or transceiver",
            )
        return _ok(observed)

    return probe


def _pkeys(expect: PoolExpectations, hca: HcaExpectation) -> Callable[[NodeReader], Verdict]:
    def probe(node: NodeReader) -> Verdict:
        table = f"{_port_dir(hca)}/pkeys/"
        entries = [value for path, value in _sysfs(node, expect).items() if path.startswith(table)]
        if not entries:
            raise ReadError(f"cannot read the P_Key table {table}*")
        keys = parse_pkeys("\n".join(entries))
        partitions = {k & PKEY_MASK for k in keys}
        observed = " ".join(format_pkey(k) for k in keys)
        missing = [f"{p.text} ({p.tenant})" for p in expect.partitions if p.partition not in partitions]
        foreign = [f"{p.text} ({p.tenant})" for p in expect.foreign_partitions if p.partition in partitions]
        problems = []
        if missing:
            problems.append(f"lacks partition {_join(missing)}")
        if foreign:
            problems.append(f"is a member of isolated partition {_join(foreign)} whose tenant has no quota here")
        problems += _base_partition_problems(expect, keys)
        if problems:
            return _fail(
                observed,
                f"{hca.device} port 1 {' and '.join(problems)} {_where(expect, hca)}; set this port GUID's partition "
                "membership to what gigafactory fabric --guid-map writes (UFM: ufm-partitions.json; OpenSM: "
                "partitions.conf)",
            )
        return _ok(observed)

    return probe


def _base_partition_problems(expect: PoolExpectations, keys: list[int]) -> list[str]:
    """What is wrong with a port's default and shared partitions, as the partition plan places them.

    Before discovery every port is a full member of the default partition; after it (exact GUIDs,
    infra/plan/fabric/partitions.py) every port is a limited member of the default partition and
    every port but an isolated tenant's a full member of the shared one, whose key carries the base
    IPoIB interface. An isolated tenant's port is full in neither: it would share a partition with
    every other tenant's ports (IBTA vol. 1, 10.9: one full member suffices).
    """
    full_default, full_shared = DEFAULT_PKEY | FULL_MEMBER_BIT, SHARED_PKEY | FULL_MEMBER_BIT
    if expect.isolated_for is None:
        if full_default in keys or full_shared in keys:
            return []
        return [
            f"is a full member of neither the default partition {format_pkey(full_default)} (before discovery) nor "
            f"the shared partition {format_pkey(full_shared)} (after): its IPoIB interface reaches no other pool"
        ]
    problems = []
    if full_default in keys:
        problems.append(
            f"is a full member of the default partition {format_pkey(full_default)}, which every other tenant's "
            f"ports share ({expect.isolated_for}'s ports must be limited members there)"
        )
    shared = [format_pkey(k) for k in keys if k & PKEY_MASK == SHARED_PKEY]
    if shared:
        problems.append(
            f"is a member of the shared partition {_join(shared)}, which every other tenant's ports share "
            f"({expect.isolated_for}'s ports are in their own partition only)"
        )
    return problems


def _ipoib_mtu(expect: PoolExpectations, hca: HcaExpectation) -> Callable[[NodeReader], Verdict]:
    def probe(node: NodeReader) -> Verdict:
        net = f"{_net_dir(hca)}/"
        mtus = {
            path[len(net) : -len("/mtu")]: value
            for path, value in sorted(_sysfs(node, expect).items())
            if path.startswith(net) and path.endswith("/mtu")
        }
        if not mtus:
            return _fail(
                "no IPoIB interface",
                f"{hca.device} has no IPoIB interface, expected one with MTU {expect.ipoib_netdev_mtu} "
                f"{_where(expect, hca)}; load ib_ipoib (DOCA-OFED)",
            )
        observed = _join([f"{name} {mtu}" for name, mtu in mtus.items()])
        wrong = [f"{name} has MTU {mtu}" for name, mtu in mtus.items() if mtu != str(expect.ipoib_netdev_mtu)]
        if wrong:
            return _fail(
                observed,
                f"{_join(wrong)} ({hca.device}), expected {expect.ipoib_netdev_mtu}: the {expect.ipoib_partition_mtu}-"
                f"byte partition MTU (fabrics.compute.ipoib_mtu) less the 4-byte IPoIB header {_where(expect, hca)}",
            )
        return _ok(observed)

    return probe


# -- host ------------------------------------------------------------------------------------------


def _mount(mount: MountExpectation) -> Callable[[NodeReader], Verdict]:
    def probe(node: NodeReader) -> Verdict:
        fstype = node.mount(mount.path)
        source = f"storage {mount.storage}, {mount.endpoint}, for tenants {_join(list(mount.tenants))}"
        if fstype is None:
            return _fail(
                "not mounted",
                f"{mount.path} is not mounted, expected {' or '.join(mount.filesystems)} ({source}); mount it",
            )
        if fstype not in mount.filesystems:
            return _fail(
                fstype,
                f"{mount.path} is mounted as {fstype}, expected {' or '.join(mount.filesystems)} ({source})",
            )
        return _ok(fstype)

    return probe


def _service(expect: PoolExpectations, name: str) -> Callable[[NodeReader], Verdict]:
    def probe(node: NodeReader) -> Verdict:
        if node.service_active(name):
            return _ok("active")
        return _fail(
            "inactive",
            f"{name} is not active, expected active on every node (pool {expect.pool}); "
            f"`systemctl enable --now {name}` and read `journalctl -u {name}`",
        )

    return probe


def _sysctl(expect: PoolExpectations, name: str, wanted: str) -> Callable[[NodeReader], Verdict]:
    def probe(node: NodeReader) -> Verdict:
        value = node.sysctl(name)
        # sysctl prints multi-value settings with tabs; compare the values, not the separators.
        if value.split() != wanted.split():
            return _fail(
                value,
                f"sysctl {name} is {value}, expected {wanted} (sysctls of pool {expect.pool}); "
                f"set it in /etc/sysctl.d/ and run `sysctl --system`",
            )
        return _ok(value)

    return probe


def _memlock(expect: PoolExpectations) -> Callable[[NodeReader], Verdict]:
    def probe(node: NodeReader) -> Verdict:
        value = node.unit_property(CONTAINER_RUNTIME, MEMLOCK_PROPERTY)
        if value != MEMLOCK_UNLIMITED:
            return _fail(
                value,
                f"{CONTAINER_RUNTIME} runs with {MEMLOCK_PROPERTY}={value}, expected {MEMLOCK_UNLIMITED} (pool "
                f"{expect.pool}): pods get no IPC_LOCK, so RDMA (NCCL over InfiniBand) cannot pin its buffers; "
                f"add `[Service]` `{MEMLOCK_PROPERTY}={MEMLOCK_UNLIMITED}` in "
                f"/etc/systemd/system/{CONTAINER_RUNTIME}.service.d/memlock.conf, then `systemctl daemon-reload` "
                f"and restart {CONTAINER_RUNTIME} (drain the node first)",
            )
        return _ok(value)

    return probe


def _hugepages(expect: PoolExpectations) -> Callable[[NodeReader], Verdict]:
    def probe(node: NodeReader) -> Verdict:
        count = node.text(HUGEPAGES_1GI_PATH) if node.exists(HUGEPAGES_1GI_PATH) else "0"
        if not count.isdigit() or int(count) < expect.hugepages_1gi:
            return _fail(
                count,
                f"{count} 1 GiB hugepages reserved, expected at least {expect.hugepages_1gi} "
                f"(hugepages_1gi of pool {expect.pool}); boot with hugepagesz=1G hugepages="
                f"{expect.hugepages_1gi}",
            )
        return _ok(count)

    return probe


def checks_for(expect: PoolExpectations) -> tuple[Check, ...]:
    """Every check a node of the pool must pass, in the order they run and are reported."""
    gpu = (REACHABLE, DRIVER_LOADED)
    checks = [
        Check(REACHABLE, "a Linux shell answers", _reachable),
        Check(
            DRIVER_LOADED, f"nvidia-smi answers (driver {expect.driver_version})", _driver_loaded(expect), (REACHABLE,)
        ),
        Check("gpu.count", f"{expect.gpu_count} GPUs", _gpu_count(expect), gpu),
        Check("gpu.model", expect.gpu_product, _gpu_model(expect), gpu),
        Check("gpu.driver_version", expect.driver_version, _driver_version(expect), gpu),
        Check("gpu.persistence_mode", expect.persistence_mode, _persistence_mode(expect), gpu),
        Check("gpu.nvlink_fabric", "Completed/Success on every GPU", _fabric(expect), gpu),
        Check(f"service.{expect.nvlink_service}", "active", _nvlink_service(expect), (REACHABLE,)),
    ]
    if expect.gpudirect_rdma:
        checks.append(Check("gpu.gpudirect_rdma", "nvidia_peermem loaded or DMA-BUF", _gpudirect_rdma, gpu))
    partitions = " ".join(p.text for p in expect.partitions) or "no tenant partition"
    if expect.foreign_partitions:
        partitions += f"; not {' '.join(p.text for p in expect.foreign_partitions)}"
    for hca in expect.hcas:
        base = f"hca.{hca.device}"
        present = (REACHABLE, f"{base}.present")
        checks += [
            Check(f"{base}.present", f"rail {hca.rail} HCA present", _hca_present(expect, hca), (REACHABLE,)),
            Check(f"{base}.link_layer", LINK_LAYER_INFINIBAND, _link_layer(expect, hca), present),
            Check(f"{base}.port", f"{PORT_ACTIVE}; {PHYS_LINK_UP}; {hca.rate_text}", _port(expect, hca), present),
            Check(f"{base}.pkeys", partitions, _pkeys(expect, hca), (*present, f"{base}.port")),
            Check(f"{base}.ipoib_mtu", str(expect.ipoib_netdev_mtu), _ipoib_mtu(expect, hca), present),
        ]
    for mount in expect.mounts:
        checks.append(Check(f"mount.{mount.path}", " or ".join(mount.filesystems), _mount(mount), (REACHABLE,)))
    for service in expect.services:
        checks.append(Check(f"service.{service}", "active", _service(expect, service), (REACHABLE,)))
    if expect.hcas:
        memlock = f"{MEMLOCK_PROPERTY}={MEMLOCK_UNLIMITED}"
        checks.append(Check(f"{CONTAINER_RUNTIME}.memlock", memlock, _memlock(expect), (REACHABLE,)))
    for name, value in expect.sysctls:
        checks.append(Check(f"sysctl.{name}", value, _sysctl(expect, name, value), (REACHABLE,)))
    if expect.hugepages_1gi:
        checks.append(Check("hugepages.1gi", f">= {expect.hugepages_1gi}", _hugepages(expect), (REACHABLE,)))
    return tuple(checks)
