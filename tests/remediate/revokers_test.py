"""Revokers against real HTTPS servers on 127.0.0.1 that speak each provider's revocation contract: GitHub's
credential revocation API (batches of at most 1000, 422, 429), self-revocation with the leaked token (GitLab, Slack,
Vault, Doppler, Discord webhooks, DigitalOcean, npm, GitHub installation tokens, Heroku keys deleting their own
authorization) and AWS key deactivation with an administrator's own keys.
The exact request is asserted, then the re-verification is recorded; no audit line holds a secret."""

from __future__ import annotations

import hashlib
import json
import random
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from nhiguard import config as config_mod
from nhiguard import redact, ruleset
from nhiguard.fingerprint import fingerprint
from nhiguard.model import Rule
from nhiguard.remediate.phase import Applier, ApplyOptions, Plan, Result, build_plan
from nhiguard.remediate.plugins import Registry
from nhiguard.remediate.plugins.cloudflare import own_id
from nhiguard.verify.phase import parse_override
from tests.remediate.fakes import HEROKU_ACCEPT, GitHubApi, HerokuApi
from tests.support import tokens
from tests.support.providers import ProviderServer, Reply, Seen, json_reply
from tests.verify import kit

RULES: dict[str, Rule] = {r.id: r for r in ruleset.load_builtin()}
REVOKE_ALL = {"remediate": {"policy": [{"when": {}, "then": "revoke"}], "else": "none"}}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ProviderServer]:
    srv = ProviderServer(tmp_path / "tls")
    yield srv
    srv.close()


def _plan(tmp_path: Path, items: list[tuple[str, str, str]], *, identity: str | None = None,
          sections: dict[str, Any] | None = None) -> Plan:
    """items: (rule id, secret, file text). Files are written under tmp_path/project."""
    root = tmp_path / "project"
    root.mkdir(exist_ok=True)
    saved = []
    paths: dict[str, str] = {}
    for rule_id, secret, text in items:
        path = paths.setdefault(text, f"f{len(paths)}.env")
        if not (root / path).exists():
            (root / path).write_text(text, encoding="utf-8")
        saved.append({"rule_id": rule_id, "fingerprint": fingerprint(RULES[rule_id], secret),
                      "secret": redact.preview(secret), "verdict": {"status": "live", "identity": identity},
                      "locations": [{"path": path, "line": 1}]})
    config = config_mod.from_mapping(sections or REVOKE_ALL, root=root, source=None)
    return build_plan(saved, RULES, target=str(root), base=root, config=config)


def _apply(server: ProviderServer, tmp_path: Path, plan: Plan, overrides: dict[str, str], *, reverify: bool = True,
           env: dict[str, str] | None = None) -> list[Result]:
    options = ApplyOptions(
        overrides=tuple(parse_override(f"{sel}={server.endpoint(key)}") for sel, key in overrides.items()),
        ca_bundle=str(server.ca_path), audit_log=tmp_path / "audit.jsonl", responder="oncall@acme.test",
        http=kit.FAST, env=env or {}, reverify=reverify)
    applier = Applier(options)
    try:
        return list(applier.apply(plan, RULES))
    finally:
        applier.close()


def _audit_text(tmp_path: Path) -> str:
    return (tmp_path / "audit.jsonl").read_text(encoding="utf-8")


# -- GitHub's credential revocation API ------------------------------------------------------------------------------
def test_github_revocation_is_batched_by_1000(server: ProviderServer, tmp_path: Path) -> None:
    secrets = [tokens.github_classic(f"batch-{i}") for i in range(1001)]
    text = "".join(f"T{i}={s}\n" for i, s in enumerate(secrets))
    plan = _plan(tmp_path, [("github-pat-classic", s, text) for s in secrets])
    api = GitHubApi(live=set(secrets))
    server.scenarios["gh"] = api
    results = _apply(server, tmp_path, plan, {"github": "gh"}, reverify=False)
    assert len(results) == 1001 and all(r.outcome.ok for r in results)
    posts = server.requests_for("gh")
    assert [len(json.loads(p.body)["credentials"]) for p in posts] == [1000, 1]
    assert all(p.method == "POST" and p.path == "/credentials/revoke" and "Authorization" not in p.headers
               and p.headers["X-GitHub-Api-Version"] == "2022-11-28" for p in posts)
    assert sorted(c for b in api.batches for c in b) == sorted(secrets)
    log = _audit_text(tmp_path)
    assert not any(s in log for s in secrets[:50])


@pytest.mark.parametrize(("status", "expect"), [(422, "422"), (429, "rate limited")])
def test_github_refusals_fail_each_action(server: ProviderServer, tmp_path: Path, status: int, expect: str) -> None:
    secrets = [tokens.github_classic(f"refused-{i}") for i in range(2)]
    plan = _plan(tmp_path, [("github-pat-classic", s, f"A={s}\n") for s in secrets])
    server.scenarios["gh"] = GitHubApi(live=set(secrets), status=status)
    results = _apply(server, tmp_path, plan, {"github": "gh"})
    assert [r.outcome.ok for r in results] == [False, False]
    assert all(expect in r.outcome.detail for r in results)
    assert len(server.requests_for("gh")) == 1  # one request for both; a long Retry-After is not waited for


# -- self-revocation (declarative revoke: blocks) ------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    rule_id: str
    make: Callable[[str], str]
    method: str
    path: Callable[[str], str]
    check: Callable[[Seen, str], bool]
    reply: Reply
    # the provider's answer when the revoked token is checked again (its verify block's "invalid")
    gone: Reply = field(default_factory=lambda: json_reply(401, {"message": "unauthorized"}))
    # the file line the report saw the secret in (a rule that needs its provider's name nearby gets one)
    line: Callable[[str], str] | None = None  # default: TOKEN=<secret>


def _bearer(seen: Seen, secret: str) -> bool:
    return seen.headers.get("Authorization") == f"Bearer {secret}"


def _tailscale_api_token(seed: str) -> str:
    rng = random.Random(seed)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return ("tskey-api-k" + "".join(rng.choice(alphabet) for _ in range(10)) + "CNTRL-"
            + "".join(rng.choice(alphabet) for _ in range(32)))


def _form(seen: Seen) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(seen.body.decode())


def _example(rule_id: str) -> Callable[[str], str]:
    """A rule's first positive example, for providers whose tokens have no generator in tests.support.tokens."""
    return lambda _seed: RULES[rule_id].examples.positive[0].secret


CASES = [
    Case("gitlab-pat", tokens.gitlab_pat, "DELETE", lambda s: "/api/v4/personal_access_tokens/self",
         lambda seen, s: seen.headers.get("PRIVATE-TOKEN") == s and seen.body == b"", Reply(204)),
    Case("slack-bot-token", tokens.slack_bot, "POST", lambda s: "/api/auth.revoke",
         _bearer, json_reply(200, {"ok": True, "revoked": True}),
         json_reply(200, {"ok": False, "error": "invalid_auth"})),
    Case("hashicorp-vault-service-token", tokens.vault_token, "POST", lambda s: "/v1/auth/token/revoke-self",
         lambda seen, s: seen.headers.get("X-Vault-Token") == s, Reply(204)),
    Case("doppler-personal-token", tokens.doppler_personal, "POST", lambda s: "/v3/auth/revoke",
         lambda seen, s: _bearer(seen, s) and json.loads(seen.body) == {"token": s}
         and seen.headers.get("Content-Type") == "application/json", json_reply(200, {"success": True})),
    Case("discord-webhook-url", tokens.discord_webhook, "DELETE", lambda s: urllib.parse.urlsplit(s).path,
         lambda seen, s: "Authorization" not in seen.headers, Reply(204)),
    Case("digitalocean-pat", tokens.digitalocean_pat, "POST", lambda s: "/v1/oauth/revoke",
         lambda seen, s: _bearer(seen, s) and urllib.parse.parse_qs(seen.body.decode()) == {"token": [s]},
         Reply(200)),
    Case("npm-access-token", tokens.npm_token, "DELETE", lambda s: f"/-/npm/v1/tokens/token/{s}", _bearer,
         Reply(204)),
    Case("buildkite-api-token", lambda s: "bkua_" + random.Random(s).randbytes(20).hex(), "DELETE",
         lambda s: "/v2/access-token", _bearer, Reply(204)),
    # a context rule: its first positive example (a name beside the token) stands in for the generator
    Case("particleio-access-token", lambda s: "", "DELETE", lambda s: "/v1/access_tokens/current", _bearer,
         json_reply(200, {"ok": True})),
    # the token deletes its own key id, the middle part of tskey-api-<id>-<secret>
    Case("tailscale-api-access-token", _tailscale_api_token, "DELETE",
         lambda s: f"/api/v2/tailnet/-/keys/{s.split('-')[2]}", _bearer, Reply(200)),
    Case("google-oauth-access-token", _example("google-oauth-access-token"), "POST", lambda s: "/revoke",
         lambda seen, s: "Authorization" not in seen.headers and _form(seen) == {"token": [s]}, Reply(200),
         json_reply(400, {"error": "invalid_token"})),
    Case("dropbox-long-lived-token", _example("dropbox-long-lived-token"), "POST", lambda s: "/2/auth/token/revoke",
         _bearer, json_reply(200, None)),
    Case("salesforce-access-token", _example("salesforce-access-token"), "POST",
         lambda s: "/services/oauth2/revoke", lambda seen, s: _form(seen) == {"token": [s]}, Reply(200)),
    Case("facebook-access-token", _example("facebook-access-token"), "DELETE", lambda s: "/v19.0/me/permissions",
         _bearer, json_reply(200, {"success": True}), json_reply(400, {"error": {"code": 190}}),
         lambda s: f"FACEBOOK_ACCESS_TOKEN={s}"),
    Case("okta-api-token", _example("okta-api-token"), "DELETE", lambda s: "/api/v1/api-tokens/current",
         lambda seen, s: seen.headers.get("Authorization") == f"SSWS {s}", Reply(204),
         line=lambda s: f"OKTA_API_TOKEN={s}"),
    Case("vercel-access-token", _example("vercel-access-token"), "DELETE", lambda s: "/v3/user/tokens/current",
         _bearer, json_reply(200, {"tokenId": hashlib.sha256(b"vercel-token").hexdigest()})),
    Case("linear-oauth-token", _example("linear-oauth-token"), "POST", lambda s: "/oauth/revoke", _bearer,
         Reply(200), json_reply(400, {"errors": [{"message": "Authentication required, not authenticated",
                                                  "extensions": {"type": "authentication error",
                                                                 "code": "AUTHENTICATION_ERROR"}}]})),
    Case("fastly-api-token", _example("fastly-api-token"), "DELETE", lambda s: "/tokens/self",
         lambda seen, s: seen.headers.get("Fastly-Key") == s, Reply(204),
         json_reply(401, {"msg": "Provided credentials are missing or invalid"}),
         line=lambda s: f"FASTLY_API_TOKEN={s}"),
    Case("linenotify-access-token", _example("linenotify-access-token"), "POST", lambda s: "/api/revoke", _bearer,
         json_reply(200, {"status": 200, "message": "ok"}),
         json_reply(401, {"status": 401, "message": "Invalid access token"}),
         line=lambda s: f"LINE_NOTIFY_TOKEN={s}"),
    Case("line-channel-access-token", _example("line-channel-access-token"), "POST", lambda s: "/v2/oauth/revoke",
         lambda seen, s: "Authorization" not in seen.headers and _form(seen) == {"access_token": [s]}, Reply(200),
         line=lambda s: f"LINE_CHANNEL_ACCESS_TOKEN={s}"),
    Case("miro-access-token", _example("miro-access-token"), "POST",
         lambda s: f"/v1/oauth/revoke?access_token={urllib.parse.quote(s, safe='')}", lambda seen, s: True, Reply(204),
         json_reply(401, {"status": 401, "code": "tokenNotProvided", "type": "error"})),
    Case("smartsheet-access-token", _example("smartsheet-access-token"), "DELETE", lambda s: "/2.0/token", _bearer,
         json_reply(200, {"message": "SUCCESS", "resultCode": 0}),
         json_reply(401, {"errorCode": 1002, "message": "Your Access Token is invalid."}),
         line=lambda s: f"SMARTSHEET_ACCESS_TOKEN={s}"),
    Case("strava-token", _example("strava-token"), "POST", lambda s: "/oauth/deauthorize",
         lambda seen, s: _form(seen) == {"access_token": [s]}, json_reply(200, {"access_token": "revoked"}),
         json_reply(401, {"message": "Authorization Error"}), line=lambda s: f"STRAVA_ACCESS_TOKEN={s}"),
]


def _block(rule_id: str) -> str:
    return json.dumps(RULES[rule_id].revoke, sort_keys=True)


# every built-in rule with a declarative revoke: block, run against the case written for that same block (rules
# of one provider share it); the installation-token rules have their own test below
_CASE_OF_BLOCK = {_block(c.rule_id): c for c in CASES}
DECLARATIVE = sorted(r.id for r in RULES.values() if isinstance(r.revoke, dict) and r.revoke.get("request")
                     and not r.id.startswith("github-app-installation-token"))


def test_every_declarative_revoke_block_has_a_contract_case() -> None:
    assert [rule_id for rule_id in DECLARATIVE if _block(rule_id) not in _CASE_OF_BLOCK] == []


@pytest.mark.parametrize("rule_id", DECLARATIVE)
def test_self_revocation_contract(server: ProviderServer, tmp_path: Path, rule_id: str) -> None:
    case = _CASE_OF_BLOCK[_block(rule_id)]
    # the case's own generator for its rule; for the others, the rule's first positive example (text and secret)
    if rule_id == case.rule_id and (not RULES[rule_id].names or case.line is not None):
        secret = case.make("self-revoke")
        text = (case.line or (lambda s: f"TOKEN={s}"))(secret) + "\n"
    else:
        example = RULES[rule_id].examples.positive[0]
        secret, text = example.secret, example.text + "\n"
    revoked: list[bool] = []

    def handler(seen: Seen) -> Reply:
        if seen.method == case.method and seen.path == case.path(secret):
            if not case.check(seen, secret):
                return json_reply(400, {"message": "bad revocation request"})
            revoked.append(True)
            return case.reply
        return case.gone  # the re-verification, after the revocation

    server.scenarios["p"] = handler
    plan = _plan(tmp_path, [(rule_id, secret, text)])
    assert plan.actions[0].action == "revoke" and plan.actions[0].backend == "http-revoke"
    [result] = _apply(server, tmp_path, plan, {rule_id: "p"})
    assert result.outcome.ok, result.outcome.detail
    assert revoked == [True]
    # (a rule without a live check cannot be re-verified)
    assert result.reverified == ("invalid" if RULES[rule_id].verify else "not_checked")
    first = server.requests_for("p")[0]
    assert first.method == case.method and first.path == case.path(secret)
    log = _audit_text(tmp_path)
    assert secret not in log and '"event": "remediate.apply"' in log
    assert ('"event": "verify"' in log) == bool(RULES[rule_id].verify)


def test_a_403_when_the_token_cannot_revoke_itself(server: ProviderServer, tmp_path: Path) -> None:
    secret = tokens.gitlab_pat("no-scope")
    server.scenarios["p"] = json_reply(403, {"message": "403 Forbidden - insufficient_scope"})
    [result] = _apply(server, tmp_path, _plan(tmp_path, [("gitlab-pat", secret, f"T={secret}\n")]),
                      {"gitlab-pat": "p"})
    assert not result.outcome.ok and "403" in result.outcome.detail
    assert "permission" in result.outcome.detail


def test_rules_without_an_api_fall_back_to_a_ticket_and_say_why(tmp_path: Path) -> None:
    for rule_id in ("stripe-secret-key", "telegram-bot-token", "slack-webhook-url", "huggingface-access-token"):
        spec = ruleset.revoke_spec(RULES[rule_id])
        assert spec is not None and not spec.supported and spec.reason.startswith("UI only")
    sections = {"remediate": {"policy": [{"when": {}, "then": "revoke"}],
                              "tickets": {"backend": "github", "github": {"repo": "acme/app"}}}}
    secret = "sk_" + "live_" + "".join(random.Random(1).choice("abcdefghijklmnop0123456789") for _ in range(30))
    plan = _plan(tmp_path, [("stripe-secret-key", secret, f"K={secret}\n")], sections=sections)
    assert plan.actions[0].action == "ticket" and "UI only" in plan.actions[0].why


# -- AWS: deactivation with an administrator's own keys ------------------------------------------------------------
def test_aws_key_is_deactivated_with_admin_credentials(server: ProviderServer, tmp_path: Path) -> None:
    rng = random.Random("aws-remediate")
    key_id, secret = kit.aws_key_id(rng), kit.rand(rng, 40)
    admin_id, admin_secret = kit.aws_key_id(rng), kit.rand(rng, 40)
    calls: list[Seen] = []

    def iam(seen: Seen) -> Reply:
        calls.append(seen)
        if "GetCallerIdentity" in seen.body.decode():
            return Reply(403, {"Content-Type": "text/xml"},
                         b"<ErrorResponse><Error><Code>InvalidClientTokenId</Code></Error></ErrorResponse>")
        form = urllib.parse.parse_qs(seen.body.decode())
        if form == {"Action": ["UpdateAccessKey"], "AccessKeyId": [key_id], "Status": ["Inactive"],
                    "UserName": ["ci-deployer"], "Version": ["2010-05-08"]} \
                and f"Credential={admin_id}/" in seen.headers.get("Authorization", ""):
            return Reply(200, {"Content-Type": "text/xml"}, b"<UpdateAccessKeyResponse/>")
        return Reply(403, {"Content-Type": "text/xml"}, b"<Error><Code>AccessDenied</Code></Error>")

    server.scenarios["aws"] = iam
    text = f"AWS_ACCESS_KEY_ID={key_id}\nAWS_SECRET_ACCESS_KEY={secret}\n"
    plan = _plan(tmp_path, [("aws-secret-access-key", secret, text)],
                 identity="arn:aws:iam::123456789012:user/ci-deployer")
    env = {"NHIGUARD_AWS_ADMIN_ACCESS_KEY_ID": admin_id, "NHIGUARD_AWS_ADMIN_SECRET_ACCESS_KEY": admin_secret}
    [result] = _apply(server, tmp_path, plan, {"aws-secret-access-key": "aws"}, env=env)
    assert result.outcome.ok, result.outcome.detail
    update = calls[0]
    assert update.method == "POST" and update.path == "/"
    assert secret not in update.text() and admin_secret not in update.text()
    log = _audit_text(tmp_path)
    assert secret not in log and admin_secret not in log
    # without administrator keys nothing is sent
    calls.clear()
    [missing] = _apply(server, tmp_path, plan, {"aws-secret-access-key": "aws"}, env={})
    assert not missing.outcome.ok and "NHIGUARD_AWS_ADMIN" in missing.outcome.detail
    assert calls == []


# -- GitHub installation tokens: DELETE /installation/token with the token itself -----------------------------------
GITHUB_API_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


@pytest.mark.parametrize(("status", "detail"), [(204, "204"), (401, "401")], ids=["revoked", "already-invalid"])
def test_github_installation_token_revokes_itself(server: ProviderServer, tmp_path: Path, status: int,
                                                  detail: str) -> None:
    secret = tokens.github_installation(f"installation-{status}")
    other = tokens.github_installation("someone-else")
    assert secret != other

    def handler(seen: Seen) -> Reply:
        if seen.method == "DELETE" and seen.path == "/installation/token":
            return Reply(status)
        return json_reply(401, {"message": "Bad credentials"})  # the re-verification

    server.scenarios["gh"] = handler
    plan = _plan(tmp_path, [("github-app-installation-token", secret, f"GITHUB_TOKEN={secret}\n")])
    assert plan.actions[0].action == "revoke" and plan.actions[0].backend == "http-revoke"
    [result] = _apply(server, tmp_path, plan, {"github-app-installation-token": "gh"})
    assert result.outcome.ok and result.outcome.state == "revoked", result.outcome.detail
    assert result.outcome.http_status == status and detail in result.outcome.detail
    delete, *rest = server.requests_for("gh")
    assert (delete.method, delete.path, delete.body) == ("DELETE", "/installation/token", b"")
    assert delete.headers.get("Authorization") == f"Bearer {secret}"
    assert all(delete.headers.get(k) == v for k, v in GITHUB_API_HEADERS.items())
    assert [(s.method, s.path) for s in rest] == [("GET", "/installation/repositories?per_page=1")]
    assert result.reverified == "invalid"
    assert secret not in _audit_text(tmp_path)


def test_github_installation_token_failures_are_not_revocations(server: ProviderServer, tmp_path: Path) -> None:
    secret = tokens.github_installation("forbidden")
    server.scenarios["gh"] = json_reply(403, {"message": "Resource not accessible by integration"})
    plan = _plan(tmp_path, [("github-app-installation-token", secret, f"T={secret}\n")])
    [result] = _apply(server, tmp_path, plan, {"github-app-installation-token": "gh"})
    assert not result.outcome.ok and "403" in result.outcome.detail


def test_both_installation_token_rules_revoke_themselves() -> None:
    for rule_id in ("github-app-installation-token", "github-app-installation-token-jwt"):
        spec = ruleset.revoke_spec(RULES[rule_id])
        assert spec is not None and spec.supported and spec.plugin is None and spec.hosts == ("api.github.com",)
        assert spec.request is not None and spec.request.method == "DELETE"
        assert spec.request.url == "https://api.github.com/installation/token"


# -- Heroku: the key lists its authorizations and deletes exactly its own ------------------------------------------
def _heroku_key(rule_id: str, seed: str) -> str:
    return tokens.heroku_api_key(seed) if rule_id == "heroku-api-key" else tokens.heroku_authorization_id(seed)


def _heroku_checked(seen: Seen, secret: str) -> None:
    assert seen.headers.get("Accept") == HEROKU_ACCEPT
    assert seen.headers.get("Authorization") == f"Bearer {secret}"
    assert seen.body == b""


@pytest.mark.parametrize("rule_id", ["heroku-api-key", "heroku-api-key-legacy"])
def test_heroku_key_deletes_only_its_own_authorization(server: ProviderServer, tmp_path: Path,
                                                        rule_id: str) -> None:
    secret, other = _heroku_key(rule_id, "leaked"), _heroku_key(rule_id, "colleague")
    other_id, own_id = tokens.heroku_authorization_id("auth-other"), tokens.heroku_authorization_id("auth-own")
    assert len({secret, other, other_id, own_id}) == 4
    api = HerokuApi({other_id: other, own_id: secret})  # the leaked key's authorization is not the first one
    server.scenarios["hk"] = api
    text = f"HEROKU_API_KEY={secret}\n"
    plan = _plan(tmp_path, [(rule_id, secret, text)])
    assert plan.actions[0].action == "revoke" and plan.actions[0].backend == "heroku-authorization-revoke"
    [result] = _apply(server, tmp_path, plan, {rule_id: "hk"})
    assert result.outcome.ok and result.outcome.state == "revoked", result.outcome.detail
    assert result.outcome.http_status == 200
    assert api.deleted == [own_id] and api.authorizations == {other_id: other}
    listing, delete, reverify = server.requests_for("hk")
    assert (listing.method, listing.path) == ("GET", "/oauth/authorizations")
    assert (delete.method, delete.path) == ("DELETE", f"/oauth/authorizations/{own_id}")
    for seen in (listing, delete):
        _heroku_checked(seen, secret)
    assert (reverify.method, reverify.path) == ("GET", "/account")
    assert result.reverified == "invalid"
    log = _audit_text(tmp_path)
    assert secret not in log and other not in log


def test_heroku_without_an_exact_match_deletes_nothing(server: ProviderServer, tmp_path: Path) -> None:
    secret = tokens.heroku_api_key("leaked")
    others = {tokens.heroku_authorization_id(f"auth-{i}"): tokens.heroku_api_key(f"other-{i}") for i in range(2)}
    # the key authenticates (as a session, say) but no listed authorization carries it; near-misses never match
    near = {tokens.heroku_authorization_id("auth-prefix"): secret[:-1],
            tokens.heroku_authorization_id("auth-longer"): secret + "x"}
    api = HerokuApi({**others, **near}, unlisted={secret})
    server.scenarios["hk"] = api
    plan = _plan(tmp_path, [("heroku-api-key", secret, f"HEROKU_API_KEY={secret}\n")])
    [result] = _apply(server, tmp_path, plan, {"heroku-api-key": "hk"})
    assert not result.outcome.ok and result.outcome.state == "failed"
    assert "no authorization" in result.outcome.detail and "nothing was deleted" in result.outcome.detail
    assert api.deleted == [] and len(api.authorizations) == 4
    seen = server.requests_for("hk")
    assert [(s.method, s.path) for s in seen] == [("GET", "/oauth/authorizations")]
    _heroku_checked(seen[0], secret)
    assert result.reverified is None


def test_heroku_invalid_key_sends_no_deletion(server: ProviderServer, tmp_path: Path) -> None:
    secret = tokens.heroku_api_key("expired")
    server.scenarios["hk"] = HerokuApi({tokens.heroku_authorization_id("a"): tokens.heroku_api_key("a")})
    plan = _plan(tmp_path, [("heroku-api-key", secret, f"HEROKU_API_KEY={secret}\n")])
    [result] = _apply(server, tmp_path, plan, {"heroku-api-key": "hk"})
    assert not result.outcome.ok and "401" in result.outcome.detail and "already invalid" in result.outcome.detail
    assert [(s.method, s.path) for s in server.requests_for("hk")] == [("GET", "/oauth/authorizations")]


def test_heroku_revoker_is_pinned_to_api_heroku_com() -> None:
    for rule_id in ("heroku-api-key", "heroku-api-key-legacy"):
        spec = ruleset.revoke_spec(RULES[rule_id])
        assert spec is not None and spec.plugin == "heroku-authorization-revoke"
        assert spec.hosts == ("api.heroku.com",)
        revoker = Registry().revoker("heroku-authorization-revoke")
        assert revoker is not None and revoker.hosts(spec) == ("api.heroku.com",)


# -- Cloudflare: the token learns its own id from /user/tokens/verify and deletes that id --------------------------
@dataclass
class CloudflareApi:
    """`GET /client/v4/user/tokens/verify` (the caller's own id and status) and `DELETE /client/v4/user/tokens/{id}`;
    a token may delete itself only when `can_edit`. Deletions are recorded."""

    tokens: dict[str, str]  # token -> id
    can_edit: bool = True
    deleted: list[str] = field(default_factory=list)

    def __call__(self, seen: Seen) -> Reply:
        token = seen.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.tokens:
            return json_reply(401, {"success": False, "errors": [{"code": 1000, "message": "Invalid API Token"}]})
        ident = self.tokens[token]
        if seen.method == "GET" and seen.path == "/client/v4/user/tokens/verify":
            return json_reply(200, {"success": True, "result": {"id": ident, "status": "active"}})
        if seen.method == "DELETE" and seen.path.startswith("/client/v4/user/tokens/"):
            if not self.can_edit:
                return json_reply(403, {"success": False, "errors": [{"code": 9109, "message": "Unauthorized"}]})
            target = seen.path.rsplit("/", 1)[1]
            owner = next((t for t, i in self.tokens.items() if i == target), None)
            if owner is None:
                return json_reply(404, {"success": False})
            del self.tokens[owner]
            self.deleted.append(target)
            return json_reply(200, {"success": True, "result": {"id": target}})
        return json_reply(404, {"success": False})


def _cf_id(seed: str) -> str:
    """A token id as Cloudflare writes them (32 hex), generated so no literal looks like a key."""
    return hashlib.md5(f"cloudflare-{seed}".encode()).hexdigest()


def test_cloudflare_token_deletes_its_own_id(server: ProviderServer, tmp_path: Path) -> None:
    rule_id = "cloudflare-api-token-legacy"
    example = RULES[rule_id].examples.positive[0]
    secret, other = example.secret, tokens.github_classic("cloudflare-colleague")
    own_id, other_id = _cf_id("own"), _cf_id("colleague")
    api = CloudflareApi({other: other_id, secret: own_id})
    server.scenarios["cf"] = api
    plan = _plan(tmp_path, [(rule_id, secret, example.text)])
    assert plan.actions[0].action == "revoke" and plan.actions[0].backend == "cloudflare-token-revoke"
    [result] = _apply(server, tmp_path, plan, {rule_id: "cf"})
    assert result.outcome.ok and result.outcome.state == "revoked", result.outcome.detail
    assert api.deleted == [own_id] and api.tokens == {other: other_id}
    verify, delete, reverify = server.requests_for("cf")
    assert (verify.method, verify.path) == ("GET", "/client/v4/user/tokens/verify")
    assert (delete.method, delete.path) == ("DELETE", f"/client/v4/user/tokens/{own_id}")
    assert all(_bearer(s, secret) for s in (verify, delete, reverify))
    assert result.reverified == "invalid"
    assert secret not in _audit_text(tmp_path)


def test_cloudflare_token_without_edit_permission_fails(server: ProviderServer, tmp_path: Path) -> None:
    rule_id = "cloudflare-api-token-legacy"
    example = RULES[rule_id].examples.positive[0]
    api = CloudflareApi({example.secret: _cf_id("own")}, can_edit=False)
    server.scenarios["cf"] = api
    [result] = _apply(server, tmp_path, _plan(tmp_path, [(rule_id, example.secret, example.text)]), {rule_id: "cf"})
    assert not result.outcome.ok and "403" in result.outcome.detail and "User API Tokens" in result.outcome.detail
    assert api.deleted == [] and len(server.requests_for("cf")) == 2


def test_cloudflare_verify_answer_without_a_clean_id_deletes_nothing() -> None:
    assert own_id({"success": True, "result": {"id": _cf_id("own")}}) is not None
    for document in ({"success": True, "result": {"id": "../../accounts/1"}},
                     {"success": False, "result": {"id": "a" * 32}},
                     {"success": True, "result": ["x"]}, [], {"success": True, "result": {"id": 7}}):
        assert own_id(document) is None
