"""Pure parts of remediation: `revoke:` blocks validated at rule load, the `remediate:` policy, owner routing and
the ticket text (which never holds the secret)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nhiguard import ruleset
from nhiguard.config import from_mapping
from nhiguard.errors import ConfigError, RuleError
from nhiguard.fingerprint import fingerprint
from nhiguard.inventory import codeowners, govern
from nhiguard.redact import preview
from nhiguard.remediate.phase import _owner, build_plan, policy_from
from nhiguard.remediate.plugins import Ticket, TicketLocation
from nhiguard.remediate.plugins.aws import user_name
from nhiguard.remediate.plugins.tickets import adf, markdown
from nhiguard.verify.spec import Answer, revoked_by
from tests.support.tokens import github_classic

RULES = {r.id: r for r in ruleset.load_builtin()}


def _rule(revoke: Any) -> dict[str, Any]:
    return {"id": "acme-token", "name": "Acme token", "provider": "acme", "keywords": ["acme_"],
            "pattern": "(?P<secret>acme_[a-z0-9]{20})", "revoke": revoke}


@pytest.mark.parametrize(("revoke", "message"), [
    ({"hosts": ["api.acme.test"], "request": {"method": "DELETE", "url": "https://api.acme.test/self"}},
     "revoke.revoked"),
    ({"hosts": ["api.acme.test"], "request": {"method": "TRACE", "url": "https://api.acme.test/self"},
      "revoked": {"status": 204}}, "revoke.request.method"),
    ({"hosts": ["api.acme.test"], "request": {"url": "https://evil.test/self"}, "revoked": {"status": 200}},
     "not in 'hosts'"),
    ({"hosts": ["api.acme.test"], "request": {"url": "https://api.acme.test/{{nope}}"}, "revoked": {"status": 200}},
     "unknown placeholders"),
    ({"supported": False}, "say why"),
    ({"supported": False, "reason": "x", "plugin": "y"}, "takes only 'reason'"),
    ({"plugin": "x", "request": {"url": "https://api.acme.test/"}}, "exactly one"),
])
def test_bad_revoke_blocks_are_refused_at_rule_load(revoke: Any, message: str) -> None:
    with pytest.raises(RuleError, match=message.replace("(", r"\(").replace("[", r"\[")):
        ruleset.parse_rule(_rule(revoke), source="acme.yml")


def test_a_good_revoke_block_parses() -> None:
    rule = ruleset.parse_rule(_rule({"hosts": ["api.acme.test"], "revoked": {"status": [200, 204]}, "request": {
        "method": "DELETE", "url": "https://api.acme.test/tokens/self", "headers": {"Authorization": "{{secret}}"}}}),
        source="acme.yml")
    spec = ruleset.revoke_spec(rule)
    assert spec is not None and spec.acts and spec.request is not None and spec.request.method == "DELETE"
    assert revoked_by(spec, Answer(204, {}, b""))
    assert not revoked_by(spec, Answer(503, {}, b""))


def test_builtin_revoke_blocks() -> None:
    acting = {r.id for r in RULES.values() if (s := ruleset.revoke_spec(r)) is not None and s.acts}
    assert {"github-pat-classic", "github-pat-fine-grained", "github-oauth-token", "github-app-user-token",
            "github-refresh-token", "gitlab-pat", "slack-bot-token", "hashicorp-vault-service-token",
            "discord-webhook-url", "digitalocean-pat", "doppler-personal-token", "npm-access-token",
            "aws-secret-access-key"} <= acting
    for rule_id in ("stripe-secret-key", "telegram-bot-token", "discord-bot-token", "huggingface-access-token",
                    "notion-integration-token", "linear-api-key", "sentry-user-token", "pypi-upload-token",
                    "atlassian-api-token", "slack-webhook-url"):
        spec = ruleset.revoke_spec(RULES[rule_id])
        assert spec is not None and not spec.supported and spec.reason, rule_id


@pytest.mark.parametrize("raw", [
    {"policy": [{"when": {"colour": "red"}, "then": "ticket"}]},
    {"policy": [{"when": {}, "then": "burn"}]},
    {"unknown": 1},
    {"tickets": {"github": "acme/app"}},
])
def test_bad_policies_are_config_errors(raw: Any) -> None:
    with pytest.raises(ConfigError):
        policy_from({"remediate": raw})


def test_policy_first_match_wins() -> None:
    policy = policy_from({"remediate": {"policy": [
        {"when": {"verdict": "live", "provider": "github"}, "then": "revoke"},
        {"when": {"path": "tests/**"}, "then": "none"},
        {"when": {"severity": ["critical", "high"]}, "then": "ticket:jira"},
    ], "else": "ticket", "tickets": {"backend": "gitlab"}}})
    facts = {"verdict": ["live"], "provider": ["github"], "severity": ["high"], "path": ["src/a.py"]}
    assert [r.matches(facts) for r in policy.rules] == [True, False, True]
    assert policy.rules[2].backend == "jira" and policy.backend == "gitlab-issues" and policy.otherwise == "ticket"
    assert policy.rules[1].matches({"path": ["tests/unit/x.env"]})


def test_owner_routing_order(tmp_path: Path) -> None:
    entries = codeowners.parse("/deploy/ @acme/platform\n")
    rule = RULES["github-pat-classic"]
    owners = govern.OwnersConfig((("config/*", "@acme/config-team"),), (("github", "@acme/github-admins"),))
    policy = policy_from({"remediate": {"tickets": {"default_owner": "@acme/security"}}})
    none = govern.OwnersConfig((), ())
    assert _owner("deploy/a.env", rule, "Ann", "ann@acme.test", entries, owners, policy) == \
        ("@acme/platform", "codeowners")
    assert _owner("config/a.env", rule, "Ann", None, entries, owners, policy) == ("@acme/config-team", "config:paths")
    assert _owner("src/a.env", rule, "Ann", None, entries, owners, policy) == ("@acme/github-admins",
                                                                                "config:providers")
    assert _owner("src/a.env", rule, "Ann", "ann@acme.test", entries, none, policy) == ("ann@acme.test", "author")
    assert _owner("src/a.env", rule, None, None, entries, none, policy) == ("@acme/security", "default")
    # a path that a config glob and CODEOWNERS both name: the same owner the inventory records
    deploy = govern.OwnersConfig((("deploy/*", "@acme/deploy-team"),), ())
    assert _owner("deploy/a.env", rule, "Ann", None, entries, deploy, policy) == \
        govern.resolve_owner("deploy/a.env", "github", ["@acme/platform"], "Ann", None, deploy) == \
        ("@acme/deploy-team", "config:paths")


def test_a_report_saved_with_show_secrets_is_redacted_again(tmp_path: Path) -> None:
    rule = RULES["github-pat-classic"]
    secret = github_classic("shown-in-report")
    saved = [{"rule_id": rule.id, "fingerprint": fingerprint(rule, secret), "secret": secret,
              "verdict": {"status": "live", "identity": f"token {secret} of release-bot",
                          "detail": f"GitHub accepted {secret}"},
              "locations": [{"path": "deploy/a.env", "line": 1}]}]
    config = from_mapping({"remediate": {"tickets": {"backend": "github", "github": {"repo": "acme/app"}}}},
                          root=tmp_path, source=None)
    plan = build_plan(saved, RULES, target="report.json", base=tmp_path, config=config)
    [action] = plan.actions
    assert action.ticket.redacted == preview(secret) and "release-bot" in str(action.identity)
    for text in (markdown(action.ticket), str(adf(action.ticket)), json.dumps(plan.document())):
        assert secret not in text
    # a preview (what reports hold without --show-secrets) is kept as it is
    saved[0]["secret"] = preview(secret)
    [kept] = build_plan(saved, RULES, target="report.json", base=tmp_path, config=config).actions
    assert kept.ticket.redacted == preview(secret)


def test_ticket_text_names_everything_but_the_secret() -> None:
    secret = github_classic("ticket-text")
    ticket = Ticket(fingerprint="nhg1:" + "ab" * 20, rule_id="github-pat-classic", rule_name="GitHub classic PAT",
                    provider="github", severity="critical", redacted=secret[:6] + "****", verdict="live",
                    identity="release-bot", age_days=40, rotation_guide="https://docs.github.com/rotate",
                    locations=(TicketLocation("app", "deploy/a.env", 3, "c0ffee" * 6, "ann@acme.test", "2024-01-02"),),
                    owner="@acme/platform", owner_source="codeowners")
    text = markdown(ticket)
    for needle in ("github-pat-classic", "github", "nhg1:abab", "app:deploy/a.env:3", "c0ffeec0ffee",
                   "ann@acme.test", "live", "40 days", "https://docs.github.com/rotate", "False positive",
                   "allow: fingerprints"):
        assert needle in text
    assert secret not in text and secret not in str(adf(ticket))
    assert ticket.label == "nhiguard-fp-" + "ab" * 8


def test_aws_user_name_from_the_verified_arn() -> None:
    assert user_name("arn:aws:iam::123456789012:user/ci/deployer") == "deployer"
    assert user_name("arn:aws:iam::123456789012:root") is None
    assert user_name("arn:aws:sts::123456789012:assumed-role/r/s") is None


def test_repository_config_cannot_choose_where_ticket_tokens_go(monkeypatch: pytest.MonkeyPatch) -> None:
    from nhiguard.remediate.plugins.tickets import GitHubIssues, GitLabIssues, JiraCloud, RemediationError

    settings = {"url": "https://ghe.attacker.test/api/v3"}
    monkeypatch.delenv("NHIGUARD_GITHUB_URL", raising=False)
    with pytest.raises(RemediationError, match="NHIGUARD_GITHUB_URL"):
        GitHubIssues().hosts(settings)
    assert GitHubIssues().hosts({}) == ("api.github.com",)
    monkeypatch.setenv("NHIGUARD_GITHUB_URL", "https://ghe.attacker.test/api/v3/")
    assert GitHubIssues().hosts(settings) == ("ghe.attacker.test",)
    monkeypatch.delenv("NHIGUARD_GITLAB_URL", raising=False)
    with pytest.raises(RemediationError, match="NHIGUARD_GITLAB_URL"):
        GitLabIssues().hosts({"url": "https://gitlab.attacker.test"})
    # anyone can own a Jira Cloud site: every site needs the operator's word
    monkeypatch.delenv("NHIGUARD_JIRA_URL", raising=False)
    with pytest.raises(RemediationError, match="NHIGUARD_JIRA_URL"):
        JiraCloud().hosts({"url": "https://attacker.atlassian.net"})
    monkeypatch.setenv("NHIGUARD_JIRA_URL", "https://acme.atlassian.net")
    assert JiraCloud().hosts({"url": "https://acme.atlassian.net"}) == ("acme.atlassian.net",)
    with pytest.raises(RemediationError, match="NHIGUARD_JIRA_URL"):
        JiraCloud().hosts({"url": "https://attacker.atlassian.net"})


def test_the_readme_policy_example_is_a_valid_policy() -> None:
    import re
    from pathlib import Path

    from nhiguard import _yaml

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Remediation", 1)[1]
    block = re.search(r"```yaml\n(remediate:.*?)```", section, re.S)
    assert block, "the README shows a remediate: policy"
    policy = policy_from(_yaml.load(block.group(1).encode()))
    assert policy.rules[0].then == "revoke" and policy.otherwise == "ticket" and policy.default_owner
