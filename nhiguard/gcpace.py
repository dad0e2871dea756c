"""Cyclic garbage collection paced by the clock, for the length of one command.

A scan keeps what it finds until the report: 100,000 findings are a million live objects, and Python's
collector, started by allocation counts, walks them again and again (2 of 9.5 seconds on a file of 100,000
tokens). nhiguard's own objects form no reference cycles, so while a command runs the automatic collector is
off and the loops that run long (each batch of files or blobs, in the parent and in forked workers) call
`tick`, which collects in full at most every few seconds: cycles that libraries make are still reclaimed,
only later.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Iterator

_EVERY = 5.0  # seconds between full collections at least
_SHARE = 50  # and at least this many times as long as the last collection took
_next: float | None = None  # when the next collection is due; None: not paced (the collector runs as usual)


@contextlib.contextmanager
def paced() -> Iterator[None]:
    """Automatic collection off inside (and in workers forked inside); `tick` collects. Restored after."""
    global _next
    enabled = gc.isenabled()
    previous = _next
    gc.disable()
    _next = time.monotonic() + _EVERY
    try:
        yield
    finally:
        _next = previous
        if enabled:
            gc.enable()


def tick() -> None:
    """A full collection when paced and the last one is long enough ago; otherwise nothing (cheap per batch)."""
    global _next
    if _next is None:
        return
    now = time.monotonic()
    if now < _next:
        return
    gc.collect()
    took = time.monotonic() - now
    _next = time.monotonic() + max(_EVERY, _SHARE * took)
