"""Detection quality on the generated corpus: per-family recall, false positives, misses.

    .venv/bin/python bench/quality.py [--seed N ...] [--per-kind 3] [--keep DIR] [--verbose]

Builds the same corpus as tests/quality_test.py (tests/corpus), writes it to a temporary directory, scans every
file with the engine over all built-in rules and prints recall per family, per label, per encoding and per
format, then the misses and the false positives.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # nhiguard and tests.corpus from this checkout
    sys.path.insert(0, str(ROOT))

from nhiguard import filekinds, ruleset  # noqa: E402
from nhiguard.engine import Engine  # noqa: E402
from tests.corpus.files import Measurement, Planted, build_corpus, engine_scanner, measure, scan_tree  # noqa: E402
from tests.corpus.tokens import GENERIC, PREFIXED  # noqa: E402


def _table(title: str, rows: list[tuple[str, int, int]]) -> str:
    out = [f"{title:<28} {'found':>7} {'total':>7} {'recall':>8}"]
    for key, hit, total in rows:
        out.append(f"{key:<28} {hit:>7} {total:>7} {hit / total:>8.1%}")
    return "\n".join(out)


def _probe(engine: Engine, p: Planted) -> list[str]:
    """Rule ids that find the planted secret when it stands alone, unencoded, in a plain `.env` file."""
    from nhiguard.model import Chunk, Origin

    token = p.token
    text = token.value + "\n" if token.multiline else "".join(f"{name}={value}\n" for name, value in token.assignments)
    matches = engine.scan(Chunk(data=text.encode(), origin=Origin(path="probe/.env")))
    hits = [
        m.rule_id
        for m in matches
        if any(v == token.secret or any(n in v for n in token.needles) for v in (m.secret, *(v for _, v in m.parts)))
    ]
    return sorted(set(hits))


def run(seeds: list[int], per_kind: int, keep: Path | None, verbose: bool, file_kinds: bool = True) -> int:
    rules = [*ruleset.load_builtin(), *(filekinds.rules() if file_kinds else [])]  # as `nhiguard scan` loads them
    engine = Engine(rules)
    measurements: list[Measurement] = []
    for seed in seeds:
        corpus = build_corpus(seed, per_kind=per_kind)
        with tempfile.TemporaryDirectory() as tmp:
            root = keep / f"seed{seed}" if keep else Path(tmp)
            corpus.write(root)
            started = time.perf_counter()
            found = scan_tree(root, corpus, engine_scanner(engine))
            elapsed = time.perf_counter() - started
        m = measure(corpus, found)
        measurements.append(m)
        s = corpus.summary()
        print(
            f"# seed {seed}: {s['files']} files ({s['decoy_files']} decoy-only), {s['planted']} planted secrets, "
            f"{s['decoy_lines']} decoy lines; {len(rules)} rules; scanned in {elapsed:.2f}s"
        )
    print()

    def merged(key: Callable[[Planted], str]) -> list[tuple[str, int, int]]:
        acc: dict[str, list[int]] = {}
        for m in measurements:
            for k, hit, total in m.table(key):
                a = acc.setdefault(k, [0, 0])
                a[0] += hit
                a[1] += total
        return [(k, v[0], v[1]) for k, v in sorted(acc.items())]

    print(_table("family", merged(lambda p: f"{p.token.family} ({p.token.label[:3]})")))
    print()
    print(_table("kind", merged(lambda p: p.token.kind)))
    print()
    print(_table("encoding", merged(lambda p: p.encoding)))
    print()
    print(_table("format", merged(lambda p: p.fmt)))
    print()
    rows = merged(lambda p: p.token.label)
    print(_table("label", rows))
    totals = {k: (h, t) for k, h, t in rows}
    fps = sum(len(m.false_positives) for m in measurements)
    hit = sum(h for _, h, _ in rows)
    total = sum(t for _, _, t in rows)
    print(
        f"\nOVERALL recall {hit}/{total} = {hit / total:.1%}; false positives: {fps}; "
        f"extra findings on planted lines: {sum(len(m.extras) for m in measurements)}"
    )
    for m in measurements:
        report = (
            m.report()
            if verbose
            else "\n".join(ln for ln in m.report().splitlines() if not ln.startswith("EXTRA") and "(planted " not in ln)
        )
        if report:
            print(f"\n## seed {m.corpus.seed}\n{report}")
    misses = [p for m in measurements for p in m.misses()]
    if misses:
        print("\n## misses, each re-scanned alone as a plain .env assignment (is it the rule or the context?)")
        for p in misses:
            alone = _probe(engine, p)
            verdict = f"found alone by {', '.join(alone)}" if alone else "NOT found even alone"
            print(f"  {p.token.kind:<22} {p.fmt:<15} {p.encoding:<8} {verdict}")
    p_hit, p_total = totals.get(PREFIXED, (0, 1))
    g_hit, g_total = totals.get(GENERIC, (0, 1))
    ok = p_hit / p_total >= 0.95 and g_hit / g_total >= 0.80 and fps == 0
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, action="append", help="corpus seed (repeatable)")
    parser.add_argument("--per-kind", type=int, default=3, help="credentials generated per kind and seed")
    parser.add_argument("--keep", type=Path, help="write the corpus here instead of a temporary directory")
    parser.add_argument("--verbose", action="store_true", help="also list tolerated extra findings")
    parser.add_argument("--no-file-kinds", action="store_true", help="regex rules only (without file-kind detectors)")
    args = parser.parse_args()
    return run(args.seed or [20240611, 7], args.per_kind, args.keep, args.verbose, not args.no_file_kinds)


if __name__ == "__main__":
    raise SystemExit(main())
