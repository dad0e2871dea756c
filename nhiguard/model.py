"""Frozen value types that flow through the pipeline: Rule → Chunk → Match → Finding → Verdict."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["critical", "high", "medium", "low"]
Confidence = Literal["high", "medium", "low"]
Status = Literal["live", "invalid", "unknown", "not_checked"]

SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low")
CONFIDENCES: tuple[Confidence, ...] = ("high", "medium", "low")


def severity_rank(severity: Severity | str) -> int:
    """0 for critical … 3 for low; unknown names sort last."""
    try:
        return SEVERITIES.index(severity)
    except ValueError:
        return len(SEVERITIES)


@dataclass(frozen=True, slots=True)
class PositiveExample:
    """`text` is scanned; `secret` is the exact capture expected. A bare token has text == secret."""

    text: str
    secret: str
    bare: bool = True


@dataclass(frozen=True, slots=True)
class Examples:
    positive: tuple[PositiveExample, ...] = ()
    negative: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Allow:
    """What turns a candidate into a non-finding. Regexes match the secret; paths are globs."""

    values: frozenset[str] = frozenset()
    regexes: tuple[str, ...] = ()
    stopwords: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.values or self.regexes or self.stopwords or self.paths)


@dataclass(frozen=True, slots=True)
class Dependency:
    """A paired part: this rule reports only with a match of `rule` within `within_lines` lines."""

    rule: str
    within_lines: int = 5
    part: str = ""


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    name: str
    provider: str
    severity: Severity
    confidence: Confidence
    keywords: tuple[str, ...]
    pattern: str
    entropy: float | None = None
    checks: tuple[str, ...] = ()
    multiline: bool = False
    generic: bool = False
    report: bool = True
    identifier: bool = False  # the value names a credential but is not secret (an AWS access key id)
    depends_on: tuple[Dependency, ...] = ()
    allow: Allow = Allow()
    nhi: tuple[str, ...] = ("NHI2",)
    verify: Mapping[str, Any] | None = None
    revoke: Mapping[str, Any] | None = None
    examples: Examples = Examples()
    aliases: tuple[str, ...] = ()
    description: str = ""
    references: tuple[str, ...] = ()
    rotation_guide: str = ""
    prefilter: str | None = None
    names: tuple[str, ...] = ()  # a `context:` rule's provider names: its window reaches the next line
    source: str = ""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a chunk of bytes came from. Git fields stay None for plain files."""

    path: str
    commit: str | None = None
    author: str | None = None
    email: str | None = None
    date: str | None = None
    kind: str = "file"


@dataclass(frozen=True, slots=True)
class Chunk:
    """Bytes to scan. `line_map[i]` is the real line number of chunk line i+1 (diff hunks); else
    chunk line n is real line `first_line + n - 1`."""

    data: bytes
    origin: Origin
    first_line: int = 1
    line_map: tuple[int, ...] | None = None
    whole: bytes | None = None  # a diff's whole new file, for file-kind detectors (they report added lines only)

    def real_line(self, chunk_line: int) -> int:
        if self.line_map is not None:
            if 1 <= chunk_line <= len(self.line_map):
                return self.line_map[chunk_line - 1]
            return self.line_map[-1] if self.line_map else chunk_line
        return self.first_line + chunk_line - 1


@dataclass(frozen=True, slots=True)
class Match:
    """One occurrence of a secret in one chunk, as the engine saw it. Holds the secret: in memory only."""

    rule_id: str
    secret: str
    start: int
    end: int
    line: int
    column: int
    parts: tuple[tuple[str, str], ...] = ()
    decoded: tuple[str, ...] = ()
    entropy: float = 0.0
    member: str = ""  # found inside an archive the source read whole: the member's path there (`lib.jar!a.yml`)


@dataclass(frozen=True, slots=True)
class Location:
    path: str
    line: int
    column: int = 1
    commit: str | None = None
    author: str | None = None
    email: str | None = None
    date: str | None = None
    decoded: tuple[str, ...] = ()
    kind: str = "file"

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.commit or "")


@dataclass(frozen=True, slots=True)
class Verdict:
    status: Status = "not_checked"
    identity: str | None = None
    scopes: tuple[str, ...] = ()
    expiry: str | None = None
    detail: str = ""
    checked_at: str | None = None


@dataclass(slots=True)
class Finding:
    """One secret (per rule) with every place it was seen. Mutable only while a run collects it."""

    rule: Rule
    fingerprint: str
    secret: str
    parts: tuple[tuple[str, str], ...] = ()
    locations: list[Location] = field(default_factory=list)
    entropy: float = 0.0
    verdict: Verdict = Verdict()

    @property
    def first_location(self) -> Location:
        return min(self.locations, key=Location.sort_key)


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the run did not scan, or scanned only in part, said out loud (never silent). `incomplete`: input
    the run was meant to read and could not (unreadable, over a size limit or an archive cap, corrupt, encrypted,
    missing): the run is then incomplete and never exits 0 as if clean. Skips by design (links inside folders,
    special files, submodules, binary archive members) are not."""

    path: str
    reason: str
    incomplete: bool = False


@dataclass(slots=True)
class Stats:
    files: int = 0
    bytes: int = 0
    skipped: int = 0
    seconds: float = 0.0
    baselined: int = 0
    incomplete: int = 0  # paths with an incomplete notice (unread, or a rule hit its time bound there)


@dataclass(frozen=True, slots=True)
class Suppression:
    """Why an accepted finding is not reported as new: SARIF's `suppressions` (kind external or inSource)."""

    kind: str  # "external" (baseline, allow.fingerprints) or "inSource" (an inline marker)
    justification: str


@dataclass(slots=True)
class Report:
    """What one run produced, ready for any reporter. `findings` holds new findings only; `suppressed` the
    accepted ones with why (SARIF reports them as suppressed results; other formats count them)."""

    findings: list[Finding] = field(default_factory=list)
    suppressed: list[tuple[Finding, Suppression]] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    stats: Stats = field(default_factory=Stats)
    target: str = ""
    tool_version: str = ""
