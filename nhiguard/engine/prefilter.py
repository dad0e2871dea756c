"""Keyword prefilter: one pass over a chunk finds every needle, case-insensitively.

Two back-ends behind one interface, same answers: Hyperscan (a SIMD literal database, x86-64 wheels) where it
imports, pyahocorasick everywhere else. `NHIGUARD_PREFILTER=ahocorasick|hyperscan` forces one. Needles are
unique; a hit is (needle index, offset just past the needle).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Protocol

Hit = tuple[int, int]


class Prefilter(Protocol):
    name: str

    def scan(self, data: bytes) -> list[Hit]: ...

    def serialize(self) -> bytes | None:
        """A compiled form that `make_prefilter(..., compiled=...)` can reload, if the back-end has one."""
        ...


class AhoCorasickPrefilter:
    name = "ahocorasick"

    def __init__(self, needles: Sequence[bytes]) -> None:
        import ahocorasick

        self._automaton = ahocorasick.Automaton()
        for index, needle in enumerate(needles):
            key = needle.decode("latin-1")
            if key not in self._automaton:
                self._automaton.add_word(key, index)
        self._empty = len(self._automaton) == 0
        if not self._empty:
            self._automaton.make_automaton()

    def scan(self, data: bytes) -> list[Hit]:
        if self._empty:
            return []
        # bytes.lower() folds ASCII only and keeps offsets; latin-1 maps bytes 1:1 to code points.
        text = data.lower().decode("latin-1")
        return [(index, end + 1) for end, index in self._automaton.iter(text)]

    def serialize(self) -> bytes | None:
        return None


class HyperscanPrefilter:
    name = "hyperscan"

    def __init__(self, needles: Sequence[bytes], compiled: bytes | None = None) -> None:
        import hyperscan

        self._db: Any = None
        self._scratch: Any = None
        if compiled is not None:
            self._db = hyperscan.loadb(compiled, hyperscan.HS_MODE_BLOCK)
        elif needles:
            unique: dict[bytes, int] = {}
            for index, needle in enumerate(needles):
                unique.setdefault(needle, index)
            db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            exprs = list(unique)
            db.compile(
                expressions=exprs,
                ids=list(unique.values()),
                elements=len(exprs),
                flags=[hyperscan.HS_FLAG_CASELESS] * len(exprs),
                literal=True,
            )
            self._db = db
        if self._db is not None:
            self._scratch = hyperscan.Scratch(self._db)

    def scan(self, data: bytes) -> list[Hit]:
        if self._db is None or not data:
            return []
        hits: list[Hit] = []
        append = hits.append

        def on_match(index: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            append((index, end))

        self._db.scan(data, match_event_handler=on_match, scratch=self._scratch)
        return hits

    def serialize(self) -> bytes | None:
        if self._db is None:
            return None
        import hyperscan

        data: bytes = hyperscan.dumpb(self._db)
        return data


def hyperscan_available() -> bool:
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return False
    return True


def backend_name(backend: str | None = None) -> str:
    choice = backend or os.environ.get("NHIGUARD_PREFILTER", "auto")
    if choice not in ("auto", "hyperscan", "ahocorasick"):
        raise ValueError(f"unknown prefilter back-end {choice!r} (auto, hyperscan, ahocorasick)")
    if choice == "auto":
        return "hyperscan" if hyperscan_available() else "ahocorasick"
    return choice


def make_prefilter(needles: Sequence[bytes], backend: str | None = None, compiled: bytes | None = None) -> Prefilter:
    if backend_name(backend) == "hyperscan":
        return HyperscanPrefilter(needles, compiled)
    return AhoCorasickPrefilter(needles)
