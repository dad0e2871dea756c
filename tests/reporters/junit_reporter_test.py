from __future__ import annotations

import xml.etree.ElementTree as ET

from reporter_data import GH_SECRET, SLACK, SLACK_SECRET, finding, report_of, rich_report

from nhiguard import redact
from nhiguard.model import Location, Notice, Report, Stats
from nhiguard.reporters import junit


def parse(text: str) -> ET.Element:
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(text)


def test_structure() -> None:
    root = parse(junit.render(rich_report()))
    assert root.tag == "testsuites"
    assert root.attrib == {"name": "nhiguard", "tests": "7", "failures": "5", "errors": "0", "time": "1.235"}
    (suite,) = list(root)
    assert suite.tag == "testsuite"
    assert suite.attrib == {
        "name": ".",
        "tests": "7",
        "failures": "5",
        "errors": "0",
        "skipped": "2",
        "time": "1.235",
    }
    cases = [(c.get("classname"), c.get("name"), c[0].tag) for c in suite]
    assert cases == [
        ("config/old.yml", "github-pat-classic", "failure"),
        ("src/app.py", "github-pat-classic", "failure"),
        ("deploy/.env", "aws-secret-access-key", "failure"),
        ("docs/my notes/ünïcode:file.md", "slack-bot-token", "failure"),
        ("keys/id_rsa", "private-key-pem", "failure"),
        ("data/huge.csv", "not scanned", "skipped"),
        ("vendor/blob.bin", "not scanned", "skipped"),
    ]


def test_failure_carries_redacted_message_and_details() -> None:
    suite = parse(junit.render(rich_report()))[0]
    first = suite[0]
    assert first.attrib == {
        "classname": "config/old.yml",
        "name": "github-pat-classic",
        "file": "config/old.yml",
        "line": "3",
        "time": "0",
    }
    failure = first[0]
    preview = redact.preview(GH_SECRET)
    assert failure.attrib == {"message": f"GitHub personal access token (classic): {preview}", "type": "critical"}
    details = (failure.text or "").splitlines()
    assert details[:3] == [
        "rule: GitHub personal access token (classic) [github-pat-classic]",
        "severity: critical (confidence high)",
        f"secret: {preview}",
    ]
    assert "location: config/old.yml:3:9" in details
    assert "commit: 0123456789abcdef0123456789abcdef01234567" in details
    assert "author: Alice Example <alice@example.com>" in details
    assert "decoded: base64" in details
    assert "verdict: live" in details
    assert f"detail: GET /user accepted {preview}" in details
    assert not any(line.startswith("verdict") for line in (suite[3][0].text or "").splitlines())


def test_notice_is_a_skipped_testcase_with_its_reason() -> None:
    suite = parse(junit.render(rich_report()))[0]
    skipped = suite[5]
    assert skipped.attrib == {"classname": "data/huge.csv", "name": "not scanned", "file": "data/huge.csv", "time": "0"}
    assert skipped[0].attrib == {"message": "larger than 10 MiB"}


def test_no_findings_is_one_passing_testcase() -> None:
    root = parse(junit.render(Report(stats=Stats(files=3), target="repo")))
    assert root.get("tests") == "1" and root.get("failures") == "0"
    (case,) = list(root[0])
    assert case.attrib == {"classname": "repo", "name": "no new secrets", "time": "0"}
    assert list(case) == []


def test_markup_and_control_characters_are_escaped() -> None:
    nasty = "x<y>&\"z'\x1b[31m\x00\ufffe.py"
    report = report_of(
        finding(SLACK, SLACK_SECRET, Location(nasty, 1)),
        notices=(Notice("]]><!--", "<![CDATA[ & ]]>"),),
    )
    out = junit.render(report)
    assert "\x1b" not in out and "\x00" not in out
    suite = parse(out)[0]
    assert suite[0].get("classname") == "x<y>&\"z'\\x1b[31m\\x00\\ufffe.py"
    assert suite[1].get("classname") == "]]><!--"
    assert suite[1][0].get("message") == "<![CDATA[ & ]]>"


def test_multi_line_secret_shown_round_trips() -> None:
    secret = "line-one-" + "k" * 20 + "\nline-two-" + "k" * 20
    out = junit.render(report_of(finding(SLACK, secret, Location("a", 1))), show_secrets=True)
    failure = parse(out)[0][0][0]
    assert failure.get("message") == f"Slack bot token: {secret}"
    assert f"secret: {secret}" in (failure.text or "")
