"""JSON: a stable, versioned document for machines.

The layout is fixed by `VERSION`; keys appear in a fixed order and every list is sorted, so two runs over the same
content give byte-identical output. Secrets (and paired parts) are redacted unless `show_secrets`.

The ordering helpers here are shared by the other reporters, so every format lists findings the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from nhiguard import __version__, escape, redact
from nhiguard.model import Finding, Location, Notice, Report, severity_rank

VERSION = 1
TOOL_NAME = "nhiguard"


# -- shared helpers ------------------------------------------------------------------------------------------
def ordered_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Critical first, then by rule id, then by fingerprint: independent of scan order."""
    return sorted(findings, key=lambda f: (severity_rank(f.rule.severity), f.rule.id, f.fingerprint))


def ordered_locations(locations: Iterable[Location]) -> list[Location]:
    listed = list(locations)
    if len(listed) < 2:  # (most findings have one location: no sort key to build)
        return listed
    return sorted(
        listed,
        key=lambda loc: (*loc.sort_key(), loc.author or "", loc.email or "", loc.date or "", loc.decoded),
    )


def ordered_notices(notices: Iterable[Notice]) -> list[Notice]:
    return sorted(notices, key=lambda n: (n.path, n.reason))


def secret_values(finding: Finding) -> list[str]:
    """The secret and its paired parts: everything that must never leak into free text."""
    return [finding.secret,
            *(value for name, value in finding.parts if not redact.in_clear(name, value, finding.secret))]


def scrub(text: str, finding: Finding, *, show: bool) -> str:
    """Free text that may quote the secret (a provider's error message, an identity) with the secret redacted."""
    return redact.scrub(text, secret_values(finding), show=show)


def tool_version(report: Report) -> str:
    return report.tool_version or __version__


# -- the document --------------------------------------------------------------------------------------------
def _location(location: Location) -> dict[str, Any]:
    return {
        "path": location.path,
        "line": location.line,
        "column": location.column,
        "kind": location.kind,
        "commit": location.commit,
        "author": location.author,
        "email": location.email,
        "date": location.date,
        "decoded": list(location.decoded),
    }


def finding_document(finding: Finding, *, show_secrets: bool = False) -> dict[str, Any]:
    rule, verdict = finding.rule, finding.verdict
    return {
        "rule_id": rule.id,
        "rule_name": rule.name,
        "provider": rule.provider,
        "severity": rule.severity,
        "confidence": rule.confidence,
        "fingerprint": finding.fingerprint,
        "secret": redact.preview(finding.secret, show=show_secrets),
        "parts": {name: redact.part(name, value, finding.secret, show=show_secrets)
                  for name, value in sorted(finding.parts)},
        "entropy": round(finding.entropy, 3),
        "verdict": {
            "status": verdict.status,
            "identity": None if verdict.identity is None else scrub(verdict.identity, finding, show=show_secrets),
            "scopes": sorted(verdict.scopes),
            "expiry": verdict.expiry,
            "detail": scrub(verdict.detail, finding, show=show_secrets),
            "checked_at": verdict.checked_at,
        },
        "nhi": list(rule.nhi),
        "rotation_guide": rule.rotation_guide or None,
        "locations": [_location(loc) for loc in ordered_locations(finding.locations)],
    }


def document(report: Report, *, show_secrets: bool = False) -> dict[str, Any]:
    """The report as plain JSON-ready data (what `render` serialises)."""
    findings = ordered_findings(report.findings)
    stats = report.stats
    return {
        "version": VERSION,
        "tool": {"name": TOOL_NAME, "version": tool_version(report)},
        "target": report.target,
        "findings": [finding_document(f, show_secrets=show_secrets) for f in findings],
        "notices": [{"path": n.path, "reason": n.reason, **({"incomplete": True} if n.incomplete else {})}
                    for n in ordered_notices(report.notices)],
        "stats": {
            "findings": len(findings),
            "locations": sum(len(f.locations) for f in findings),
            "files": stats.files,
            "bytes": stats.bytes,
            "skipped": stats.skipped,
            "seconds": round(stats.seconds, 3),
            "baselined": stats.baselined,
            **({"incomplete": stats.incomplete} if stats.incomplete else {}),
        },
    }


INDENTED_UP_TO = 2_000  # findings; a larger report is written compact


def dumps(doc: Any, items: int) -> str:
    """`doc` as JSON text, indented for a reader, or compact when it holds more than INDENTED_UP_TO findings:
    indenting makes `json` fall back to its pure-Python encoder, ten times slower (100,000 findings: minutes)."""
    indent = 2 if items <= INDENTED_UP_TO else None
    return escape.json_text(json.dumps(doc, indent=indent, ensure_ascii=False)) + "\n"


def render(report: Report, *, show_secrets: bool = False, color: bool = False) -> str:
    """`color` is accepted for the Reporter protocol and ignored: JSON has no colours."""
    return dumps(document(report, show_secrets=show_secrets), len(report.findings))
