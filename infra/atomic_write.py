"""Write command outputs safely: complete or not at all, never over something the command did not write.

- A file is written through a temporary file beside it and a rename, so it appears whole. A target
  that exists and is not a regular file (``/dev/null``, a FIFO, a terminal, ``/dev/stdout``) is
  written through instead: renaming over it would replace the device with a file. A symlink is
  followed: the file it points to is replaced, the link stays.
- ``-`` (``STDOUT``) sends a single-file output to standard output; folder outputs refuse it.
- A folder is written whole into a sibling staging folder, then swapped in. It carries a manifest
  (``.gigafactory-<command>.sha256``, ``sha256sum -c`` format) of every file it holds; a later run
  replaces the folder only when everything in it is listed there with the same hash. Anything else
  (a ``.git/``, a README, a file of the command's that someone edited) is refused, named.
- Temporaries carry the writer's process id in their name (``.<target>.gf<pid>-<random>``); a later
  write beside the same target removes those whose process is gone and that belong to this user, and
  puts back a previous output a killed writer had moved aside.
- SIGINT and SIGTERM (see ``infra.commands.streams``) unwind through the cleanup; the two renames
  that swap a folder run with both signals blocked, so an interrupt cannot fall between them.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO

from infra.errors import BadInputError

STDOUT = "-"
MANIFEST_SUFFIX = ".sha256"
_REFUSALS_SHOWN = 3
_STALE = re.compile(r"^\.(?P<target>.+)\.gf(?P<pid>[0-9]+)-[A-Za-z0-9_]+(?P<kind>\.tmp|\.staging|\.old)$")
_SIGNALS = {signal.SIGINT, signal.SIGTERM}


class OutputRefused(BadInputError):
    """An output the command must not write: the message names the entry in the way and the fix."""


def manifest_name(owner: str) -> str:
    """The manifest file a folder written by command ``owner`` holds."""
    return f".gigafactory-{owner}{MANIFEST_SUFFIX}"


def is_stdout(destination: str | Path | None) -> bool:
    """Whether an ``-o`` value asks for standard output."""
    return destination is not None and str(destination) == STDOUT


def _umask_mode(mode: int) -> int:
    """``mode`` as open()/mkdir() would create it under the process umask (mkstemp/mkdtemp use 0600/0700)."""
    umask = os.umask(0)
    os.umask(umask)
    return mode & ~umask


def _named_for(exc: OSError, temporary: Path, target: Path) -> OSError:
    """``exc`` naming ``target`` instead of the temporary path it was written through (if it names it).

    The user asked for ``target``; a dot-file with a random suffix in an error message is a path
    they never wrote and cannot find afterwards.
    """
    if exc.filename is None:
        return exc
    failed = Path(exc.filename)
    if failed != temporary and temporary not in failed.parents:
        return exc
    return OSError(exc.errno, exc.strerror, str(target / failed.relative_to(temporary)))


def _reraise_named(exc: BaseException, temporary: Path, target: Path) -> None:
    named = _named_for(exc, temporary, target) if isinstance(exc, OSError) else exc
    if named is exc:
        raise exc
    raise named from exc


def _real_target(path: Path) -> Path:
    """Where writing ``path`` lands: symlinks followed (a loop raises ELOOP naming ``path``)."""
    real = Path(os.path.realpath(path))
    if real.is_symlink():  # realpath stops inside a loop without saying so
        os.stat(real)  # raises OSError(ELOOP)
    return real


def _temp_prefix(target: Path) -> str:
    return f".{target.name}.gf{os.getpid()}-"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def clean_stale_temporaries(target: Path) -> list[Path]:
    """Remove the temporaries of dead writers beside ``target``; returns what was removed or restored.

    Only entries named as this module names them, owned by this user, whose process no longer runs,
    are touched. A previous output moved aside (``.old``) by a writer killed mid-swap is put back when
    ``target`` is missing, otherwise removed.
    """
    handled: list[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return handled
    for entry in sorted(entries, key=lambda e: e.name):
        match = _STALE.match(entry.name)
        if match is None or match["target"] != target.name:
            continue
        pid = int(match["pid"])
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if pid == os.getpid() or _process_alive(pid) or info.st_uid != os.getuid() or stat.S_ISLNK(info.st_mode):
            continue
        stale = Path(entry.path)
        try:
            if match["kind"] == ".old" and not os.path.lexists(target):
                os.replace(stale, target)
            elif stat.S_ISDIR(info.st_mode):
                shutil.rmtree(stale)
            else:
                stale.unlink()
        except OSError:
            continue
        handled.append(stale)
    return handled


def _write_through(target: Path, data: bytes) -> None:
    """Write into an existing non-regular file (a device, a FIFO) without replacing it."""
    with open(target, "wb") as handle:
        handle.write(data)
        handle.flush()


def write_file_atomic(path: Path, content: str | bytes, *, overwrite: bool = True) -> None:
    """Write ``content`` to ``path`` through a temporary file in the same folder and a rename.

    With ``overwrite=False`` an existing file is left alone and ``FileExistsError`` is raised. An
    existing target that is not a regular file is written through, not replaced.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    path = Path(path)
    try:
        target = _real_target(path)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    try:
        info = os.stat(target)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(21, "Is a directory", str(path))
    if info is not None and not stat.S_ISREG(info.st_mode):
        if not overwrite:
            raise FileExistsError(17, "File exists", str(path))
        _write_through(target, data)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(target)
    try:
        fd, temporary = tempfile.mkstemp(prefix=_temp_prefix(target), suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), _umask_mode(0o666) if info is None else stat.S_IMODE(info.st_mode))
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(temporary, target)
        else:
            # link() fails if the target exists, so two writers cannot both win.
            os.link(temporary, target)
            os.unlink(temporary)
    except BaseException as exc:
        if os.path.exists(temporary):
            os.unlink(temporary)
        _reraise_named(exc, Path(temporary), path)


def write_output(destination: str | Path, content: str | bytes, stream: IO[str] | None = None) -> None:
    """Write a single-file output: to standard output for ``-``, else atomically to the path."""
    if not is_stdout(destination):
        write_file_atomic(Path(destination), content)
        return
    out = stream if stream is not None else sys.stdout
    data = content.encode("utf-8") if isinstance(content, str) else content
    buffer = getattr(out, "buffer", None)
    out.flush()
    if buffer is not None:
        buffer.write(data)
        buffer.flush()
    else:
        out.write(data.decode("utf-8"))
        out.flush()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_manifest(path: Path) -> dict[str, str] | None:
    """``relative path -> sha256`` from a manifest, or None when it is missing or not one."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read(64 << 20)
    except (OSError, UnicodeDecodeError):
        return None
    listed: dict[str, str] = {}
    for line in text.splitlines():
        digest, sep, relative = line.partition("  ")
        if not sep or not re.fullmatch(r"[0-9a-f]{64}", digest):
            return None
        listed[relative] = digest
    return listed


def _entries(folder: Path) -> list[tuple[str, os.stat_result]]:
    """The entries of one folder (name, lstat), sorted, without following links."""
    with os.scandir(folder) as entries:
        return sorted((e.name, e.stat(follow_symlinks=False)) for e in entries)


def _foreign_entries(directory: Path, owner: str) -> Iterator[str]:
    """What in ``directory`` the command ``owner`` did not write as it is now, described.

    Only folders the manifest implies are entered, so a foreign tree (a ``.git/``, a home folder)
    is named, never walked.
    """
    manifest = manifest_name(owner)
    listed = _read_manifest(directory / manifest)
    command = f"`gigafactory {owner}`"
    if listed is None:
        for name, _ in _entries(directory):
            yield f"{name}: not written by {command} (the folder has no {manifest})"
        return
    folders = {parent.as_posix() for p in listed for parent in Path(p).parents if parent.as_posix() != "."}
    pending = [""]
    while pending:
        relative = pending.pop()
        for entry, info in _entries(directory / relative if relative else directory):
            name = f"{relative}/{entry}" if relative else entry
            if name == manifest:
                continue
            if stat.S_ISDIR(info.st_mode):
                if name in folders:
                    pending.append(name)
                else:
                    yield f"{name}/: not written by {command}"
            elif not stat.S_ISREG(info.st_mode) or name not in listed:
                yield f"{name}: not written by {command}"
            elif _sha256_file(directory / name) != listed[name]:
                yield f"{name}: edited since {command} wrote it"


def ownership_problem(directory: Path, owner: str) -> str | None:
    """Why ``directory`` must not be replaced by command ``owner``'s output, naming what is in the way.

    Commands ask before they do their work, so a refused folder costs nothing; ``write_tree_atomic``
    asks again right before writing.
    """
    shown = str(directory)
    if is_stdout(directory):
        return (
            f"-o {STDOUT}: `gigafactory {owner}` writes a folder, which standard output cannot hold\n"
            "  hint: name a folder with -o"
        )
    try:
        target = _real_target(directory)
        if not os.path.lexists(target):
            return None
        if not target.is_dir():
            return f"{shown}: exists and is not a folder\n  hint: name a new folder with -o"
        refusals: list[str] = []
        for problem in _foreign_entries(target, owner):
            refusals.append(problem)
            if len(refusals) > _REFUSALS_SHOWN:
                break
    except OSError as exc:
        return f"{shown}: cannot be examined: {exc.strerror or exc}"
    if not refusals:
        return None
    more = ["..."] if len(refusals) > _REFUSALS_SHOWN else []
    listed = "; ".join([*refusals[:_REFUSALS_SHOWN], *more])
    return (
        f"{shown}: holds what `gigafactory {owner}` would lose by replacing the folder: {listed}\n"
        "  hint: move those entries out, or name a new or empty folder with -o"
    )


def _write_entry(target: Path, content: str | bytes | Iterator[str]) -> str:
    """Write one staged file; returns its sha256."""
    digest = hashlib.sha256()
    with open(target, "wb") as handle:
        chunks: Iterable[str | bytes] = [content] if isinstance(content, (str, bytes)) else content
        for chunk in chunks:
            data = chunk.encode("utf-8") if isinstance(chunk, str) else chunk
            digest.update(data)
            handle.write(data)
    return digest.hexdigest()


def _stage(staging: Path, files: Mapping[str, str | bytes | Iterator[str]], owner: str) -> None:
    listed: dict[str, str] = {}
    for relative, content in sorted(files.items()):
        target = (staging / relative).resolve()
        if staging not in target.parents or relative == manifest_name(owner):
            raise OutputRefused(f"refusing to write outside the output folder: {relative!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        listed[target.relative_to(staging).as_posix()] = _write_entry(target, content)
    lines = "".join(f"{digest}  {name}\n" for name, digest in sorted(listed.items()))
    (staging / manifest_name(owner)).write_text(lines, encoding="utf-8")


def _swap(staging: Path, directory: Path) -> None:
    """Put ``staging`` in place of ``directory`` with SIGINT/SIGTERM held off between the renames."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        if os.path.lexists(directory):
            retired = Path(tempfile.mkdtemp(prefix=_temp_prefix(directory), suffix=".old", dir=directory.parent))
            os.replace(directory, retired)
            os.replace(staging, directory)
        else:
            retired = None
            os.replace(staging, directory)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)


def write_tree_atomic(directory: Path, files: Mapping[str, str | bytes | Iterator[str]], *, owner: str) -> None:
    """Replace ``directory`` with exactly ``files`` (relative path -> content) and the manifest, all at once.

    ``owner`` is the command writing (``render``, ``fabric``): an existing folder is replaced only
    when it holds nothing but what ``owner`` wrote there, unchanged; otherwise ``OutputRefused``
    names what is in the way. A content may be an iterator of text chunks, written as they come, so
    a file larger than memory should hold (a 100,000-GPU cabling plan) never exists as one string.
    Everything is written into a sibling staging folder first; a failure part-way leaves the
    previous output untouched.
    """
    problem = ownership_problem(Path(directory), owner)
    if problem is not None:
        raise OutputRefused(problem)
    try:
        real = _real_target(Path(directory))
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(directory)) from exc
    real.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(real)
    try:
        staging = Path(tempfile.mkdtemp(prefix=_temp_prefix(real), suffix=".staging", dir=real.parent))
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(directory)) from exc
    try:
        staging.chmod(_umask_mode(0o777))
        _stage(staging, files, owner)
        _swap(staging, real)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        _reraise_named(exc, staging, Path(directory))
