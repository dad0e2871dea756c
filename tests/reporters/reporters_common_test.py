"""Properties every output format must have: registered, redacting, deterministic, pure."""

from __future__ import annotations

import json
import random
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote

import pytest
from reporter_data import ALL_SECRETS, AWS_KEY_ID, GH_SECRET, PEM_SECRET, SLACK_SECRET, rich_findings, rich_report

from nhiguard.model import Report
from nhiguard.reporters import REPORTERS, Reporter
from tests.support.cli import run_cli
from tests.support.tokens import github_classic

FORMATS = sorted(REPORTERS)


def windows(secret: str, size: int = 12) -> set[str]:
    """Every run of `size` consecutive characters: a preview may keep a prefix, never this much."""
    secret = secret.replace("\n", " ")
    return {secret[i : i + size] for i in range(len(secret) - size + 1)}


def test_registry_has_the_four_builtin_formats() -> None:
    assert set(REPORTERS) == {"text", "json", "sarif", "junit"}
    for reporter in REPORTERS.values():
        checked: Reporter = reporter
        assert isinstance(checked(Report()), str)


@pytest.mark.parametrize("color", [False, True])
@pytest.mark.parametrize("fmt", FORMATS)
def test_no_secret_or_part_survives_redaction(fmt: str, color: bool) -> None:
    out = REPORTERS[fmt](rich_report(), color=color)
    for secret in ALL_SECRETS:
        assert secret not in out
        leaked = [w for w in windows(secret) if w in out]
        assert leaked == [], f"{fmt} leaks part of a secret: {leaked}"


@pytest.mark.parametrize("fmt", FORMATS)
def test_show_secrets_reveals_every_secret_and_part(fmt: str) -> None:
    out = REPORTERS[fmt](rich_report(), show_secrets=True)
    for secret in (GH_SECRET, SLACK_SECRET, AWS_KEY_ID):
        assert secret in out
    if fmt in {"json", "sarif"}:
        assert PEM_SECRET in strings_in(json.loads(out))
    if fmt == "junit":
        assert any(PEM_SECRET in (case.text or "") for case in ET.fromstring(out).iter("failure"))


def strings_in(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


@pytest.mark.parametrize("fmt", FORMATS)
def test_output_does_not_depend_on_collection_order(fmt: str) -> None:
    expected = REPORTERS[fmt](rich_report())
    rng = random.Random(7)
    for _ in range(5):
        shuffled = rich_report()
        rng.shuffle(shuffled.findings)
        rng.shuffle(shuffled.notices)
        for f in shuffled.findings:
            rng.shuffle(f.locations)
        assert REPORTERS[fmt](shuffled) == expected


@pytest.mark.parametrize("fmt", FORMATS)
def test_rendering_is_pure(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    report = rich_report()
    before = [(f.fingerprint, list(f.locations)) for f in report.findings]
    REPORTERS[fmt](report, show_secrets=True, color=True)
    assert capsys.readouterr() == ("", "")
    assert [(f.fingerprint, list(f.locations)) for f in report.findings] == before


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_empty_report_renders(fmt: str) -> None:
    out = REPORTERS[fmt](Report(target=".", tool_version="0.1.0"))
    if fmt in {"json", "sarif"}:
        json.loads(out)
    elif fmt == "junit":
        ET.fromstring(out)
    else:
        assert "No secrets found" in out


def test_machine_formats_agree_on_the_findings() -> None:
    doc = json.loads(REPORTERS["json"](rich_report()))
    sarif = json.loads(REPORTERS["sarif"](rich_report()))
    junit = ET.fromstring(REPORTERS["junit"](rich_report()))
    per_location = [(f["rule_id"], loc["path"]) for f in doc["findings"] for loc in f["locations"]]
    assert per_location == [
        (r["ruleId"], unquote(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]))
        for r in sarif["runs"][0]["results"]
    ]
    assert per_location == [
        (case.get("name"), case.get("classname")) for case in junit.iter("testcase") if case.find("failure") is not None
    ]
    assert len(per_location) == sum(len(f.locations) for f in rich_findings())


def test_context_parts_are_shown_and_credential_parts_redacted() -> None:
    import json as json_mod

    from reporter_data import GITHUB, finding, report_of

    from nhiguard.model import Location
    from nhiguard.reporters import json as json_reporter
    from nhiguard.reporters import text

    secret = "Zq8-vT2pLw9" + "xR4mK"  # (built, so the repository scans clean)
    f = finding(GITHUB, secret, Location(".netrc", 1, 5))
    f.parts = (("host", "db.internal.example.net"), ("user", "deploy"), ("password", "another-" + "Secret-99"),
               ("url", f"https://deploy:{secret}@db.internal.example.net"))
    doc = json_mod.loads(json_reporter.render(report_of(f)))
    parts = doc["findings"][0]["parts"]
    assert parts["host"] == "db.internal.example.net" and parts["user"] == "deploy"
    assert "another-" + "Secret-99" not in json_mod.dumps(doc) and secret not in json_mod.dumps(doc)
    out = text.render(report_of(f))
    assert re.search(r"part host +db\.internal\.example\.net\n", out) and secret not in out


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_token_in_a_user_position_is_redacted(tmp_path: Path, fmt: str) -> None:
    # GitHub documents https://<token>:x-oauth-basic@github.com: the token is the user of a credential URL, and
    # .netrc's login holds it too. It is one finding's secret and another's "user": never in clear.
    root = tmp_path
    token = github_classic("user-part")
    (root / ".git-credentials").write_text(f"https://{token}:x-oauth-basic@github.com\n")
    (root / ".netrc").write_text(f"machine github.com\n  login {token}\n  password x-oauth-basic\n")
    db_pw = "".join(("Pq7zLm2x", "Vr9kTw4n"))  # (assembled, so the repository's own scan does not report it)
    (root / "url.env").write_text(f"DATABASE_URL=postgres://{token}:{db_pw}@db:5432/app\n")
    result = run_cli("scan", root, "-f", fmt)
    assert result.returncode == 1, result.stderr
    assert "ghp_" in result.stdout and not windows(token) & windows(result.stdout)
