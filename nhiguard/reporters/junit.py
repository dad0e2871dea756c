"""JUnit XML for CI test dashboards: one failing testcase per location of each finding.

classname is the path and name the rule id, so CI groups failures by file. Files the run could not scan are
`skipped` testcases (said out loud, never silent). With no findings the suite holds one passing testcase, so a
dashboard shows a green check rather than an empty run. Built with ElementTree, which escapes markup; characters
XML 1.0 cannot hold at all (most control characters) are written as visible escapes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from nhiguard import escape, redact
from nhiguard.model import Finding, Location, Report
from nhiguard.reporters.json import TOOL_NAME, ordered_findings, ordered_locations, ordered_notices, scrub

_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """Text that XML 1.0 can carry: each forbidden character becomes a visible `\\xNN` / `\\uNNNN` escape."""
    return _NOT_XML.sub(lambda m: escape.printable(m[0]), text)


def _element(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


def _details(finding: Finding, location: Location, show: bool) -> str:
    rule, verdict = finding.rule, finding.verdict
    lines = [
        f"rule: {rule.name} [{rule.id}]",
        f"severity: {rule.severity} (confidence {rule.confidence})",
        f"secret: {redact.preview(finding.secret, show=show)}",
        f"fingerprint: {finding.fingerprint}",
    ]
    lines.extend(f"part {name}: {redact.part(name, value, finding.secret, show=show)}"
                 for name, value in sorted(finding.parts))
    lines.append(f"location: {location.path}:{location.line}:{location.column}")
    if location.commit:
        lines.append(f"commit: {location.commit}")
    if location.author or location.email:
        lines.append(f"author: {location.author or ''} <{location.email or ''}>".replace(" <>", ""))
    if location.date:
        lines.append(f"date: {location.date}")
    if location.decoded:
        lines.append(f"decoded: {' > '.join(location.decoded)}")
    if verdict.status != "not_checked":
        lines.append(f"verdict: {verdict.status}")
        if verdict.identity:
            lines.append(f"identity: {scrub(verdict.identity, finding, show=show)}")
        if verdict.scopes:
            lines.append(f"scopes: {', '.join(sorted(verdict.scopes))}")
        if verdict.expiry:
            lines.append(f"expiry: {verdict.expiry}")
        if verdict.detail:
            lines.append(f"detail: {scrub(verdict.detail, finding, show=show)}")
    if rule.rotation_guide:
        lines.append(f"rotation guide: {rule.rotation_guide}")
    return "\n".join(lines)


def render(report: Report, *, show_secrets: bool = False, color: bool = False) -> str:
    """`color` is accepted for the Reporter protocol and ignored."""
    findings = ordered_findings(report.findings)
    notices = ordered_notices(report.notices)
    failures = sum(len(f.locations) for f in findings)
    passing = 0 if findings else 1
    tests = failures + len(notices) + passing
    seconds = f"{report.stats.seconds:.3f}"
    counts = {"tests": str(tests), "failures": str(failures), "errors": "0", "time": seconds}

    root = ET.Element("testsuites", {"name": TOOL_NAME, **counts})
    suite = _element(root, "testsuite", name=report.target or TOOL_NAME, skipped=str(len(notices)), **counts)
    for finding in findings:
        rule = finding.rule
        secret = redact.preview(finding.secret, show=show_secrets)
        for location in ordered_locations(finding.locations):
            case = _element(
                suite,
                "testcase",
                classname=location.path,
                name=rule.id,
                file=location.path,
                line=str(location.line),
                time="0",
            )
            details = _details(finding, location, show_secrets)
            _element(case, "failure", details, message=f"{rule.name}: {secret}", type=rule.severity)
    for notice in notices:
        case = _element(suite, "testcase", classname=notice.path, name="not scanned", file=notice.path, time="0")
        _element(case, "skipped", message=notice.reason)
    if passing:
        _element(suite, "testcase", classname=report.target or TOOL_NAME, name="no new secrets", time="0")

    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
