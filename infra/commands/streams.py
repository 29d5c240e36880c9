"""What every command shares about its process: safe messages, signals, and a standard output that fails.

- Standard error (and standard output when it is a terminal) escapes control characters, so a value
  from a file (an unknown key holding an escape sequence) cannot recolour, move or hide text.
- SIGTERM is handled like SIGINT: it raises ``Terminated`` (a ``KeyboardInterrupt``), so every
  write unwinds through its cleanup and leaves nothing half-written.
- A standard output that is closed, a broken pipe (``| head``) or a full device is one line naming
  it, never a traceback (also not the one Python prints at exit when flushing fails).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import IO, Any

from infra.config.errors import printable


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: unwind like an interrupt."""


class EscapingStream:
    """A text stream that escapes control characters (newlines and tabs kept) before writing."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        """Write ``text`` with its control characters escaped."""
        self._stream.write(printable(text, keep_lines=True))
        return len(text)

    @property
    def unescaped(self) -> IO[str]:
        """The stream underneath, for a writer that escapes its own text (a progress line's ``\\r``)."""
        return self._stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM raises ``Terminated`` (only the main thread can take signals)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def escaped_messages() -> Iterator[None]:
    """Escape control characters on stderr, and on stdout when a person reads it on a terminal."""
    saved = sys.stdout, sys.stderr
    if sys.stderr is not None:
        sys.stderr = EscapingStream(sys.stderr)
    if sys.stdout is not None and _isatty(sys.stdout):
        sys.stdout = EscapingStream(sys.stdout)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError):
        return False


def stdout_problem() -> str | None:
    """Why standard output cannot take a command's output (closed), if it cannot."""
    if sys.stdout is None:
        return "standard output is closed\n  hint: give the command a standard output, e.g. >/dev/null"
    return None


def flush_stdout() -> None:
    """Flush standard output now, so a full device or a closed pipe is reported by the command."""
    if sys.stdout is not None:
        sys.stdout.flush()


def abandon_stdout() -> None:
    """Point standard output at /dev/null, so Python's flush at exit cannot fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        sys.stdout = None
