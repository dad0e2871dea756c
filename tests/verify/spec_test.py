"""The `verify:` block format: validation at rule load (errors name the file and the rule id), rendering, and the
pure evaluation of an answer into a verdict."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nhiguard import ruleset, selftest
from nhiguard.errors import RuleError
from nhiguard.verify.spec import Answer, MissingValue, evaluate, host_allowed, json_values, parse, render


def _rule(verify: Any, **extra: Any) -> dict[str, Any]:
    return {"id": "acme-api-key", "name": "Acme API key", "provider": "acme", "keywords": ["acme_"],
            "pattern": r"(?P<secret>acme_[a-z0-9]{20})(?:\s+org=(?P<org>[a-z]+))?", "verify": verify, **extra}


GOOD = {
    "hosts": ["api.acme.test"],
    "request": {"url": "https://api.acme.test/v1/me?org={{org}}", "headers": {"Authorization": "Bearer {{secret}}"}},
    "live": {"status": 200, "json_exists": ["user.name"]},
    "invalid": [{"status": 401}, {"status": 200, "json": {"ok": False}}],
    "reveal": {"identity": [{"json": "user.name"}, {"json": "org"}], "scopes": {"header": "X-Scopes", "split": " "},
               "expiry": {"json": "expires"}},
    "cases": [{"status": 200, "body": {"user": {"name": "bot"}, "org": "acme", "expires": "2030-01-01"},
               "headers": {"X-Scopes": "read write"}, "expect": "live", "identity": "bot / acme",
               "scopes": ["read", "write"], "expiry": "2030-01-01"},
              {"status": 401, "expect": "invalid"}],
}


def test_a_good_block_parses_into_frozen_dataclasses() -> None:
    rule = ruleset.parse_rule(_rule(GOOD), source="rules/acme.yml")
    spec = ruleset.verify_spec(rule)
    assert spec is not None and spec.hosts == ("api.acme.test",) and spec.checks_live
    assert spec.live[0].status == frozenset({200}) and len(spec.invalid) == 2
    with pytest.raises(AttributeError):
        spec.hosts = ()  # type: ignore[misc]
    assert selftest.check_verify_cases(rule) == []


BAD = [
    ({**GOOD, "hosts": ["api.other.test"]}, "not in 'hosts'"),
    ({**GOOD, "request": {"url": "http://api.acme.test/"}}, "https://"),
    ({**GOOD, "request": {"url": "https://api.acme.test/", "method": "DELETE"}}, "never changes state"),
    ({**GOOD, "request": {"url": "https://api.acme.test/?t={{token}}"}}, "unknown placeholders ['token']"),
    ({**GOOD, "live": {"status": 500}}, "always means 'unknown'"),
    ({**GOOD, "live": {"status": 429}}, "always means 'unknown'"),
    ({**GOOD, "live": {"stauts": 200}}, "unknown keys ['stauts']"),
    ({**GOOD, "typo": 1}, "unknown keys ['typo']"),
    ({**GOOD, "plugin": "aws-sts"}, "exactly one of 'request'"),
    ({"hosts": ["x.test"]}, "exactly one of 'request'"),
    ({**GOOD, "request": {"url": "{{secret}}"}, "hosts": []}, "needs 'hosts'"),
    ({**GOOD, "request": {"url": "https://{{org}}.acme.test/"}, "hosts": []}, "needs 'hosts'"),
    ({**GOOD, "request": {"url": "https://u:p@api.acme.test/"}}, "credentials in the URL"),
    ({**GOOD, "request": {"url": "https://api.acme.test/", "json": {"a": 1}}}, "needs method POST"),
    ({**GOOD, "reveal": {"identity": {"json": "a", "header": "b"}}}, "exactly one of 'json'"),
    ({**GOOD, "response": "xml"}, "one of json, text"),
    ({**GOOD, "cases": [{"status": 200, "expect": "alive"}]}, "'expect' is one of"),
    ({**GOOD, "context": {"shop": {"pattern": "[a-z]+"}}}, "named group 'value'"),
    ({**GOOD, "context": {"shop": {"pattern": "(?P<value>[a-z+"}}}, "does not compile"),
    ({"supported": False}, "say why"),
    ({"supported": False, "reason": "no API", "hosts": ["x"]}, "takes only 'reason'"),
    ({**GOOD, "hosts": ["http://api.acme.test"]}, "not a host name"),
    ("plugin: x", "must be a mapping"),
]


@pytest.mark.parametrize(("verify", "message"), BAD)
def test_bad_blocks_are_rule_errors_naming_file_and_rule(verify: Any, message: str) -> None:
    with pytest.raises(RuleError) as info:
        ruleset.parse_rule(_rule(verify), source="rules/acme.yml")
    text = str(info.value)
    assert text.startswith("rules/acme.yml: rule 'acme-api-key': "), text
    assert message in text, text


def test_depends_on_parts_and_context_names_are_known_placeholders() -> None:
    spec = parse({"hosts": ["*.acme.test"], "request": {"url": "https://{{shop}}.acme.test/{{key_id}}"},
                  "live": {"status": 200}, "context": {"shop": {"pattern": "(?P<value>[a-z]+)\\.acme\\.test"}}},
                 parts=["key_id"])
    assert spec.request is not None
    rendered = render(spec.request, {"secret": "s", "shop": "north", "key_id": "k/1"})
    assert rendered.url == "https://north.acme.test/k%2F1" and rendered.host_from_secret


def test_rendering_encodes_bodies_and_refuses_header_injection() -> None:
    spec = parse({"hosts": ["a.test"], "request": {"method": "POST", "url": "https://a.test/{{secret}}",
                                                 "json": {"k": "{{secret}}", "n": 1}},
                  "live": {"status": 200}})
    assert spec.request is not None
    rendered = render(spec.request, {"secret": 'a"b c'})
    assert rendered.url == "https://a.test/a%22b%20c"
    assert json.loads(rendered.body or b"") == {"k": 'a"b c', "n": 1}
    assert ("Content-Type", "application/json") in rendered.headers
    with pytest.raises(ValueError, match="CR, LF"):
        render(spec.request, {"secret": "a\r\nX-Evil: 1"})
    with pytest.raises(MissingValue):
        render(spec.request, {})


def test_a_url_shaped_secret_is_always_sent_over_https() -> None:
    spec = parse({"hosts": ["hooks.acme.test"], "request": {"url": "{{secret}}"}, "live": {"status": 200},
                  "response": "text"})
    assert spec.request is not None
    assert render(spec.request, {"secret": "http://hooks.acme.test/x"}).url == "https://hooks.acme.test/x"
    assert render(spec.request, {"secret": "hooks.acme.test/x"}).url == "https://hooks.acme.test/x"


def test_host_patterns() -> None:
    assert host_allowed("api.github.com", None, ["api.github.com"])
    assert host_allowed("api.github.com", 443, ["api.github.com"])
    assert not host_allowed("api.github.com", 8443, ["api.github.com"])
    assert host_allowed("acme.myshopify.com", None, ["*.myshopify.com"])
    assert not host_allowed("myshopify.com", None, ["*.myshopify.com"])
    assert not host_allowed("evilmyshopify.com", None, ["*.myshopify.com"])
    assert host_allowed("127.0.0.1", 8443, ["127.0.0.1:8443"])
    assert not host_allowed("127.0.0.1", None, ["127.0.0.1:8443"])


def test_evaluation_live_first_then_invalid_else_unknown() -> None:
    spec = parse(GOOD, parts=["org"])
    live = evaluate(spec, Answer(200, {"x-scopes": "write read"}, b'{"user": {"name": "bot"}, "org": "o"}'))
    assert (live.status, live.identity, live.scopes) == ("live", "bot / o", ("read", "write"))
    assert evaluate(spec, Answer(200, {}, b'{"ok": false}')).status == "invalid"
    assert evaluate(spec, Answer(401, {}, b"")).status == "invalid"
    for answer in (Answer(200, {}, b'{"user": {"name": '), Answer(200, {}, b"<html>"), Answer(429, {}, b""),
                   Answer(503, {}, b""), Answer(302, {"location": "x"}, b""), Answer(200, {}, b"[]")):
        assert evaluate(spec, answer).status == "unknown", answer


def test_json_paths_walk_lists() -> None:
    doc = {"a": [{"h": "x"}, {"h": "y"}, {"n": 1}], "b": {"c": None}}
    assert json_values(doc, "a.*.h") == ["x", "y"]
    assert json_values(doc, "a.1.h") == ["y"]
    assert json_values(doc, "b.c") == []
    assert json_values(doc, "missing.path") == []


def test_the_self_test_catches_a_case_that_does_not_match() -> None:
    wrong = {**GOOD, "cases": [{"status": 401, "expect": "live"}]}
    rule = ruleset.parse_rule(_rule(wrong), source="rules/acme.yml")
    problems = selftest.check_verify_cases(rule)
    assert len(problems) == 1 and "expected live, got invalid" in str(problems[0])


def test_every_builtin_verify_block_is_valid_and_its_cases_pass(builtin_rules: list[Any]) -> None:
    with_verify = [r for r in builtin_rules if r.verify is not None]
    assert len(with_verify) >= 40
    problems = [p for r in with_verify for p in selftest.check_verify_cases(r)]
    assert not problems, "\n".join(map(str, problems))
    for rule in with_verify:
        spec = ruleset.verify_spec(rule)
        assert spec is not None
        assert spec.supported or spec.reason
        for host in spec.hosts:  # secrets go to providers' own names, never to an address
            assert not host.replace(".", "").replace(":", "").isdigit(), (rule.id, host)
