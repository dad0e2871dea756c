"""The secret-shape gate: a rule's pattern is compiled and run on a window only when its `secret` group alone finds
something there. It must be a necessary condition: a window the gate rejects can never hold a match."""

from __future__ import annotations

import random
import string

import pytest

from nhiguard import ruleset
from nhiguard.engine.matcher import compile_pattern, secret_gate
from nhiguard.model import Rule

RULES = [r for r in ruleset.load_builtin() if r.pattern]


def test_most_rules_get_a_gate() -> None:
    gated = [r for r in RULES if secret_gate(r.pattern) is not None]
    assert len(gated) >= 0.9 * len(RULES)


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_the_gate_accepts_every_window_the_pattern_matches(rule: Rule) -> None:
    gate = secret_gate(rule.pattern)
    if gate is None:
        return
    compiled = compile_pattern(rule.pattern)
    texts = [example.text for example in rule.examples.positive]
    texts += [f"{name}_api_key = {example.secret}" for name in rule.names[:2] for example in rule.examples.positive
              if example.secret]
    matched = 0
    for text in texts:
        if compiled.search(text):
            matched += 1
            assert gate.search(text.encode("latin-1", "replace")), (rule.id, text)
    assert matched or not texts, rule.id


@pytest.mark.parametrize("pattern", [
    r"(?x) key \s* = \s* (?P<secret> [a-f0-9]{32} )",  # verbose: the group's text means something else alone
    r"(?x:key = (?P<secret> [a-f0-9]{32} ))",
    r"(?P<q>['\"])(?P<secret>[^'\"]{8,})(?P=q)",  # back-reference
    r"(['\"])(?P<secret>\w{8,})\1",
    r"token=(?P<secret>[a-z]*)",  # matches everywhere: no use
    r"key=(?P<secret>[a-z",  # never closes
])
def test_no_gate_where_it_would_be_unsound_or_useless(pattern: str) -> None:
    assert secret_gate(pattern) is None


def test_a_catastrophic_group_cannot_hang_the_gate() -> None:
    """A repository's rule may nest quantifiers: its gate runs under the rule's time bound and, when the bound
    fires, lets the pattern (under its own bound) decide."""
    import time

    from nhiguard.engine.matcher import gate_open

    gate = secret_gate(r"(?P<secret>(a|aa)+b)")
    assert gate is not None
    started = time.perf_counter()
    assert gate_open(gate, b"a" * 60_000, 0.05)
    assert time.perf_counter() - started < 2


def test_flags_scoped_around_the_group_only_widen_the_gate() -> None:
    pattern = r"(?i:token\s*=\s*(?P<secret>[a-f0-9]{32}))"
    gate = secret_gate(pattern)
    assert gate is not None
    text = "TOKEN = " + "".join(random.Random(3).choice("ABCDEF0123456789") for _ in range(32))
    assert compile_pattern(pattern).search(text) and gate.search(text.encode())


def test_a_gate_covers_every_alternative_group_and_ignores_classes_and_escapes() -> None:
    pattern = r"(?:a=(?P<secret>[)(]{4}x)|b=(?P<secret>\)[0-9]{6}))"
    gate = secret_gate(pattern)
    assert gate is not None
    assert gate.search(b"a=()()x") and gate.search(b"b=)123456") and not gate.search(b"a=1234 b=12")
    assert not gate.search(string.ascii_letters.encode())
