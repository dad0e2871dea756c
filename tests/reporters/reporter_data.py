"""Real Report objects shared by the reporter tests.

The repository scans itself clean, so no credential-shaped literal appears in this source: every secret is
assembled at import time from pieces that no rule matches on their own.
"""

from __future__ import annotations

from nhiguard.fingerprint import fingerprint
from nhiguard.model import Finding, Location, Notice, Report, Rule, Severity, Stats, Verdict

GH_SECRET = "ghp_" + "Zq3Wm7" * 6
AWS_SECRET = "wJalr" + "/K7MDENG/" + "bPxRfiCY" + "nhgTESTKEYnhgTESTK"
AWS_KEY_ID = "AKIA" + "NHG" + "TEST" * 3 + "X"
SLACK_SECRET = "xoxb-" + "-".join(["1111", "2222", "nhgTest" * 3])
PEM_SECRET = "-----BEGIN " + "PRIVATE KEY-----\nMIIB" + "nhgTest" * 8 + "\n-----END " + "PRIVATE KEY-----"

ALL_SECRETS = (GH_SECRET, AWS_SECRET, AWS_KEY_ID, SLACK_SECRET, PEM_SECRET)


def make_rule(
    rule_id: str,
    *,
    name: str = "",
    provider: str = "",
    severity: Severity = "high",
    confidence: str = "high",
    nhi: tuple[str, ...] = ("NHI2",),
    rotation_guide: str = "",
    references: tuple[str, ...] = (),
    description: str = "",
) -> Rule:
    return Rule(
        id=rule_id,
        name=name or rule_id.replace("-", " ").capitalize(),
        provider=provider or rule_id.split("-")[0],
        severity=severity,
        confidence=confidence,  # type: ignore[arg-type]
        keywords=(rule_id.split("-")[0],),
        pattern=r"(?P<secret>x)",
        nhi=nhi,
        rotation_guide=rotation_guide,
        references=references,
        description=description,
    )


GITHUB = make_rule(
    "github-pat-classic",
    name="GitHub personal access token (classic)",
    severity="critical",
    nhi=("NHI2", "NHI7"),
    rotation_guide="https://docs.github.com/en/authentication/keeping-your-account-and-data-secure",
)
AWS = make_rule(
    "aws-secret-access-key",
    name="AWS secret access key",
    severity="high",
    confidence="medium",
    references=("https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html",),
)
SLACK = make_rule("slack-bot-token", name="Slack bot token", severity="medium", description="A Slack bot token.")
PEM = make_rule("private-key-pem", name="PEM private key", provider="crypto", severity="low", confidence="low")


def finding(rule: Rule, secret: str, *locations: Location, **kwargs: object) -> Finding:
    return Finding(rule=rule, fingerprint=fingerprint(rule, secret), secret=secret, locations=list(locations), **kwargs)  # type: ignore[arg-type]


def rich_findings() -> list[Finding]:
    return [
        finding(
            PEM,
            PEM_SECRET,
            Location("keys/id_rsa", 1, 1),
            entropy=5.123456,
        ),
        finding(
            SLACK,
            SLACK_SECRET,
            Location("docs/my notes/ünïcode:file.md", 7, 3),
        ),
        finding(
            AWS,
            AWS_SECRET,
            Location("deploy/.env", 4, 23),
            parts=(("key_id", AWS_KEY_ID),),
            entropy=4.5,
            verdict=Verdict(status="invalid", detail="InvalidClientTokenId", checked_at="2024-06-01T12:00:00Z"),
        ),
        finding(
            GITHUB,
            GH_SECRET,
            Location("src/app.py", 12, 5),
            Location(
                "config/old.yml",
                3,
                9,
                commit="0123456789abcdef0123456789abcdef01234567",
                author="Alice Example",
                email="alice@example.com",
                date="2024-05-01T10:00:00Z",
                decoded=("base64",),
                kind="history",
            ),
            entropy=4.75,
            verdict=Verdict(
                status="live",
                identity="octocat",
                scopes=("repo", "gist"),
                expiry="2026-01-01",
                detail=f"GET /user accepted {GH_SECRET}",
                checked_at="2024-06-01T12:00:00Z",
            ),
        ),
    ]


def rich_report() -> Report:
    return Report(
        findings=rich_findings(),
        notices=[Notice("vendor/blob.bin", "binary file"), Notice("data/huge.csv", "larger than 10 MiB")],
        stats=Stats(files=42, bytes=123_456, skipped=2, seconds=1.23456, baselined=3),
        target=".",
        tool_version="0.1.0",
    )


def report_of(*findings: Finding, notices: tuple[Notice, ...] = ()) -> Report:
    return Report(
        findings=list(findings), notices=list(notices), stats=Stats(files=1, bytes=10), target=".", tool_version="0.1.0"
    )
