"""Cost per finding: a tree of N small files, each with one secret (a random API key in a generic assignment, a
GitHub token, or a short password), scanned by nhiguard and betterleaks; plus the fingerprint cost alone.

    python bench/findings_bench.py [--files 5000] [--runs 3] [--kind generic|github|password|mixed]

Prints the median wall time per tool (alternating runs) and the fingerprint cost per finding by kind.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import string
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._tools import betterleaks_binary, nhiguard_binary, timed
from nhiguard import ruleset
from nhiguard.engine.score import base62_crc32
from nhiguard.fingerprint import fingerprint

ALNUM = string.ascii_letters + string.digits


def _secret(kind: str, rng: random.Random) -> str:
    if kind == "generic":
        return "api_key = \"" + "".join(rng.choice(ALNUM) for _ in range(32)) + "\"\n"
    if kind == "github":
        body = "".join(rng.choice(ALNUM) for _ in range(30))
        return "GITHUB_TOKEN=ghp" + "_" + body + base62_crc32(body) + "\n"
    if kind == "password":
        word = rng.choice(["Summer", "Welcome", "Dragon", "Monkey", "Secret"])
        return f'password = "{word}{rng.randrange(1000, 9999)}!"\n'
    return _secret(rng.choice(["generic", "github", "password"]), rng)


def build(root: Path, files: int, kind: str) -> None:
    rng = random.Random(f"findings:{kind}")
    for i in range(files):
        folder = root / f"pkg{i // 200}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"settings_{i}.py").write_text(f"# module {i}\nimport os\n" + _secret(kind, rng), encoding="utf-8")


def fingerprint_cost() -> None:
    rules = {r.id: r for r in ruleset.load_builtin()}
    rng = random.Random(1)

    def token(n: int) -> str:
        return "".join(rng.choice(ALNUM) for _ in range(n))

    cases = {
        "generic-api-key, random 32": (rules["generic-api-key"], lambda: token(32)),
        "github-pat-classic": (rules["github-pat-classic"], lambda: "ghp_" + token(36)),
        "generic-password, 10 chars": (rules["generic-password"], lambda: token(10)),
    }
    for name, (rule, make) in cases.items():
        secrets = [make() for _ in range(200)]
        start = time.perf_counter()
        for s in secrets:
            fingerprint(rule, s)
        print(f"  fingerprint {name:<30} {1e6 * (time.perf_counter() - start) / len(secrets):10.1f} us/finding")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--kind", default="generic", choices=["generic", "github", "password", "mixed"])
    args = parser.parse_args()
    fingerprint_cost()
    work = Path(tempfile.mkdtemp(prefix="nhiguard-findings-"))
    try:
        tree = work / "tree"
        build(tree, args.files, args.kind)
        commands = {"nhiguard": [nhiguard_binary(), "scan", str(tree), "-f", "json", "-o", str(work / "nh.json")]}
        bl = betterleaks_binary()
        if bl:
            commands["betterleaks"] = [bl, str(tree), "--no-banner", "--log-level", "error", "--exit-code", "0",
                                       "-o", str(work / "bl.json")]
        timed(commands["nhiguard"], 1)  # warm caches
        results: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, cmd in commands.items():
                results[name].extend(timed(cmd, 1).seconds)
        print(f"{args.files} files, one {args.kind} secret each (machine shared; medians of alternating runs)")
        for name, times in results.items():
            print(f"  {name:<12} {statistics.median(times):8.2f} s   {', '.join(f'{t:.2f}' for t in times)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
