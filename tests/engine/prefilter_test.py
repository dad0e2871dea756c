"""Both prefilter back-ends find the same needles at the same offsets, and the engine finds the same things."""

from __future__ import annotations

import random

import pytest

from nhiguard import ruleset
from nhiguard.engine import Engine, EngineOptions
from nhiguard.engine.prefilter import AhoCorasickPrefilter, hyperscan_available, make_prefilter
from nhiguard.model import Chunk, Origin
from tests.support.tokens import github_classic

needs_hyperscan = pytest.mark.skipif(not hyperscan_available(), reason="hyperscan wheel not installed here")


def _random_text(seed: int, needles: list[bytes]) -> bytes:
    rng = random.Random(seed)
    parts = []
    for _ in range(4000):
        roll = rng.random()
        if roll < 0.1:
            needle = rng.choice(needles)
            parts.append(needle.upper() if rng.random() < 0.3 else needle)
        else:
            parts.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 12))))
    return b"".join(parts)


@needs_hyperscan
@pytest.mark.parametrize("seed", range(5))
def test_backends_agree_on_hits(seed: int) -> None:
    needles = [b"ghp_", b"password", b"secret", b"xoxb-", b"akia", b"-----begin", b"aa", b"aaa"]
    text = _random_text(seed, needles)
    hs = make_prefilter(needles, "hyperscan")
    ac = make_prefilter(needles, "ahocorasick")
    assert sorted(hs.scan(text)) == sorted(ac.scan(text))
    assert hs.name == "hyperscan" and ac.name == "ahocorasick"


def test_fallback_finds_case_insensitive_needles_with_end_offsets() -> None:
    pf = AhoCorasickPrefilter([b"ghp_", b"secret"])
    assert sorted(pf.scan(b"xx GHP_ and Secret")) == [(0, 7), (1, 18)]
    assert AhoCorasickPrefilter([]).scan(b"anything") == []


def test_unknown_backend_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown prefilter"):
        make_prefilter([b"x"], "nope")


@needs_hyperscan
def test_engine_results_identical_across_backends() -> None:
    rules = ruleset.load_builtin()
    fast = Engine(rules, EngineOptions(prefilter="hyperscan"))
    portable = Engine(rules, EngineOptions(prefilter="ahocorasick"))
    lines = []
    for rule in rules:
        for example in rule.examples.positive:
            lines.append(example.text)
        lines.extend(rule.examples.negative)
    lines.append(f"T = '{github_classic('pf')}'")
    data = "\n".join(lines).encode()
    chunk = Chunk(data, Origin("mixed.txt"))
    assert fast.scan(chunk) == portable.scan(chunk)
    assert fast.prefilter.name == "hyperscan" and portable.prefilter.name == "ahocorasick"


@needs_hyperscan
@pytest.mark.parametrize("seed", [20240611, 7, 99])
def test_gated_hyperscan_and_portable_backends_agree_on_the_corpus(seed: int) -> None:
    """Rule gates (`prefilter:` regexes) replace frequent keywords on the Hyperscan path only: they must be
    necessary conditions, so both back-ends report exactly the same findings on realistic files."""
    from tests.corpus.files import build_corpus

    rules = ruleset.load_builtin()
    assert any(r.prefilter for r in rules)
    fast = Engine(rules, EngineOptions(prefilter="hyperscan"))
    portable = Engine(rules, EngineOptions(prefilter="ahocorasick"))
    corpus = build_corpus(seed)
    for path, text in corpus.files.items():
        chunk = Chunk(text.encode(), Origin(path))
        assert fast.scan(chunk) == portable.scan(chunk), path


@needs_hyperscan
def test_exact_case_needles_match_only_in_their_case_with_hyperscan() -> None:
    """Base64 forms of keywords are case-sensitive: "bHl6" must not fire on "BHL6" (nor "lyze" on "analyze")."""
    needles, exact = [b"Z2hw", b"secret"], [True, False]
    hs = make_prefilter(needles, "hyperscan", exact=exact)
    assert sorted(hs.scan(b"Z2hw z2hw SECRET")) == [(0, 4), (1, 16)]


def test_portable_backend_finds_a_superset_of_exact_case_needles() -> None:
    ac = make_prefilter([b"Z2hw", b"z2hw", b"secret"], "ahocorasick", exact=[True, True, False])
    # both spellings of one needle lower to the same key: every needle behind it is reported
    assert sorted(ac.scan(b"Z2hw z2hw SECRET")) == [(0, 4), (0, 9), (1, 4), (1, 9), (2, 16)]
