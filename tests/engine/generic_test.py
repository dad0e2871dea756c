"""Generic and structural detection over the whole built-in rule set.

Positive lines put a credential where real code and configuration put one, in many languages and formats; each
must yield exactly the expected secret (and, where it matters, from the expected rule). Decoy lines are what real
repositories are full of next to those names: placeholders, templates, references, identifiers, hashes, ids,
paths, URLs, versions and prose; they must yield nothing from any rule.

Values were drawn once from a seeded generator (random.Random(8128)); none is a real credential.
"""

from __future__ import annotations

import base64
import random

import pytest

from nhiguard.engine import Engine, EngineOptions
from nhiguard.engine.matcher import compile_gate
from nhiguard.model import Chunk, Origin, Rule

K = [
    "MX1gKCk1K88NP2nb90uBNU7ggUDN9W6J",
    "MoBpp8iBUKVx6pEGf4OwOXwRUyWMxuy4",
    "QplZuP2vXlkmlmaM8Z0F1w2onJerv0xA",
    "X884UESJIVYq5cZwK75EgiSyUCXwqde9",
    "FHgRlYlFcM9lkXRYAc4iz1Hn4Gmrty1H",
    "HMzrqRKHgH1Eu4kz6ZnTxPYYSeybk95x",
    "VBFtxhjon1KJJzhX9Ahxsf0Bzo23twLq",
    "VtHJTAyokw2BX5AJbaNtFKYzGkHEMWDg",
    "xFhPhlS3NRWiLgi2uSM2ltUZiQornmPT",
    "C0InfzGaCg7G9AvNGFlIeTKQFYaimBlM",
    "RoqyNtbsOzMHfgeokP6bICuKnLYF2u9K",
    "lLI8hqucsNiJXyWYgGWrD1F4euwPUem7",
    "2EbmD2OKdpU7O83KCi4AUvbRjLvWDGN0",
    "EJV9xl62rddI25eDeEsXUr6x5PEhA5V6",
    "Eg0acEAjIYXRLZEavoc2gm4AwZv2s1fT",
    "QkipDiUwUQShiLIOYlK5CaDU4036NdrC",
    "boxStqrtbFaunhKlYSY0Kn2AAfCYrRS8",
    "JjPRZ4nezpSw0p09kCdJeCCfDzLH0qxT",
    "SNWzrdDVvlyFOcxVCqPaWhN0LjbunKH4",
    "N22yHRiAsEFJLl1XUgobjFmuitA8fLLK",
    "dIrwaIZgx9FaaOxvepMSVHXbtcGROI0I",
    "LNfsYh9N40c6e4mmoHtZz9O4aqMhnyx1",
    "SLBQnN1EX6Pq9FdkDqS6bFvxQH0pK1xO",
    "gxdVjtU8yjy6TM3toPZTmzQ6ApCDqzU6",
]
P = [
    "BPdn@YZ2a?=QKKf+",
    "7Md6Q%@=bm0nt+fI",
    "7Omz73Dr.JxOVY5!",
    "18JEK8Z!1#BnGjkr",
    "Fo#fldOkr7i5hLp^",
    "So~NGUp50*5vuX?t",
    "g@606s1bDqKQUGpf",
    "nD6pIVCpiHIn?E2M",
    "Q*dNWF2l-HThD?aC",
    "d.Eib9%FWtPL6haJ",
    "r5I4-Q!p640eTMTR",
    "hHCtMu6mvxpo%_XX",
]
URL_PW = "Jfp0nHNwU5h-Tq7cZ"
HEX64 = "9c4e1b7a0d3f6285e1c7a94b2d08f63e5a1c9d7b40e28f6a3c5b1d9e7f0a2c48"

# (format, line, expected secret, expected rule)
POSITIVES = [
    # Python
    ("python", f'API_KEY = "{K[0]}"', K[0], "generic-api-key"),
    ("python kwargs", f'client = Client(api_key="{K[1]}", timeout=30)', K[1], "generic-api-key"),
    ("python dict", f'DATABASES = {{"default": {{"USER": "app", "PASSWORD": "{P[0]}"}}}}', P[0], "generic-password"),
    ("python annotated", f'AUTH_TOKEN: str = "{K[2]}"', K[2], "generic-token"),
    ("python raw string", f"SECRET_KEY = r'{K[3]}'", K[3], "generic-secret"),
    # JavaScript / TypeScript
    ("js const", f"const apiKey = '{K[4]}';", K[4], "generic-api-key"),
    ("js object", f'  clientSecret: "{K[5]}",', K[5], "generic-secret"),
    ("ts class field", f"  private readonly authToken: string = '{K[6]}';", K[6], "generic-token"),
    ("js template literal", f"export const ACCESS_TOKEN = `{K[7]}`;", K[7], "generic-token"),
    # Go
    ("go short decl", f'\tapiKey := "{K[8]}"', K[8], "generic-api-key"),
    ("go struct", f'\t\tPassword: "{P[1]}",', P[1], "generic-password"),
    ("go setenv", f'os.Setenv("SIGNING_KEY", "{K[9]}")', K[9], "generic-api-key"),
    # Java / Kotlin
    ("java constant", f'private static final String API_SECRET = "{K[10]}";', K[10], "generic-secret"),
    ("java setter", f'dataSource.setPassword("{P[2]}");', P[2], "generic-password"),
    ("java props.put", f'props.put("mail.smtp.password", "{P[3]}");', P[3], "generic-password"),
    ("kotlin val", f'val accessKey: String = "{K[11]}"', K[11], "generic-api-key"),
    # Ruby
    ("ruby attr", f"  config.api_key = '{K[12]}'", K[12], "generic-api-key"),
    ("ruby hash rocket", f"  :password => '{P[4]}',", P[4], "generic-password"),
    # PHP
    ("php variable", f"$apiKey = '{K[13]}';", K[13], "generic-api-key"),
    ("php array", f"    'client_secret' => '{K[14]}',", K[14], "generic-secret"),
    ("php define", f"define('APP_KEY', '{K[15]}');", K[15], "generic-api-key"),
    # C#
    ("csharp const", f'private const string ApiKey = "{K[16]}";', K[16], "generic-api-key"),
    ("csharp property", f'options.ClientSecret = "{K[17]}";', K[17], "generic-secret"),
    ("csharp verbatim", f'var password = @"{P[5]}";', P[5], "generic-password"),
    # YAML / Kubernetes / CI
    ("yaml", f"  api_key: {K[18]}", K[18], "generic-api-key"),
    ("yaml quoted", f'  password: "{P[6]}"', P[6], "generic-password"),
    ("k8s stringData", f"  token: {K[19]}", K[19], "generic-token"),
    ("github actions env", f"      DEPLOY_TOKEN: {K[20]}", K[20], "generic-token"),
    ("gitlab ci variables", f'  REGISTRY_PASSWORD: "{P[7]}"', P[7], "generic-password"),
    # JSON
    ("json", f'  "apiKey": "{K[21]}",', K[21], "generic-api-key"),
    ("json escaped", f'"{{\\"client_secret\\": \\"{K[22]}\\"}}"', K[22], "generic-secret"),
    ("postman env", f'{{"key": "auth_token", "value": "{K[23]}", "enabled": true}}', K[23], "generic-token"),
    # .env / shell / Dockerfile
    ("dotenv", f"SMTP_PASSWORD={P[8]}", P[8], "generic-password"),
    ("dotenv quoted", f"WEBHOOK_SECRET='{K[0][::-1]}'", K[0][::-1], "generic-secret"),
    # 40 hex under a secret's name is that secret, not a commit id (GitHub OAuth app secrets and classic tokens,
    # webhook signing secrets)
    ("dotenv 40 hex", "SIGNING_SECRET=0b6f3c2e9a1d47f58c3e2b1a9d8f7e6c5b4a3f21",
     "0b6f3c2e9a1d47f58c3e2b1a9d8f7e6c5b4a3f21", "generic-secret"),
    ("python 40 hex", 'client_secret = "7d1e4a9c2b8f3e6a0d5c9b2e7f1a4d8c3b6e9f20"',
     "7d1e4a9c2b8f3e6a0d5c9b2e7f1a4d8c3b6e9f20", "generic-secret"),
    ("shell export", f'export API_TOKEN="{K[1][::-1]}"', K[1][::-1], "generic-token"),
    ("dockerfile ENV", f"ENV PRIVATE_KEY={K[2][::-1]}", K[2][::-1], "generic-api-key"),
    ("dockerfile ENV space", f"ENV ENCRYPTION_KEY {K[3][::-1]}", K[3][::-1], "generic-api-key"),
    ("dockerfile ARG", f"ARG NPM_AUTH_TOKEN={K[4][::-1]}", K[4][::-1], "generic-token"),
    ("cli flag", f"./deploy --api-key {K[5][::-1]} --region eu-west-1", K[5][::-1], "generic-api-key"),
    ("cli flag =", f"mysqldump --password={P[9]} shop", P[9], "generic-password"),
    # INI / TOML / properties / HCL
    ("ini", f"password = {P[10]}", P[10], "generic-password"),
    ("toml", f'api_key = "{K[6][::-1]}"', K[6][::-1], "generic-api-key"),
    ("java properties", f"app.jwt.secret={K[7][::-1]}", K[7][::-1], "generic-secret"),
    ("properties colon", f"spring.datasource.password: {P[11]}", P[11], "generic-password"),
    ("terraform", f'  master_key = "{K[8][::-1]}"', K[8][::-1], "generic-api-key"),
    ("rails secrets", f"  secret_key_base: {HEX64}", HEX64, "generic-secret"),
    # XML
    ("xml element", f"<password>{P[0][::-1]}</password>", P[0][::-1], "generic-password"),
    ("xml appSettings", f'<add key="ApiKey" value="{K[9][::-1]}" />', K[9][::-1], "generic-api-key"),
    ("xml property", f'<property name="client.secret" value="{K[10][::-1]}"/>', K[10][::-1], "generic-secret"),
    # HTTP
    ("http header", f"X-API-Key: {K[11][::-1]}", K[11][::-1], "generic-api-key"),
    ("query string", f"GET /v1/report?api_key={K[12][::-1]}&format=json", K[12][::-1], "generic-api-key"),
    (
        "bearer",
        f'curl -H "Authorization: Bearer {K[13][::-1]}" https://api.acme-corp.io',
        K[13][::-1],
        "http-bearer-token",
    ),
    ("basic url", f"git remote add origin ssh://ci:{URL_PW}@git.acme-corp.io/x.git", URL_PW, "http-basic-auth-url"),
    (
        "postgres uri",
        "DATABASE_URL=postgres://orders:Wq7vT2mLk9Rz4Xs1@db.acme-corp.io:5432/orders",
        "Wq7vT2mLk9Rz4Xs1",
        "postgres-uri-password",
    ),
]

DECOYS = [
    # templates
    "password: ${DB_PASSWORD}",
    "api_key: ${API_KEY:-}",
    "token: ${{ secrets.GITHUB_TOKEN }}",
    'client_secret: "{{ vault_client_secret }}"',
    "secret_key = '{{ .Values.secretKey }}'",
    "password = $(cat /run/secrets/db_password)",
    "set API_KEY=%API_KEY%",
    "<password>${db.password}</password>",
    "password = \"#{ENV.fetch('DB_PASSWORD')}\"",
    "  auth_token: <%= ENV['AUTH_TOKEN'] %>",
    # references
    'api_key = os.environ["API_KEY"]',
    'api_key = os.environ.get("API_KEY")',
    'token = os.getenv("TOKEN")',
    "apiKey: process.env.API_KEY,",
    "const secret = import.meta.env.VITE_SECRET;",
    'secret = ENV["SECRET"]',
    'String password = System.getenv("DB_PASSWORD");',
    'var clientSecret = Environment.GetEnvironmentVariable("CLIENT_SECRET");',
    '$password = getenv("DB_PASSWORD");',
    "'password' => env('DB_PASSWORD'),",
    'token := os.Getenv("TOKEN")',
    "password = settings.DATABASE_PASSWORD",
    "api_key = self.api_key",
    "token = config.token",
    "password = get_password()",
    "apiKey = loadApiKey(vault, 'prod')",
    "secret = secrets[0]",
    "client_secret = CLIENT_SECRET",
    "access_token = access_token_from_env",
    "password: !Ref DbPassword",
    "password: ENC[AES256_GCM,data:Tr0p1c4l==,iv:a1b2c3,tag:d4e5f6,type:str]",
    "  password: !vault |",
    # placeholders
    "API_KEY=your_api_key_here",
    "token: <TOKEN>",
    "password: xxxxxxxx",
    'password = "changeme"',
    "password: password",
    "secret: secret",
    "api_key: null",
    "token: none",
    "password = test",
    'api_key = "example"',
    'token = "dummy"',
    'password: "****"',
    "password: P@ssw0rd",
    'password = "admin123"',
    "SECRET_KEY=REPLACE_ME",
    'api_key: "YOUR_API_KEY"',
    "Password: [REDACTED]",
    "password=",
    "token: TODO",
    "api_key = 'sk-...'",
    # documented example keys
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    '"access_token": "2YotnFZFEjr1zCsicMWpAA",',
    "secret_key: 6LeIxAcTAAAAAGG-vFI1TnRWxMZNFuojJ4WifJWe",
    # hashes and ids
    "api_key: 8f14e45f-ceea-467f-a9f5-1a2b3c4d5e6f",
    "secret: sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
    'password: "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"',
    "c.NotebookApp.password = 'sha1:2f3b1e9a7c4d:5e8f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b'",
    # paths and URLs
    "private_key: /etc/ssl/private/server.key",
    "PRIVATE_KEY=./certs/server.key",
    "credentials: ~/.config/gcloud/application_default_credentials.json",
    'secret = "C:\\\\ProgramData\\\\Acme\\\\secret.bin"',
    "auth_token: https://vault.acme-corp.io/v1/auth/token/lookup",
    "api_key: api.acme-corp.io",
    "PASSWORD_FILE=/run/secrets/db_password",
    # numbers, versions, dates
    "api_key = 123456789012",
    "token: v2.10.0-rc.1",
    "secret: 2024-01-15T10:00:00Z",
    "password: 10.0.0.1",
    # identifiers and words
    "token_type: bearer",
    "password_policy: strong",
    "password: required",
    "password: string",
    "secret: true",
    "secretName: db-credentials",
    "TOKEN_HEADER=X-Auth-Token",
    "tokenizer: bert-base-uncased",
    "max_tokens: 4096",
    'pad_token: "<pad>"',
    "next_page_token: eyJvZmZzZXQiOjEwMH0",
    'csrf_token = "Jk8dQ2pLx7Vm3Rt9Wz4Yb6Nc1Hs5Gf0A"',
    "password: SuperSecretPassword",
    "apiKey: apiKeyValue",
    # prose and code
    "Enter your password and the token sent to your phone.",
    "# password: use at least 12 characters",
    "| api_key | string | Your API key, from the dashboard |",
    "if (password === confirmPassword) { submit(); }",
    "def check_password(password: str) -> bool:",
    "hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt())",
    'raise ValueError("token expired")',
    "token_url: https://auth.acme-corp.io/oauth/token",
    # publishable keys
    "STRIPE_API_KEY=pk_live_51HcKq2EZvKYlo2CJk8dQ2pLx7Vm3Rt9Wz4Yb6Nc1Hs5Gf0A",
    "MAPBOX_ACCESS_TOKEN=pk.eyJ1IjoiYWNtZSIsImEiOiJjazEyMzQ1Njc4OTBhYmMifQ.Jk8dQ2pLx7Vm3Rt9Wz4Yb6",
    # structural look-alikes
    "postgres://db.internal:5432/orders",
    "redis://cache.internal:6379/0",
    "https://github.com/acme/repo.git",
    "Authorization: Bearer ${API_TOKEN}",
    "Authorization: Basic dXNlcm5hbWU6cGFzc3dvcmQ=",
    'curl -u "$USER:$PASS" https://api.acme-corp.io',
    "-----BEGIN PUBLIC KEY-----",
]


def _scan(engine: Engine, text: str, path: str = "src/app/config.txt") -> list[tuple[str, str]]:
    chunk = Chunk(data=(text + "\n").encode(), origin=Origin(path=path))
    return [(m.rule_id, m.secret) for m in engine.scan(chunk)]


@pytest.mark.parametrize(("fmt", "line", "secret", "rule_id"), POSITIVES, ids=[p[0] for p in POSITIVES])
def test_positive_line_yields_exactly_its_secret(
    engine: Engine, fmt: str, line: str, secret: str, rule_id: str
) -> None:
    assert _scan(engine, line) == [(rule_id, secret)], fmt


@pytest.mark.parametrize("line", DECOYS)
def test_decoy_line_yields_nothing(engine: Engine, line: str) -> None:
    assert _scan(engine, line) == []


def test_positives_survive_surrounding_lines(engine: Engine) -> None:
    """A whole file of positives finds each secret once, on its own line."""
    text = "\n".join(p[1] for p in POSITIVES)
    found = _scan(engine, text)
    assert sorted(s for _, s in found) == sorted(p[2] for p in POSITIVES)


def test_decoy_file_yields_nothing(engine: Engine) -> None:
    assert _scan(engine, "\n".join(DECOYS)) == []


def test_generic_rules_are_off_in_lockfiles(engine: Engine) -> None:
    line = f'"api_key": "{K[0]}",'
    assert _scan(engine, line, "package-lock.json") == []
    assert _scan(engine, line, "src/settings.json") == [("generic-api-key", K[0])]


def test_inline_ignore(engine: Engine) -> None:
    marker = "nhiguard" + ":allow"
    assert _scan(engine, f'API_KEY = "{K[0]}"  # {marker}') == []


def test_specific_rule_wins_over_generic(engine: Engine) -> None:
    """A provider token assigned to a generic name is reported once, by the provider's rule."""
    jwt = (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzdmMtYmlsbGluZyIsImlhdCI6MTcxODAwMDAwMH0."
        "Jk8dQ2pLx7Vm3Rt9Wz4Yb6Nc1Hs5Gf0AqE2rT7yU3iO"
    )
    assert _scan(engine, f'access_token = "{jwt}"') == [("jwt", jwt)]
    assert _scan(engine, f"Authorization: Bearer {jwt}") == [("jwt", jwt)]


def test_one_value_one_generic_finding(engine: Engine) -> None:
    """The generic rules own disjoint name endings: a value is never reported twice."""
    for name in ("secret_token", "token_secret", "api_key_secret", "secret_api_key", "password_token"):
        found = _scan(engine, f'{name} = "{K[1]}"')
        assert len(found) == 1, (name, found)


def test_base64_wrapped_jwt_is_decoded(engine: Engine) -> None:
    """Kubernetes Secret data holds base64 of a token; the jwt keyword eyjhbgcioi gives the engine the needle."""
    jwt = (
        "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50Iiwic3ViIjoic3lzdGVtOnNl"
        "cnZpY2VhY2NvdW50OmNpOmRlcGxveWVyIn0.Jk8dQ2pLx7Vm3Rt9Wz4Yb6Nc1Hs5Gf0AqE2rT7yU3iOp"
    )
    line = "  token: " + base64.b64encode(jwt.encode()).decode()
    chunk = Chunk(data=(line + "\n").encode(), origin=Origin(path="k8s/secret.yaml"))
    assert [(m.rule_id, m.secret, m.decoded) for m in engine.scan(chunk)] == [("jwt", jwt, ("base64",))]


# -- the generic gates ---------------------------------------------------------------------------------------------
_NAMES = {"generic-password": ["password", "DB_PASSWD", "passphrase2", "pwd"],
          "generic-secret": ["client_secret", "SECRET_KEY_BASE", "secret-key", "secret1"],
          "generic-token": ["API_TOKEN", "accessToken", "token3"],
          "generic-api-key": ["api_key", "X-Api-Key", "signing.key", "credentials", "SubscriptionKey"]}
# what the patterns accept between the name and the value, up to their widest
_BEFORE = ["", '"', "'", '\\"', '"]', "]", "`"]
_TYPES = ["", ": str", " string", "\t\t\t:\t\t\t&'static\t\t\tstr", ":&'static str", "   str"]
_OPERATORS = ["=", ":", "=>", "||=", "?=", ":=", " = ", "    ||=    ", "\t:\t", "    =>    "]
_QUOTES = ["", '"', "'", "`", 'b"', "r'", 'f"', '@"', '\\"', 'u"']


def _gate_lines(rng: random.Random, name: str) -> list[str]:
    value = "".join(rng.choice("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789_-+/!%") for _ in
                    range(rng.randint(6, 40)))
    quote = rng.choice(_QUOTES)
    closing = quote[-1:] if quote else ""
    return [
        f"{name}{rng.choice(_BEFORE)}{rng.choice(_TYPES)}{rng.choice(_OPERATORS)}{quote}{value}{closing}",
        f"<{name}>{value}</{name}>",
        f'client.set{name}({rng.choice(["", " ", "  "])}{quote or chr(34)}{value}{closing or chr(34)})',
        f'define("{name}",{rng.choice(["", " ", "   "])}{quote or chr(39)}{value}{closing or chr(39)});',
        f"ENV {name}{rng.choice([' ', '  ', chr(9)])}{value}",
        f"deploy --{name}{rng.choice([' ', '   '])}{quote}{value}{closing}",
        f'{{"key": "{name}", "value": "{value}"}}',
    ]


def test_the_generic_gates_pass_every_line_their_patterns_report(builtin_rules: list[Rule]) -> None:
    """A gate replaces its rule's keywords on the Hyperscan path, so it must hold wherever the pattern reports a
    secret: lines drawn at the widest shapes the patterns accept are scanned by the keyword back-end, and the
    gate (as Hyperscan runs it) must match every line where that back-end reports the rule."""
    rules = {r.id: r for r in builtin_rules}
    keyword_engine = Engine(builtin_rules, EngineOptions(prefilter="ahocorasick"))
    rng = random.Random(2718)
    reported = 0
    for rule_id, names in _NAMES.items():
        gate = compile_gate(rules[rule_id].prefilter or "")
        for _ in range(300):
            for line in _gate_lines(rng, rng.choice(names)):
                found = keyword_engine.scan(Chunk(data=line.encode(), origin=Origin(path="app/settings.py")))
                if any(m.rule_id == rule_id for m in found):
                    reported += 1
                    assert gate.search(line), (rule_id, line)
    assert reported > 2000  # the lines really exercise the patterns
