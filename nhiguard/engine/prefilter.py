"""Keyword prefilter: one pass over a chunk finds every needle, case-insensitively.

Two back-ends behind one interface, same answers: Hyperscan (a SIMD literal database, x86-64 wheels) where it
imports, pyahocorasick everywhere else. `NHIGUARD_PREFILTER=ahocorasick|hyperscan` forces one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Protocol

Hit = tuple[int, int]  # (needle index, offset just past the needle's end)


class Prefilter(Protocol):
    name: str

    def scan(self, data: bytes) -> list[Hit]: ...


class AhoCorasickPrefilter:
    name = "ahocorasick"

    def __init__(self, needles: Sequence[bytes]) -> None:
        import ahocorasick

        self._automaton = ahocorasick.Automaton()
        for index, needle in enumerate(needles):
            # One needle may stand for several ids; keep the first, the caller maps duplicates.
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


class HyperscanPrefilter:
    name = "hyperscan"

    def __init__(self, needles: Sequence[bytes]) -> None:
        import hyperscan

        unique: dict[bytes, int] = {}
        for index, needle in enumerate(needles):
            unique.setdefault(needle, index)
        self._db: object | None = None
        if unique:
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
            self._scratch = hyperscan.Scratch(db)

    def scan(self, data: bytes) -> list[Hit]:
        if self._db is None or not data:
            return []
        hits: list[Hit] = []
        append = hits.append

        def on_match(index: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            append((index, end))

        self._db.scan(data, match_event_handler=on_match, scratch=self._scratch)  # type: ignore[attr-defined]
        return hits


def hyperscan_available() -> bool:
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return False
    return True


def make_prefilter(needles: Sequence[bytes], backend: str | None = None) -> Prefilter:
    choice = backend or os.environ.get("NHIGUARD_PREFILTER", "auto")
    if choice == "hyperscan" or (choice == "auto" and hyperscan_available()):
        return HyperscanPrefilter(needles)
    if choice not in ("auto", "ahocorasick"):
        raise ValueError(f"unknown prefilter back-end {choice!r} (auto, hyperscan, ahocorasick)")
    return AhoCorasickPrefilter(needles)
