"""Every built-in rule runs its own examples through the whole engine (selftest.check_rule)."""

from __future__ import annotations

import pytest

from nhiguard import ruleset, selftest
from nhiguard.engine import Engine
from nhiguard.model import Rule

RULES = ruleset.load_builtin()


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_examples(rule: Rule, engine: Engine) -> None:
    problems = selftest.check_rule(rule, engine, bounded=False)
    assert not problems, "\n".join(map(str, problems))


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_pattern_is_bounded(rule: Rule) -> None:
    problems = selftest.check_bounded(rule)
    assert not problems, "\n".join(map(str, problems))


def test_no_gate_hits_at_every_byte_of_a_run() -> None:
    """A `prefilter:` gate is a regex Hyperscan reports at every position it matches: one that a run of a single
    character satisfies (Dropbox's `aaaaaaaaaa[a-z0-9_-]{43}`) made 10 MB of `A` ten million callbacks (20 s). A
    run of one byte is what a needle of one repeated byte is for: matched where the run starts and ends."""
    import re
    import string

    runs = [c * 300 for c in string.ascii_lowercase + string.digits + "+/=_-.%:~ "]
    offenders = [(r.id, r.prefilter) for r in RULES if r.prefilter
                 for run in runs if re.search(r.prefilter, run, re.IGNORECASE)]
    assert not offenders


def test_catalogue_size() -> None:
    """Issue 12's floor: at least 650 rules over 450 providers, 300 verifiable, 25 revocable provider families."""
    from nhiguard import catalogue

    totals = catalogue.totals(catalogue.entries(RULES))
    assert totals.rules >= 650, totals
    assert totals.providers >= 450, totals
    assert totals.verifiable >= 300, totals
    assert totals.revocable_providers >= 25, totals


def test_every_rule_has_both_kinds_of_example() -> None:
    missing = [r.id for r in RULES if not r.examples.positive or not r.examples.negative]
    assert not missing


def test_keywords_are_in_every_positive() -> None:
    for rule in RULES:
        if rule.names:
            continue  # a bare positive of a `context:` rule is tested beside its names (selftest.named_contexts)
        for example in rule.examples.positive:
            assert any(k in example.text.lower() for k in rule.keywords), rule.id


def test_cached_rule_rows_give_back_every_field() -> None:
    """The rules cache stores a row per parsed rule in Rule's field order: a field added to Rule and not to the
    row would be lost on every warm start."""
    from dataclasses import fields

    from nhiguard.model import Rule as RuleType

    assert len(ruleset._to_row(RULES[0])) == len(fields(RuleType))
    assert all(ruleset._from_row(ruleset._to_row(rule)) == rule for rule in RULES)
