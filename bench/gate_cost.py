"""What each part of the keyword prefilter costs per byte of real code: the whole database, the database without
the `context:` rules' provider names, and without each regex gate (`prefilter:`) in turn.

    python bench/gate_cost.py [--tree DIR] [--mb 40] [--runs 5] [--top 15]

A gate Hyperscan cannot anchor on a literal runs at every byte: one such gate (UptimeRobot's `(?:u|ur|m)[0-9]…`)
was a third of the whole scan. Costs are not additive (Hyperscan shares work between expressions), so each gate is
measured as the difference it makes to the whole database, median of alternating runs, as a share of the whole.
The sample is the files under --tree (default: the Python standard library), read until --mb megabytes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import sysconfig
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nhiguard.engine.core import Engine  # noqa: E402
from nhiguard.engine.prefilter import HyperscanPrefilter, hyperscan_available  # noqa: E402
from nhiguard.ruleset import load_builtin  # noqa: E402


def sample(tree: Path, limit: int) -> list[bytes]:
    out: list[bytes] = []
    total = 0
    for path in sorted(tree.rglob("*")):
        if total >= limit:
            break
        try:
            if not path.is_file() or path.is_symlink() or path.stat().st_size > 8 << 20:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        out.append(data)
        total += len(data)
    return out


def seconds(prefilter: HyperscanPrefilter, blobs: list[bytes], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        for blob in blobs:
            prefilter.scan(blob)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def build(needles: Sequence[bytes], exact: Sequence[bool], gates: Sequence[str]) -> HyperscanPrefilter:
    return HyperscanPrefilter(needles, gates=gates, exact=exact, runs=[None] * len(needles))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, default=Path(sysconfig.get_paths()["stdlib"]))
    parser.add_argument("--mb", type=int, default=40)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    if not hyperscan_available():
        print("Hyperscan is not installed: gates are a Hyperscan-only speed-up, nothing to measure")
        return 0
    blobs = sample(args.tree, args.mb << 20)
    size = sum(map(len, blobs))
    rules = load_builtin()
    engine = Engine(rules)
    needles, exact, targets = engine._needles, engine._exact, engine._targets
    gates = engine._gates()
    named = {i for i, r in enumerate(rules) if r.names}
    plain = [i for i in range(len(needles)) if not (targets[i] and all(t in named for t in targets[i]))]
    print(f"sample: {len(blobs):,} files, {size / 1e6:.0f} MB from {args.tree}")
    print(f"{len(needles):,} needles ({len(needles) - len(plain):,} of them context names), {len(gates)} gates")

    whole = seconds(build(needles, exact, gates), blobs, args.runs)
    no_names = seconds(build([needles[i] for i in plain], [exact[i] for i in plain], gates), blobs, args.runs)
    no_gates = seconds(build(needles, exact, []), blobs, args.runs)
    print(f"\nwhole database          {whole:7.3f} s  {size / 1e6 / whole:6.0f} MB/s")
    print(f"without context names   {no_names:7.3f} s  ({(whole - no_names) / whole:5.1%} of the whole)")
    print(f"without any gate        {no_gates:7.3f} s  ({(whole - no_gates) / whole:5.1%} of the whole)")

    shares = []
    for k, gate in enumerate(gates):
        rest = seconds(build(needles, exact, gates[:k] + gates[k + 1:]), blobs, args.runs)
        shares.append(((whole - rest) / whole, rules[engine._gated[k]].id, gate))
    print(f"\nthe {args.top} costliest gates (share of the whole the database loses without each):")
    for share, rule_id, gate in sorted(shares, reverse=True)[: args.top]:
        print(f"  {share:6.1%}  {rule_id:<36} {gate[:70]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
