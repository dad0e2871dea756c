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

from nhiguard.constants import BASELINE_VERSION
from nhiguard.errors import ConfigError
from nhiguard.model import Finding
from nhiguard.redact import preview


@dataclass(frozen=True, slots=True)
class Entry:
    fingerprint: str
    rule_id: str
    preview: str


@dataclass(frozen=True, slots=True)
class Baseline:
    entries: tuple[Entry, ...]

    @property
    def fingerprints(self) -> frozenset[str]:
        return frozenset(e.fingerprint for e in self.entries)


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
        "findings": [
            {"fingerprint": e.fingerprint, "rule_id": e.rule_id, "preview": e.preview} for e in baseline.entries
        ],
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def loads(text: str, *, source: str = "baseline") -> Baseline:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{source}: not valid JSON: {exc}") from None
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
        entries.append(Entry(item["fingerprint"], str(item.get("rule_id", "")), str(item.get("preview", ""))))
    return Baseline(tuple(entries))


def load(path: Path) -> Baseline:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read baseline: {exc.strerror or exc}") from None
    return loads(text, source=str(path))


def split(findings: list[Finding], baseline: Baseline | None) -> tuple[list[Finding], int]:
    """(new findings, how many were already in the baseline)."""
    if baseline is None:
        return findings, 0
    known = baseline.fingerprints
    new = [f for f in findings if f.fingerprint not in known]
    return new, len(findings) - len(new)
