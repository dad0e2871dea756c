from __future__ import annotations

import json

from reporter_data import AWS, AWS_KEY_ID, AWS_SECRET, GH_SECRET, SLACK, SLACK_SECRET, finding, report_of, rich_report

import nhiguard
from nhiguard import redact
from nhiguard.fingerprint import fingerprint
from nhiguard.model import Location, Notice, Report, Stats, Verdict
from nhiguard.reporters import json as json_reporter


def test_document_exactly() -> None:
    report = Report(
        findings=[
            finding(
                AWS,
                AWS_SECRET,
                Location("b.env", 9, 2),
                Location("a.env", 4, 23, commit="c0ffee", author="Bob", email="bob@example.com", date="2024-01-02"),
                parts=(("key_id", AWS_KEY_ID),),
                entropy=4.56789,
                verdict=Verdict("live", identity="arn:aws:iam::1:user/ci", scopes=("s3", "ec2"), checked_at="T"),
            )
        ],
        notices=[Notice("big.bin", "larger than 10 MiB")],
        stats=Stats(files=2, bytes=300, skipped=1, seconds=0.123456, baselined=4),
        target="repo",
        tool_version="9.9.9",
    )
    assert json.loads(json_reporter.render(report)) == {
        "version": 1,
        "tool": {"name": "nhiguard", "version": "9.9.9"},
        "target": "repo",
        "findings": [
            {
                "rule_id": "aws-secret-access-key",
                "rule_name": "AWS secret access key",
                "provider": "aws",
                "severity": "high",
                "confidence": "medium",
                "fingerprint": fingerprint(AWS, AWS_SECRET),
                "secret": redact.preview(AWS_SECRET),
                "parts": {"key_id": redact.preview(AWS_KEY_ID)},
                "entropy": 4.568,
                "verdict": {
                    "status": "live",
                    "identity": "arn:aws:iam::1:user/ci",
                    "scopes": ["ec2", "s3"],
                    "expiry": None,
                    "detail": "",
                    "checked_at": "T",
                },
                "nhi": ["NHI2"],
                "rotation_guide": None,
                "locations": [
                    {
                        "path": "a.env",
                        "line": 4,
                        "column": 23,
                        "kind": "file",
                        "commit": "c0ffee",
                        "author": "Bob",
                        "email": "bob@example.com",
                        "date": "2024-01-02",
                        "decoded": [],
                    },
                    {
                        "path": "b.env",
                        "line": 9,
                        "column": 2,
                        "kind": "file",
                        "commit": None,
                        "author": None,
                        "email": None,
                        "date": None,
                        "decoded": [],
                    },
                ],
            }
        ],
        "notices": [{"path": "big.bin", "reason": "larger than 10 MiB"}],
        "stats": {
            "findings": 1,
            "locations": 2,
            "files": 2,
            "bytes": 300,
            "skipped": 1,
            "seconds": 0.123,
            "baselined": 4,
        },
    }


def test_key_order_is_fixed_and_output_ends_with_newline() -> None:
    out = json_reporter.render(rich_report())
    doc = json.loads(out)
    assert out.endswith("}\n")
    assert list(doc) == ["version", "tool", "target", "findings", "notices", "stats"]
    assert list(doc["findings"][0]) == [
        "rule_id",
        "rule_name",
        "provider",
        "severity",
        "confidence",
        "fingerprint",
        "secret",
        "parts",
        "entropy",
        "verdict",
        "nhi",
        "rotation_guide",
        "locations",
    ]


def test_findings_sorted_by_severity_then_rule_then_fingerprint() -> None:
    doc = json.loads(json_reporter.render(rich_report()))
    assert [(f["severity"], f["rule_id"]) for f in doc["findings"]] == [
        ("critical", "github-pat-classic"),
        ("high", "aws-secret-access-key"),
        ("medium", "slack-bot-token"),
        ("low", "private-key-pem"),
    ]
    two = report_of(
        finding(SLACK, SLACK_SECRET + "b", Location("x", 1)), finding(SLACK, SLACK_SECRET + "a", Location("y", 1))
    )
    fps = [f["fingerprint"] for f in json.loads(json_reporter.render(two))["findings"]]
    assert fps == sorted(fps)


def test_history_locations_keep_git_attribution_and_decoding() -> None:
    doc = json.loads(json_reporter.render(rich_report()))
    github = doc["findings"][0]
    assert github["locations"][0] == {
        "path": "config/old.yml",
        "line": 3,
        "column": 9,
        "kind": "history",
        "commit": "0123456789abcdef0123456789abcdef01234567",
        "author": "Alice Example",
        "email": "alice@example.com",
        "date": "2024-05-01T10:00:00Z",
        "decoded": ["base64"],
    }
    assert github["nhi"] == ["NHI2", "NHI7"]


def test_secret_quoted_in_a_verdict_detail_is_redacted() -> None:
    doc = json.loads(json_reporter.render(rich_report()))
    assert doc["findings"][0]["verdict"]["detail"] == f"GET /user accepted {redact.preview(GH_SECRET)}"
    shown = json.loads(json_reporter.render(rich_report(), show_secrets=True))
    assert shown["findings"][0]["verdict"]["detail"] == f"GET /user accepted {GH_SECRET}"


def test_show_secrets_reveals_secret_and_parts() -> None:
    doc = json.loads(json_reporter.render(rich_report(), show_secrets=True))
    aws = doc["findings"][1]
    assert aws["secret"] == AWS_SECRET
    assert aws["parts"] == {"key_id": AWS_KEY_ID}


def test_empty_report() -> None:
    doc = json.loads(json_reporter.render(Report()))
    assert doc == {
        "version": 1,
        "tool": {"name": "nhiguard", "version": nhiguard.__version__},
        "target": "",
        "findings": [],
        "notices": [],
        "stats": {"findings": 0, "locations": 0, "files": 0, "bytes": 0, "skipped": 0, "seconds": 0.0, "baselined": 0},
    }


def test_non_ascii_paths_are_kept_readable() -> None:
    out = json_reporter.render(rich_report())
    assert '"docs/my notes/ünïcode:file.md"' in out
