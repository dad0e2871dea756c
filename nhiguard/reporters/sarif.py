"""SARIF 2.1.0 for code-scanning dashboards (GitHub, GitLab, Azure DevOps).

One run; one reportingDescriptor per rule that has a finding; one result per location of each finding, so a
secret seen in three files shows on all three. `partialFingerprints["nhiguard/v1"]` carries the location-
independent fingerprint, so dashboards track one secret across moves and line shifts.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import quote

from nhiguard import escape, redact
from nhiguard.model import Finding, Location, Notice, Report, Rule
from nhiguard.reporters.json import (
    TOOL_NAME,
    dumps,
    ordered_findings,
    ordered_locations,
    ordered_notices,
    scrub,
    tool_version,
)

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SARIF_VERSION = "2.1.0"
INFORMATION_URI = "https://pypi.org/project/nhiguard/"
FINGERPRINT_KEY = "nhiguard/v1"
SRCROOT = "%SRCROOT%"

SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
PRECISION = {"high": "high", "medium": "medium", "low": "low"}

_ABSOLUTE = re.compile(r"^(?:/|[A-Za-z]:/)")
_HTTP = re.compile(r"^https?://\S+$")


def artifact_uri(path: str, target: str = "") -> tuple[str, bool]:
    """(uri, relative): forward slashes, percent-encoded; relative to `target` when the path lies under it.

    A path that stays absolute becomes a `file://` URI; a relative one is a relative reference whose first segment
    cannot be read as a scheme (':' is encoded).
    """
    # A URI names the file's real bytes: a shown `\xNN` escape (a name that is not UTF-8) becomes `%NN`.
    p = escape.fs_path(path).replace("\\", "/")
    if _ABSOLUTE.match(p):
        root = target.replace("\\", "/").rstrip("/")
        if root and _ABSOLUTE.match(root) and p.startswith(root + "/"):
            p = p[len(root) + 1 :]
        else:
            return "file://" + ("" if p.startswith("/") else "/") + quote(os.fsencode(p), safe="/:"), False
    while p.startswith("./"):
        p = p[2:]
    return quote(os.fsencode(p), safe="/"), True


def _help_uri(rule: Rule) -> str | None:
    for uri in (rule.rotation_guide, *rule.references):
        if uri and _HTTP.match(uri):
            return uri
    return None


def _descriptor(rule: Rule) -> dict[str, Any]:
    full = rule.description.strip() or (
        f"{rule.name} ({rule.provider}). A leaked credential must be treated as compromised: revoke or rotate "
        "it, then remove it from the code and its history."
    )
    descriptor: dict[str, Any] = {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.name},
        "fullDescription": {"text": full},
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
    }
    help_uri = _help_uri(rule)
    if help_uri:
        descriptor["helpUri"] = help_uri
        descriptor["help"] = {
            "text": f"Revoke or rotate the credential, then remove it from the code: {help_uri}",
            "markdown": f"Revoke or rotate the credential, then remove it from the code: [rotation guide]({help_uri})",
        }
    descriptor["properties"] = {
        "tags": ["security", "secret", rule.provider, *rule.nhi],
        "security-severity": SECURITY_SEVERITY[rule.severity],
        "precision": PRECISION[rule.confidence],
    }
    return descriptor


def _physical(location: Location, target: str) -> dict[str, Any]:
    uri, relative = artifact_uri(location.path, target)
    artifact: dict[str, Any] = {"uri": uri}
    if relative:
        artifact["uriBaseId"] = SRCROOT
    return {
        "physicalLocation": {
            "artifactLocation": artifact,
            "region": {"startLine": max(location.line, 1), "startColumn": max(location.column, 1)},
        }
    }


def _result(finding: Finding, location: Location, index: int, report: Report, show: bool) -> dict[str, Any]:
    rule, verdict = finding.rule, finding.verdict
    secret = redact.preview(finding.secret, show=show)
    properties: dict[str, Any] = {
        "fingerprint": finding.fingerprint,
        "secret": secret,
        "severity": rule.severity,
        "confidence": rule.confidence,
        "provider": rule.provider,
        "nhi": list(rule.nhi),
        "verdict": verdict.status,
    }
    if finding.parts:
        properties["parts"] = {name: redact.part(name, v, finding.secret, show=show)
                               for name, v in sorted(finding.parts)}
    if verdict.identity:
        properties["identity"] = scrub(verdict.identity, finding, show=show)
    if verdict.scopes:
        properties["scopes"] = sorted(verdict.scopes)
    if verdict.expiry:
        properties["expiry"] = verdict.expiry
    if verdict.detail:
        properties["verdictDetail"] = scrub(verdict.detail, finding, show=show)
    if verdict.checked_at:
        properties["checkedAt"] = verdict.checked_at
    for key, value in (
        ("commit", location.commit),
        ("author", location.author),
        ("email", location.email),
        ("date", location.date),
    ):
        if value:
            properties[key] = value
    if location.decoded:
        properties["decoded"] = list(location.decoded)
    text = f"{rule.name}: {secret}"
    if verdict.status != "not_checked":
        text += f" (verdict: {verdict.status})"
    return {
        "ruleId": rule.id,
        "ruleIndex": index,
        "level": LEVEL[rule.severity],
        "message": {"text": text},
        "locations": [_physical(location, report.target)],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": properties,
    }


def _notification(notice: Notice, target: str) -> dict[str, Any]:
    uri, relative = artifact_uri(notice.path, target)
    artifact: dict[str, Any] = {"uri": uri}
    if relative:
        artifact["uriBaseId"] = SRCROOT
    return {
        "level": "warning",
        "message": {"text": f"Not scanned in full: {notice.path}: {notice.reason}"},
        "locations": [{"physicalLocation": {"artifactLocation": artifact}}],
    }


def document(report: Report, *, show_secrets: bool = False) -> dict[str, Any]:
    findings = ordered_findings(report.findings)
    rules: dict[str, Rule] = {}
    for finding in sorted(findings, key=lambda f: f.rule.id):
        rules.setdefault(finding.rule.id, finding.rule)
    suppressed = sorted(report.suppressed, key=lambda pair: (pair[0].rule.id, pair[0].fingerprint))
    for finding, _ in suppressed:
        rules.setdefault(finding.rule.id, finding.rule)
    index = {rule_id: i for i, rule_id in enumerate(rules)}
    results = [
        _result(finding, location, index[finding.rule.id], report, show_secrets)
        for finding in findings
        for location in ordered_locations(finding.locations)
    ]
    # accepted findings stay visible to code scanning as suppressed results, with the reason they were accepted
    for finding, why in suppressed:
        for location in ordered_locations(finding.locations):
            result = _result(finding, location, index[finding.rule.id], report, show_secrets)
            result["suppressions"] = [{"kind": why.kind, "status": "accepted", "justification": why.justification}]
            results.append(result)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "version": tool_version(report),
                "informationUri": INFORMATION_URI,
                "rules": [_descriptor(rule) for rule in rules.values()],
            }
        },
        "invocations": [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": [
                    _notification(n, report.target) for n in ordered_notices(report.notices)
                ],
            }
        ],
        "results": results,
        "properties": {
            "target": report.target,
            "files": report.stats.files,
            "bytes": report.stats.bytes,
            "skipped": report.stats.skipped,
            "seconds": round(report.stats.seconds, 3),
            "baselined": report.stats.baselined,
        },
    }
    return {"$schema": SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}


def render(report: Report, *, show_secrets: bool = False, color: bool = False) -> str:
    """`color` is accepted for the Reporter protocol and ignored."""
    return dumps(document(report, show_secrets=show_secrets), len(report.findings))
