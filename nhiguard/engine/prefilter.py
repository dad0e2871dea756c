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
    """Literal needles in one database; rule gates (regexes, see `Rule.prefilter`) in a second one whose hit
    ids follow the needles' (gate i is id len(needles) + i)."""

    name = "hyperscan"

    def __init__(
        self, needles: Sequence[bytes], compiled: bytes | None = None, gates: Sequence[str] = ()
    ) -> None:
        import hyperscan

        self._offset = len(needles)
        self._db: Any = None
        self._gates: Any = None
        if compiled is not None:
            literal_size = int.from_bytes(compiled[:8], "big")
            literal, gate = compiled[8 : 8 + literal_size], compiled[8 + literal_size :]
            self._db = hyperscan.loadb(literal, hyperscan.HS_MODE_BLOCK) if literal else None
            self._gates = hyperscan.loadb(gate, hyperscan.HS_MODE_BLOCK) if gate else None
        else:
            unique: dict[bytes, int] = {}
            for index, needle in enumerate(needles):
                unique.setdefault(needle, index)
            if unique:
                self._db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
                exprs = list(unique)
                self._db.compile(
                    expressions=exprs,
                    ids=list(unique.values()),
                    elements=len(exprs),
                    flags=[hyperscan.HS_FLAG_CASELESS] * len(exprs),
                    literal=True,
                )
            if gates:
                self._gates = _compile_gates(gates, self._offset)
        self._scratch = hyperscan.Scratch(self._db) if self._db is not None else None
        self._gate_scratch = hyperscan.Scratch(self._gates) if self._gates is not None else None

    def scan(self, data: bytes) -> list[Hit]:
        if not data:
            return []
        hits: list[Hit] = []
        append = hits.append

        def on_match(index: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            append((index, end))

        if self._db is not None:
            self._db.scan(data, match_event_handler=on_match, scratch=self._scratch)
        if self._gates is not None:
            self._gates.scan(data, match_event_handler=on_match, scratch=self._gate_scratch)
        return hits

    def serialize(self) -> bytes | None:
        import hyperscan

        literal: bytes = hyperscan.dumpb(self._db) if self._db is not None else b""
        gate: bytes = hyperscan.dumpb(self._gates) if self._gates is not None else b""
        return len(literal).to_bytes(8, "big") + literal + gate


def _compile_gates(gates: Sequence[str], offset: int) -> Any:
    import hyperscan

    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(
        expressions=[g.encode() for g in gates],
        ids=[offset + i for i in range(len(gates))],
        elements=len(gates),
        flags=[hyperscan.HS_FLAG_CASELESS] * len(gates),
    )
    return db


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


def make_prefilter(
    needles: Sequence[bytes], backend: str | None = None, compiled: bytes | None = None, gates: Sequence[str] = ()
) -> Prefilter:
    """Gates are a Hyperscan-only speed-up; the portable back-end ignores them (its needles must then carry
    the gated rules' keywords)."""
    if backend_name(backend) == "hyperscan":
        return HyperscanPrefilter(needles, compiled, gates)
    return AhoCorasickPrefilter(needles)


def gate_error(pattern: str) -> str | None:
    """Why Hyperscan would reject a gate pattern, or None (also None when Hyperscan is not installed)."""
    try:
        import hyperscan
    except ImportError:
        return None
    try:
        _compile_gates([pattern], 0)
    except hyperscan.error as exc:
        return str(exc)
    return None
