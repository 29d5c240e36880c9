"""A live count of registered resources, shown only when the output is a terminal."""

from __future__ import annotations

import threading
import time
from typing import TextIO


class Progress:
    """Callable given to ``record_program(on_register=...)``: redraws one status line at most every
    ``interval`` seconds on a terminal, and writes nothing at all when ``stream`` is not one."""

    def __init__(self, stream: TextIO, label: str, *, interval: float = 0.25, enabled: bool | None = None) -> None:
        self.stream = stream
        self.label = label
        self.interval = interval
        self.enabled = stream.isatty() if enabled is None else enabled
        self._started = time.monotonic()
        self._last = 0.0
        self._width = 0
        self._lock = threading.Lock()

    def __call__(self, count: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        with self._lock:
            if now - self._last < self.interval:
                return
            self._last = now
            text = f"{self.label}: {count:,} resources registered ({now - self._started:.0f} s)"
            self._width = max(self._width, len(text))
            self.stream.write("\r" + text.ljust(self._width))
            self.stream.flush()

    def close(self) -> None:
        """Erase the status line so the next output starts on a clean line."""
        with self._lock:
            if self.enabled and self._width:
                self.stream.write("\r" + " " * self._width + "\r")
                self.stream.flush()
                self._width = 0
