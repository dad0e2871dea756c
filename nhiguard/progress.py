"""One status line on a terminal for long runs (history, sweep, image, large scans): what is being read, how much of
a total fixed up front is done, and an ETA from the rate so far. The total never grows while the bar runs; a phase
whose size is not known yet shows a count without a bar or ETA instead of a guess."""

from __future__ import annotations

import math
import os
import time
from typing import TextIO

_MIN_ETA_SECONDS = 2.0  # before this, or before 1% is done, the rate says nothing: "ETA --:--"


def wanted(option: bool | None, stream: TextIO) -> bool:
    """An explicit --progress/--no-progress, else on a terminal only and never in CI."""
    if option is not None:
        return option
    return stream.isatty() and not os.environ.get("CI")


def clock(seconds: float) -> str:
    seconds = max(0, math.ceil(seconds))  # (rounded up: "0:00:00" only once nothing is left)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def size(n: int) -> str:
    return f"{n / (1 << 30):.2f} GB" if n >= 1 << 30 else f"{n / (1 << 20):.1f} MB"


class Progress:
    """`total_units` items of `total_bytes` bytes; `advance` as they are done. Redrawn at most five times a second."""

    def __init__(self, stream: TextIO, label: str, total_units: int, total_bytes: int, unit: str = "file(s)",
                 ) -> None:
        self.stream, self.label, self.unit = stream, label, unit
        self.total_units, self.total_bytes = total_units, total_bytes
        self.done_units = self.done_bytes = 0
        self.findings: int | None = None  # shown once the caller counts them
        self.what = ""
        self.started = time.monotonic()
        self._last = 0.0
        self._width = 0

    def advance(self, units: int = 0, nbytes: int = 0, *, findings: int | None = None, what: str | None = None,
                force: bool = False) -> None:
        self.done_units += units
        self.done_bytes += nbytes
        if findings is not None:
            self.findings = findings
        if what is not None:
            self.what = what
        now = time.monotonic()
        finished = bool(self.total_units) and self.done_units >= self.total_units  # the last frame is always drawn
        if force or finished or now - self._last >= 0.2:
            self._last = now
            self.draw(now)

    def eta(self, now: float) -> str:
        elapsed = now - self.started
        share = self.share()
        if share is not None and share >= 1:
            return clock(0)
        if share is None or elapsed < _MIN_ETA_SECONDS or share < 0.01:
            return "--:--"
        return clock(elapsed * (1 - share) / share)

    def share(self) -> float | None:
        if self.total_bytes > 0:
            return min(1.0, self.done_bytes / self.total_bytes)
        if self.total_units > 0:
            return min(1.0, self.done_units / self.total_units)
        return None

    def line(self, now: float) -> str:
        share = self.share()
        bar = f"[{'#' * int((share or 0) * 24):<24}] " if share is not None else ""
        units = f"{self.done_units:,}/{self.total_units:,} {self.unit}" if self.total_units else \
            f"{self.done_units:,} {self.unit}"
        nbytes = f"  {size(self.done_bytes)}/{size(self.total_bytes)}" if self.total_bytes else ""
        found = f"  {self.findings:,} finding(s)" if self.findings is not None else ""
        what = f"  {self.what}" if self.what else ""
        return f"{self.label} {bar}{units}{nbytes}{found}  ETA {self.eta(now)}{what}"

    def draw(self, now: float | None = None) -> None:
        line = self.line(time.monotonic() if now is None else now)
        self.stream.write("\r" + line + " " * max(0, self._width - len(line)))
        self.stream.flush()
        self._width = len(line)

    def close(self, closing_line: str | None = None) -> None:
        """Erase the status line; print `closing_line` (counts that agree with the report) in its place."""
        if self._width:
            self.stream.write("\r" + " " * self._width + "\r")
        if closing_line:
            self.stream.write(closing_line + "\n")
        self.stream.flush()
        self._width = 0
