"""Write command outputs atomically: a file or a whole folder appears complete, or not at all."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path


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


def write_file_atomic(path: Path, content: str | bytes, *, overwrite: bool = True) -> None:
    """Write ``content`` to ``path`` through a temporary file in the same folder and a rename.

    With ``overwrite=False`` an existing file is left alone and ``FileExistsError`` is raised.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), _umask_mode(0o666))
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(temporary, path)
        else:
            # link() fails if the target exists, so two writers cannot both win.
            os.link(temporary, path)
            os.unlink(temporary)
    except BaseException as exc:
        if os.path.exists(temporary):
            os.unlink(temporary)
        named = _named_for(exc, Path(temporary), path) if isinstance(exc, OSError) else exc
        if named is exc:
            raise
        raise named from exc


def write_tree_atomic(directory: Path, files: Mapping[str, str | bytes | Iterator[str]]) -> None:
    """Replace ``directory`` with exactly ``files`` (relative path -> content), all at once.

    A content may be an iterator of text chunks, written as they come, so a file larger than
    memory should hold (a 100,000-GPU cabling plan) never exists as one string.
    Everything is written into a sibling temporary folder first; only then is the old folder
    swapped out, so a failure part-way leaves the previous output untouched.
    """
    directory = directory.resolve()
    directory.parent.mkdir(parents=True, exist_ok=True)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(directory)) from exc
    try:
        staging.chmod(_umask_mode(0o777))
        for relative, content in sorted(files.items()):
            target = (staging / relative).resolve()
            if staging not in target.parents:
                raise ValueError(f"refusing to write outside the output folder: {relative}")
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, (str, bytes)):
                target.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
            else:
                with target.open("w", encoding="utf-8", newline="") as handle:
                    handle.writelines(content)
        if directory.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old.", dir=directory.parent))
            os.replace(directory, retired / "previous")
            os.replace(staging, directory)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, directory)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        named = _named_for(exc, staging, directory) if isinstance(exc, OSError) else exc
        if named is exc:
            raise
        raise named from exc
