"""Progress of a long command on standard error: the phase, a count and a total.

One status line (``planning eu-gigafactory: stack 3/7, 812 resources``, ``fabric: cables
120,000/326,016``, ``verify: nodes 12/64``), redrawn in place on a terminal and silent otherwise,
unless the command's ``--progress`` asks for it: then, off a terminal (a CI log), it is one line per
update at most every ``interval`` seconds.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import TextIO

from infra.config.errors import printable


def add_progress_option(parser: argparse.ArgumentParser) -> None:
    """``--progress``: every long command's one way to report progress when stderr is not a terminal."""
    parser.add_argument(
        "--progress",
        action="store_true",
        help="report progress on standard error even when it is not a terminal (on a terminal it always is)",
    )


def command_progress(args: argparse.Namespace, label: str) -> Progress:
    """The Progress of one command run, on standard error, forced on by ``--progress``.

    The command line escapes control characters on stderr; the status line's carriage return must
    reach the terminal as one, so it writes beneath that escaping and escapes its own text.
    """
    stream = getattr(sys.stderr, "unescaped", sys.stderr)
    return Progress(stream, label, enabled=True if getattr(args, "progress", False) else None)


class Progress:
    """One status line ``LABEL: PHASE DONE/TOTAL[, N resources]`` written at most every ``interval`` seconds.

    ``enabled`` defaults to whether ``stream`` is a terminal; nothing at all is written when it is off.
    Callable with a running count of registered resources (``record_program(on_register=...)``),
    which is shown after the current phase (``stage``).
    """

    def __init__(self, stream: TextIO, label: str, *, interval: float = 0.25, enabled: bool | None = None) -> None:
        self.stream = stream
        self.label = label
        self.interval = interval
        self.terminal = _isatty(stream)
        self.enabled = self.terminal if enabled is None else enabled
        self._stage = ""
        self._last = float("-inf")
        self._width = 0
        self._lock = threading.Lock()

    def stage(self, phase: str, done: int, total: int) -> None:
        """Enter a phase (``stack 3/7``); drawn at once, and kept in front of later resource counts."""
        self._stage = f"{phase} {done:,}/{total:,}"
        self._draw(self._stage, force=True)

    def count(self, phase: str, done: int, total: int) -> None:
        """``done`` of ``total`` in ``phase`` (``cables 120,000/326,016``); the last one is always drawn."""
        self._draw(f"{phase} {done:,}/{total:,}", force=done >= total)

    def __call__(self, count: int) -> None:
        """``count`` resources registered so far (in the current phase, when one is set)."""
        resources = f"{count:,} resource{'s' if count != 1 else ''}"
        self._draw(f"{self._stage}, {resources}" if self._stage else f"{resources} registered")

    def _draw(self, text: str, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        with self._lock:
            if not force and now - self._last < self.interval:
                return
            self._last = now
            line = printable(f"{self.label}: {text}")
            if self.terminal:
                self._width = max(self._width, len(line))
                self.stream.write("\r" + line.ljust(self._width))
            else:
                self.stream.write(line + "\n")
            self.stream.flush()

    def close(self) -> None:
        """Erase the status line (on a terminal) so the next output starts on a clean line."""
        with self._lock:
            if self.enabled and self.terminal and self._width:
                self.stream.write("\r" + " " * self._width + "\r")
                self.stream.flush()
                self._width = 0


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or stand-in stream is no terminal
        return False
