"""``NodeReader``: one node as the checks see it, read only through testinfra's ``host``.

Everything goes through ``host.run``, ``host.file``, ``host.service``, ``host.mount_point`` and
``host.sysctl``, so the same checks run over SSH (paramiko or OpenSSH), an Ansible inventory,
``local://`` on the node itself or ``kubectl exec``. Command output is remembered for the node, so
several checks share one ``nvidia-smi`` call.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from infra.acceptance.hardware import NVIDIA_SMI_TIMEOUT_S
from infra.errors import GigafactoryError

# Characters of a process name the kernel keeps (and pgrep matches).
COMM_LENGTH = 15


@dataclass(frozen=True)
class CommandOutput:
    """Exit status and output of one command on the node."""

    rc: int
    stdout: str
    stderr: str

    def first_line(self) -> str:
        """The first non-empty line of stderr, else of stdout: what the tool said went wrong."""
        for text in (self.stderr, self.stdout):
            for line in text.splitlines():
                if line.strip():
                    return line.strip()
        return f"exit status {self.rc}"


class ReadError(GigafactoryError):
    """Something the checks must read is not there or cannot be read."""


class NodeReader:
    """Reads one node through a testinfra ``Host``; caches command output per node."""

    def __init__(self, host: Any) -> None:
        self.host = host
        self._commands: dict[str, CommandOutput] = {}
        self._texts: dict[str, str] = {}
        self._many: dict[str, dict[str, str]] = {}

    def run(self, command: str, *args: str) -> CommandOutput:
        """Run ``command`` (``%s`` fields filled with shell-quoted ``args``) once per node."""
        key = command % tuple(shlex.quote(a) for a in args) if args else command
        if key not in self._commands:
            result = self.host.run(command, *args)
            self._commands[key] = CommandOutput(int(result.rc), str(result.stdout), str(result.stderr))
        return self._commands[key]

    def read_many(self, paths: tuple[str, ...]) -> dict[str, str]:
        """Content of every file that exists among ``paths`` (shell globs allowed), in one command.

        One round trip instead of one per file: a node's HCA attributes and P_Key tables are over a
        thousand sysfs files. ``paths`` must be plain paths or globs (no spaces or quotes); ``grep -H``
        prints ``path:line`` for each, and ``-s`` keeps quiet about those that do not exist.
        """
        key = "\0".join(paths)
        if key not in self._many:
            out = self.run("grep -H -s '' -- " + " ".join(paths))
            if out.rc not in (0, 1, 2):
                raise ReadError(f"cannot read {len(paths)} files: {out.first_line()}")
            found: dict[str, str] = {}
            for line in out.stdout.splitlines():
                path, sep, value = line.partition(":")
                if sep:
                    found[path] = f"{found[path]}\n{value}" if path in found else value.strip()
            self._many[key] = found
        return self._many[key]

    def nvidia_smi(self, *args: str) -> CommandOutput:
        """``nvidia-smi ARGS``, bounded in time: a GPU that fell off the bus can make it hang."""
        return self.run(f"timeout {NVIDIA_SMI_TIMEOUT_S} nvidia-smi" + " %s" * len(args), *args)

    def exists(self, path: str) -> bool:
        """Whether ``path`` exists on the node."""
        return bool(self.host.file(path).exists)

    def text(self, path: str) -> str:
        """Content of a file that must exist (sysfs, procfs), stripped of surrounding whitespace."""
        if path not in self._texts:
            try:
                self._texts[path] = str(self.host.file(path).content_string).strip()
            except RuntimeError:  # testinfra: cat failed; its message is the whole CommandResult
                raise ReadError(f"cannot read {path}") from None
        return self._texts[path]

    def service_active(self, name: str) -> bool:
        """Whether the service manager reports ``name`` running (``systemctl is-active`` on systemd)."""
        return bool(self.host.service(name).is_running)

    def unit_property(self, unit: str, name: str) -> str:
        """A systemd unit's property as ``systemctl show --property=NAME --value UNIT`` prints it."""
        out = self.run("systemctl show --property=%s --value %s", name, unit)
        if out.rc != 0:
            raise ReadError(f"`systemctl show {unit}` failed: {out.first_line()}")
        return out.stdout.strip()

    def process_running(self, name: str) -> bool:
        """Whether a process called exactly ``name`` runs (``pgrep -x``)."""
        # pgrep matches the kernel's process name, which keeps only the first 15 characters
        # (TASK_COMM_LEN 16 with its NUL; proc(5) /proc/pid/comm): nv-fabricmanager runs as
        # "nv-fabricmanage", and procps refuses a longer pattern outright.
        return self.run("pgrep -x %s", name[:COMM_LENGTH]).rc == 0

    def mount(self, path: str) -> str | None:
        """Filesystem type mounted at ``path`` (from /proc/mounts), or None when nothing is."""
        point = self.host.mount_point(path)
        return str(point.filesystem) if point.exists else None

    def sysctl(self, name: str) -> str:
        """A kernel parameter as ``sysctl -n`` prints it."""
        try:
            return str(self.host.sysctl(name))
        except AssertionError:  # testinfra: sysctl -n exited non-zero
            raise ReadError(f"`sysctl -n {name}` failed: no such kernel parameter on this node") from None
