"""Every verified rule against a real HTTPS server on 127.0.0.1 (test CA), reached only through the endpoint override.

For each rule: every recorded `verify.cases` response (at least one live and one invalid) gives its verdict, and a
timeout, a 500, a 429, a connection reset and a malformed JSON body all give `unknown`, never a crash. The server
checks each request's contract (method, path, the secret where the provider expects it) before answering.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from nhiguard.model import Rule, Verdict
from nhiguard.verify.phase import Verification
from nhiguard.verify.spec import check_case
from tests.support.providers import Hang, ProviderServer, Reply, Reset
from tests.verify import kit

MIN_VERIFIED_RULES = 40
REQUIRED = [
    "github-pat-classic", "github-pat-fine-grained", "github-oauth-token", "github-app-user-token",
    "github-app-installation-token", "github-app-installation-token-jwt", "github-token-legacy",
    "gitlab-pat", "slack-bot-token", "slack-user-token", "slack-webhook-url", "stripe-secret-key",
    "openai-project-key", "anthropic-api-key", "aws-secret-access-key", "gcp-service-account-key", "gcp-api-key",
    "azure-storage-connection-string", "azure-storage-account-key", "sendgrid-api-key", "twilio-auth-token",
    "mailgun-private-api-key", "npm-access-token", "pypi-upload-token", "dockerhub-pat", "huggingface-access-token",
    "discord-bot-token", "telegram-bot-token", "shopify-admin-access-token", "datadog-api-key",
    "newrelic-user-api-key", "heroku-api-key", "digitalocean-pat", "atlassian-api-token", "linear-api-key",
    "notion-integration-token", "doppler-personal-token", "sentry-user-token", "hashicorp-vault-service-token",
    "hashicorp-terraform-api-token",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProviderServer]:
    srv = ProviderServer(tmp_path_factory.mktemp("tls"))
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def targets(builtin_rules: list[Rule]) -> list[kit.Target]:
    rng = random.Random("verify-targets")
    return [kit.target_for(rule, rng) for rule in kit.verified_rules(builtin_rules)]


def _run(server: ProviderServer, tmp: Path, targets: list[kit.Target]) -> dict[str, Verdict]:
    for target in targets:
        server.contracts[target.rule.id] = target.contract
    findings = [t.finding() for t in targets]
    with Verification(kit.options(server, tmp, [t.rule.id for t in targets])) as run:
        run.verify(findings)
    return {f.rule.id: f.verdict for f in findings}


def test_at_least_forty_rules_verify_live_including_the_required_providers(targets: list[kit.Target]) -> None:
    ids = {t.rule.id for t in targets}
    assert len(ids) >= MIN_VERIFIED_RULES, len(ids)
    assert not sorted(set(REQUIRED) - ids)


def test_every_verified_rule_records_a_live_and_an_invalid_case(targets: list[kit.Target]) -> None:
    missing = [t.rule.id for t in targets
               if not {"live", "invalid"} <= {c.expect for c in t.spec.cases}]
    assert not missing


def test_recorded_cases_give_their_verdicts_over_https(server: ProviderServer, targets: list[kit.Target],
                                                      tmp_path: Path) -> None:
    rounds = max(len(t.spec.cases) for t in targets)
    problems: list[str] = []
    checked = 0
    for index in range(rounds):
        batch = [t for t in targets if index < len(t.spec.cases)]
        for target in batch:
            case = target.spec.cases[index]
            server.scenarios[target.rule.id] = Reply(case.status, dict(case.headers), case.body.encode())
        verdicts = _run(server, tmp_path, batch)
        for target in batch:
            case = target.spec.cases[index]
            verdict = verdicts[target.rule.id]
            checked += 1
            for problem in check_case(target.spec, case, verdict):
                problems.append(f"{target.rule.id} case {case.name or index}: {problem}")
    assert not problems, "\n".join(problems)
    assert checked >= 2 * len(targets)


def _malformed(target: kit.Target) -> Reply:
    live = next(c for c in target.spec.cases if c.expect == "live")
    return Reply(live.status, dict(live.headers), b'{"data": [{"id": 1}, {"id": ')


FAILURES = {
    "timeout": lambda t: Hang(5.0),  # longer than both attempts at kit.FAST's read timeout
    "http-500": lambda t: Reply(500, {"Content-Type": "application/json"}, b'{"message": "boom"}'),
    "http-429": lambda t: Reply(429, {"Retry-After": "0", "Content-Type": "application/json"}, b"{}"),
    "connection-reset": lambda t: Reset(),
    "malformed-json": _malformed,
}


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_failures_come_out_unknown_never_a_crash(server: ProviderServer, targets: list[kit.Target],
                                                 tmp_path: Path, failure: str) -> None:
    for target in targets:
        server.scenarios[target.rule.id] = FAILURES[failure](target)
    verdicts = _run(server, tmp_path, targets)
    wrong = {rid: (v.status, v.detail) for rid, v in verdicts.items() if v.status != "unknown"}
    assert not wrong
    assert all(v.checked_at for v in verdicts.values())


def test_the_audit_log_records_every_call_and_never_a_secret(server: ProviderServer, targets: list[kit.Target],
                                                             tmp_path: Path) -> None:
    for target in targets:
        live = next(c for c in target.spec.cases if c.expect == "live")
        server.scenarios[target.rule.id] = Reply(live.status, dict(live.headers), live.body.encode())
    _run(server, tmp_path, targets)
    text = (tmp_path / "audit.jsonl").read_text(encoding="utf-8")
    records = [json.loads(line) for line in text.splitlines()]
    assert {r["rule_id"] for r in records} == {t.rule.id for t in targets}
    for record in records:
        assert record["host"] == "127.0.0.1" and record["endpoint_override"] is True
        assert record["fingerprint"].startswith("nhg1:") and record["time"].endswith("Z")
        assert record["verdict"] in ("live", "invalid", "unknown", "not_checked")
    text_windows = {text[i:i + 16] for i in range(len(text) - 15)}
    for target in targets:
        for name, value in (("secret", target.secret), *target.parts.items()):
            if value in kit.CONTEXT_VALUES.values() or value == kit.GCP_EMAIL:
                continue  # public names (a shop, a storage account, a service account), not secrets
            body = re.sub(r"-----(BEGIN|END)[A-Z ]+-----|\\n", "", value)
            windows = {body[i:i + 16] for i in range(0, max(1, len(body) - 15))}
            leaked = sorted(w for w in windows if len(w) == 16 and w in text_windows)
            assert not leaked, f"{target.rule.id}: {name} leaked into the audit log"
