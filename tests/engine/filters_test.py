"""The false-positive predicates in nhiguard.engine.filters, one family at a time.

`looks_fake` runs on every candidate of every rule, so it must never reject a random token; `is_not_secret` runs
on generic candidates and carries the heavy heuristics. Random values come from seeded generators.
"""

from __future__ import annotations

import random
import re
import string
import time

import pytest

from nhiguard.engine.filters import is_lockfile, is_not_secret, is_repetitive, looks_fake, path_matches

ALPHABETS = {
    "base62": string.ascii_letters + string.digits,
    "base64": string.ascii_letters + string.digits + "+/",
    "base64url": string.ascii_letters + string.digits + "-_",
    "hex": "0123456789abcdef",
    "lower-alnum": string.ascii_lowercase + string.digits,
    "upper-alnum": string.ascii_uppercase + string.digits,
}


def _tokens(alphabet: str, length: int, count: int, seed: int) -> list[str]:
    rng = random.Random(f"{seed}:{alphabet}:{length}")
    return ["".join(rng.choice(alphabet) for _ in range(length)) for _ in range(count)]


# -- looks_fake ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(ALPHABETS))
@pytest.mark.parametrize("length", [12, 20, 32, 40, 64, 128])
def test_looks_fake_never_rejects_random_tokens(name: str, length: int) -> None:
    rejected = [t for t in _tokens(ALPHABETS[name], length, 2000, 1) if looks_fake(t)]
    assert rejected == []


@pytest.mark.parametrize(
    "token",
    [
        "ghp_" + "0" * 36,  # two or fewer distinct characters
        "sk_live_xxxxxxxxxxxxxxxxxxxxxxxx",
        "xoxb-XXXXXXXXXXXX-XXXXXXXXXXXX",
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "glpat-placeholder-token-value",
        "your_api_key_here",
        "sk-your-key-goes-here",
        "CHANGEME-0a9b8c7d6e5f",
        "dummy_token_7f3a9c",
        "Redacted_4f8a2b9c1d",
        "sample-key-0a1b2c3d4e5f",
        "ghp_1234567890abcdefghij1234567890abcdef",
        "${GITHUB_TOKEN}",
        "${{ secrets.NPM_TOKEN }}",
        "{{ .Values.apiKey }}",
        "{% raw %}token{% endraw %}",
        "<%= ENV['TOKEN'] %>",
        "$(vault read -field=token secret/ci)",
        "prefix-#{token}",
        "$API_TOKEN",
        "%API_TOKEN%",
        "<TOKEN>",
        "[TOKEN]",
        "{token}",
        "@api.token@",
        "__API_TOKEN__",
        "mongodb+srv://<db_username>:<db_password>@cluster0.abcde.mongodb.net/?retryWrites=true",
        "0123456789abcdef0123456789abcdef",  # counting through the hex digits
        "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6",
        "postgres://app:<password>@db.example.com/app",
    ],
)
def test_looks_fake_rejects_placeholders_and_templates(token: str) -> None:
    assert looks_fake(token)


@pytest.mark.parametrize(
    "token",
    [
        "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",
        "h4VAhCN1udEzwX25cGzTpZ5vfAKE_NlmfdzC9-R1ZX21",  # "fAKE_" in mixed case is noise, not a marker
        "uXJYsY1O1IBXxXxq74fNVJNuVbE4Iao3c6KZ",  # "xXxX" likewise
        "Pa${ss-w0rd",  # an unclosed "${" is a character, not a template
        "a$(b9Qx2",
        "@mwZY_5gnwGm",
        "x<7Qa9>mZt",  # angle brackets around no name: characters of a password
    ],
)
def test_looks_fake_keeps_real_looking_values(token: str) -> None:
    assert not looks_fake(token)


# -- is_not_secret: what generic rules must not report -------------------------------------------------------------
REJECTED = {
    "placeholder": [
        "your_api_key_here",
        "<TOKEN>",
        "xxxxxxxx",
        "changeme",
        "password",
        "secret",
        "null",
        "none",
        "true",
        "test",
        "example",
        "dummy",
        "****",
        "********",
        "•••••••",
        "sk-...",
        "…",
        "REPLACE_ME",
        "TODO",
        "P@ssw0rd!",
        "P@ssw0rd123",
        "admin123",
        "hunter2",
        "Password1",
        "s3cr3t",
        "mysecretpassword",
        "test_token_123",
        "my-api-key",
        "base64encodedcredentials",
        "Zm9vYmFyYmF6cXV4MTIz",  # base64("foobarbazqux123")
        "bm90IG15IHJlYWwgcGFzc3dvcmQ=",  # base64("not my real password")
        "Y2hhbmdlbWU=",  # base64("changeme"), as a Kubernetes Secret's data carries it
        "eHh4eHh4eHg=",  # base64("xxxxxxxx")
        "qwe089234lkjsdf",  # keyboard mash
        "lsdkfol23w54jlksdef",
    ],
    "template": [
        "${VAR}",
        "${DB_PASSWORD:-postgres}",
        "{{ secrets.X }}",
        "${{ secrets.X }}",
        "$(cmd)",
        "%VAR%",
        "$API_KEY",
        "#{token}",
        "%(password)s",
        "{0}",
        ":api_key",
    ],
    "reference": [
        "os.environ[API_KEY]",
        'os.environ["API_KEY"]',
        'os.getenv("X")',
        "process.env.X",
        "import.meta.env.VITE_KEY",
        'ENV["X"]',
        'ENV.fetch("X")',
        'System.getenv("X")',
        'Environment.GetEnvironmentVariable("X")',
        "$_ENV['X']",
        "$env:API_KEY",
        "secrets.API_KEY",
        "!Ref DbPassword",
        "!vault",
        "ENC[AES256_GCM,data:abc,iv:x,tag:y,type:str]",
        "$ANSIBLE_VAULT;1.1;AES256",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db",
    ],
    "identifier or call": [
        "getPassword()",
        "get_api_key(vault, 'prod')",
        "self.password",
        "config.api_key",
        "settings.DATABASE_PASSWORD",
        "data[0]",
        "db_password",
        "DB_PASSWORD",
        "apiKey",
        "SecretValue",
        "clientSecretKey",
        "my-secret-token",
        "X-Auth-Token",
        "bert-base-uncased",
        "Bearer",
        "Hidden",
        "self._context.lock_file_fd_token",
        "cls._refresh_token",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "HTTPPasswordMgr",
        "password_ptr",
        "ec.EllipticCurvePrivateKey",
        "x25519.X25519PrivateKey",
        "rust_openssl.keys.load_pem_private_key",
        "SomeKindOfPassword123!@#",
        "MyTestDatabaseSecret1-d4e5f6",
        "PassWordMustBeAtLeast6Chars.",
        "([{uni.xid_start}][{uni.xid_continue}]+)",
        "f{prefix}-{token}",
    ],
    "documented example": [
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2"
        "MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        "2YotnFZFEjr1zCsicMWpAA",
        "czZCaGRSa3F0MzpnWDFmQmF0M2JW",
        "0685bd9184jfhq22",
        "6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI",
        "QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
        "AKIAIOSFODNN7EXAMPLE",
        "144c9defac04969c7bfad8efaa8ea194",
        "UseDevelopmentStorage=true",
        "u956-afus321g565fghr519",
        "UseDevelopmentStorage=true;DevelopmentStorageProxyUri=http://127.0.0.1",
    ],
    "hash or id": [
        "2fd4e1c",
        "8f14e45f-ceea-467f-a9f5-1a2b3c4d5e6f",
        "{8F14E45F-CEEA-467F-A9F5-1A2B3C4D5E6F}",
        "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==",
        "sha1:2f3b1e9a7c4d:5e8f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b",
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
        "$6$rounds=5000$saltsalt$Vq3b0QWp1",
        "pbkdf2_sha256$600000$Jk8dQ2pLx7Vm$3Rt9Wz4Yb6Nc1Hs5Gf0A",
        "{SSHA}Jk8dQ2pLx7Vm3Rt9Wz4Yb6Nc1Hs5Gf0A",
    ],
    "path or url": [
        "/etc/secrets/db_password",
        "./config/credentials.json",
        "../certs/server.key",
        "~/.ssh/id_ed25519",
        "C:\\Users\\svc\\keys\\api.pem",
        "C:/ProgramData/Acme/secret.bin",
        "secrets/prod/api.key",
        "id_rsa.pub",
        "credentials.json",
        "file:///run/secrets/token",
        "https://api.acme-corp.io/v1/tokens",
        "www.acme-corp.io",
        "api.acme-corp.io",
        "localhost:5432",
        "ops@acme-corp.io",
        "Xq7Lp2Wz9Kc4@smtp.sendgrid.net:587",  # smtp://apikey:…@host: the URL rules report the password alone
        "s3cr3t!pw@db.acme-corp.io:5432/orders",
    ],
    "number or version": [
        "1234",
        "123456789012",
        "1.2.3",
        "v2.10.0-rc.1",
        "2024-01-15",
        "2024-01-15T10:00:00Z",
        "10.0.0.1",
        "10.0.0.0/16",
        "30s",
        "512Mi",
        "#ff00aa",
        "3.0-3.12",
    ],
    "repetition or sequence": [
        "abcabcabcabcabc",
        "aaaaaaaaaaaaaaaa",
        "ababababab12",
        "Qwerty_Token_1",
        "x123456y",
        "zxcvbnm1!",
    ],
    "prose": [
        "Please enter your password",
        "The token used to call the API.",
        "Your API key, from the dashboard",
    ],
    "publishable": [
        "pk_live_51HcKq2EZvKYlo2CJk8dQ2pLx7Vm3Rt9Wz4Yb6Nc1Hs5Gf0A",
        "pk_test_51HcKq2EZvKYlo2CJk8dQ2pLx7Vm3Rt9Wz4Yb6Nc1Hs5Gf0A",
        "pk.eyJ1IjoiYWNtZSIsImEiOiJjazEyMzQ1In0.Jk8dQ2pLx7Vm3Rt9Wz4Yb6",
        "sb_publishable_Jk8dQ2pLx7Vm3Rt9Wz4Yb6Nc1Hs5Gf0A",
    ],
}


@pytest.mark.parametrize(
    ("kind", "value"), [(k, v) for k, vs in REJECTED.items() for v in vs], ids=lambda x: str(x)[:40]
)
def test_is_not_secret_rejects(kind: str, value: str) -> None:
    assert is_not_secret(value), kind


KEPT = [
    "Tr0ub4dor&3x",
    "hQ7#vL2!pZ9m",
    "BPdn@YZ2a?=QKKf+",
    "MX1gKCk1K88NP2nb90uBNU7ggUDN9W6J",
    "wJ9-kD7_qP2xL5mN",
    "q8Vx2mZl0rT9bW4kYc7nJg==",  # base64 of random bytes
    "a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4",  # 32 hex: the most common API key shape, kept
    # 40 hex: under a secret's name it is that secret (GitHub OAuth app secrets and classic tokens, webhook
    # secrets), not a commit id
    "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",
    "2FD4E1C67A2D28FCED849EE1BB76E7391B93EB12",
    "9c4e1b7a0d3f6285e1c7a94b2d08f63e5a1c9d7b40e28f6a3c5b1d9e7f0a2c48",  # 64 hex: openssl rand -hex 32
    "base64:J2vX9kQ7mL4pR8sT1wY5zA3bC6dE0fG2hI4jK6lM8nO=",  # Laravel APP_KEY
    "django-insecure-7#k2!x9@q$w5%e8^r1&t4*y6(u3)i0_o+p",
    "Summer2024!x9",
    "https://deploy:Wq7vT2mLk9Rz4Xs1@git.acme-corp.io/x.git",  # a URL that carries a password
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzdmMtYmlsbGluZyJ9.Jk8dQ2pLx7Vm3Rt9Wz4Yb6Nc1Hs5Gf0AqE2rT7yU3iO",
    "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIMD7gmoxiIDn7a/fJD+TDbhtfZv971zpZo//Rx3KTpB6oAoGCCqGSM49\n"
    "AwEHoUQDQgAEF5ZzW5vJaxuSasZ56R+R4yM7+a3MbnmRgWv10g45pIV/wP3ZLN7s\n-----END EC PRIVATE KEY-----",
]


@pytest.mark.parametrize("value", KEPT, ids=lambda x: x[:24])
def test_is_not_secret_keeps_credentials(value: str) -> None:
    assert not is_not_secret(value)


@pytest.mark.parametrize("name", ["base62", "base64", "base64url", "lower-alnum", "upper-alnum"])
@pytest.mark.parametrize("length", [20, 24, 32, 48, 64])
def test_is_not_secret_almost_never_rejects_random_tokens(name: str, length: int) -> None:
    tokens = _tokens(ALPHABETS[name], length, 2000, 2)
    rejected = [t for t in tokens if is_not_secret(t)]
    assert len(rejected) <= 2, rejected  # ≤ 0.1%: an accidental keyboard run or a word-shaped short token


def test_is_not_secret_keeps_random_hex_keys() -> None:
    for length in (32, 48, 64, 128):
        tokens = _tokens(ALPHABETS["hex"], length, 500, 3)
        assert sum(map(is_not_secret, tokens)) <= 1, length


def test_is_repetitive() -> None:
    assert is_repetitive("abcabcabcabc")
    assert is_repetitive("aabbaabbaabbaabb")
    assert is_repetitive("token-123456-x")
    assert not is_repetitive(
        "9c4e1b7a0d3f6285e1c7a94b2d08f63e5a1c9d7b40e28f6a3c5b1d9e7f0a2c489c4e1b7a0d3f6285e1c7a9"
        "4b2d08f63e5a1c9d7b40e28f6a3c5b1d9e7f0a2c48"
    )  # 16 distinct hex digits are plenty
    assert not is_repetitive("MX1gKCk1K88NP2nb90uBNU7ggUDN9W6J")


# -- paths ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("package-lock.json", True),
        ("web/yarn.lock", True),
        ("svc/go.sum", True),
        ("infra\\.terraform.lock.hcl", True),
        ("Cargo.lock", True),
        ("src/package.json", False),
        ("docs/lock.md", False),
    ],
)
def test_is_lockfile(path: str, expected: bool) -> None:
    assert is_lockfile(path) is expected


@pytest.mark.parametrize(
    ("path", "patterns", "expected"),
    [
        ("tests/fixtures/keys.pem", ("**/fixtures/**",), True),
        ("src/app/settings.py", ("**/fixtures/**",), False),
        ("a/b/testdata/x.json", ("testdata/",), True),
        ("docs/README.md", ("*.md",), True),
        ("./.github/workflows/ci.yml", (".github/**",), True),
        ("./src/a.py", ("src/*.py",), True),
        ("src\\win\\a.py", ("src/win/*.py",), True),
        ("vendor/lib/a.go", ("/vendor/",), True),
        ("src/vendor.go", ("/vendor/",), False),
    ],
)
def test_path_matches(path: str, patterns: tuple[str, ...], expected: bool) -> None:
    assert path_matches(path, patterns) is expected


def _as_regex(pattern: str) -> re.Pattern[str]:
    """The gitignore-flavoured glob as the backtracking regex it once was: a reference for short paths."""
    pattern = pattern.lstrip("/")
    if "/" not in pattern.rstrip("/"):
        pattern = "**/" + pattern
    if pattern.endswith("/"):
        pattern += "**"
    parts, i = [], 0
    while i < len(pattern):
        for glob, regex in (("**/", "(?:.*/)?"), ("**", ".*"), ("*", "[^/]*"), ("?", "[^/]")):
            if pattern.startswith(glob, i):
                parts.append(regex)
                i += len(glob)
                break
        else:
            parts.append(re.escape(pattern[i]))
            i += 1
    return re.compile("^" + "".join(parts) + "(?:/.*)?$")


def test_path_globs_match_as_a_regex_would() -> None:
    rng = random.Random(9)
    alphabet = ["a", "b", "/", "*", "**", "?", "**/", ".", "["]
    paths = ["".join(rng.choice("ab/.[") for _ in range(rng.randrange(1, 9))) for _ in range(300)]
    for _ in range(400):
        pattern = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 6)))
        regex = _as_regex(pattern)
        for path in paths:
            bare = path
            while bare.startswith("./"):  # (as path_matches reads a path)
                bare = bare[2:]
            assert path_matches(path, (pattern,)) == bool(regex.match(bare)), (pattern, path)


def test_a_path_glob_of_many_stars_is_matched_in_linear_time() -> None:
    # a repository's `allow.paths` is matched against every file: as a backtracking regex this glob took 1.3 s on
    # a 30-character path, 46 s on 40
    started = time.perf_counter()
    assert not path_matches("a" * 3000, ("*a*a*a*a*a*a*a*a*a*a*a*b", "**a**a**a**a**a**a**a**a**b"))
    assert path_matches("a" * 40 + "/b", ("**a**a**a**a**a**a**a**a**b",))
    assert time.perf_counter() - started < 2
