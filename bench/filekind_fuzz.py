"""Hostile lines against every file-kind detector: each file of the generated corpus (tests/filekinds/corpus.py), with
a run of one of 37 characters or short units appended after its content or on a line of its own, goes through the
detectors its path chooses. A reader whose patterns backtrack shows as a run slower than `--limit` seconds (a
linear one takes milliseconds); a hang shows as the case's timeout.

    python bench/filekind_fuzz.py [--size 50000] [--limit 1.0] [--timeout 60]

Each corpus file runs in its own process, so one hang does not stop the rest.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

UNITS = [" ", "\t", "a", "=", ":", '"', "'", "[", "]", "{", "}", "<", ">", "/*", "a=", "a:", " =", ";", "#", "-", ".",
         ",", "\\", "a ", "\n", "\n ", " \n", "[]", "<a ", "a=b;", "- ", "x: ", "&#", "%", "@", "${", "\r"]


def one(index: int, size: int, limit: float) -> int:
    from nhiguard.filekinds import Detectors
    from nhiguard.filekinds import rules as kind_rules
    from tests.filekinds.corpus import build

    case = build()[index]
    detectors = Detectors.for_rules(kind_rules())
    assert detectors is not None
    kinds = detectors.kinds_for(case.path)
    if not kinds:
        return 0
    slow = 0
    for unit in UNITS:
        body = unit * (size // len(unit))
        for where, data in (("after", case.content + body.encode()),
                            ("line", case.content + b"\n" + body.encode() + b"x\n")):
            started = time.perf_counter()
            try:
                detectors.scan(data, case.path, kinds)
            except Exception as exc:  # a reader must never raise: report it like a slow one
                print(f"RAISED {case.path} {unit!r} {where}: {type(exc).__name__}: {exc}"[:300], flush=True)
                slow += 1
                continue
            took = time.perf_counter() - started
            if took > limit:
                print(f"SLOW {case.path} [{','.join(k.name for k in kinds)}] {took:.2f}s {unit!r} {where}", flush=True)
                slow += 1
    return slow


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=50_000, help="characters in each hostile run")
    parser.add_argument("--limit", type=float, default=1.0, help="seconds a reader may take on one input")
    parser.add_argument("--timeout", type=float, default=60, help="seconds for all inputs of one corpus file")
    parser.add_argument("--case", type=int, default=None, help=argparse.SUPPRESS)  # (one corpus file, in a child)
    args = parser.parse_args()
    if args.case is not None:
        return 1 if one(args.case, args.size, args.limit) else 0
    from tests.filekinds.corpus import build

    cases = build()
    bad = 0
    for index, case in enumerate(cases):
        argv = [sys.executable, __file__, "--case", str(index), "--size", str(args.size), "--limit", str(args.limit)]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=args.timeout, cwd=ROOT)
        except subprocess.TimeoutExpired:
            print(f"HANG {case.path}: over {args.timeout:.0f} s", flush=True)
            bad += 1
            continue
        print(done.stdout, end="", flush=True)
        if done.returncode:
            bad += 1
            if done.returncode != 1:
                print(done.stderr[-500:], flush=True)
    print(f"{len(cases)} corpus files, {bad} with a slow or failing reader")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
