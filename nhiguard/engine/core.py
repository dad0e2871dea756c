"""The scanner's hot loop.

One prefilter pass per chunk finds keyword hits; each rule whose keyword hit runs its compiled pattern on the
line(s) around the hit only (multi-line rules get a wider window); identical lines are answered from a cache;
encoded runs that contain an encoded keyword are decoded and scanned again (depth-limited). Candidates then
pass entropy, checks, allow lists, generic filters and inline ignores.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import hashlib
import itertools
import json
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote

from nhiguard import __version__
from nhiguard.constants import INLINE_ALLOW_MARKERS, MAX_DECODE_DEPTH, REGEX_TIMEOUT_SECONDS
from nhiguard.engine import decode, filters, pairs
from nhiguard.engine.context import SECTION_LINES
from nhiguard.engine.matcher import compile_pattern, compile_plain, finditer, gate_open, search, secret_gate
from nhiguard.engine.prefilter import Prefilter, backend_name, make_prefilter
from nhiguard.engine.score import run_checks, shannon_entropy
from nhiguard.filekinds import Detectors
from nhiguard.filekinds.base import FREE_FORM, setting_names
from nhiguard.model import Allow, Chunk, Match, Rule

_APART = b"\n" * 8  # between unescaped lines that were not neighbours: farther than any two-line form reaches
LINE_REACH = 4096  # a window never reaches further than this from a hit on one (minified) line
MULTILINE_BEFORE = 4096
MULTILINE_AFTER = 65536
_CACHE_LIMIT = 65536
ALLOW_REGEX_TIMEOUT = 0.25  # an allow regex sees one candidate secret: a quarter second is far beyond any honest one
_CACHE_BYTES = 32 << 20  # the line cache's budget: lines are up to 8 KiB, so the entry count alone is not a bound
_MAX_ATTRIBUTED = 4096  # a setting name or value longer than this is not tried against the provider rules
# A merged window longer than this (a line crowded with keyword hits) is matched in pieces that overlap by the
# window reach, each under its own time bound: the cost stays linear and one slow piece loses only itself.
_PIECE = 64 << 10
_NEXTLINE_MARKER = b"pragma: allowlist nextline secret"
_MARKERS = (*INLINE_ALLOW_MARKERS, _NEXTLINE_MARKER)
_MARK_BLOCK = 1 << 20
_STORE_FORMAT = 6

_GATE_TRIES = 64  # windows a rule's shape gate is tried in before its pattern is compiled regardless
_DECODERS = {decode.BASE64: -1, decode.HEX: -2, decode.PERCENT: -3}
_PAIRS = -4  # the target of the needles that announce a two-line name/value setting (see `pairs`)


@dataclass(frozen=True, slots=True)
class EngineOptions:
    max_decode_depth: int = MAX_DECODE_DEPTH
    regex_timeout: float = REGEX_TIMEOUT_SECONDS
    prefilter: str | None = None
    allow: Allow = Allow()


@dataclass(slots=True)
class _Candidate:
    rule: int
    start: int
    end: int
    secret: str
    parts: tuple[tuple[str, str], ...]
    entropy: float
    decoded: tuple[str, ...] = ()
    rejected: bool = False
    near: bool = False  # a `context:` rule's weak evidence: a host or name on the line beside (`_without_contested`)


@dataclass
class EngineStats:
    timeouts: list[tuple[str, str]] = field(default_factory=list)
    allow_timeouts: list[str] = field(default_factory=list)  # allow regexes switched off after their time bound


class BlobStore(Protocol):
    """Where a compiled prefilter can be kept between runs (the engine itself does no I/O)."""

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, data: bytes) -> None: ...


class Engine:
    def __init__(
        self, rules: Sequence[Rule], options: EngineOptions | None = None, store: BlobStore | None = None
    ) -> None:
        self.rules = list(rules)
        self.options = options or EngineOptions()
        self.by_id = {r.id: i for i, r in enumerate(self.rules)}
        self.stats = EngineStats()
        self._prefilter: Prefilter | None = None
        self._patterns: list[Any] = [None] * len(self.rules)
        self._shape_gates: list[Any] = [False] * len(self.rules)  # False: not derived yet; None: the rule has none
        self._gate_tries = [0] * len(self.rules)
        self._allow_patterns: list[tuple[Any, ...] | None] = [None] * len(self.rules)
        self._global_allow = tuple(compile_plain(p) for p in self.options.allow.regexes)
        self._allow_off: set[Any] = set()
        self._cache: dict[tuple[int, bytes], list[_Candidate]] = {}
        self._cache_bytes = 0
        self._skip_cache: dict[str, frozenset[int]] = {}
        self._active: set[int] | None = None  # while scan_all_rules runs: rules whose patterns matched
        self._dependents = any(r.depends_on for r in self.rules)
        self._path_allows = [(i, r.allow.paths) for i, r in enumerate(self.rules) if r.allow.paths]
        self._generic = frozenset(i for i, r in enumerate(self.rules) if r.generic)
        # every rule's allow-listed values (the providers' documented sample keys): a generic rule or a file-kind
        # field takes the same value under another name (a sample key in a plain API_KEY=), and is no finding either
        self._documented = frozenset(v for r in self.rules for v in r.allow.values)
        # generic rules whose filters wait until specific candidates have claimed their spans (see _scan_bytes):
        # all but those another rule pairs with (a partner must pass its filters before pairing)
        partners = {self.by_id.get(d.rule) for r in self.rules for d in r.depends_on}
        self._deferred = self._generic - partners
        self._needles: list[bytes] = []
        self._exact: list[bool] = []  # per needle: matched in its exact case (base64 forms), else in any case
        self._targets: list[tuple[int, ...]] = []
        self._needle_plan: list[_Plan | None] = []
        self._multiline = frozenset(i for i, r in enumerate(self.rules) if r.multiline)
        self._twoline = frozenset(i for i, r in enumerate(self.rules) if r.names and not r.multiline)
        self._named = frozenset(i for i, r in enumerate(self.rules) if r.names)  # `context:` rules
        self._kinds = Detectors.for_rules(self.rules)  # file-kind detectors, when their rules are loaded
        # Gates only with Hyperscan: a gated rule is found by its gate regex instead of its (frequent) keywords.
        # The portable back-end keeps the keywords and gets the same answers, more slowly.
        self._gated = (
            [i for i, r in enumerate(self.rules) if r.prefilter]
            if backend_name(self.options.prefilter) == "hyperscan"
            else []
        )
        if store is None:
            self._build_needles()
            return
        key = self._store_key()
        blob = store.get(key)
        if blob is not None and self._load(blob):
            return
        self._build_needles()
        compiled = self.prefilter.serialize()
        store.put(key, _pack(self._needles, self._exact, self._targets, compiled))

    def _build_needles(self) -> None:
        needles: dict[tuple[bytes, bool], list[int]] = defaultdict(list)
        gated = set(self._gated)
        for index, rule in enumerate(self.rules):
            for keyword in rule.keywords:
                if index not in gated:  # (a gated rule's keywords are still the source of its encoded forms)
                    needles[keyword.encode(), False].append(index)
        if self.options.max_decode_depth > 0:
            # Encodings are case-sensitive: encode each keyword as tokens really spell it (AKIA, CCIPAT_, ghp_),
            # and look for base64 forms in their exact case (any case would find "lyze" in every "analyze").
            # A `context:` rule's keywords are variable names, not part of the secret: encoded content carries
            # values, not `NAME=value` pairs (a Kubernetes Secret encodes the value only), and their spellings
            # (every separator, every case) made nine in ten of all needles: 29 MB to load at every start.
            variants = {v for rule in self.rules if not rule.names for v in _keyword_spellings(rule)}
            for plain in sorted(variants):
                for needle, kind in decode.encoded_needles(plain, self.options.max_decode_depth):
                    needles[needle, kind == decode.BASE64].append(_DECODERS[kind])
            for needle, kind in decode.percent_needles():
                needles[needle, False].append(_DECODERS[kind])
        for needle in pairs.NEEDLES:
            needles[needle, False].append(_PAIRS)
        self._needles = [needle for needle, _ in needles]
        self._exact = [exact for _, exact in needles]
        self._targets = [tuple(sorted(set(targets))) for targets in needles.values()]
        self._targets += [(rule,) for rule in self._gated]

    def _gates(self) -> list[str]:
        return [self.rules[i].prefilter or "" for i in self._gated]

    def _store_key(self) -> str:
        # the format tag changes whenever what a back-end serialises changes shape; the code that derives the
        # needles is part of the key too, so an edit to it never loads a database built by the code before
        digest = hashlib.sha256(f"{__version__}|{backend_name(self.options.prefilter)}|{_STORE_FORMAT}|".encode())
        digest.update(_needle_code())
        digest.update(str(self.options.max_decode_depth).encode())
        for rule in self.rules:
            digest.update(rule.id.encode() + b"\0" + "\0".join(rule.keywords).encode() + b"\1")
            digest.update((rule.prefilter or "").encode() + b"\3")
            for example in rule.examples.positive:
                digest.update(example.text.encode("utf-8", "replace") + b"\2")
        return digest.hexdigest()[:32]

    def _load(self, blob: bytes) -> bool:
        try:
            header, _, compiled = blob.partition(b"\n")
            doc = json.loads(header)
            self._needles = [n.encode("latin-1") for n in doc["needles"]]
            self._exact = [bool(e) for e in doc["exact"]]
            self._targets = [tuple(t) for t in doc["targets"]]
            self._prefilter = make_prefilter(
                self._needles,
                self.options.prefilter,
                compiled if doc["compiled"] and compiled else None,
                self._gates(),
                self._exact,
                self._runs(),
            )
        except (ValueError, KeyError, TypeError, UnicodeError, RuntimeError):
            self._prefilter = None
            return False
        return True

    # -- lazy state -----------------------------------------------------------------------------------------
    @property
    def prefilter(self) -> Prefilter:
        if self._prefilter is None:
            self._prefilter = make_prefilter(self._needles, self.options.prefilter, gates=self._gates(),
                                             exact=self._exact, runs=self._runs())
        return self._prefilter

    def _runs(self) -> list[bytes | None]:
        """Per needle, the alphabet of the encoded run it announces (its hits are thinned within one run only)."""
        b64, hexa = _DECODERS[decode.BASE64], _DECODERS[decode.HEX]
        b64_alphabet, hex_alphabet = decode.ALPHABETS[decode.BASE64], decode.ALPHABETS[decode.HEX]
        # targets are sorted and decoders are negative: a needle whose first target is a rule announces no run
        return [
            None if not targets or targets[0] >= 0
            else b64_alphabet if b64 in targets else hex_alphabet if hexa in targets else None
            for targets in self._targets[: len(self._needles)]
        ]

    def _plan_entry(self, index: int) -> _Plan:
        """For one needle (or gate): its length, the line rules, multi-line rules, decoders and two-line rules
        (`context:` rules, whose window reaches the end of the next line) it triggers.
        A gate hit's "length" is 1: its window is the line where the gate's match ends. Built on first use,
        since a small scan touches a handful of the thousands of needles."""
        targets = self._targets[index]
        size = len(self._needles[index]) if index < len(self._needles) else 1
        multiline, twoline = self._multiline, self._twoline
        entry = (
            size,
            tuple(t for t in targets if t >= 0 and t not in multiline and t not in twoline),
            tuple(t for t in targets if t >= 0 and t in multiline),
            tuple(t for t in targets if t < 0),
            tuple(t for t in targets if t in twoline),
        )
        self._needle_plan[index] = entry
        return entry

    def _pattern(self, index: int) -> Any:
        compiled = self._patterns[index]
        if compiled is None:
            compiled = self._patterns[index] = compile_pattern(self.rules[index].pattern)
        return compiled

    def _shape_gate(self, index: int) -> Any:
        gate = self._shape_gates[index]
        if gate is False:
            gate = self._shape_gates[index] = secret_gate(self.rules[index].pattern)
        return gate

    def _rule_allow(self, index: int) -> tuple[Any, ...]:
        compiled = self._allow_patterns[index]
        if compiled is None:
            compiled = self._allow_patterns[index] = tuple(
                compile_plain(p) for p in self.rules[index].allow.regexes
            )
        return compiled

    # -- public ---------------------------------------------------------------------------------------------
    def scan(self, chunk: Chunk, *, include_helpers: bool = False) -> list[Match]:
        """Matches in a chunk, with real line numbers. Helper rules (`report: false`) are only paired with
        their dependents, unless `include_helpers` (the self-test checks helpers' own examples)."""
        return self._scan_chunk(chunk, self._rules_off_for_path(chunk.origin.path), include_helpers)

    def scan_all_rules(self, chunk: Chunk, *, named: bool = True) -> tuple[list[Match], frozenset[str]]:
        """Matches with every rule on, whatever the chunk's path (for content whose path is not known yet), and
        the ids of the rules whose patterns matched at all (even if checks, pairing or a more specific rule then
        dropped the match). If none of the rules `rules_off(path)` names is among them, `scan` at that path gives
        exactly these matches: turning off a rule that matched nothing changes nothing. `named=False`: the
        chunk's path is a stand-in (a blob id), so no file-kind detector is looked up by it (the caller scans
        again where the real path chooses one, see `file_kind_at`)."""
        self._active = set()
        try:
            matches = self._scan_chunk(chunk, frozenset(), False, by_path=named)
            return matches, frozenset(self.rules[i].id for i in self._active)
        finally:
            self._active = None

    def rules_off(self, path: str) -> frozenset[str]:
        """Ids of the rules turned off at `path` (their allow paths, generic rules in lock files)."""
        return frozenset(self.rules[i].id for i in self._rules_off_for_path(path))

    def file_kind_at(self, path: str) -> bool:
        """Whether a file-kind detector of the loaded rules is chosen by this path (a name look-up)."""
        return self._kinds is not None and bool(self._kinds.kinds_for(path))

    def _scan_chunk(
        self, chunk: Chunk, skip: frozenset[int], include_helpers: bool, by_path: bool = True
    ) -> list[Match]:
        matches = self._regex_matches(chunk, skip, include_helpers)
        if by_path and self._kinds is not None and chunk.origin.path:
            kinds = self._kinds.kinds_for(chunk.origin.path)
            if kinds:
                return filekind_matches(self, chunk, kinds, matches)
        return matches

    def _regex_matches(self, chunk: Chunk, skip: frozenset[int], include_helpers: bool) -> list[Match]:
        candidates = self._scan_bytes(chunk.data, skip, 0, chunk.origin.path, include_helpers)
        if not candidates:
            return []
        candidates.sort(key=lambda c: (c.start, c.rule))
        data = chunk.data
        matches = []
        # Candidates come in offset order: count the newlines between one and the next (a large blob with one
        # finding must not pay for an index of all its lines).
        line, counted = 1, 0
        for c in candidates:
            line += data.count(b"\n", counted, c.start)
            counted = c.start
            line_start = data.rfind(b"\n", 0, c.start) + 1
            matches.append(
                Match(
                    rule_id=self.rules[c.rule].id,
                    secret=c.secret,
                    start=c.start,
                    end=c.end,
                    line=chunk.real_line(line),
                    column=c.start - line_start + 1,
                    parts=c.parts,
                    decoded=c.decoded,
                    entropy=c.entropy,
                )
            )
        return matches

    def _rules_off_for_path(self, path: str) -> frozenset[int]:
        if not path or not (self._path_allows or self._generic):
            return frozenset()
        # a history sweep asks again for every version of a file
        known = self._skip_cache.get(path)
        if known is not None:
            return known
        off = {i for i, paths in self._path_allows if filters.path_matches(path, paths)}
        if self._generic and filters.is_lockfile(path):
            off.update(self._generic)
        if len(self._skip_cache) > _CACHE_LIMIT:
            self._skip_cache.clear()
        known = self._skip_cache[path] = frozenset(off)
        return known

    # -- the loop -------------------------------------------------------------------------------------------
    def _scan_bytes(
        self, data: bytes, skip: frozenset[int], depth: int, path: str, helpers: bool = False
    ) -> list[_Candidate]:
        out = self._candidates(data, skip, depth, path, helpers)
        if not out:
            return out
        return self._settle(out, data, helpers)

    def _candidates(
        self, data: bytes, skip: frozenset[int], depth: int, path: str, helpers: bool, pairs_too: bool = True
    ) -> list[_Candidate]:
        """Every rule's candidates in `data`, before filters, pairing and resolution (`pairs_too`: and in the values
        of two-line settings; not in the pairs' own rescanned text, which has none)."""
        hits = self.prefilter.scan(data)
        if not hits:
            return []
        plan = self._needle_plan
        if len(plan) != len(self._targets):
            plan[:] = [None] * len(self._targets)
        line_spans: dict[int, set[tuple[int, int]]] = defaultdict(set)
        multi_hits: dict[int, list[int]] = defaultdict(list)
        decode_hits: dict[int, list[int]] = defaultdict(list)
        n = len(data)
        rfind, find = data.rfind, data.find
        line_lo = line_hi = -1  # the current whole line (hits arrive in offset order; reuse its bounds)
        if skip:
            trimmed: dict[int, _Plan] = {}
        for needle_index, end in hits:
            if skip:
                entry = trimmed.get(needle_index)
                if entry is None:
                    size, lines, multis, codes, twos = plan[needle_index] or self._plan_entry(needle_index)
                    entry = trimmed[needle_index] = (
                        size,
                        tuple(t for t in lines if t not in skip),
                        tuple(t for t in multis if t not in skip),
                        codes,
                        tuple(t for t in twos if t not in skip),
                    )
                size, line_rules, multi_rules, decoders, two_rules = entry
            else:
                size, line_rules, multi_rules, decoders, two_rules = plan[needle_index] or self._plan_entry(
                    needle_index
                )
            start = end - size
            if line_rules or two_rules:
                if not (line_lo <= start and end <= line_hi):
                    lo = rfind(b"\n", max(0, start - LINE_REACH), start) + 1 or max(0, start - LINE_REACH)
                    hi = find(b"\n", end, min(n, end + LINE_REACH))
                    if hi < 0:
                        hi = min(n, end + LINE_REACH)
                        line_lo = line_hi = -1  # clipped on a long line: bounds are per hit
                    elif lo == 0 or data[lo - 1 : lo] == b"\n":
                        line_lo, line_hi = lo, hi
                    span = (lo, hi)
                else:
                    span = (line_lo, line_hi)
                for target in line_rules:
                    line_spans[target].add(span)
                if two_rules and _word_start(data, start):
                    # the line, and the next one: `- name: X_API_KEY` / `value: …`; and the one before, where a
                    # host can stand above or below its key. A provider's name counts only where a word starts
                    # (the pattern says so too): "alchemy" in every "sqlalchemy" of a repository's history must
                    # not cost a regex run each.
                    below = span[1] + 1
                    end = span[1] if below > n else _line_end(data, below, n)
                    if _ends_section(data, span[0], span[1]):
                        # a section named for the provider: its key may stand a few settings further down
                        for _ in range(SECTION_LINES - 1):
                            if end + 1 >= n:
                                break
                            end = _line_end(data, end + 1, n)
                    two = (_line_start(data, span[0] - 1), end)
                    for target in two_rules:
                        line_spans[target].add(two)
            for target in multi_rules:
                multi_hits[target].append(start)
            for code in decoders:
                decode_hits[code].append(start)
        out: list[_Candidate] = []
        for rule_index, spans in line_spans.items():
            for lo, hi in _merge(sorted(spans)):
                if hi - lo <= 2 * LINE_REACH:
                    out.extend(self._match_line(rule_index, data, lo, hi, path))
                else:
                    out.extend(self._match_pieces(rule_index, data, lo, hi, path, LINE_REACH))
        for rule_index, starts in multi_hits.items():
            windows = []
            for s in starts:
                reach = max(0, s - MULTILINE_BEFORE)
                lo = data.rfind(b"\n", max(0, reach - LINE_REACH), reach) + 1 if reach else 0
                windows.append((lo, min(n, s + MULTILINE_AFTER)))
            for lo, hi in _merge(sorted(windows)):
                out.extend(self._match_pieces(rule_index, data, lo, hi, path, MULTILINE_AFTER))
        pair_hits = decode_hits.pop(_PAIRS, None)
        if decode_hits and depth < self.options.max_decode_depth:
            out.extend(self._decoded(data, decode_hits, skip, depth, path, helpers))
        if pair_hits and pairs_too:
            out.extend(self._pairs(data, pair_hits, skip, depth, path, helpers))
        return self._named_first(out) if self._named and out else out

    def _named_first(self, out: list[_Candidate]) -> list[_Candidate]:
        """A value that a `context:` rule takes beside its provider's name, and another provider's rule takes by its
        shape alone, is the named provider's: Clerk issues Stripe's `sk_live_` shape, and under a `clerk:` section,
        or as the value of a `- name: CLERK_SECRET_KEY` pair, the Stripe rule, which sees the value's line only,
        cannot see the name. A shape with a checksum (GitHub's CRC32) proves its provider whatever the name, so
        such a rule keeps its match. Where the shape is the named provider's own (npm's .yarnrc `npmAuthToken:`
        under an NPM_AUTH_TOKEN name), its shape rule, the more specific, takes it."""
        rules, generic, keep = self.rules, self._generic, self._named
        if any(c.near for c in out):
            out = _without_contested(out, generic)
        named = {(c.start, c.end): rules[c.rule].provider for c in out if c.rule in keep and not c.rejected}
        if not named:
            return out
        shaped = {(c.start, c.end, rules[c.rule].provider) for c in out
                  if c.rule not in keep and c.rule not in generic and not c.rejected}
        return [c for c in out
                if ((c.start, c.end, rules[c.rule].provider) not in shaped if c.rule in keep
                    else c.rule in generic or rules[c.rule].checks
                    or named.get((c.start, c.end), rules[c.rule].provider) == rules[c.rule].provider)]

    def _settle(self, out: list[_Candidate], data: bytes, helpers: bool) -> list[_Candidate]:
        # Specific candidates are filtered and dependents paired first; an unpaired dependent (an AWS-looking
        # secret with no key id nearby) claims nothing. Spans a specific rule rejected on its own terms
        # (checksum, entropy, its allow list of documented sample keys, a fake-looking value) stay that
        # provider's. A generic candidate on a claimed span is dropped whatever its
        # filters say, so they (the costly part of a candidate: 50,000 AWS key pairs are 100,000 generic
        # candidates, all claimed) run only on the rest. A generic rule another rule pairs with is filtered first.
        marks = _InlineMarks(data)
        deferred = self._deferred
        generic = self._generic
        first = []
        refused = []  # a provider's own allow list (its documented sample keys) or a fake-looking value
        for c in out:
            if not c.rejected and c.rule not in deferred:
                if self._accept(c, marks):
                    first.append(c)
                elif c.rule not in generic and not self.rules[c.rule].depends_on:
                    refused.append((c.start, c.end))
        if self._dependents:
            first = self._pair(first, data)
        claims = _Spans([(c.start, c.end) for c in out if c.rejected] + refused
                        + [(c.start, c.end) for c in first if c.rule not in generic])
        later = [c for c in out if not c.rejected and c.rule in deferred and not claims.overlaps(c.start, c.end)
                 and self._accept(c, marks)]
        return self._resolve(first + later, claims, helpers)

    def _match_pieces(
        self, rule_index: int, data: bytes, lo: int, hi: int, path: str, reach: int
    ) -> list[_Candidate]:
        """A long window in pieces of _PIECE bytes, each run with `reach` bytes of context on both sides; a
        candidate belongs to the piece where it starts, so a match across a seam is found once, whole."""
        if hi - lo <= _PIECE + 2 * reach:
            return self._match_window(rule_index, data, lo, hi, path)
        out: list[_Candidate] = []
        for start in range(lo, hi, _PIECE):
            stop = min(hi, start + _PIECE)
            found = self._match_window(rule_index, data, max(lo, start - reach), min(hi, stop + reach), path)
            out.extend(c for c in found if start <= c.start < stop)
        return out

    def _match_line(self, rule_index: int, data: bytes, lo: int, hi: int, path: str) -> list[_Candidate]:
        line = data[lo:hi]
        key = (rule_index, line)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._match_window(rule_index, line, 0, len(line), path)
            if len(self._cache) > _CACHE_LIMIT or self._cache_bytes > _CACHE_BYTES:
                self._cache.clear()
                self._cache_bytes = 0
            self._cache[key] = cached
            self._cache_bytes += len(line)
        elif cached and self._active is not None:
            self._active.add(rule_index)
        if lo == 0:
            return list(cached)
        return [
            _Candidate(c.rule, c.start + lo, c.end + lo, c.secret, c.parts, c.entropy, c.decoded, c.rejected, c.near)
            for c in cached
        ]

    def _match_window(self, rule_index: int, data: bytes, lo: int, hi: int, path: str) -> list[_Candidate]:
        rule = self.rules[rule_index]
        window = data[lo:hi]
        if rule_index in self._named:
            # A `context:` rule's pattern tries its names, hosts and weak forms at every position of a window of up
            # to six lines; its value's shape alone is a far cheaper search, and most windows (a name in prose, in
            # `denormalize` for Deno) hold no value of that shape at all.
            gate = self._shape_gate(rule_index)
            if gate is not None and not gate_open(gate, window, self.options.regex_timeout):
                return []
        elif self._patterns[rule_index] is None and self._gate_tries[rule_index] < _GATE_TRIES:
            # Until a rule's pattern is compiled, its secret-shape gate decides whether it must be: a rule hit in a
            # few windows with no value of its shape never costs a compile. A rule hit often is compiled anyway
            # (then its anchored pattern is as cheap as the gate, which scans every position for the shape).
            self._gate_tries[rule_index] += 1
            gate = self._shape_gate(rule_index)
            if gate is not None and not gate_open(gate, window, self.options.regex_timeout):
                return []
        text = window.decode("latin-1")
        found: list[_Candidate] = []
        try:
            for m in finditer(self._pattern(rule_index), text, self.options.regex_timeout):
                s, e = m.span("secret")
                if s < 0 or e <= s:
                    continue
                raw = data[lo + s : lo + e]
                secret = raw.decode("latin-1") if raw.isascii() else raw.decode("utf-8", "replace")
                secret = secret.strip()
                if not secret:
                    continue
                entropy = shannon_entropy(secret)
                if (rule.entropy is not None and entropy < rule.entropy) or (
                    rule.checks and not run_checks(rule.checks, secret)
                ):
                    if not rule.generic:
                        # A provider's shape that fails its own checks (a wrong checksum, a test token) is
                        # still that provider's: generic rules must not report it either.
                        found.append(_Candidate(rule_index, lo + s, lo + e, secret, (), entropy, rejected=True))
                    continue
                parts = tuple(
                    (name, value)
                    for name, value in m.groupdict().items()
                    if name != "secret" and value is not None and not name.startswith("_")
                )
                near = "_near" in m.re.groupindex and m.start("_near") >= 0
                found.append(_Candidate(rule_index, lo + s, lo + e, secret, parts, entropy, near=near))
        except TimeoutError:
            self.stats.timeouts.append((rule.id, path))
        if found and self._active is not None:
            self._active.add(rule_index)
        return found

    def _decoded(
        self,
        data: bytes,
        decode_hits: dict[int, list[int]],
        skip: frozenset[int],
        depth: int,
        path: str,
        helpers: bool,
    ) -> list[_Candidate]:
        out: list[_Candidate] = []
        # Runs already decoded, per decoder: each list grows in offset order and its runs do not overlap (a
        # maximal base64 or hex run, or a line), so one bisection tells whether a hit falls inside one.
        done: dict[int, tuple[list[int], list[int]]] = {}
        lines: list[tuple[int, int, bytes, str]] = []  # lines read with their escapes undone, scanned together below
        for code, starts in decode_hits.items():
            los, his = done.setdefault(code, ([], []))
            for at in sorted(set(starts)):
                if any(_inside(at, *runs) for runs in done.values()):
                    continue
                if code == _DECODERS[decode.PERCENT]:
                    lo = data.rfind(b"\n", max(0, at - LINE_REACH), at) + 1 or max(0, at - LINE_REACH)
                    hi = data.find(b"\n", at)
                    hi = hi if 0 <= hi <= at + LINE_REACH else min(len(data), at + LINE_REACH)
                    unescaped = decode.decode_line(data[lo:hi])
                    raw, kind = unescaped if unescaped is not None else (None, decode.PERCENT)
                elif code == _DECODERS[decode.BASE64]:
                    lo, hi = decode.base64_run(data, at)
                    block = decode.wrapped_run(data, lo, hi, his[-1] if his else 0)  # (`base64 id_rsa`: 76 a line)
                    if block is not None:
                        lo, hi, run = block
                    raw = decode.decode_base64(run if block is not None else data[lo:hi])
                    kind = decode.BASE64
                else:
                    lo, hi = decode.hex_run(data, at)
                    raw = decode.decode_hex(data[lo:hi])
                    kind = decode.HEX
                los.append(lo)
                his.append(hi)
                if raw is None:
                    continue
                if code == _DECODERS[decode.PERCENT]:
                    lines.append((lo, hi, raw, kind))
                    continue
                for inner in self._scan_bytes(raw, skip, depth + 1, path, helpers):
                    out.append(
                        _Candidate(
                            inner.rule, lo, hi, inner.secret, inner.parts, inner.entropy, (kind, *inner.decoded)
                        )
                    )
        if lines:
            out.extend(self._unescaped_lines(lines, skip, depth, path, helpers))
        return out

    def _unescaped_lines(
        self, lines: list[tuple[int, int, bytes, str]], skip: frozenset[int], depth: int, path: str, helpers: bool
    ) -> list[_Candidate]:
        """Lines read again with their escapes undone, scanned as one text (a scan per line made 100,000 lines of
        escaped JSON 7x betterleaks' time); each candidate belongs to the line it starts in. Lines that stood one
        after another stay so; others are kept apart by blank lines, beyond the reach of any two-line form."""
        parts: list[bytes] = []
        starts: list[int] = []
        size, last = 0, -2
        for lo, hi, raw, _ in lines:  # (in offset order, none overlapping: `_decoded` reads each once)
            if parts:
                gap = b"\n" if lo == last + 1 else _APART
                parts.append(gap)
                size += len(gap)
            starts.append(size)
            parts.append(raw)
            size += len(raw)
            last = hi
        out = []
        for inner in self._scan_bytes(b"".join(parts), skip, depth + 1, path, helpers):
            lo, hi, _, kind = lines[bisect.bisect_right(starts, inner.start) - 1]
            out.append(_Candidate(inner.rule, lo, hi, inner.secret, inner.parts, inner.entropy, (kind, *inner.decoded)))
        return out

    def _pairs(
        self, data: bytes, hits: list[int], skip: frozenset[int], depth: int, path: str, helpers: bool
    ) -> list[_Candidate]:
        """Candidates in the values of two-line name/value settings (see `pairs`): all the pairs of `data`
        rescanned at once as `NAME="value"` lines (so a key id and its secret in two pairs still pair up), what
        lies inside a value mapped back to that value's bytes."""
        found = pairs.find(data, hits, LINE_REACH)
        if not found:
            return []
        text, places = pairs.synthetic(data, found)
        inner = self._candidates(text, skip, depth, path, helpers, pairs_too=False)
        starts = [lo for lo, _, _ in places]
        out = []
        for c in inner:
            at = bisect.bisect_right(starts, c.start) - 1
            if at < 0:
                continue
            lo, hi, real = places[at]
            if lo <= c.start and c.end <= hi:
                out.append(dataclasses.replace(c, start=real + c.start - lo, end=real + c.end - lo))
        return out

    # -- verdicts on candidates -----------------------------------------------------------------------------
    def _accept(self, c: _Candidate, marks: _InlineMarks) -> bool:
        rule = self.rules[c.rule]
        secret = c.secret
        allow = rule.allow
        if secret in allow.values or secret in self.options.allow.values:
            return False
        if rule.generic and secret in self._documented:
            return False
        low = secret.lower()
        if any(w in low for w in allow.stopwords) or any(w in low for w in self.options.allow.stopwords):
            return False
        if self._allowed_by_regex(secret, self._rule_allow(c.rule)) or self._allowed_by_regex(
            secret, self._global_allow
        ):
            return False
        if filters.looks_fake(secret) or (rule.generic and filters.is_not_secret(secret)):
            return False
        return not marks.allowed(c.start)

    def provider_shape(self, value: str) -> bool:
        """Whether a provider's rule matches the value alone, even to reject it (a wrong checksum, a documented
        test token): such a value is that provider's to judge, not a generic setting's."""
        data = value.encode("utf-8", "replace")
        saved, self._active = self._active, None
        try:
            for needle_index, _ in self.prefilter.scan(data):
                entry = self._needle_plan[needle_index] if needle_index < len(self._needle_plan) else None
                if len(self._needle_plan) != len(self._targets):
                    self._needle_plan[:] = [None] * len(self._targets)
                    entry = None
                _, line_rules, multi_rules, _, two_line = entry or self._plan_entry(needle_index)
                for rule_index in (*line_rules, *multi_rules, *two_line):
                    if rule_index not in self._generic and self._match_window(rule_index, data, 0, len(data), ""):
                        return True
        finally:
            self._active = saved
        return False

    def rule_accepts(self, rule_id: str, value: str) -> bool:
        """Whether the rule's pattern finds exactly `value` in `value` alone and accepts it (checks, entropy)."""
        index = self.by_id.get(rule_id)
        if index is None:
            return False
        data = value.encode("utf-8", "replace")
        saved, self._active = self._active, None
        try:
            found = self._match_window(index, data, 0, len(data), "")
        finally:
            self._active = saved
        return any(not c.rejected and c.secret == value.strip() for c in found)

    def provider_for(self, names: Sequence[str], value: str, path: str = "") -> str | None:
        """The id of the provider rule (not a generic one) that takes exactly `value` assigned to one of `names`
        (`NAME=value`, the names tried in order), or None. A file-kind parser knows which setting holds a value
        even where the text does not put the provider's name beside it: a Kubernetes Secret's base64 `data:`,
        a key nested a few lines under its provider's section, `api_key:` in the provider's own config file."""
        if not value or len(value) > _MAX_ATTRIBUTED or any(c in value for c in "\r\n"):
            return None
        skip = self._rules_off_for_path(path)
        saved, self._active = self._active, None
        try:
            for name in names:
                head = f"{name}=".encode("utf-8", "replace")
                if len(head) > _MAX_ATTRIBUTED or b"\n" in head:
                    continue
                data = head + value.encode("utf-8", "replace")
                if not self._hits_provider(data):
                    continue
                for c in self._scan_bytes(data, skip, 0, path):
                    if c.rule not in self._generic and c.start == len(head) and c.secret == value:
                        return self.rules[c.rule].id
        finally:
            self._active = saved
        return None

    def _hits_provider(self, data: bytes) -> bool:
        """Whether the prefilter hits a keyword or gate of some provider's rule (not a generic one) in `data`: a
        scan that costs microseconds, where the full one costs a hundred (a file of 100,000 `password = …`
        settings asks it of each)."""
        generic, targets = self._generic, self._targets
        return any(t >= 0 and t not in generic for index, _ in self.prefilter.scan(data) for t in targets[index])

    def allowed_value(self, rule_id: str, secret: str) -> bool:
        """The allow lists (the rule's and the config's values, stopwords and regexes) for a file-kind value."""
        index = self.by_id.get(rule_id)
        rule = self.rules[index] if index is not None else None
        if secret in self._documented:  # (a file-kind field is named by its setting, never by a provider's shape)
            return True
        allows = [self.options.allow] + ([rule.allow] if rule is not None else [])
        low = secret.lower()
        if any(secret in a.values or any(w in low for w in a.stopwords) for a in allows):
            return True
        patterns = (*self._global_allow, *(self._rule_allow(index) if index is not None else ()))
        return self._allowed_by_regex(secret, patterns)

    def _allowed_by_regex(self, secret: str, patterns: tuple[Any, ...]) -> bool:
        """Allow regexes (a repository's own) run under a time bound too. One that hits it is switched off for
        the rest of the run and named in a notice: what it would have allowed is reported, never hidden."""
        for pattern in patterns:
            if pattern in self._allow_off:
                continue
            try:
                if search(pattern, secret, min(self.options.regex_timeout, ALLOW_REGEX_TIMEOUT)):
                    return True
            except TimeoutError:
                self._allow_off.add(pattern)
                self.stats.allow_timeouts.append(pattern.pattern)
        return False

    def _resolve(self, found: list[_Candidate], claims: _Spans, helpers: bool = False) -> list[_Candidate]:
        """Drop helper-only matches, let specific rules (`claims`: their spans, even where they rejected the
        candidate) win over generic ones on the same span, and keep one of each candidate."""
        if not found:
            return found
        rules = self.rules
        # A secret seen in clear needs no second location from a decoded copy of the same line (percent, or
        # escaped quotes: the copy's value has one level of escapes fewer).
        plain = {(c.rule, decode.unescaped(c.secret)): (c.start, c.end) for c in found if not c.decoded}
        seen: set[tuple[int, int, int, str]] = set()
        out = []
        for c in found:
            rule = rules[c.rule]
            if not rule.report and not helpers:
                continue
            if rule.generic and claims.overlaps(c.start, c.end):
                continue
            if c.decoded:
                twin = plain.get((c.rule, decode.unescaped(c.secret)))
                if twin is not None and c.start <= twin[0] and twin[1] <= c.end:
                    continue
            key = (c.rule, c.start, c.end, c.secret)
            if key in seen:
                continue
            seen.add(key)
            out.append(c)
        return out

    def _pair(self, found: list[_Candidate], data: bytes) -> list[_Candidate]:
        # Partners per (rule, decoding), in offset order: the nearest one is a neighbour in that order, found by
        # bisection (a scan over all partners per candidate was quadratic on a file of many keys).
        by_rule: dict[tuple[int, tuple[str, ...]], list[_Candidate]] = defaultdict(list)
        wanted = {self.by_id.get(dep.rule, -1) for c in found for dep in self.rules[c.rule].depends_on}
        for c in found:
            if c.rule in wanted:
                by_rule[c.rule, c.decoded].append(c)
        if not by_rule:
            return [c for c in found if not self.rules[c.rule].depends_on]
        for partners in by_rule.values():
            partners.sort(key=lambda p: p.start)
        lines = _LineNumbers(data)
        starts = {key: [p.start for p in partners] for key, partners in by_rule.items()}
        out = []
        for c in found:
            rule = self.rules[c.rule]
            if not rule.depends_on:
                out.append(c)
                continue
            parts = list(c.parts)
            ok = True
            for dep in rule.depends_on:
                key = (self.by_id.get(dep.rule, -1), c.decoded)
                partners = by_rule.get(key, [])
                best = _nearest(c, partners, starts.get(key, []), dep.within_lines, lines)
                if best is None:
                    ok = False
                    break
                parts.append((dep.part, best.secret))
            if ok:
                out.append(
                    _Candidate(c.rule, c.start, c.end, c.secret, tuple(parts), c.entropy, c.decoded, near=c.near)
                )
        return out


# -- helpers ------------------------------------------------------------------------------------------------
@functools.cache
def _needle_code() -> bytes:
    """A digest of the modules whose code decides the needles and the database (this one, the decoders', the
    prefilter's)."""
    digest = hashlib.sha256()
    for module in (sys.modules[__name__], decode, pairs, sys.modules[make_prefilter.__module__]):
        try:
            digest.update(Path(module.__file__ or "").read_bytes())
        except OSError:
            digest.update((module.__name__ + "?").encode())  # (no source to read: the version alone decides)
    return digest.digest()


# per needle: length; line rules, multi-line rules, decoders, two-line rules it triggers
_Plan = tuple[int, tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]


def _word_start(data: bytes, start: int) -> bool:
    """Whether a name found at `start` begins a word: after a non-alphanumeric byte, a capital after a
    lower-case letter or digit (mySendbirdKey), or a Java system property's -D (-Dsonar.login=…), as
    `context._name_regex` requires."""
    if start <= 0:
        return True
    before = data[start - 1]
    if not (48 <= before <= 57 or 65 <= before <= 90 or 97 <= before <= 122):
        return True
    if before == 68 and start >= 2 and data[start - 2] == 45:  # -D
        return True
    return 65 <= data[start] <= 90 and not 65 <= before <= 90


def _without_contested(out: list[_Candidate], generic: frozenset[int]) -> list[_Candidate]:
    """A provider's host on the line beside a value, or its name on the line above, is the weakest evidence a rule
    has: any other rule that is not generic and claims (or rejected) an overlapping value wins it, and two such
    claims of different rules cancel each other out. Linear after sorting: many keys beside many hosts stay cheap."""
    strong = _Spans([(c.start, c.end) for c in out if c.rule not in generic and not c.near])
    near = sorted((c.start, c.end, c.rule, i) for i, c in enumerate(out) if c.near)
    dropped = {i for s, e, _, i in near if strong.overlaps(s, e)}
    end, rule, first = -1, -1, -1
    for s, e, r, i in near:  # (in start order: a span overlaps one before it iff it starts before their max end)
        if s < end and r != rule:
            dropped.update((i, first))
        if e > end:
            end, rule, first = e, r, i
    return [c for i, c in enumerate(out) if i not in dropped]


def _ends_section(data: bytes, lo: int, hi: int) -> bool:
    """Whether the line data[lo:hi] opens a section (`sendbird:`, `"sendbird": {`, `variable "x" {`): its last
    byte other than a blank is ':' or '{'. Read in place: this runs for every provider name that starts a word."""
    i = hi - 1
    while i >= lo and data[i] in b" \t\r":
        i -= 1
    return i >= lo and data[i] in b":{"


def _line_start(data: bytes, end: int) -> int:
    """Where the line ending at `end` (its newline) starts, at most LINE_REACH before; `end` itself if it is not a
    newline (the first line)."""
    if end < 0 or data[end] != 10:
        return end + 1
    return data.rfind(b"\n", max(0, end - LINE_REACH), end) + 1 or max(0, end - LINE_REACH)


def _line_end(data: bytes, at: int, n: int) -> int:
    end = data.find(b"\n", at, min(n, at + LINE_REACH))
    return end if end >= 0 else min(n, at + LINE_REACH)


# checks that prove a generic rule's value is that kind of credential by its structure (a JWT's JSON parts, a PEM
# block's armour), where the other generic rules have only a setting's name
_STRUCTURAL_CHECKS = frozenset({"jwt", "pem"})


def _names_itself(rule: Rule) -> bool:
    """Whether a rule's match says more than a file-kind field on the same value: a provider's rule, or a generic
    rule whose value's own structure proved its kind (a JWT in a .env file is a JWT, not just "a secret")."""
    return not rule.generic or not _STRUCTURAL_CHECKS.isdisjoint(rule.checks)


def filekind_matches(engine: Engine, chunk: Chunk, kinds: Sequence[Any], regex: list[Match]) -> list[Match]:
    """The fields file-kind detectors read from the chunk's file, as matches beside the regex matches. For a diff
    the whole new file is parsed (`chunk.whole`) and only fields on added lines count. Where a field and a regex
    match cover the same span once is enough: a provider's rule keeps its match and gains the field's context, a
    generic rule gives way to the field."""
    assert engine._kinds is not None
    data = chunk.whole if chunk.whole is not None else chunk.data
    fields = engine._kinds.scan(data, chunk.origin.path, kinds)
    if not fields:
        return regex
    added = frozenset(chunk.line_map) if chunk.whole is not None and chunk.line_map is not None else None
    same_bytes = chunk.whole is None  # offsets of both kinds index the same bytes; else compare line and column
    # values a provider's rule matched where the field is: a credential already, only the field's context to add
    provider = {(m.start, m.secret) for m in regex if _names_itself(engine.rules[engine.by_id[m.rule_id]])} \
        if same_bytes else set()
    found: list[Match] = []
    marks = _InlineMarks(data)
    line, counted = 1, 0
    for f in sorted(fields, key=lambda f: f.offset):
        line += data.count(b"\n", counted, f.offset)
        counted = f.offset
        real = line if chunk.whole is not None else chunk.real_line(line)
        if (added is not None and real not in added) or engine.allowed_value(f.rule, f.value) \
                or marks.allowed(f.offset):
            continue
        rule_id = f.rule
        if f.rule in FREE_FORM and (f.offset, f.value) not in provider and f.kind != "hash":
            # a value its setting's name ties to a provider the text does not name beside it (a Kubernetes
            # Secret's base64 data, a key a few lines under its provider's section): that provider's rule, which
            # judged it on its own terms (shape, checks, allow list)
            rule_id = engine.provider_for(setting_names(f), f.value, chunk.origin.path) or f.rule
        if rule_id == f.rule and f.generic and (f.offset, f.value) not in provider and (
                filters.looks_fake(f.value) or engine.provider_shape(f.value)
                or (f.kind != "password" and filters.is_not_secret(f.value))):
            continue  # chosen by a setting's name only: the generic rules' filters apply (a password setting's
            #           placeholders were judged already, and a password may look like a name or a path)
        line_start = data.rfind(b"\n", 0, f.offset) + 1
        parts = f.context if not f.decoded else (*f.context, ("decoded", "+".join(f.decoded)))
        found.append(Match(rule_id=rule_id, secret=f.value, start=f.offset, end=f.offset + max(f.length, 1),
                           line=real, column=f.offset - line_start + 1, parts=parts, decoded=f.decoded,
                           entropy=shannon_entropy(f.value)))
    if not found:
        return regex

    def overlaps(m: Match, k: Match) -> bool:
        if same_bytes:
            return k.start < m.end and m.start < k.end
        return k.line == m.line and k.column < m.column + m.end - m.start and m.column < k.column + k.end - k.start

    # Only the fields that can overlap a match are tried (a file of thousands of settings made this loop
    # matches x fields): by byte offset, fields in offset order with a running maximum of their ends; else by line.
    removed: set[int] = set()
    starts = [k.start for k in found]
    reach = list(itertools.accumulate((k.end for k in found), max))
    by_line: dict[int, list[int]] = defaultdict(list)
    for i, k in enumerate(found):
        by_line[k.line].append(i)

    def near(m: Match) -> Iterable[int]:
        if not same_bytes:
            return by_line.get(m.line, ())
        return range(bisect.bisect_right(reach, m.start), bisect.bisect_left(starts, m.end))

    out: list[Match] = []
    for m in regex:
        at = next((i for i in near(m) if i not in removed and overlaps(m, found[i])), None)
        if at is None:
            out.append(m)
            continue
        twin = found[at]
        specific = _names_itself(engine.rules[engine.by_id[m.rule_id]])
        if m.secret != twin.secret and (engine.rule_accepts(m.rule_id, twin.secret) or (
                specific and not m.decoded and unquote(m.secret) == twin.secret)):
            # A setting that holds, written another way, exactly what a rule's pattern takes as a whole (a private
            # key with its JSON or .env `\n` escapes), or a URI's password the file's reader percent-decoded: that
            # rule names it, with the setting's unescaped value (what the server checks) and context. (A name-based
            # generic rule never matches a bare value.)
            known = {k for k, _ in m.parts}
            out.append(dataclasses.replace(m, secret=twin.secret,
                                           parts=(*m.parts, *((k, v) for k, v in twin.parts if k not in known))))
            removed.update(i for i in near(m) if overlaps(m, found[i]))
            continue
        if not specific or (not m.decoded and m.secret != twin.secret):
            # the field says more than a generic assignment, and more than a rule that read the same value
            # another way (still encoded, with its quotes): the format's parser found the credential itself. A
            # provider's token the engine decoded from the value says more than the field's encoded text.
            continue
        known = {k for k, _ in m.parts}
        out.append(dataclasses.replace(m, parts=(*m.parts, *((k, v) for k, v in twin.parts if k not in known))))
        removed.update(i for i in near(m) if overlaps(m, found[i]))  # (a key block may cover several fields)
    out.extend(k for i, k in enumerate(found) if i not in removed)
    out.sort(key=lambda m: (m.line, m.column, m.rule_id))
    return out


def _pack(needles: list[bytes], exact: list[bool], targets: list[tuple[int, ...]], compiled: bytes | None) -> bytes:
    header = {"needles": [n.decode("latin-1") for n in needles], "exact": [int(e) for e in exact],
              "targets": targets, "compiled": compiled is not None}
    return json.dumps(header).encode() + b"\n" + (compiled or b"")


def _keyword_spellings(rule: Rule) -> set[bytes]:
    """Each keyword as lower, UPPER and Capitalised, plus every spelling its positive examples use."""
    out: set[bytes] = set()
    texts = [e.text for e in rule.examples.positive]
    for keyword in rule.keywords:
        out.update(v.encode() for v in (keyword, keyword.upper(), keyword.capitalize()))
        for text in texts:
            low = text.lower()
            at = low.find(keyword)
            while at >= 0:
                out.add(text[at : at + len(keyword)].encode("utf-8", "replace"))
                at = low.find(keyword, at + 1)
    return out


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1]:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return merged


def _nearest(
    c: _Candidate, partners: list[_Candidate], starts: list[int], within_lines: int, lines: _LineNumbers
) -> _Candidate | None:
    """The partner fewest lines away (the earlier one on a tie), if within `within_lines`."""
    best: _Candidate | None = None
    best_distance = within_lines + 1
    here = lines.line(c.start)
    at = bisect.bisect_left(starts, c.start)
    # the closest partners before and after (skipping the candidate itself, should it be its own partner)
    below = at - 1
    above = at
    while above < len(partners) and partners[above] is c:
        above += 1
    while below >= 0 and partners[below] is c:
        below -= 1
    for index in (below, above):
        if 0 <= index < len(partners):
            p = partners[index]
            distance = abs(here - lines.line(p.start))
            if distance < best_distance:
                best, best_distance = p, distance
    return best


class _LineNumbers:
    """Line numbers of offsets in one buffer, counted once up to the furthest offset asked (queries come in
    near-ascending order; an index of every line would cost a pass over a large blob with one finding)."""

    __slots__ = ("counted", "data", "offsets")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offsets: list[int] = []  # newline offsets seen so far, ascending
        self.counted = 0

    def line(self, at: int) -> int:
        if at > self.counted:
            find, offsets = self.data.find, self.offsets
            nl = find(b"\n", self.counted, at)
            while nl >= 0:
                offsets.append(nl)
                nl = find(b"\n", nl + 1, at)
            self.counted = at
        return bisect.bisect_left(self.offsets, at)


class _Spans:
    """Spans claimed by specific rules; `overlaps` answers by bisection (sorted starts, running maximum of ends)."""

    __slots__ = ("reach", "starts")

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        spans.sort()
        self.starts = [s for s, _ in spans]
        self.reach: list[int] = []
        furthest = -1
        for _, e in spans:
            furthest = max(furthest, e)
            self.reach.append(furthest)

    def overlaps(self, lo: int, hi: int) -> bool:
        i = bisect.bisect_left(self.starts, hi) - 1  # the spans that start before hi
        return i >= 0 and self.reach[i] > lo


def _inside(at: int, los: list[int], his: list[int]) -> bool:
    i = bisect.bisect_right(los, at) - 1
    return i >= 0 and at < his[i]


def _marker_hits(data: bytes) -> Iterator[tuple[bytes, int]]:
    """(marker, offset) of the first inline-ignore marker of each kind on each line of `data`, in any case (a
    line's further ones allow nothing more: a hostile line of a million markers is one). Lowered a block at a
    time: a lowered copy of a 100 MB blob held it twice, and a case-free regex search was 17 times slower."""
    reach = max(map(len, _MARKERS)) - 1
    n = len(data)
    resume = dict.fromkeys(_MARKERS, 0)  # per marker: search on from here (the end of its last hit's line)
    for start in range(0, n, _MARK_BLOCK):
        piece = data[start:start + _MARK_BLOCK + reach].lower()
        for marker in _MARKERS:
            at = piece.find(marker, max(0, resume[marker] - start))
            while 0 <= at < _MARK_BLOCK:  # (one that starts in the overlap is the next block's)
                yield marker, start + at
                end = data.find(b"\n", start + at)
                resume[marker] = n if end < 0 else end
                at = piece.find(marker, resume[marker] - start) if resume[marker] - start < len(piece) else -1


class _InlineMarks:
    """The lines an inline marker allows (its own line; the next line for the next-line marker), found on first
    use with one pass per marker over the buffer (per candidate, lowercasing its line was quadratic on a long
    line crowded with candidates)."""

    __slots__ = ("data", "his", "los")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.los: list[int] | None = None
        self.his: list[int] = []

    def _find(self) -> list[int]:
        data = self.data
        n = len(data)
        spans = []
        for marker, at in _marker_hits(data):
            lo = data.rfind(b"\n", 0, at) + 1
            end = data.find(b"\n", at)
            end = n if end < 0 else end
            hi = end
            if marker == _NEXTLINE_MARKER:
                if end >= n:
                    continue
                lo = end + 1
                hi = data.find(b"\n", lo)
                hi = n if hi < 0 else hi
            spans.append((lo, hi + 1))
        merged = _merge(sorted(spans))
        self.his = [hi for _, hi in merged]
        return [lo for lo, _ in merged]

    def allowed(self, at: int) -> bool:
        los = self.los
        if los is None:
            los = self.los = self._find()
        return _inside(at, los, self.his)
