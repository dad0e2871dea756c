"""Detection quality on a generated, labelled corpus.

Realistic files of many languages and formats carry planted fake credentials of every rule family (in the
providers' real formats, sometimes base64/hex/percent-encoded) and decoys (placeholders, templates, env
references, documented example keys, hashes, ids, lockfiles, public keys, wrong checksums, publishable keys).
Every file is scanned with the engine over all built-in rules; findings are matched to the ground truth by
(path, secret).  Required: recall >= 95% on prefixed credentials, >= 80% on contextual/generic ones, and not a
single finding on a decoy file or line (nor on the filler lines around planted values).
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from nhiguard.engine import Engine
from tests.corpus.files import Corpus, Measurement, Planted, build_corpus, engine_scanner, measure, scan_tree
from tests.corpus.tokens import GENERIC, PREFIXED

SEEDS = (20240611, 7)
PREFIXED_RECALL = 0.95
GENERIC_RECALL = 0.80

_cache: dict[int, Measurement] = {}


@functools.cache
def _corpus(seed: int) -> Corpus:
    return build_corpus(seed)


def _measurement(seed: int, engine: Engine, root: Path) -> Measurement:
    if seed not in _cache:
        corpus = _corpus(seed)
        corpus.write(root)
        _cache[seed] = measure(corpus, scan_tree(root, corpus, engine_scanner(engine)))
    return _cache[seed]


def _has_label(label: str, p: Planted) -> bool:
    return p.token.label == label


def _summary(m: Measurement) -> str:
    rows = [
        f"seed {m.corpus.seed}: {len(m.corpus.files)} files, {len(m.corpus.planted)} planted, "
        f"{len(m.corpus.decoys)} decoys"
    ]
    for label in (PREFIXED, GENERIC):
        hit, total = m.recall(functools.partial(_has_label, label))
        rows.append(f"  {label}: {hit}/{total}")
    return "\n".join(rows) + "\n" + m.report()


@pytest.fixture(params=SEEDS, ids=[f"seed{s}" for s in SEEDS])
def measurement(
    request: pytest.FixtureRequest, engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Measurement:
    seed = request.param
    return _measurement(seed, engine, tmp_path_factory.mktemp(f"corpus{seed}"))


def test_corpus_is_deterministic() -> None:
    a, b = build_corpus(SEEDS[1], per_kind=1), build_corpus(SEEDS[1], per_kind=1)
    assert a.files == b.files
    assert [(p.path, p.line, p.secret) for p in a.planted] == [(p.path, p.line, p.secret) for p in b.planted]


def test_corpus_covers_every_generator_and_format() -> None:
    from corpus.files import FORMATS
    from corpus.tokens import GENERATORS

    corpus = _corpus(SEEDS[0])
    kinds = {p.token.kind for p in corpus.planted}
    assert kinds == set(GENERATORS)
    formats = {p.fmt for p in corpus.planted} | {d.fmt for d in corpus.decoys}
    assert set(FORMATS) <= formats
    for p in corpus.planted:  # the recorded line really holds the planted value (or its encoded form)
        lines = corpus.files[p.path].split("\n")[p.line - 1 : p.end_line]
        assert lines, p


def test_prefixed_recall(measurement: Measurement) -> None:
    hit, total = measurement.recall(lambda p: p.token.label == PREFIXED)
    assert total and hit / total >= PREFIXED_RECALL, _summary(measurement)


def test_generic_recall(measurement: Measurement) -> None:
    hit, total = measurement.recall(lambda p: p.token.label == GENERIC)
    assert total and hit / total >= GENERIC_RECALL, _summary(measurement)


def test_no_decoy_is_reported(measurement: Measurement) -> None:
    assert not measurement.false_positives, _summary(measurement)
