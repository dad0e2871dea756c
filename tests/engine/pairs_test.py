"""Two-line name/value settings (`- name: OKTA_API_TOKEN` / `value: "00…"`): every rule, provider or generic, sees
the value as if it were written `NAME="value"`, and the finding points at the value's own bytes."""

from __future__ import annotations

import random
import string

import pytest

from nhiguard.engine import Engine
from nhiguard.engine.pairs import Pair, find, synthetic
from nhiguard.model import Chunk, Origin
from nhiguard.ruleset import load_builtin
from tests.support.tokens import github_classic

_R = random.Random("pairs")
OKTA = "00" + "".join(_R.choice(string.ascii_letters + string.digits + "_-") for _ in range(40))
TOKEN = "".join(_R.choice(string.ascii_letters + string.digits) for _ in range(28))
AWS_ID = "AKIA" + "".join(_R.choice(string.ascii_uppercase + "234567") for _ in range(16))
AWS_SECRET = "".join(_R.choice(string.ascii_letters + string.digits + "/+") for _ in range(40))


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_builtin())


def _found(engine: Engine, text: str, path: str = "deploy/app.yaml") -> list[tuple[str, str, int, int]]:
    data = text.encode()
    out = []
    for m in engine.scan(Chunk(data, Origin(path))):
        assert data[m.start : m.end].decode() == m.secret  # the span is the value's own bytes
        out.append((m.rule_id, m.secret, m.line, m.column))
    return sorted(out)


def test_kubernetes_env_pair_goes_to_the_provider_rule(engine: Engine) -> None:
    text = (
        "spec:\n  containers:\n    - name: api\n      env:\n        - name: LOG_LEVEL\n          value: info\n"
        f"        - name: OKTA_API_TOKEN\n          value: \"{OKTA}\"\n"
    )
    assert _found(engine, text) == [("okta-api-token", OKTA, 8, 19)]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (f"env:\n  - name: DEPLOY_TOKEN\n    value: {TOKEN}\n", 3),  # YAML, bare
        (f"env:\n  - name: DEPLOY_TOKEN\n    value: '{TOKEN}'  # from the vault\n", 3),
        (f'[\n  {{\n    "name": "DEPLOY_TOKEN",\n    "value": "{TOKEN}"\n  }}\n]\n', 4),  # ECS task definition
        (f'env {{\n  name  = "DEPLOY_TOKEN"\n  value = "{TOKEN}"\n}}\n', 3),  # Terraform
        (f'[{{"ParameterKey": "DeployToken",\r\n  "ParameterValue": "{TOKEN}"}}]\r\n', 2),  # CloudFormation
        (f'<env name="DEPLOY_TOKEN"\n     value="{TOKEN}"/>\n', 2),  # XML over two lines
        (f"- value: {TOKEN}\n  name: DEPLOY_TOKEN\n", 1),  # the value first
    ],
)
def test_generic_rules_see_the_pair(engine: Engine, text: str, line: int) -> None:
    assert [(rule, secret, at) for rule, secret, at, _ in _found(engine, text)] == [("generic-token", TOKEN, line)]


def test_key_id_and_secret_in_two_pairs_pair_up(engine: Engine) -> None:
    text = (
        f"env:\n  - name: AWS_ACCESS_KEY_ID\n    value: {AWS_ID}\n"
        f"  - name: AWS_SECRET_ACCESS_KEY\n    value: \"{AWS_SECRET}\"\n"
    )
    found = {rule: (secret, line) for rule, secret, line, _ in _found(engine, text)}
    assert found["aws-secret-access-key"] == (AWS_SECRET, 5)
    assert found["aws-access-key-id"] == (AWS_ID, 3)


@pytest.mark.parametrize(
    "text",
    [
        f"env:\n  - name: DEPLOY_TOKEN\n    value: \"{TOKEN}\"  # nhiguard:allow\n",  # allowed on its line
        f"env:\n  - name: BUILD_NUMBER\n    value: \"{TOKEN}\"\n",  # a name that says nothing
        "env:\n  - name: DEPLOY_TOKEN\n    valueFrom:\n      secretKeyRef: {name: deploy, key: token}\n",
        "env:\n  - name: DEPLOY_TOKEN\n    value: \"{{ .Values.deployToken }}\"\n",  # a template
        f"env:\n  - name: DEPLOY_TOKEN\n\n    value: {TOKEN}\n",  # not the next line
        f"  default_value: {TOKEN}\n  name: DEPLOY_TOKEN\n",  # another setting ending in "value"
        f"env:\n  - name: DEPLOY_TOKEN\n    value: |\n      {TOKEN}\n",  # a block: not a one-line value
    ],
)
def test_what_is_not_a_pair_or_not_a_secret(engine: Engine, text: str) -> None:
    assert _found(engine, text) == []


def test_pairs_are_found_once_and_mapped_back() -> None:
    data = b'- name: A_TOKEN\n  value: "x1"\n- name: B\n  value: y2 # note\n'
    pairs = find(data, [data.index(b"value"), data.index(b"value") + 2, data.rindex(b"value")], 4096)
    assert pairs == [Pair(b"A_TOKEN", data.index(b"x1"), data.index(b"x1") + 2),
                     Pair(b"B", data.index(b"y2"), data.index(b"y2") + 2)]
    text, places = synthetic(data, pairs)
    assert text == b'A_TOKEN="x1"\nB="y2"\n'
    assert [text[lo:hi] for lo, hi, _ in places] == [b"x1", b"y2"]
    assert [real for _, _, real in places] == [p.start for p in pairs]


def test_every_pair_of_a_large_file_is_reported(engine: Engine) -> None:
    # 20,000 pairs are one rescan of one synthetic text; each maps back to its own value (the time of 100,000 is
    # bench/adversarial_bench.py's 100k-k8s-env-pairs, beside gitleaks and betterleaks)
    values = ["".join(_R.choice(string.ascii_letters + string.digits) for _ in range(28)) for _ in range(20_000)]
    body = "".join(f"- name: T{i}_TOKEN\n  value: {v}\n" for i, v in enumerate(values))
    found = _found(engine, body)
    assert len(found) == 20_000 and {rule for rule, *_ in found} == {"generic-token"}


def test_the_pairs_name_decides_between_two_providers(engine: Engine) -> None:
    # Clerk's secret keys start sk_live_ like Stripe's: the value's own line says nothing, the pair's name does
    clerk = "sk_live_" + "".join(_R.choice(string.ascii_letters + string.digits) for _ in range(42))
    text = f"env:\n  - name: CLERK_SECRET_KEY\n    value: {clerk}\n"
    assert [(rule, line) for rule, _, line, _ in _found(engine, text)] == [("clerk-secret-key", 3)]


@pytest.mark.parametrize("text", [
    "clerk:\n  secretKey: {key}\n",
    '{{"clerk": {{\n  "secret_key": "{key}"}}}}\n',
    "CLERK_SECRET_KEY={key}\n",
])
def test_a_section_named_for_the_provider_decides_too(engine: Engine, text: str) -> None:
    # the section's name is on the line above: the Stripe rule cannot see it, Clerk's context rule can
    clerk = "sk_live_" + "".join(_R.choice(string.ascii_letters + string.digits) for _ in range(42))
    assert [rule for rule, *_ in _found(engine, text.format(key=clerk))] == ["clerk-secret-key"]


def test_a_checksum_proves_its_provider_whatever_the_name(engine: Engine) -> None:
    # a GitHub token where another provider's context rule takes any value of its length (APIMatic's password)
    # stays GitHub's: its CRC32 is proof that a name cannot outweigh
    token = github_classic("named")
    found = [rule for rule, *_ in _found(engine, f"apimatic_password = {token}\n")]
    assert "github-pat-classic" in found and "apimatic-password" in found
