"""Triage: step through findings and record, per fingerprint, whether each is a true positive, a false positive or
an accepted risk, with who, when and why, in the baseline (`nhiguard audit`, `nhiguard ignore`). The context shown
around each finding is redacted: a reviewer sees where the secret is, never the secret."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from nhiguard import baseline, redact
from nhiguard.config import DEFAULT_BASELINE, Config
from nhiguard.model import Finding, Location
from nhiguard.reporters.text import clean
from nhiguard.sources import gitinfo

CONTEXT_LINES = 2
MAX_LINE = 200


@dataclass(frozen=True, slots=True)
class Decision:
    fingerprint: str
    rule_id: str
    preview: str
    decision: str
    reason: str


def baseline_file(config: Config, explicit: Path | None) -> Path:
    """Where decisions go: the given file, else the config's `baseline`, else `.nhiguard-baseline.json` at the
    repository's root (which scans then use without configuration)."""
    return explicit or config.baseline or config.root / DEFAULT_BASELINE


def pending(findings: Iterable[Finding], known: baseline.Baseline | None, *, again: bool = False) -> list[Finding]:
    """The findings nobody has decided on yet (all of them with `again`)."""
    decided = {e.fingerprint for e in (known.entries if known else ()) if e.decision}
    return [f for f in findings if again or f.fingerprint not in decided]


def context(finding: Finding, location: Location, base: Path, *, show: bool = False,
            others: Iterable[Finding] = ()) -> list[str]:
    """The lines around a location, numbered, control characters escaped, and redacted: the finding's secret and
    parts, every other finding's (`others`: a neighbouring line may hold another secret), and each line of a
    multi-line secret (a private key's body). Read from the location's commit when it has one, else from the
    working tree."""
    data = gitinfo.read_at(base, location.commit, location.path) if location.commit else None
    if data is None:
        path = Path(location.path)
        full = path if path.is_absolute() else base / path
        try:
            data = full.read_bytes() if full.is_file() and full.stat().st_size <= 64 << 20 else None
        except OSError:
            data = None
    if data is None:
        return ["  (the file is not readable here)"]
    lines = data.decode("utf-8", "replace").splitlines()
    lo, hi = max(1, location.line - CONTEXT_LINES), min(len(lines), location.line + CONTEXT_LINES)
    secrets = _pieces(f for f in (finding, *others))
    out = []
    for n in range(lo, hi + 1):
        text = redact.scrub(lines[n - 1], secrets, show=show)
        text = clean(text if len(text) <= MAX_LINE else text[:MAX_LINE] + "…")
        out.append(f"{'>' if n == location.line else ' '} {n:>5} | {text}")
    return out


def _pieces(findings: Iterable[Finding]) -> list[str]:
    """What must not show in a context line: each secret and secret part (a host or a user is context, shown in
    clear as reports show it), and the lines of a multi-line one (its BEGIN/END markers aside: they say what it
    is, not what it holds)."""
    out: list[str] = []
    for f in findings:
        for value in (f.secret, *(v for name, v in f.parts if not redact.in_clear(name, v, f.secret))):
            if not value:
                continue
            out.append(value)
            if "\n" in value:
                out.extend(line.strip() for line in value.splitlines()
                           if len(line.strip()) >= 8 and not line.strip().startswith("-----"))
    return sorted(set(out), key=len, reverse=True)  # (longest first: a secret holding another is hidden whole)


def record(path: Path, decisions: Sequence[Decision], who: str) -> baseline.Baseline:
    """Write the decisions into the baseline at `path` (created if missing) and return it."""
    previous = baseline.load(path) if path.exists() else None
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    entries = [baseline.Entry(d.fingerprint, d.rule_id, d.preview, d.decision, d.reason, who, now) for d in decisions]
    updated = baseline.decide(previous, entries)
    path.write_text(baseline.dumps(updated), encoding="utf-8")
    return updated
