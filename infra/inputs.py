"""Read input files with bounds that hold while reading: size, nesting, number size.

Every command reads its files through here, so ``/dev/zero``, a 5 GB file, a FIFO nobody writes, a
symlink loop, JSON nested 100,000 deep or an integer of thousands of digits is one located error
(``InputError``), never a traceback, a hang or a machine out of memory. The limits sit far above
any real input: the 100,000-GPU site is 9 KB of YAML and its plan 19 MB of JSON.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from infra.errors import BadInputError

MIB = 1 << 20
# Nesting a document may have: site files nest ~6 levels, plans ~15 (Kubernetes objects in inputs).
MAX_JSON_DEPTH = 64
# Digits of a number: 64-bit integers have at most 20; nothing this project reads is larger.
MAX_DIGITS = 32
# Only whether a run of more than MAX_DIGITS digits exists: a fixed-length pattern finds that three
# times faster than one with a sign and an open repeat (0.16 s instead of 0.47 s on the 100,000-GPU
# site's plan, where check-job must answer in under 2 s).
_LONG_NUMBER = re.compile(rf"[0-9]{{{MAX_DIGITS + 1}}}")


def real_path(path: Path) -> Path:
    """``path`` with symlinks followed, like ``Path.resolve()`` but a symlink loop does not raise
    (Python 3.11's ``resolve`` raises RuntimeError): opening the result then fails with ELOOP."""
    return Path(os.path.realpath(path))


class InputError(BadInputError):
    """An input that cannot be read as what the command reads; ``str()`` is the located message."""

    def __init__(self, where: str, message: str, hint: str | None = None, line: int = 0, column: int = 0) -> None:
        self.where = where
        self.message = message
        self.hint = hint
        self.line = line
        self.column = column
        located = f"{where}:{line}:{column}" if line else where
        text = f"{located}: {message}"
        super().__init__(f"{text}\n  hint: {hint}" if hint else text)


def line_and_column(text: str | bytes, offset: int) -> tuple[int, int]:
    """1-based line and column of character (or byte) ``offset`` in ``text``."""
    before = text[:offset]
    newline = "\n" if isinstance(before, str) else b"\n"
    start = before.rfind(newline) + 1  # type: ignore[arg-type]
    tail = before[start:]
    column = len(tail.decode("utf-8", errors="replace")) if isinstance(tail, bytes) else len(tail)
    return before.count(newline) + 1, column + 1  # type: ignore[arg-type]


def _unreadable(exc: OSError, where: str, what: str) -> InputError:
    """The error for an input the OS would not read: a directory, or the OS's own reason."""
    if isinstance(exc, IsADirectoryError) or exc.errno == errno.EISDIR:
        return InputError(where, f"is a directory, not {what}")
    return InputError(where, f"cannot be read: {exc.strerror or exc}")


def _open_input(path: Path, what: str, where: str) -> int:
    """A blocking descriptor of ``path``, opened without waiting for a FIFO's writer (none reads as empty)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError(where, "file not found") from None
    except OSError as exc:
        raise _unreadable(exc, where, what) from None
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
    return fd


def read_bytes_bounded(path: Path, limit: int, what: str, shown: str | None = None) -> bytes:
    """At most ``limit`` bytes of ``path``; ``InputError`` when it holds more or cannot be read.

    A FIFO is opened without waiting for a writer (one that never comes reads as empty); devices
    such as ``/dev/zero`` stop at the limit instead of filling memory.
    """
    where = shown if shown is not None else str(path)
    fd = _open_input(path, what, where)
    try:
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            try:
                chunk = os.read(fd, min(MIB, limit + 1 - size))
            except OSError as exc:
                raise _unreadable(exc, where, what) from None
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > limit:
        raise InputError(where, f"is larger than {_size(limit)}, which no {what.removeprefix('a ')} is")
    return b"".join(chunks)


def read_lines_bounded(path: Path, limit: int, max_line: int, what: str, shown: str | None = None) -> Iterator[str]:
    """The lines of ``path`` one at a time (for inputs too large to hold whole), bounded like
    ``read_bytes_bounded``: at most ``limit`` bytes in all and ``max_line`` characters a line, so
    ``/dev/zero`` (no line ends) is refused at once; ``InputError`` names the line that broke a bound.
    """
    where = shown if shown is not None else str(path)
    fd = _open_input(path, what, where)
    total = 0
    try:
        handle = os.fdopen(fd, "r", encoding="utf-8", newline=None)
    except IsADirectoryError as exc:
        os.close(fd)
        raise _unreadable(exc, where, what) from None
    with handle:
        number = 0
        while True:
            number += 1
            try:
                line = handle.readline(max_line + 1)
            except UnicodeDecodeError:
                raise InputError(where, "is not UTF-8 text", f"{what} is text", number, 1) from None
            except OSError as exc:
                raise _unreadable(exc, where, what) from None
            if not line:
                return
            if len(line) > max_line:
                raise InputError(
                    where, f"has a line longer than {max_line:,} characters, which no {what} has", None, number, 1
                )
            total += len(line)
            if total > limit:
                raise InputError(where, f"is larger than {_size(limit)}, which no {what} is")
            yield line


def _size(limit: int) -> str:
    return f"{limit // MIB:,} MiB" if limit >= MIB else f"{limit >> 10:,} KiB"


def read_text_bounded(path: Path, limit: int, what: str, shown: str | None = None) -> str:
    """``read_bytes_bounded`` decoded as UTF-8; a byte that is not UTF-8 is located by line and column."""
    data = read_bytes_bounded(path, limit, what, shown)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = line_and_column(data, exc.start)
        raise InputError(
            shown if shown is not None else str(path),
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x})",
            f"save the file as UTF-8; {what} is text",
            line,
            column,
        ) from None


def _depth_problem(document: Any) -> bool:
    """Whether ``document`` nests deeper than ``MAX_JSON_DEPTH`` (checked without recursion)."""
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            return True
        if isinstance(value, dict):
            pending.extend((v, depth + 1) for v in value.values() if isinstance(v, (dict, list)))
        elif isinstance(value, list):
            pending.extend((v, depth + 1) for v in value if isinstance(v, (dict, list)))
    return False


def parse_json_bounded(text: str, where: str, what: str) -> Any:
    """JSON ``text`` parsed with numbers and nesting bounded; ``InputError`` located by line and column."""
    long_number = _LONG_NUMBER.search(text)
    if long_number is not None:
        # Inside a string a long run of digits is text; parse to find out whether it is a number.
        def bounded_int(digits: str) -> int:
            if len(digits.lstrip("-")) > MAX_DIGITS:
                raise _NumberTooLong(digits)
            return int(digits)
    else:
        bounded_int = int  # type: ignore[assignment]
    try:
        document = json.loads(text, parse_int=bounded_int)
    except json.JSONDecodeError as exc:
        raise InputError(where, f"not valid JSON: {exc.msg}", f"{what} is JSON", exc.lineno, exc.colno) from None
    except _NumberTooLong as exc:
        line, column = line_and_column(text, text.find(exc.digits))
        raise InputError(
            where, f"a number of {len(exc.digits):,} digits; nothing in {what} is this large", None, line, column
        ) from None
    except RecursionError:
        raise InputError(where, f"nests deeper than {MAX_JSON_DEPTH} levels; {what} does not") from None
    if _depth_problem(document):
        raise InputError(where, f"nests deeper than {MAX_JSON_DEPTH} levels; {what} does not")
    return document


class _NumberTooLong(ValueError):
    def __init__(self, digits: str) -> None:
        super().__init__(digits)
        self.digits = digits
