"""Provider contracts played by the local server: it accepts only requests built the way the provider requires
(GitHub's token header, Slack's auth.test, AWS SigV4, a GCP RS256 JWT grant, Azure SharedKey), and the verifiers
must read what the provider reveals (scopes header, expiry header, ARN, service-account email)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from nhiguard.fingerprint import fingerprint
from nhiguard.model import Finding, Location, Rule
from nhiguard.verify.phase import Verification
from tests.support.providers import ProviderServer, Reply, Seen, json_reply
from tests.support.tokens import github_classic
from tests.verify import kit


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ProviderServer]:
    srv = ProviderServer(tmp_path)
    yield srv
    srv.close()


def _rules(builtin_rules: list[Rule]) -> dict[str, Rule]:
    return {r.id: r for r in builtin_rules}


def _finding(rule: Rule, secret: str, **parts: str) -> Finding:
    return Finding(rule=rule, fingerprint=fingerprint(rule, secret), secret=secret,
                   parts=tuple(sorted(parts.items())), locations=[Location("app/settings.py", 4)])


def _verify(server: ProviderServer, tmp: Path, findings: list[Finding]) -> None:
    with Verification(kit.options(server, tmp, {f.rule.id for f in findings})) as run:
        run.verify(findings)


# -- GitHub ---------------------------------------------------------------------------------------------------------
def test_github_reads_login_scopes_and_expiry_and_rejects_unknown_tokens(
    server: ProviderServer, tmp_path: Path, builtin_rules: list[Rule]
) -> None:
    live, dead = github_classic("contract-live"), github_classic("contract-dead")

    def github(seen: Seen) -> Reply:
        if seen.path != "/user" or seen.headers.get("Accept") != "application/vnd.github+json":
            return json_reply(404, {"message": "Not Found"})
        if seen.headers.get("Authorization") != f"token {live}":
            return json_reply(401, {"message": "Bad credentials"})
        return json_reply(200, {"login": "release-bot", "id": 77}, {
            "X-OAuth-Scopes": "repo, workflow, admin:org", "github-authentication-token-expiration":
            "2027-01-31 12:00:00 UTC"})

    server.scenarios["github-pat-classic"] = github
    rule = _rules(builtin_rules)["github-pat-classic"]
    findings = [_finding(rule, live), _finding(rule, dead)]
    _verify(server, tmp_path, findings)
    assert findings[0].verdict.status == "live"
    assert findings[0].verdict.identity == "release-bot"
    assert findings[0].verdict.scopes == ("admin:org", "repo", "workflow")
    assert findings[0].verdict.expiry == "2027-01-31 12:00:00 UTC"
    assert findings[1].verdict.status == "invalid"


# -- Slack ----------------------------------------------------------------------------------------------------------
def test_slack_auth_test_maps_ok_and_error_codes(server: ProviderServer, tmp_path: Path,
                                                 builtin_rules: list[Rule]) -> None:
    rng = random.Random("slack")
    good = "xoxb-" + kit.rand(rng, 30)
    answers = {good: {"ok": True, "team": "Acme", "user": "ci"}}

    def slack(seen: Seen) -> Reply:
        assert seen.method == "POST" and seen.path == "/api/auth.test"
        token = seen.headers.get("Authorization", "").removeprefix("Bearer ")
        body = answers.get(token, {"ok": False, "error": "invalid_auth"})
        return json_reply(200, body, {"X-OAuth-Scopes": "chat:write"} if body["ok"] else {})

    server.scenarios["slack-bot-token"] = slack
    rule = _rules(builtin_rules)["slack-bot-token"]
    findings = [_finding(rule, good), _finding(rule, "xoxb-" + kit.rand(rng, 30))]
    _verify(server, tmp_path, findings)
    assert [f.verdict.status for f in findings] == ["live", "invalid"]
    assert findings[0].verdict.identity == "ci / Acme" and findings[0].verdict.scopes == ("chat:write",)


# -- AWS SigV4 ------------------------------------------------------------------------------------------------------
def _sigv4_ok(seen: Seen, key_id: str, secret: str) -> bool:
    """Recompute the signature the way STS does, from the request as received."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    amz_date = seen.headers.get("X-Amz-Date", "")
    request = AWSRequest(method=seen.method, url="https://sts.amazonaws.com/", data=seen.body,
                         headers={"Content-Type": seen.headers.get("Content-Type", ""), "X-Amz-Date": amz_date,
                                  "Accept": seen.headers.get("Accept", "")})
    signer = SigV4Auth(Credentials(key_id, secret), "sts", "us-east-1")
    request.context["timestamp"] = amz_date
    canonical = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical)
    expected = signer.signature(string_to_sign, request)
    return f"Signature={expected}" in seen.headers.get("Authorization", "")


def test_aws_sts_signature_is_checked_and_the_arn_revealed(server: ProviderServer, tmp_path: Path,
                                                          builtin_rules: list[Rule]) -> None:
    rng = random.Random("aws")
    key_id, secret = kit.aws_key_id(rng), kit.rand(rng, 40)
    wrong = kit.rand(rng, 40)

    def sts(seen: Seen) -> Reply:
        if seen.method != "POST" or b"Action=GetCallerIdentity" not in seen.body:
            return Reply(400)
        if key_id not in seen.headers.get("Authorization", ""):
            code = "InvalidClientTokenId"
        elif not _sigv4_ok(seen, key_id, secret):
            code = "SignatureDoesNotMatch"
        else:
            return Reply(200, {"Content-Type": "text/xml"}, (
                b"<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::210987654321:root</Arn>"
                b"<UserId>210987654321</UserId><Account>210987654321</Account></GetCallerIdentityResult>"
                b"</GetCallerIdentityResponse>"))
        return Reply(403, {"Content-Type": "text/xml"},
                     f"<ErrorResponse><Error><Code>{code}</Code></Error></ErrorResponse>".encode())

    server.scenarios["aws-secret-access-key"] = sts
    rule = _rules(builtin_rules)["aws-secret-access-key"]
    findings = [_finding(rule, secret, key_id=key_id), _finding(rule, wrong, key_id=key_id),
                _finding(rule, secret, key_id=kit.aws_key_id(rng))]
    _verify(server, tmp_path, findings[:2])
    _verify(server, tmp_path, findings[2:])  # same secret, other key id: a run caches by fingerprint
    assert findings[0].verdict.status == "live"
    assert findings[0].verdict.identity == "arn:aws:iam::210987654321:root"
    assert "ROOT" in findings[0].verdict.detail
    assert findings[1].verdict.status == "invalid" and "SignatureDoesNotMatch" in findings[1].verdict.detail
    assert findings[2].verdict.status == "invalid" and "InvalidClientTokenId" in findings[2].verdict.detail
    assert secret not in json.dumps([s.headers for s in server.seen])  # SigV4 never sends the secret


def test_aws_canary_accounts_are_detected_offline_and_never_called(server: ProviderServer, tmp_path: Path,
                                                                  builtin_rules: list[Rule]) -> None:
    from nhiguard.verify.plugins.aws import THINKST_CANARY_ACCOUNTS, account_from_key_id

    rng = random.Random("canary")
    account = sorted(THINKST_CANARY_ACCOUNTS)[0]
    key_id = kit.aws_key_id_for_account(int(account), rng)
    assert account_from_key_id(key_id) == account
    server.scenarios["aws-secret-access-key"] = Reply(200)
    rules = _rules(builtin_rules)
    findings = [_finding(rules["aws-secret-access-key"], kit.rand(rng, 40), key_id=key_id),
                _finding(rules["aws-access-key-id"], key_id)]
    _verify(server, tmp_path, findings)
    for finding in findings:
        assert finding.verdict.status == "not_checked"
        assert "canary" in finding.verdict.detail and account in finding.verdict.detail
    assert server.seen == []


def test_a_legacy_key_id_has_no_derivable_account() -> None:
    from nhiguard.verify.plugins.aws import account_from_key_id

    assert account_from_key_id("AKIAI" + "A" * 15) is None
    assert account_from_key_id("AKIAJ" + "A" * 15) is None


# -- GCP JWT grant --------------------------------------------------------------------------------------------------
def test_gcp_jwt_is_signed_with_the_key_for_the_service_account(server: ProviderServer, tmp_path: Path,
                                                              builtin_rules: list[Rule]) -> None:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    public = serialization.load_pem_private_key(kit.rsa_pem(), password=None).public_key()

    def google(seen: Seen) -> Reply:
        form = dict(urllib.parse.parse_qsl(seen.body.decode()))
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return json_reply(400, {"error": "unsupported_grant_type"})
        head, claims, sig = form["assertion"].split(".")
        pad = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))  # noqa: E731
        try:
            public.verify(pad(sig), f"{head}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except Exception:
            return json_reply(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        data = json.loads(pad(claims))
        if data["iss"] != kit.GCP_EMAIL or data["aud"] != "https://oauth2.googleapis.com/token":
            return json_reply(400, {"error": "invalid_grant", "error_description": "Invalid grant: account not found"})
        return json_reply(200, {"access_token": "ya29.test", "expires_in": 3599, "token_type": "Bearer"})

    server.scenarios["gcp-service-account-key"] = google
    rule = _rules(builtin_rules)["gcp-service-account-key"]
    pem = kit.rsa_pem().decode().replace("\n", "\\n")
    findings = [_finding(rule, pem, client_email=kit.GCP_EMAIL, private_key_id="ab" * 20),
                _finding(rule, pem, client_email="other@acme-prod.iam.gserviceaccount.com")]
    for finding in findings:  # same key, so the same fingerprint: one run would answer the second from its cache
        _verify(server, tmp_path, [finding])
    assert findings[0].verdict.status == "live" and findings[0].verdict.identity == kit.GCP_EMAIL
    assert findings[1].verdict.status == "invalid"


# -- Azure SharedKey ------------------------------------------------------------------------------------------------
def _azure_expected(seen: Seen, account: str, key_b64: str) -> str:
    """An independent SharedKey computation from the Azure Storage documentation."""
    canonical_headers = "".join(
        f"{k.lower()}:{v.strip()}\n" for k, v in sorted(seen.headers.items(), key=lambda kv: kv[0].lower())
        if k.lower().startswith("x-ms-")
    )
    path, _, query = seen.path.partition("?")
    resource = f"/{account}{path}" + "".join(
        f"\n{k.lower()}:{v}" for k, v in sorted(urllib.parse.parse_qsl(query)))
    to_sign = "GET\n" + "\n" * 11 + canonical_headers + resource
    digest = hmac.new(base64.b64decode(key_b64), to_sign.encode(), hashlib.sha256).digest()
    return f"SharedKey {account}:{base64.b64encode(digest).decode()}"


def test_azure_shared_key_signature_matches_the_documented_scheme(server: ProviderServer, tmp_path: Path,
                                                                 builtin_rules: list[Rule]) -> None:
    rng = random.Random("azure")
    key = base64.b64encode(bytes(rng.randrange(256) for _ in range(64))).decode()
    other = base64.b64encode(bytes(rng.randrange(256) for _ in range(64))).decode()

    def storage(seen: Seen) -> Reply:
        if seen.headers.get("Authorization") != _azure_expected(seen, "acmestore", key):
            return Reply(403, {"x-ms-error-code": "AuthenticationFailed"},
                         b"<Error><Code>AuthenticationFailed</Code></Error>")
        return Reply(200, {"Content-Type": "application/xml"},
                     b"<EnumerationResults><Containers><Container><Name>backups</Name></Container></Containers>"
                     b"</EnumerationResults>")

    server.scenarios["azure-storage-connection-string"] = storage
    rule = _rules(builtin_rules)["azure-storage-connection-string"]
    findings = [_finding(rule, key, account_name="acmestore"), _finding(rule, other, account_name="acmestore")]
    _verify(server, tmp_path, findings)
    assert findings[0].verdict.status == "live" and "backups" in findings[0].verdict.detail
    assert findings[1].verdict.status == "invalid"


# -- missing optional extras ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("rule_id", "modules", "extra"), [
    ("aws-secret-access-key", ("botocore", "botocore.auth", "botocore.awsrequest", "botocore.credentials"), "aws"),
    ("gcp-service-account-key", ("cryptography", "cryptography.hazmat", "cryptography.hazmat.primitives",
                                 "cryptography.hazmat.primitives.asymmetric"), "gcp"),
])
def test_a_missing_optional_extra_is_not_checked_with_a_clear_detail(
    server: ProviderServer, tmp_path: Path, builtin_rules: list[Rule], monkeypatch: pytest.MonkeyPatch,
    rule_id: str, modules: tuple[str, ...], extra: str,
) -> None:
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)  # makes `import name` fail as if not installed
    rule = _rules(builtin_rules)[rule_id]
    rng = random.Random(rule_id)
    parts = {"key_id": kit.aws_key_id(rng)} if extra == "aws" else {"client_email": kit.GCP_EMAIL}
    secret = kit.rand(rng, 40) if extra == "aws" else "-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----"
    finding = _finding(rule, secret, **parts)
    _verify(server, tmp_path, [finding])
    assert finding.verdict.status == "not_checked"
    assert f"nhiguard[{extra}]" in finding.verdict.detail
    assert server.seen == []
