"""Fake findings for every verified rule, generated at test time, and the request each should produce.

No token literal lives here: secrets are random strings (a declarative check does not care about the format),
AWS key ids are random base32 of a non-canary account, GCP keys are fresh RSA keys, Azure keys random bytes.
"""

from __future__ import annotations

import base64
import random
import string
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from nhiguard import ruleset
from nhiguard.fingerprint import fingerprint
from nhiguard.http import HttpSettings
from nhiguard.model import Finding, Location, Rule
from nhiguard.verify.phase import Override, VerifyOptions, parse_override
from nhiguard.verify.plugins.aws import account_from_key_id, canary
from nhiguard.verify.spec import VerifySpec, is_whole_placeholder, placeholders, render, request_texts
from tests.support.providers import Contract, ProviderServer

ALNUM = string.ascii_letters + string.digits
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
GCP_EMAIL = "deployer@acme-prod.iam.gserviceaccount.com"
AZURE_ACCOUNT = "acmestore"
OFFLINE_PLUGINS = {"aws-key-id"}

# Context values a check needs and cannot default: supplied as parts (a finding's own parts win over context).
CONTEXT_VALUES = {
    "shop": "acme-shop",
    "username": "acmeci",
    "email": "dev@acme.test",
    "site": "acme",
    "registry": "registry.npmjs.org",
    "account_name": AZURE_ACCOUNT,
}

# (a read timeout generous enough for 32 TLS handshakes at once on a loaded 2-core CI machine)
FAST = HttpSettings(connect_timeout=2.0, read_timeout=2.0, retries=1, backoff=0.01, retry_after_cap=0.5,
                    per_host=32, rate_per_host=0)


def rand(rng: random.Random, n: int, alphabet: str = ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def aws_key_id(rng: random.Random) -> str:
    while True:
        key_id = "AKIA" + rand(rng, 16, BASE32)
        if key_id[4] not in "IJ" and canary(account_from_key_id(key_id)) is None:
            return key_id


def aws_key_id_for_account(account: int, rng: random.Random) -> str:
    """A key id whose embedded account is `account` (the inverse of the offline derivation)."""
    high = (account << 7) | rng.randrange(0, 128)
    data = high.to_bytes(6, "big") + bytes(rng.randrange(256) for _ in range(4))
    return "AKIA" + base64.b32encode(data).decode()


_RSA_PEM: bytes | None = None


def rsa_pem() -> bytes:
    global _RSA_PEM
    if _RSA_PEM is None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _RSA_PEM = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
    return _RSA_PEM


def verified_rules(rules: list[Rule]) -> list[Rule]:
    """Rules whose verify block makes a live call (declarative or plugin)."""
    out = []
    for rule in rules:
        spec = ruleset.verify_spec(rule)
        if spec is not None and spec.checks_live and spec.plugin not in OFFLINE_PLUGINS:
            out.append(rule)
    return sorted(out, key=lambda r: r.id)


@dataclass
class Target:
    rule: Rule
    spec: VerifySpec
    secret: str
    parts: dict[str, str] = field(default_factory=dict)
    contract: Contract = field(default_factory=Contract)

    def finding(self) -> Finding:
        return Finding(
            rule=self.rule,
            fingerprint=fingerprint(self.rule, self.secret),
            secret=self.secret,
            parts=tuple(sorted(self.parts.items())),
            locations=[Location(path="config/settings.env", line=3)],
        )


def _value(name: str, rng: random.Random) -> str:
    if name in CONTEXT_VALUES:
        return CONTEXT_VALUES[name]
    if name == "api_key":
        return rand(rng, 32, "0123456789abcdef")
    if name == "account_sid":
        return "AC" + rand(rng, 32, "0123456789abcdef")
    if name == "api_key_sid":
        return "SK" + rand(rng, 32, "0123456789abcdef")
    return rand(rng, 16)


def target_for(rule: Rule, rng: random.Random) -> Target:
    spec = ruleset.verify_spec(rule)
    assert spec is not None
    if spec.plugin == "aws-sts":
        key_id = aws_key_id(rng)
        return Target(rule, spec, rand(rng, 40, ALNUM + "/+"), {"key_id": key_id},
                      Contract(method="POST", path="/", must_contain=(key_id, "GetCallerIdentity")))
    if spec.plugin == "gcp-service-account":
        secret = rsa_pem().decode().replace("\n", "\\n")
        parts = {"client_email": GCP_EMAIL, "private_key_id": rand(rng, 40, "0123456789abcdef")}
        return Target(rule, spec, secret, parts, Contract(method="POST", path="/token", must_contain=("jwt-bearer",)))
    if spec.plugin == "azure-storage-shared-key":
        secret = base64.b64encode(bytes(rng.randrange(256) for _ in range(64))).decode()
        return Target(rule, spec, secret, {"account_name": AZURE_ACCOUNT},
                      Contract(method="GET", path="/?comp=list", must_contain=(f"SharedKey {AZURE_ACCOUNT}:",)))
    assert spec.request is not None, rule.id
    request = spec.request
    defaults = {c.name for c in spec.context if c.default is not None}
    names: set[str] = set()
    for text in request_texts(request):
        names |= placeholders(text)
    parts = {n: _value(n, rng) for n in sorted(names - {"secret"} - defaults)}
    if is_whole_placeholder(request.url):
        host = spec.hosts[0]
        secret = f"https://{host}/api/webhooks/{rand(rng, 18, '0123456789')}/{rand(rng, 40)}"
    else:
        secret = rand(rng, 40)
    values = {"secret": secret, **parts, **{c.name: c.default for c in spec.context if c.default is not None}}
    rendered = render(request, values)
    split = urllib.parse.urlsplit(rendered.url)
    path = split.path + (f"?{split.query}" if split.query else "")
    needle = urllib.parse.urlsplit(secret).path if rendered.host_from_secret and secret.startswith("https://") \
        else secret
    return Target(rule, spec, secret, parts, Contract(method=rendered.method, path=path, must_contain=(needle,)))


def options(server: ProviderServer, tmp: Path, rule_ids: Iterable[str], *, settings: HttpSettings = FAST,
            intrusive: bool = True, workers: int = 32, extra: tuple[Override, ...] = ()) -> VerifyOptions:
    """Every listed rule's requests go to the local server under /<rule id>/ (the only redirect there is)."""
    overrides = tuple(parse_override(f"{rid}={server.endpoint(rid)}") for rid in rule_ids)
    return VerifyOptions(overrides=overrides + extra, ca_bundle=str(server.ca_path), intrusive=intrusive,
                         audit_log=tmp / "audit.jsonl", workers=workers, http=settings)
