"""Keyword prefilter: one pass over a chunk finds every needle (in any case, or in its exact case if so marked).

Two back-ends behind one interface, same answers: Hyperscan (a SIMD literal database, x86-64 wheels) where it
imports, pyahocorasick everywhere else. `NHIGUARD_PREFILTER=ahocorasick|hyperscan` forces one. Needles are
unique; a hit is (needle index, offset just past the needle).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, Protocol

Hit = tuple[int, int]

# A needle that hits again within THIN bytes on the same line adds nothing the engine's window around the kept
# hits does not already cover (windows reach 4 KiB each way): keep the first hit, then one per THIN bytes, and
# the last hit of a run. So "AAAA..." under a keyword of A's costs one hit per THIN bytes, not one per byte.
# A needle that announces an encoded run (`runs[i]`: the run's alphabet) is thinned only inside one run, since
# the engine decodes the whole run around a kept hit; other needles only inside one line.
THIN = 256
# Thinning costs a little per hit, so a scan first collects hits plainly; only a chunk whose hits pass this
# budget (dense hits: hostile or degenerate input) is scanned again with thinning.
_RAW_BUDGET = 1 << 16


class _Full(Exception):
    """A plain collection passed its budget."""


def _budget(data: bytes) -> int:
    return max(_RAW_BUDGET, len(data) // 32)


def _raw(remap: Sequence[int], base: int, budget: int) -> tuple[Callable[..., bool], list[Hit]]:
    """A plain hit collector (Hyperscan's callback shape) that asks to stop once it holds more than `budget`."""
    hits: list[Hit] = []
    append = hits.append
    left = budget + 1

    def add(index: int, _start: int, end: int, *_: object) -> bool:
        nonlocal left
        if remap and index >= base:
            index = remap[index - base]
        append((index, end))
        left -= 1
        return left <= 0

    return add, hits


def _thinned(
    data: bytes, runs: Sequence[bytes | None], remap: Sequence[int] = (), base: int = 0
) -> tuple[Callable[..., None], Callable[[], list[Hit]]]:
    """A hit collector (`add(index, _start, end, ...)`, Hyperscan's callback shape) and `done()` for the hits
    kept: a needle's repeats closer than THIN to its last kept hit on the same line (or in the same encoded run)
    are dropped, except the last of such a stretch, so the union of the engine's windows is unchanged. One
    closure, not a method: the callback runs once per raw hit, up to once per byte on hostile input. Ids from
    `base` on are extra expressions standing for needle `remap[id - base]`."""
    hits: list[Hit] = []
    append = hits.append
    kept: dict[int, int] = {}
    pending: dict[int, int] = {}
    last_of = kept.get
    find = data.find
    nruns = len(runs)

    def add(index: int, _start: int, end: int, *_: object) -> None:
        if remap and index >= base:
            index = remap[index - base]
        last = last_of(index)
        if last is not None and end - last < THIN:
            alphabet = runs[index] if index < nruns else None
            if (find(b"\n", last, end) < 0) if alphabet is None else not data[last:end].translate(None, alphabet):
                pending[index] = end
                return
        if pending:
            waiting = pending.pop(index, None)
            if waiting is not None:
                append((index, waiting))
        append((index, end))
        kept[index] = end

    def done() -> list[Hit]:
        hits.extend(pending.items())
        pending.clear()
        return hits

    return add, done


class Prefilter(Protocol):
    name: str

    def scan(self, data: bytes) -> list[Hit]: ...

    def serialize(self) -> bytes | None:
        """A compiled form that `make_prefilter(..., compiled=...)` can reload, if the back-end has one."""
        ...


class AhoCorasickPrefilter:
    """Matches every needle in any case: exact-case needles are found in more places than Hyperscan finds them
    (a superset: the engine then decodes a few runs for nothing)."""

    name = "ahocorasick"

    def __init__(self, needles: Sequence[bytes], runs: Sequence[bytes | None] = ()) -> None:
        import ahocorasick

        self._runs = runs
        self._one_byte = {
            i: (chr(n[0]).lower(), len(n)) for i, n in enumerate(needles) if _one_byte_run(n) is not None
        }
        self._automaton = ahocorasick.Automaton()
        indexes: dict[str, list[int]] = {}
        for index, needle in enumerate(needles):
            indexes.setdefault(needle.lower().decode("latin-1"), []).append(index)
        for key, found in indexes.items():
            self._automaton.add_word(key, tuple(found))
        self._empty = not indexes
        if not self._empty:
            self._automaton.make_automaton()

    def scan(self, data: bytes) -> list[Hit]:
        if self._empty:
            return []
        # bytes.lower() folds ASCII only and keeps offsets; latin-1 maps bytes 1:1 to code points.
        text = data.lower().decode("latin-1")
        hits = self._hits(data, text, _budget(data))
        if hits is not None:
            return hits
        add, done = _thinned(data, self._runs)
        self._feed(text, add)
        return done()

    def _hits(self, data: bytes, text: str, budget: int) -> list[Hit] | None:
        """Every hit, or None once there are more than `budget` (then the caller thins them)."""
        hits: list[Hit] = []
        append = hits.append

        def add(index: int, _start: int, end: int) -> None:
            append((index, end))
            if len(hits) > budget:
                raise _Full

        try:
            self._feed(text, add)
        except _Full:
            return None
        return hits

    def _feed(self, text: str, add: Callable[[int, int, int], None]) -> None:
        """Every hit (as Hyperscan reports it) to `add`."""
        runs = self._one_byte
        n = len(text)
        for end, found in self._automaton.iter(text):
            for index in found:
                run = runs.get(index) if runs else None
                if run is None:
                    add(index, 0, end + 1)
                    continue
                # as Hyperscan reports a one-byte-run needle: where its run starts, and one past where it ends
                char, size = run
                stop = end + 1
                if stop == size or text[stop - size - 1] != char:
                    add(index, 0, stop)
                if stop == n:
                    add(index, 0, stop)
                elif text[stop] != char:
                    add(index, 0, stop + 1)

    def serialize(self) -> bytes | None:
        return None


class HyperscanPrefilter:
    """Literal needles and rule gates (regexes, see `Rule.prefilter`) in one database, scanned in one pass (two
    databases cost two passes: a third slower). A gate's id follows the needles' (gate i is len(needles) + i)."""

    name = "hyperscan"

    def __init__(
        self,
        needles: Sequence[bytes],
        compiled: bytes | None = None,
        gates: Sequence[str] = (),
        exact: Sequence[bool] = (),
        runs: Sequence[bytes | None] = (),
    ) -> None:
        import hyperscan

        self._runs = runs
        self._db: Any = None
        # A needle of one repeated byte ("aaaa…") would hit at every byte of a long run of it: it is matched
        # where such a run starts and, as an extra expression, where it ends. Windows at both ends cover every
        # match a run can hold (its middle holds nothing else).
        self._base = len(needles) + len(gates)
        self._remap = [i for i, n in enumerate(needles) if len(n) >= 2 and not n.strip(n[:1])]  # (_one_byte_run)
        if compiled is not None:
            self._db = hyperscan.loadb(compiled, hyperscan.HS_MODE_BLOCK) if compiled else None
        else:
            def flag(i: int) -> int:
                return 0 if i < len(exact) and exact[i] else hyperscan.HS_FLAG_CASELESS

            expressions = [_run_start(n) if _one_byte_run(n) is not None else _literal(n) for n in needles]
            expressions += [g.encode() for g in gates] + [_run_end(needles[i]) for i in self._remap]
            flags = [flag(i) for i in range(len(needles))] + [hyperscan.HS_FLAG_CASELESS] * len(gates)
            flags += [flag(i) for i in self._remap]
            if expressions:
                self._db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
                self._db.compile(
                    expressions=expressions,
                    ids=list(range(len(expressions))),
                    elements=len(expressions),
                    flags=flags,
                )
        self._scratch = hyperscan.Scratch(self._db) if self._db is not None else None

    def scan(self, data: bytes) -> list[Hit]:
        if not data or self._db is None:
            return []
        import hyperscan

        raw, hits = _raw(self._remap, self._base, _budget(data))
        try:
            self._db.scan(data, match_event_handler=raw, scratch=self._scratch)
        except hyperscan.ScanTerminated:
            del hits[:]
            add, done = _thinned(data, self._runs, self._remap, self._base)
            self._db.scan(data, match_event_handler=add, scratch=self._scratch)
            return done()
        return hits

    def serialize(self) -> bytes | None:
        import hyperscan

        return hyperscan.dumpb(self._db) if self._db is not None else b""


def _one_byte_run(needle: bytes) -> int | None:
    return needle[0] if len(needle) >= 2 and needle.count(needle[:1]) == len(needle) else None


def _run_start(needle: bytes) -> bytes:
    """`needle` (one byte repeated) where a run of that byte starts: its end is then the needle's end there."""
    byte = b"\\x%02x" % needle[0]
    return b"(?:^|[^" + byte + b"])" + byte + b"{%d}" % len(needle)


def _run_end(needle: bytes) -> bytes:
    """`needle` (one byte repeated) where a run of that byte ends (one byte later, or at the end of the data)."""
    byte = b"\\x%02x" % needle[0]
    return byte + b"{%d}(?:[^" % len(needle) + byte + b"]|\\z)"


def _literal(needle: bytes) -> bytes:
    """A needle as a Hyperscan expression: letters and digits as they are, every other byte hex-escaped (so no
    byte is special, and NUL is allowed)."""
    return b"".join(bytes((b,)) if chr(b).isascii() and chr(b).isalnum() else b"\\x%02x" % b for b in needle)


def _compile_gate(pattern: str) -> None:
    import hyperscan

    hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK).compile(
        expressions=[pattern.encode()], ids=[0], elements=1, flags=[hyperscan.HS_FLAG_CASELESS]
    )


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
    needles: Sequence[bytes],
    backend: str | None = None,
    compiled: bytes | None = None,
    gates: Sequence[str] = (),
    exact: Sequence[bool] = (),
    runs: Sequence[bytes | None] = (),
) -> Prefilter:
    """`exact[i]`: needle i is matched in its exact case only (else in any case). Gates and exact case are
    Hyperscan-only speed-ups; the portable back-end ignores them (its needles must then carry the gated rules'
    keywords) and finds a superset. `runs[i]`: the alphabet of the encoded run needle i announces, if any (see
    THIN)."""
    if backend_name(backend) == "hyperscan":
        return HyperscanPrefilter(needles, compiled, gates, exact, runs)
    return AhoCorasickPrefilter(needles, runs)


def gate_error(pattern: str) -> str | None:
    """Why Hyperscan would reject a gate pattern, or None (also None when Hyperscan is not installed)."""
    try:
        import hyperscan
    except ImportError:
        return None
    try:
        _compile_gate(pattern)
    except hyperscan.error as exc:
        return str(exc)
    return None
