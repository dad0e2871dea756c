"""Directory-scan speed: nhiguard `scan` vs gitleaks `dir` vs betterleaks `dir` on the same source tree.

The tree is real source code (sdists of large PyPI projects) plus generated fake credentials, >= 100 MB.
Every tool is run several times, interleaved, on the same warm page cache; medians and ratios are printed.

    python bench/scan_bench.py [--size-mb 160] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import random
import string
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _tools import (
    WORK,
    betterleaks_binary,
    download_sdist,
    extract,
    gitleaks_binary,
    nhiguard_binary,
    timed,
    tree_size,
)

# Large, mixed-language source distributions (Python, C, C++, Fortran, JS, docs, config).
SDISTS = [
    ("django", "5.1.4"), ("sympy", "1.13.3"), ("numpy", "2.2.1"), ("scipy", "1.14.1"),
    ("pandas", "2.2.3"), ("sqlalchemy", "2.0.36"), ("matplotlib", "3.9.3"), ("ansible-core", "2.18.1"),
    ("botocore", "1.35.90"), ("scikit-learn", "1.6.0"), ("networkx", "3.4.2"), ("pillow", "11.0.0"),
]


def plant(root: Path, count: int, seed: int = 11) -> int:
    """Generated fake credentials in config files, so every tool has something to find."""
    from nhiguard.engine.score import base62_crc32

    rng = random.Random(seed)
    alnum = string.ascii_letters + string.digits
    target = root / "zz-planted"
    target.mkdir(exist_ok=True)
    for i in range(count):
        body = "".join(rng.choice(alnum) for _ in range(30))
        token = "ghp_" + body + base62_crc32(body)
        key_id = "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
        (target / f"service{i}.env").write_text(f"GITHUB_TOKEN={token}\nAWS_ACCESS_KEY_ID={key_id}\n")
    return count


def build_tree(size_mb: int) -> Path:
    root = WORK / f"tree-{size_mb}"
    marker = root / ".complete"
    if marker.exists():
        return root
    sdists = WORK / "sdists"
    root.mkdir(parents=True, exist_ok=True)
    for package, version in SDISTS:
        if tree_size(root) >= size_mb * 1024 * 1024:
            break
        archive = download_sdist(package, version, sdists)
        if archive is None:
            print(f"  (could not download {package}=={version}; skipped)", file=sys.stderr)
            continue
        print(f"  adding {archive.name}", file=sys.stderr)
        extract(archive, root / f"{package}-{version}")
    plant(root, 40)
    if tree_size(root) < size_mb * 1024 * 1024:
        print(f"warning: tree is only {tree_size(root) / 1e6:.0f} MB", file=sys.stderr)
    marker.write_text("ok\n")
    return root


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=160)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tree", type=Path, help="scan this tree instead of building one")
    args = parser.parse_args()

    tree = args.tree or build_tree(args.size_mb)
    size = tree_size(tree)
    mb = size / 1e6
    print(f"tree: {tree} — {mb:.0f} MB")
    out = Path(tempfile.mkdtemp(prefix="nhiguard-bench-"))
    empty_config = out / "empty.yml"  # the tree lives inside this repo, whose own config allows bench/.work
    empty_config.write_text("{}\n")
    commands: dict[str, list[str]] = {
        "nhiguard": [nhiguard_binary(), "scan", str(tree), "-c", str(empty_config), "-f", "json",
                     "-o", str(out / "nh.json"), "--max-file-size", "1GB", "--no-color"],
    }
    gl = gitleaks_binary()
    if gl:
        commands["gitleaks"] = [gl, "dir", str(tree), "--no-banner", "--log-level", "error", "--exit-code", "0",
                                "-f", "json", "-r", str(out / "gl.json")]
    bl = betterleaks_binary()
    if bl:
        # betterleaks 2.x: `betterleaks [auto] TARGET`, findings to -o (json by extension).
        commands["betterleaks"] = [bl, str(tree), "--no-banner", "--log-level", "error", "--exit-code", "0",
                                   "-o", str(out / "bl.json")]
    # Warm the page cache once so nobody pays for the first read.
    timed(commands["nhiguard"], 1)
    results = {name: [] for name in commands}  # type: dict[str, list[float]]
    for _ in range(args.runs):
        for name, cmd in commands.items():
            results[name].extend(timed(cmd, 1).seconds)
    print(f"\n{'tool':<12} {'median s':>9} {'MB/s':>8}   runs")
    medians = {}
    for name, times in results.items():
        times.sort()
        medians[name] = times[len(times) // 2]
        print(f"{name:<12} {medians[name]:>9.2f} {mb / medians[name]:>8.1f}   {', '.join(f'{t:.2f}' for t in times)}")
    print()
    for ref in ("gitleaks", "betterleaks"):
        if ref in medians:
            print(f"nhiguard is {medians[ref] / medians['nhiguard']:.2f}x the speed of {ref}")
    try:
        nh = json.loads((out / "nh.json").read_text())
        print(f"\nnhiguard findings: {len(nh['findings'])}")
        for ref, name in (("gitleaks", "gl.json"), ("betterleaks", "bl.json")):
            path = out / name
            if path.exists():
                print(f"{ref} findings: {len(json.loads(path.read_text() or '[]'))}")
    except (OSError, ValueError, KeyError):
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
