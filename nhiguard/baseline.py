"""Baselines: the findings a team has accepted, as sorted, timestamp-free JSON of fingerprints.

Nothing positional is stored (no line numbers, no commits), so a baseline does not churn when code moves and
merges cleanly. Version upgrades are explicit functions, one per old version.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nhiguard import fingerprint
from nhiguard.constants import BASELINE_VERSION
from nhiguard.errors import ConfigError
from nhiguard.fingerprint import Accepted
from nhiguard.model import Finding, Suppression
from nhiguard.redact import preview
from nhiguard.safeio import BASELINE_MAX_BYTES, read_capped

# Triage decisions (`nhiguard ignore`, `nhiguard audit`). A false positive or an accepted risk is not reported
# again; a confirmed true positive stays reported until the secret is gone, so CI keeps blocking it.
SUPPRESSING = ("", "false-positive", "accepted")
DECISIONS = ("false-positive", "accepted", "true-positive")


@dataclass(frozen=True, slots=True)
class Entry:
    fingerprint: str
    rule_id: str
    preview: str
    decision: str = ""  # "" for entries `baseline create` accepted wholesale
    reason: str = ""
    by: str = ""
    at: str = ""

    @property
    def suppresses(self) -> bool:
        return self.decision in SUPPRESSING


@dataclass(frozen=True, slots=True)
class Baseline:
    entries: tuple[Entry, ...]

    @property
    def fingerprints(self) -> frozenset[str]:
        return frozenset(e.fingerprint for e in self.entries)

    @property
    def suppressing(self) -> frozenset[str]:
        return frozenset(e.fingerprint for e in self.entries if e.suppresses)


UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def from_findings(findings: Iterable[Finding], previous: Baseline | None = None) -> Baseline:
    entries = {e.fingerprint: e for e in (previous.entries if previous else ())}
    for f in findings:
        entries[f.fingerprint] = Entry(f.fingerprint, f.rule.id, preview(f.secret))
    return Baseline(tuple(sorted(entries.values(), key=lambda e: (e.rule_id, e.fingerprint))))


def dumps(baseline: Baseline) -> str:
    doc = {
        "version": BASELINE_VERSION,
        "tool": "nhiguard",
        "findings": [_record(e) for e in baseline.entries],
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def _record(e: Entry) -> dict[str, str]:
    record = {"fingerprint": e.fingerprint, "rule_id": e.rule_id, "preview": e.preview}
    for key in ("decision", "reason", "by", "at"):
        if getattr(e, key):
            record[key] = getattr(e, key)
    return record


def decide(baseline: Baseline | None, entries: Iterable[Entry]) -> Baseline:
    """The baseline with these triage decisions recorded (a later decision on a fingerprint replaces an
    earlier one; what `baseline create` knew of it, rule and preview, is kept)."""
    by_fp = {e.fingerprint: e for e in (baseline.entries if baseline else ())}
    for e in entries:
        old = by_fp.get(e.fingerprint)
        if old is not None:
            e = Entry(e.fingerprint, e.rule_id or old.rule_id, e.preview or old.preview, e.decision, e.reason,
                      e.by, e.at)
        by_fp[e.fingerprint] = e
    return Baseline(tuple(sorted(by_fp.values(), key=lambda e: (e.rule_id, e.fingerprint))))


def loads(text: str, *, source: str = "baseline") -> Baseline:
    try:
        doc = json.loads(text)
    except ValueError as exc:  # (JSONDecodeError, or an integer past Python's limit on int conversion)
        raise ConfigError(f"{source}: not valid JSON: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{source}: not valid JSON: nested too deeply") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("version"), int):
        raise ConfigError(f"{source}: not an nhiguard baseline (no 'version')")
    version = doc["version"]
    while version < BASELINE_VERSION:
        if version not in UPGRADES:
            raise ConfigError(f"{source}: baseline version {version} cannot be upgraded")
        doc = UPGRADES[version](doc)
        version = doc["version"]
    if version > BASELINE_VERSION:
        raise ConfigError(f"{source}: baseline version {version} is newer than this nhiguard understands")
    items = doc.get("findings")
    if not isinstance(items, list):
        raise ConfigError(f"{source}: 'findings' must be a list")
    entries = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("fingerprint"), str):
            raise ConfigError(f"{source}: findings[{i}] has no fingerprint")
        decision = str(item.get("decision", ""))
        if decision and decision not in DECISIONS:
            raise ConfigError(f"{source}: findings[{i}] decision must be one of {', '.join(DECISIONS)}")
        entries.append(Entry(
            item["fingerprint"], str(item.get("rule_id", "")), str(item.get("preview", "")), decision,
            str(item.get("reason", "")), str(item.get("by", "")), str(item.get("at", "")),
        ))
    return Baseline(tuple(entries))


def load(path: Path) -> Baseline:
    raw = read_capped(path, limit=BASELINE_MAX_BYTES, what="baseline", error=ConfigError)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: baseline is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    return loads(text, source=str(path))


def split(findings: list[Finding], baseline: Baseline | None) -> tuple[list[Finding], int]:
    """(new findings, how many were already in the baseline)."""
    if baseline is None:
        return findings, 0
    known = Accepted(baseline.suppressing)
    legacy = _legacy_rules(baseline)
    new = [f for f in findings if _which(known, f, legacy) is None]
    return new, len(findings) - len(new)


def partition(
    findings: list[Finding], baseline: Baseline | None
) -> tuple[list[Finding], list[tuple[Finding, Suppression]]]:
    """(new findings, accepted findings with the baseline's reason for each)."""
    if baseline is None:
        return findings, []
    entries = {e.fingerprint: e for e in baseline.entries if e.suppresses}
    known = Accepted(tuple(entries))
    new: list[Finding] = []
    accepted: list[tuple[Finding, Suppression]] = []
    legacy = _legacy_rules(baseline)
    for f in findings:
        given = _which(known, f, legacy)
        if given is None:
            new.append(f)
            continue
        match = entries[given]
        why = f"{match.decision or 'baseline'}: {match.reason}" if match.reason else "in the baseline"
        accepted.append((f, Suppression("external", why)))
    return new, accepted


def unused(baseline: Baseline, findings: Iterable[Finding]) -> list[str]:
    """Baseline fingerprints that no finding of a whole-repository scan matched (the secret is gone: the entry
    can be dropped, or it was pasted wrong)."""
    known = Accepted(baseline.fingerprints)
    legacy = _legacy_rules(baseline)
    for f in findings:
        _which(known, f, legacy)
    return known.unused()


def _legacy_rules(baseline: Baseline) -> frozenset[str]:
    """Rules with entries in the `nhg1` form: only their findings may need their old fingerprint computed."""
    return frozenset(e.rule_id for e in baseline.entries if fingerprint.holds_legacy((e.fingerprint,)))


def _which(known: Accepted, f: Finding, legacy_rules: frozenset[str]) -> str | None:
    return fingerprint.accepted_entry(f.rule, f.secret, f.fingerprint, known,
                                      legacy_possible=f.rule.id in legacy_rules)
