"""The engine's mechanics on small, exact inputs: windows, decoding, inline ignores, pairing, time bounds."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest

from nhiguard.engine import Engine, EngineOptions
from nhiguard.engine.decode import decode_line, unescaped
from nhiguard.model import Allow, Chunk, Dependency, Examples, Origin, Rule
from tests.support.tokens import github_classic, github_classic_bad_checksum

MARK = "nhiguard" + ":allow"  # split so this file does not ignore its own lines


Found = list[tuple[str, str, int, int, tuple[str, ...]]]


def _scan(engine: Engine, text: str | bytes, path: str = "src/a.py") -> Found:
    data = text.encode() if isinstance(text, str) else text
    return [(m.rule_id, m.secret, m.line, m.column, m.decoded) for m in engine.scan(Chunk(data, Origin(path)))]


def _rule(rule_id: str, keyword: str, pattern: str, **kw: object) -> Rule:
    return Rule(
        id=rule_id, name=rule_id, provider="test", severity="high", confidence="high",
        keywords=(keyword,), pattern=pattern, examples=Examples(), **kw,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def token() -> str:
    return github_classic("core")


def test_finds_token_with_line_and_column(engine: Engine, token: str) -> None:
    text = f"a = 1\nb = 2\n    TOKEN = '{token}'\n"
    assert _scan(engine, text) == [("github-pat-classic", token, 3, 14, ())]


def test_wrong_checksum_is_not_reported(engine: Engine) -> None:
    assert _scan(engine, f"TOKEN = '{github_classic_bad_checksum('x')}'\n") == []


@pytest.mark.parametrize(
    ("encode", "kind"),
    [
        (lambda s: base64.b64encode(s.encode()).decode(), ("base64",)),
        (lambda s: base64.urlsafe_b64encode(s.encode()).decode().rstrip("="), ("base64",)),
        (lambda s: s.encode().hex(), ("hex",)),
        (lambda s: s.encode().hex().upper(), ("hex",)),
        (lambda s: base64.b64encode(base64.b64encode(s.encode())).decode(), ("base64", "base64")),
    ],
)
@pytest.mark.parametrize("prefix", ["", "=", "k:", "key=", "export A="])
def test_encoded_secrets_point_at_the_encoded_text(engine: Engine, token: str, encode, kind, prefix: str) -> None:  # type: ignore[no-untyped-def]
    encoded = encode(prefix + token)
    text = f"first line\nvalue: {encoded}\n"
    assert _scan(engine, text) == [("github-pat-classic", token, 2, 8, kind)]


def test_percent_encoded(engine: Engine, token: str) -> None:
    text = "url = https://example.org/cb?state=" + quote(f'{{"t": "{token}"}}') + "\n"
    found = _scan(engine, text)
    assert [(r, s, d) for r, s, _, _, d in found] == [("github-pat-classic", token, ("percent",))]


def test_json_escaped_slashes(engine: Engine) -> None:
    """PHP's json_encode and many loggers write `https:\\/\\/…`: the line is read with its slashes unescaped."""
    hook = "https://hooks.slack.com/services/" + "T024BE7LD/B01ABCD2EFG/xQ9wE3rT5yU7iO1pA2sD4fG6"  # (split: dogfood)
    db = "postgresql:\\/\\/app:Vb7nQ2xLk9pZ@db.acme-corp.io\\/x"
    text = '{"slack": "' + hook.replace("/", "\\/") + '", "db": "' + db + '"}'
    found = {(r, s, d) for r, s, _, _, d in _scan(engine, text + "\n", "settings.json")}
    assert ("slack-webhook-url", hook, ("escaped",)) in found
    assert ("postgres-uri-password", "Vb7nQ2xLk9pZ", ("escaped",)) in found


def test_json_with_escaped_quotes(engine: Engine) -> None:
    """JSON written inside a string literal or a log line escapes every quote (`{\\"aws_secret_access_key\\":
    \\"…\\"}`): rules that want a quote or a separator right after a name read the line with its quotes unescaped,
    and a secret that was found in clear is not reported twice."""
    key_id, secret = "AKIAUJZDEGXD" + "NCF32EPF", "2hpChYgCfrL1spNxnyVm" + "ihA+2O76UMFxFkM+R5Kj"  # (split: dogfood)
    other = "hGAkWvj7FAc9QeWJ" + "KY40uvSwMFLZDe1f"
    text = (
        f'body = "{{\\"aws_access_key_id\\":\\"{key_id}\\",\\"aws_secret_access_key\\":\\"{secret}\\"}}";\n'
        'LOG {\\"client_secret\\":\\"' + other + '\\"}\n'
        'cfg = "<add key=\\"ApiKey\\" value=\\"your-api-key-here\\"/>"\n'  # a placeholder, decoded or not
        'cfg = "<add key=\\"ApiKey\\" value=\\"' + "Vq3xLm9TzR2k" + 'Wp7YbN4c\\"/>"\n'
    )
    found = [(r, s, line, d) for r, s, line, _, d in _scan(engine, text, "src/Client.java")]
    assert ("aws-secret-access-key", secret, 1, ("escaped",)) in found
    assert ("generic-secret", other, 2, ("escaped",)) in found
    assert [r for r, s, _, _ in found if s == key_id] == ["aws-access-key-id"]  # (found in clear, once)
    assert all(line != 3 for _, _, line, _ in found)
    assert [(r, line) for r, _, line, _ in found if line == 4] == [("generic-api-key", 4)]  # (once, not decoded too)
    assert unescaped('{\\"k\\":\\"a\\\\nb\\/c\\"}') == '{"k":"a\\nb/c"}'
    assert decode_line(b'{\\"a\\":\\"b\\\\c\\"}') == (b'{"a":"b\\c"}', "escaped")


@pytest.mark.parametrize(
    "escape",
    [
        lambda t: "".join(f"\\u{ord(c):04x}" for c in t),  # every character, as obfuscated configs do
        lambda t: "".join(f"\\u{ord(c):04X}" for c in t),
        lambda t: t.replace("_", "\\u005f"),  # only the prefix's separator
    ],
)
def test_json_unicode_escapes(engine: Engine, token: str, escape) -> None:  # type: ignore[no-untyped-def]
    """JSON may spell any character as `\\u00XX`: the line is read with those escapes undone."""
    text = '{"name": "ci", "token": "' + escape(token) + '", "note": "caf\\u00e9"}\n'
    assert [(r, s, d) for r, s, _, _, d in _scan(engine, text, "settings.json")] == [
        ("github-pat-classic", token, ("escaped",))
    ]


def test_non_ascii_unicode_escapes_are_left_alone(engine: Engine) -> None:
    assert decode_line(b'"caf\\u00e9 \\u00ff"') is None


@pytest.mark.parametrize("token", ["hf_" + "Qz7Lp2Wx9Kc4Vb8Nm3Rt6Yh1Jd5Gf0Sa2E",
                                   "r8_" + "Qz7Lp2Wx9Kc4Vb8Nm3Rt6Yh1Jd5Gf0Sa2Ek4P"])
def test_three_character_prefix_inside_base64(engine: Engine, token: str) -> None:
    """A Kubernetes Secret's `data:` holds each value base64-encoded from its first byte: a three-character
    prefix is then four whole base64 characters, enough for a needle."""
    text = "data:\n  TOKEN: " + base64.b64encode(token.encode()).decode() + "\n"
    assert [(s, d) for _, s, _, _, d in _scan(engine, text, "k8s/secret.yaml.txt")] == [(token, ("base64",))]


def test_a_providers_documented_sample_is_no_generic_secret(engine: Engine) -> None:
    """Stripe's documented test key is on stripe-test-key's allow list: the span stays Stripe's, so the generic
    rules do not report it under the name it is assigned to."""
    sample = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
    for line in (f'stripe.api_key = "{sample}"', f"STRIPE_SECRET_KEY={sample}"):
        assert _scan(engine, line + "\n") == []


def test_decoding_depth_is_bounded(token: str) -> None:
    from nhiguard import ruleset

    shallow = Engine(ruleset.load_builtin(), EngineOptions(max_decode_depth=1))
    twice = base64.b64encode(base64.b64encode(token.encode())).decode()
    assert _scan(shallow, twice) == []
    assert _scan(shallow, base64.b64encode(token.encode()).decode())[0][4] == ("base64",)


@pytest.mark.parametrize(
    "line",
    [
        "T = '{t}'  # " + MARK,
        "T = '{t}'  # gitleaks" + ":allow",
        "T = '{t}'  # pragma: allowlist" + " secret",
        "T = '{t}'  // trufflehog" + ":ignore",
    ],
)
def test_inline_ignores(engine: Engine, token: str, line: str) -> None:
    assert _scan(engine, line.format(t=token) + "\n") == []


def test_nextline_pragma(engine: Engine, token: str) -> None:
    text = "# pragma: allowlist nextline" + f" secret\nT = '{token}'\nU = '{token}'\n"
    assert [m[2] for m in _scan(engine, text)] == [3]


def test_crlf_and_invalid_utf8(engine: Engine, token: str) -> None:
    data = b"\xff\xfe\x00garbage\r\nT = '" + token.encode() + b"'\r\n\xc3\x28"
    assert _scan(engine, data) == [("github-pat-classic", token, 2, 6, ())]


def test_same_line_many_times_is_cached_and_exact(engine: Engine, token: str) -> None:
    text = "".join(f"T = '{token}'\n" for _ in range(500))
    found = _scan(engine, text)
    assert [m[2] for m in found] == list(range(1, 501))


def test_one_line_minified_file(engine: Engine, token: str) -> None:
    filler = "var a=function(b){return b+1};" * 200_000
    found = _scan(engine, filler + f"t='{token}';" + filler)
    assert [(m[0], m[1], m[2]) for m in found] == [("github-pat-classic", token, 1)]


def test_rule_allow_values_stopwords_regexes_and_paths(token: str) -> None:
    base = _rule("t-tok", "tok_", r"(?P<secret>tok_[a-z0-9]{12})")
    text = "a = tok_abcdef123456\nb = tok_zzzzzz987654\nc = tok_qqqqqq555555\n"
    assert len(_scan(Engine([base]), text)) == 3
    allow = Allow(values=frozenset({"tok_abcdef123456"}), stopwords=("zzz",), regexes=("555$",))
    assert _scan(Engine([Rule(**{**_fields(base), "allow": allow})]), text) == []
    by_path = Rule(**{**_fields(base), "allow": Allow(paths=("fixtures/**",))})
    assert _scan(Engine([by_path]), text, path="fixtures/x.txt") == []
    assert len(_scan(Engine([by_path]), text, path="src/x.txt")) == 3


def _fields(rule: Rule) -> dict[str, object]:
    return {name: getattr(rule, name) for name in rule.__slots__}  # type: ignore[attr-defined]


def test_global_allow_from_config(token: str) -> None:
    from nhiguard import ruleset

    engine = Engine(ruleset.load_builtin(), EngineOptions(allow=Allow(regexes=(token[-6:] + "$",))))
    assert _scan(engine, f"T = '{token}'\n") == []


def test_depends_on_pairs_within_lines() -> None:
    key_id = _rule("t-id", "kid_", r"(?P<secret>kid_[A-Z0-9]{8})", report=False)
    secret = _rule(
        "t-secret", "ksec=", r"ksec=(?P<secret>[a-z0-9]{16})",
        depends_on=(Dependency(rule="t-id", within_lines=2, part="key_id"),),
    )
    engine = Engine([key_id, secret])
    near = "kid_ABCD1234\n\nksec=7f3k9q2m8x1c5v0b\n"
    found = engine.scan(Chunk(near.encode(), Origin("x")))
    assert [(m.rule_id, m.secret, m.parts) for m in found] == [
        ("t-secret", "7f3k9q2m8x1c5v0b", (("key_id", "kid_ABCD1234"),))
    ]
    far = "kid_ABCD1234\n\n\n\nksec=7f3k9q2m8x1c5v0b\n"
    assert engine.scan(Chunk(far.encode(), Origin("x"))) == []


def test_specific_rule_wins_over_generic() -> None:
    specific = _rule("t-specific", "tok_", r"(?P<secret>tok_[a-z0-9]{12})")
    generic = _rule("t-generic", "secret", r"secret\s*=\s*'(?P<secret>[^']{8,})'", generic=True)
    engine = Engine([specific, generic])
    assert [m[0] for m in _scan(engine, "secret = 'tok_q8w7e6r5t4y3'\n")] == ["t-specific"]  # nhiguard:allow
    assert [m[0] for m in _scan(engine, "secret = 'Qz8w7e6R5t4y3uL'\n")] == ["t-generic"]  # nhiguard:allow


def test_pathological_pattern_hits_its_time_bound() -> None:
    evil = _rule("t-evil", "aaaa", r"(?P<secret>(a|aa)+b)", multiline=True)
    engine = Engine([evil], EngineOptions(regex_timeout=0.05))
    assert engine.scan(Chunk(b"a" * 60_000, Origin("evil.txt"))) == []
    assert engine.stats.timeouts == [("t-evil", "evil.txt")]


def test_multiline_pem_block(engine: Engine) -> None:
    import random

    rng = random.Random(3)
    body = base64.b64encode(rng.randbytes(900)).decode()
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    pem = f"-----BEGIN RSA PRIVATE KEY-----\n{lines}\n-----END RSA PRIVATE KEY-----"
    found = _scan(engine, f"# key\n{pem}\n")
    assert len(found) == 1 and found[0][2] == 2 and found[0][1].startswith("-----BEGIN")


def test_generic_filters_run_only_where_no_specific_rule_claims_the_span(monkeypatch: pytest.MonkeyPatch) -> None:
    from nhiguard import ruleset
    from nhiguard.engine import filters

    engine = Engine(ruleset.load_builtin())
    judged: list[str] = []
    original = filters.is_not_secret

    def spy(secret: str) -> bool:
        judged.append(secret)
        return original(secret)

    monkeypatch.setattr(filters, "is_not_secret", spy)
    token = github_classic("claimed")
    data = f'github_token = "{token}"\napi_key = "Zq8wLm3vRt6yPx1nKb4s"\n'.encode()  # nhiguard:allow (test data)
    found = {(m.rule_id, m.secret) for m in engine.scan(Chunk(data=data, origin=Origin(path="settings.cfg")))}
    assert ("github-pat-classic", token) in found
    assert ("generic-api-key", "Zq8wLm3vRt6yPx1nKb4s") in found
    assert token not in judged  # the provider's rule claimed it: the generic filters had nothing to decide
    assert "Zq8wLm3vRt6yPx1nKb4s" in judged


def test_a_private_key_in_a_notebooks_source_lines_is_found() -> None:
    """A notebook keeps each source line as its own JSON string ("MIIE…\\n",): the key is whole across them."""
    import json

    from nhiguard import ruleset

    body = "\n".join(["-----BEGIN PRIVATE KEY-----", *(github_classic(f"pem{i}")[4:] * 2 for i in range(5)),
                      "-----END PRIVATE KEY-----"])
    cell = ["    " + json.dumps(line + "\n") + "," for line in ['KEY = """', *body.split("\n"), '"""']]
    data = "\n".join(['{"cells": [{"cell_type": "code", "source": [', *cell, '    "print(KEY)"]}]}']).encode()
    found = Engine(ruleset.load_builtin()).scan(Chunk(data=data, origin=Origin(path="analysis.ipynb")))
    assert [m.rule_id for m in found] == ["private-key-pem"]
    assert found[0].line == 3 and "-----END PRIVATE KEY-----" in found[0].secret


def test_inline_markers_are_found_in_any_case_across_the_search_blocks() -> None:
    """The marker search lowers the buffer a block at a time: one that straddles a block's end is found once."""
    from nhiguard.engine import core

    marker = ("NHIGUARD" + ":Allow").encode()
    block = core._MARK_BLOCK
    for at in (0, block - 5, block - len(marker), block, 3 * block - 1):
        data = b"x" * at + marker + b"\n" + b"y" * 10
        hits = [(m, offset) for m, offset in core._marker_hits(data) if m == marker.lower()]
        assert hits == [(marker.lower(), at)], at


def test_a_line_of_a_million_inline_markers_is_one_marker() -> None:
    """Each marker counts once a line: a hostile 10 MB line of markers costs one search, not a million scans of
    its line (it took 94 s)."""
    import time

    from nhiguard.engine import core

    marker = ("gitleaks" + ":allow ").encode()
    data = b"x = 1 # " + marker * 700_000 + b"\nnext line\n"
    started = time.monotonic()
    marks = core._InlineMarks(data)
    assert marks.allowed(3) and not marks.allowed(len(data) - 3)
    assert time.monotonic() - started < 2
