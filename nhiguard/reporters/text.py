"""Text: what a person reads in a terminal or a CI log.

Findings are grouped by severity (critical first), then by rule. Every string that came from outside (paths,
commit authors, provider answers) has its control characters escaped, so a crafted file name cannot move the
cursor or inject colour codes. ANSI colours appear only when `color=True`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from nhiguard import escape, redact
from nhiguard.model import Finding, Location, Report, Verdict
from nhiguard.reporters.json import ordered_findings, ordered_locations, ordered_notices, scrub

FINGERPRINT_CHARS = 17  # "nhg1:" + 12 hex digits: enough to tell findings apart and to grep a baseline

_RESET = "\033[0m"
_BOLD = "1"
_DIM = "2"
_SEVERITY_STYLE = {"critical": "1;31", "high": "31", "medium": "33", "low": "36"}
_STATUS_STYLE = {"live": "1;31", "invalid": "32", "unknown": "33"}


def _paint(text: str, style: str, color: bool) -> str:
    return f"\033[{style}m{text}{_RESET}" if color and style else text


clean = escape.printable  # control characters (ESC, CR, BEL, …) and other non-printables, escaped


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def _verdict(verdict: Verdict, finding: Finding, *, show: bool, color: bool) -> str:
    bits = [_paint(verdict.status, _STATUS_STYLE.get(verdict.status, ""), color)]
    if verdict.identity:
        bits.append("identity " + clean(scrub(verdict.identity, finding, show=show)))
    if verdict.scopes:
        bits.append("scopes " + clean(", ".join(sorted(verdict.scopes))))
    if verdict.expiry:
        bits.append("expires " + clean(verdict.expiry))
    if verdict.detail:
        bits.append(clean(scrub(verdict.detail, finding, show=show)))
    return "; ".join(bits)


def _location(location: Location) -> str:
    text = clean(f"{location.path}:{location.line}:{location.column}")
    extra = []
    if location.commit:
        extra.append("commit " + clean(location.commit[:12]))
    if location.author or location.email:
        who = location.author or ""
        if location.email:
            who = f"{who} <{location.email}>" if who else f"<{location.email}>"
        extra.append("by " + clean(who))
    if location.date:
        extra.append(clean(location.date))
    if extra:
        text += " (" + ", ".join(extra) + ")"
    if location.decoded:
        text += " (decoded: " + clean(" > ".join(location.decoded)) + ")"
    return text


def _finding(finding: Finding, *, show: bool, color: bool) -> list[str]:
    rule = finding.rule
    severity = _paint(rule.severity.upper(), _SEVERITY_STYLE.get(rule.severity, ""), color)
    lines = [f"{severity} {_paint(clean(rule.name), _BOLD, color)} [{clean(rule.id)}]"]
    fields: list[tuple[str, str]] = [
        ("secret", clean(redact.preview(finding.secret, show=show))),
        ("fingerprint", _paint(clean(short_fingerprint(finding)), _DIM, color)),
    ]
    fields.extend(
        (f"part {clean(name)}", clean(redact.part(name, value, finding.secret, show=show)))
        for name, value in sorted(finding.parts)
    )
    if finding.verdict.status != "not_checked":
        fields.append(("verdict", _verdict(finding.verdict, finding, show=show, color=color)))
    for i, location in enumerate(ordered_locations(finding.locations)):
        fields.append(("location" if i == 0 else "", _location(location)))
    if rule.rotation_guide:
        fields.append(("rotate", clean(rule.rotation_guide)))
    fields.append(("accept", f'nhiguard ignore {clean(short_fingerprint(finding))} --reason "why it is safe"'))
    width = max(len(label) for label, _ in fields)
    lines.extend(f"  {label:<{width}}  {value}".rstrip() for label, value in fields)
    return lines


def short_fingerprint(finding: Finding) -> str:
    """The form every report prints and every command accepts (`allow.fingerprints`, baselines, `ignore`)."""
    return finding.fingerprint[:FINGERPRINT_CHARS]


def _next_steps() -> list[str]:
    return [
        "What to do:",
        "  - A real credential: rotate it now (each finding's 'rotate' link); removing it from the code is not",
        "    enough once it was committed or pushed. Then remove it and load it from the environment or a vault.",
        "  - Not a secret (test data, an example): write `nhiguard:allow` in a comment on its line, or run the",
        "    finding's 'accept' command (it records the fingerprint, your reason, who and when in the baseline).",
        "  - Accept every current finding at once: nhiguard baseline create",
        "  - Skip the hook once: git commit --no-verify, git push --no-verify (with pre-commit:",
        "    SKIP=nhiguard git commit, SKIP=nhiguard-pre-push git push)",
        "",
    ]


def _summary(report: Report) -> str:
    stats = report.stats
    found = (
        f"{_plural(len(report.findings), 'finding')} "
        f"({_plural(sum(len(f.locations) for f in report.findings), 'location')})"
        if report.findings
        else "No secrets found"
    )
    scanned = f"{_plural(stats.files, 'file')}, {_plural(stats.bytes, 'byte')} in {stats.seconds:.2f} s"
    text = f"{found}. Scanned {scanned}"
    if stats.baselined:
        text += f"; {stats.baselined:,} baselined {'finding' if stats.baselined == 1 else 'findings'} not shown"
    if stats.skipped:
        text += f"; {_plural(stats.skipped, 'file')} skipped"
    if stats.incomplete:
        text += f"; incomplete: {_plural(stats.incomplete, 'file')} not checked in full"
    return text + "."


def render(report: Report, *, show_secrets: bool = False, color: bool = False) -> str:
    lines: list[str] = []
    findings = ordered_findings(report.findings)
    for severity, in_severity in itertools.groupby(findings, key=lambda f: f.rule.severity):
        group = list(in_severity)
        heading = clean(f"== {severity.upper()}: {_plural(len(group), 'finding')} ==")
        lines.append(_paint(heading, _SEVERITY_STYLE.get(severity, _BOLD), color))
        lines.append("")
        for finding in group:  # already ordered by rule id, then fingerprint
            lines.extend(_finding(finding, show=show_secrets, color=color))
            lines.append("")
    if findings:
        lines.extend(_next_steps())
    if report.notices:
        lines.append(f"Not scanned or scanned in part ({_plural(len(report.notices), 'notice')}):")
        lines.extend(_notice_lines(report, clean))
        lines.append("")
    summary = _summary(report)
    lines.append(_paint(summary, _BOLD, color) if findings else summary)
    return "\n".join(lines) + "\n"


# Skipping binaries is routine: a tree of images should not bury the one file that hit a time bound.
_QUIET_REASONS = ("binary",)
_QUIET_SHOWN = 3


def _notice_lines(report: Report, clean: Callable[[str], str]) -> list[str]:
    lines: list[str] = []
    quiet: dict[str, list[str]] = {}
    for notice in ordered_notices(report.notices):
        if notice.reason in _QUIET_REASONS:
            quiet.setdefault(notice.reason, []).append(notice.path)
        else:
            lines.append(f"  {clean(notice.path)}: {clean(notice.reason)}")
    for reason, paths in quiet.items():
        shown = ", ".join(clean(p) for p in paths[:_QUIET_SHOWN])
        more = f" and {len(paths) - _QUIET_SHOWN} more" if len(paths) > _QUIET_SHOWN else ""
        lines.append(f"  {_plural(len(paths), 'file')} skipped as {reason}: {shown}{more}")
    return lines
