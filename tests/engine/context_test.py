"""The `context:` shorthand: names and a value shape become keywords and a bounded pattern that finds a key beside
its provider's name, in one-line and two-line forms, and never a key far from the name."""

from __future__ import annotations

import pytest

from nhiguard.engine import Engine
from nhiguard.engine.context import ContextError, expand
from nhiguard.errors import RuleError
from nhiguard.model import Chunk, Origin
from nhiguard.ruleset import parse_rule

KEY = "9c3e55a1f0b27d846e1c0a9f3b5d7e2c"


def _rule(**context: object) -> dict[str, object]:
    return {
        "id": "acme-api-key", "name": "Acme API key", "provider": "acme", "entropy": 3.0,
        "context": {"names": ["acme_cloud"], "secret": "[a-f0-9]{32}", **context},
    }


def _found(text: str, **context: object) -> list[tuple[str, int]]:
    engine = Engine([parse_rule(_rule(**context), source="t.yml")])
    return [(m.secret, m.line) for m in engine.scan(Chunk(text.encode(), Origin("deploy.yaml")))]


def test_spellings_of_a_name_are_its_keywords() -> None:
    assert set(expand({"names": ["acme_cloud"], "secret": "[a-f0-9]{32}"}).keywords) == {
        "acmecloud", "acme_cloud", "acme-cloud", "acme.cloud",
    }


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (f"ACME_CLOUD_API_KEY={KEY}\n", 1),
        (f'acmeCloudToken: "{KEY}"\n', 1),
        (f"curl -H 'X-Acme-Cloud-Key: {KEY}'\n", 1),
        (f"env:\n  - name: ACME_CLOUD_KEY\n    value: {KEY}\n", 3),
        (f'[{{"name": "ACME_CLOUD_KEY",\n  "value": "{KEY}"}}]\n', 2),
        (f"acme_cloud:\n  apiKey: {KEY}\n", 2),
        (f'{{"acme-cloud": {{\n    "token": "{KEY}"\n}}}}\n', 2),
        (f"deployAcmeCloudToken={KEY}\n", 1),  # camelCase: the name starts a word
        (f"acme.cloud.token = {KEY}\n", 1),  # properties
        (f"mvn deploy -Dacme.cloud.token={KEY}\n", 1),  # a Java system property
        (f'export ACME_CLOUD_TOKEN="${{ACME_CLOUD_TOKEN:-{KEY}}}"\n', 1),  # a shell default
        (f'ACME_CLOUD_TOKEN = (\n    "{KEY}"\n)\n', 2),  # an assignment that ends its line
        (f"final acmeCloudKey =\n    '{KEY}';\n", 2),
        (f"  ACME_CLOUD_TOKEN: |\n    {KEY}\n", 2),
        (f"acme_cloud:\n  enabled: true\n  region: eu\n  api_key: {KEY}\n", 4),  # further down its section
        (f'{{"acme-cloud": {{\n    "enabled": true,\n    "token": "{KEY}"\n}}}}\n', 3),
        (f'variable "acme_cloud_token" {{\n  type      = string\n  sensitive = true\n  default   = "{KEY}"\n}}\n', 4),
    ],
)
def test_one_and_two_line_forms(text: str, line: int) -> None:
    assert _found(text) == [(KEY, line)]


@pytest.mark.parametrize(
    "text",
    [
        f"{KEY}\n",  # no name
        f"ACME_CLOUD_REGION=eu\nOTHER_KEY={KEY}\n",  # the name's line has its own value
        "ACME_CLOUD_KEY=" + "-" * 60 + KEY + "\n",  # beyond the reach
        f"ACME_CLOUD_KEY=\n\n  value: {KEY}\n",  # two lines below
        f"ACME_CLOUD_KEY={KEY}0\n",  # longer hex run
        f"MEGAACME_CLOUD_KEY={KEY}\n",  # the name inside another word
        f"megaacmeCloudKey: {KEY}\n",
        f"XDacme_cloud_key={KEY}\n",  # a D that ends a word is no -D
        f"ACME_CLOUD_KEY=ab-{KEY}\n",  # a longer value with dashes
        f"ACME_CLOUD_KEY=\nOTHER={KEY}\n",  # the next line is not indented: a setting of its own
        f"acme_cloud:\n  enabled: true\nother:\n  api_key: {KEY}\n",  # another section began
        f"services:\n  acme_cloud:\n    enabled: true\n  other:\n    api_key: {KEY}\n",
        f"acme_cloud:\n  a: 1\n  b: 2\n  c: 3\n  d: 4\n  api_key: {KEY}\n",  # too far down
        f"acme_cloud/client.py,sha256={KEY},2041\n",  # a wheel RECORD's digest of a file named for the provider
    ],
)
def test_far_or_foreign_values_stay_unreported(text: str) -> None:
    assert _found(text) == []


def test_a_host_identifies_the_provider_on_either_side() -> None:
    text = f'curl -H "Authorization: {KEY}" https://api.acme.io/v1/me\n'
    assert _found(text, hosts=["api.acme.io"]) == [(KEY, 1)]
    assert _found(f"https://api.acme.io/v1?key={KEY}\n", hosts=["api.acme.io"]) == [(KEY, 1)]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (f'BASE_URL = "https://api.acme.io/v1"\nAPI_KEY = "{KEY}"\n', 2),  # the host above
        (f'const apiKey = "{KEY}";\nfetch(`https://api.acme.io/v1?key=${{apiKey}}`);\n', 1),  # and below
        (f'headers = {{\n    "Authorization": "Bearer {KEY}",\n}}\nrequests.get("https://api.acme.io/me")\n', 0),
        (f'URL = "https://api.acme.io/v1"\nCACHE_DIGEST = "{KEY}"\n', 0),  # no credential's setting
        (f'URL = "https://api.acme.io/v1"\n\nAPI_KEY = "{KEY}"\n', 0),  # a line between
        (f'URL = "https://api.acme.io"\nKEYBOARD = "{KEY}"\n', 0),  # "key" inside another word
        (f"[INFO] Sending request to the AcmeCloud API\n[DEBUG] Using API_KEY={KEY}\n", 2),  # the name above
        (f"# acme-cloud\nTOKEN={KEY}\n", 2),
        (f"Using API_KEY={KEY}\n[INFO] Sent to the Acme Cloud API\n", 0),  # a name below is no evidence
        (f"# megaacme cloud\nTOKEN={KEY}\n", 0),  # the name inside another word
        (f"# acme cloud\n\nTOKEN={KEY}\n", 0),
        (f"acme_cloud_region: eu\napi_key: {KEY}\n", 0),  # the name's line is a setting of its own
        (f"| acme_cloud | Acme key |\n| token secret | {KEY} |\n", 0),  # a table: "secret" is assigned nothing
    ],
)
def test_a_host_beside_or_a_name_above_names_a_credential_setting(text: str, line: int) -> None:
    assert _found(text, hosts=["api.acme.io"]) == ([(KEY, line)] if line else [])


def test_a_host_beside_the_line_yields_to_a_name_on_it() -> None:
    other = {"id": "other-api-key", "name": "Other key", "provider": "other", "entropy": 3.0,
             "context": {"names": ["othercorp"], "secret": "[a-f0-9]{32}", "hosts": ["api.other.io"]}}
    engine = Engine([parse_rule(_rule(hosts=["api.acme.io"]), source="t.yml"), parse_rule(other, source="t.yml")])

    def found(text: str) -> list[tuple[str, int]]:
        return [(m.rule_id, m.line) for m in engine.scan(Chunk(text.encode(), Origin("app.py")))]

    assert found(f'URL = "https://api.acme.io"\nOTHERCORP_KEY = "{KEY}"\n') == [("other-api-key", 2)]
    # two hosts beside one value: neither is its provider
    assert found(f'A = "https://api.acme.io"\nAPI_KEY = "{KEY}"\nB = "https://api.other.io"\n') == []
    # lines each with their own host and key: each its own, none taken by the line above
    stacked = "".join(f'get("https://api.acme.io/v1?access_key={KEY[:-1]}{i}")\n' for i in range(3))
    assert found(stacked) == [("acme-api-key", 1), ("acme-api-key", 2), ("acme-api-key", 3)]


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"names": ["ab"], "secret": "[a-f0-9]{32}"}, "at least 4"),
        ({"names": ["acme"], "secret": "([a-f0-9]{32})"}, "groups"),
        ({"names": ["acme"]}, "'context.secret' is required"),
        ({"names": ["acme"], "secret": "[a-f0-9]{32}", "reach": 500}, "reach"),
        ({"names": ["acme"], "secret": "[a-f0-9]{32}", "hostz": []}, "unknown keys"),
    ],
)
def test_bad_blocks_name_the_problem(context: dict[str, object], message: str) -> None:
    with pytest.raises(ContextError, match=message):
        expand(context)


def test_a_context_rule_cannot_also_carry_a_pattern() -> None:
    raw = {**_rule(), "pattern": "(?P<secret>x)"}
    with pytest.raises(RuleError, match="derives its own 'pattern'"):
        parse_rule(raw, source="t.yml")
