from __future__ import annotations

import dataclasses

from reporter_data import (
    AWS,
    AWS_KEY_ID,
    AWS_SECRET,
    GH_SECRET,
    GITHUB,
    SLACK,
    SLACK_SECRET,
    finding,
    report_of,
    rich_report,
)

from nhiguard import redact
from nhiguard.fingerprint import fingerprint
from nhiguard.model import Location, Notice, Report, Stats, Verdict
from nhiguard.reporters import text


def test_one_finding_exactly() -> None:
    out = text.render(report_of(finding(SLACK, SLACK_SECRET, Location("a.txt", 2, 3))))
    fp = fingerprint(SLACK, SLACK_SECRET)
    assert out == (
        "== MEDIUM: 1 finding ==\n"
        "\n"
        "MEDIUM Slack bot token [slack-bot-token]\n"
        f"  secret       {redact.preview(SLACK_SECRET)}\n"
        f"  fingerprint  {fp[:17]}\n"
        "  location     a.txt:2:3\n"
        f"  accept       nhiguard ignore {fp[:17]} --reason \"why it is safe\"\n"
        "\n"
        + "\n".join(text._next_steps())
        + "\n1 finding (1 location). Scanned 1 file, 10 bytes in 0.00 s.\n"
    )


def test_each_finding_says_how_to_rotate_and_how_to_accept_it() -> None:
    rule = dataclasses.replace(SLACK, rotation_guide="https://api.slack.com/authentication/rotation")
    out = text.render(report_of(finding(rule, SLACK_SECRET, Location("a.txt", 2, 3))))
    fp = fingerprint(SLACK, SLACK_SECRET)[:17]
    assert "  rotate       https://api.slack.com/authentication/rotation\n" in out
    assert f'nhiguard ignore {fp} --reason "why it is safe"' in out
    assert "nhiguard:allow" in out and "--no-verify" in out and "SKIP=nhiguard" in out
    assert "What to do" not in text.render(report_of())


def test_grouped_by_severity_critical_first_then_by_rule() -> None:
    lines = text.render(rich_report()).splitlines()
    headings = [line for line in lines if line.startswith("==")]
    assert headings == [
        "== CRITICAL: 1 finding ==",
        "== HIGH: 1 finding ==",
        "== MEDIUM: 1 finding ==",
        "== LOW: 1 finding ==",
    ]
    titles = [line for line in lines if line.split(" ")[0] in {"CRITICAL", "HIGH", "MEDIUM", "LOW"}]
    assert titles == [
        "CRITICAL GitHub personal access token (classic) [github-pat-classic]",
        "HIGH AWS secret access key [aws-secret-access-key]",
        "MEDIUM Slack bot token [slack-bot-token]",
        "LOW PEM private key [private-key-pem]",
    ]


def test_same_severity_sorted_by_rule_id() -> None:
    other = finding(AWS, AWS_SECRET, Location("b", 1))
    second = finding(dataclasses.replace(GITHUB, severity="high"), GH_SECRET, Location("a", 1))
    out = text.render(report_of(second, other))
    assert out.index("[aws-secret-access-key]") < out.index("[github-pat-classic]")
    assert out.count("== HIGH: 2 findings ==") == 1


def test_verdict_location_and_decoding_details() -> None:
    out = text.render(rich_report())
    assert (
        "  verdict      live; identity octocat; scopes gist, repo; expires 2026-01-01; "
        f"GET /user accepted {redact.preview(GH_SECRET)}\n"
    ) in out
    assert (
        "  location     config/old.yml:3:9 (commit 0123456789ab, by Alice Example <alice@example.com>, "
        "2024-05-01T10:00:00Z) (decoded: base64)\n"
        "               src/app.py:12:5\n"
    ) in out
    assert "  verdict      invalid; InvalidClientTokenId\n" in out
    assert f"  part key_id  {redact.preview(AWS_KEY_ID)}\n" in out


def test_not_checked_verdict_is_not_shown() -> None:
    out = text.render(report_of(finding(SLACK, SLACK_SECRET, Location("a", 1), verdict=Verdict())))
    assert "verdict" not in out
    out = text.render(report_of(finding(SLACK, SLACK_SECRET, Location("a", 1), verdict=Verdict("unknown"))))
    assert "  verdict      unknown\n" in out


def test_summary_and_notices() -> None:
    out = text.render(rich_report())
    assert out.endswith(
        "Not scanned or scanned in part (2 notices):\n"
        "  data/huge.csv: larger than 10 MiB\n"
        "  vendor/blob.bin: binary file\n"
        "\n"
        "4 findings (5 locations). Scanned 42 files, 123,456 bytes in 1.23 s; "
        "3 baselined findings not shown; 2 files skipped.\n"
    )


def test_no_findings_is_said_plainly() -> None:
    out = text.render(Report(stats=Stats(files=3, bytes=2048, seconds=0.5)))
    assert out == "No secrets found. Scanned 3 files, 2,048 bytes in 0.50 s.\n"
    out = text.render(Report(notices=[Notice("x.bin", "binary")], stats=Stats(files=1, skipped=1, baselined=1)))
    assert out == (
        "Not scanned or scanned in part (1 notice):\n"
        "  1 file skipped as binary: x.bin\n"
        "\n"
        "No secrets found. Scanned 1 file, 0 bytes in 0.00 s; 1 baselined finding not shown; 1 file skipped.\n"
    )


def test_colour_only_when_asked() -> None:
    assert "\x1b" not in text.render(rich_report())
    coloured = text.render(rich_report(), color=True)
    assert "\x1b[1;31mCRITICAL\x1b[0m" in coloured
    assert "\x1b[1;31mlive\x1b[0m" in coloured
    assert "\x1b[32minvalid\x1b[0m" in coloured


def test_control_characters_from_outside_are_escaped() -> None:
    hostile = Location("evil\x1b[2J\rname\u202e.py", 1, author="Mallory\x07")
    out = text.render(report_of(finding(SLACK, SLACK_SECRET, hostile)))
    assert "\x1b" not in out and "\r" not in out and "\x07" not in out and "\u202e" not in out
    assert "evil\\x1b[2J\\x0dname\\u202e.py:1:1" in out
    assert "by Mallory\\x07" in out


def test_show_secrets_prints_the_secret() -> None:
    out = text.render(report_of(finding(SLACK, SLACK_SECRET, Location("a", 1))), show_secrets=True)
    assert f"  secret       {SLACK_SECRET}\n" in out
