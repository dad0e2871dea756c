"""What opening archives costs: a tree without archives must scan as fast as before archives were opened, and
archive contents must scan at the engine's usual MB/s.

    python bench/archive_bench.py [--runs 5] [--jobs 1] [--before /work/main] [--history]

Builds (in $TMPDIR/nhiguard-archive-bench) a tree of real source, the `.py` files of the Python standard library
and site-packages (about 140 MB), and the same files packed by package into zips (every fourth one a tar.gz).
Then, alternating runs on the same warm page cache, medians:
  - tree without archives: `--before` checkout (PYTHONPATH; default /work/main) vs this checkout, and this checkout
    with `--archive-depth 0` (the sniff alone);
  - the packed tree: this checkout; MB/s counts the bytes the engine scanned (the members, expanded);
  - with --history, the plain tree committed in four commits, swept by `history` (before, now, depth 0).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tarfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# outside the repository: its own config allows bench/.work/
WORK = Path(os.environ.get("TMPDIR", "/tmp")) / "nhiguard-archive-bench"


def build() -> tuple[Path, Path]:
    plain, packed = WORK / "plain", WORK / "packed"
    if plain.exists() and packed.exists():
        return plain, packed
    shutil.rmtree(WORK, ignore_errors=True)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    groups: dict[str, list[Path]] = {}
    for path in sorted(stdlib.rglob("*.py")):
        rel = path.relative_to(stdlib)
        if "test" in rel.parts[:1]:
            continue
        target = plain / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        key = "_".join(rel.parts[:2] if rel.parts[0] == "site-packages" else rel.parts[:1]) if len(rel.parts) > 1 \
            else "_top"
        groups.setdefault(key, []).append(rel)
    packed.mkdir(parents=True)
    for number, (group, members) in enumerate(sorted(groups.items())):
        if number % 4 == 3:
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w:gz") as tar:
                for rel in members:
                    tar.add(plain / rel, arcname=str(rel))
            (packed / f"{group}.tar.gz").write_bytes(buf.getvalue())
        else:
            with zipfile.ZipFile(packed / f"{group}.zip", "w", zipfile.ZIP_DEFLATED) as z:
                for rel in members:
                    z.write(plain / rel, arcname=str(rel))
    return plain, packed


def history_repo(plain: Path) -> Path:
    """The plain tree committed in a few steps (a history without archives), for the history sweep."""
    final = WORK / "history"
    if final.exists():
        return final
    repo = WORK / "history.partial"
    shutil.rmtree(repo, ignore_errors=True)
    shutil.copytree(plain, repo)
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@example.com", "GIT_CONFIG_GLOBAL": os.devnull}
    subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env)
    tops = sorted(p.name for p in repo.iterdir() if p.name != ".git")
    for n in range(4):
        part = tops[n::4]
        subprocess.run(["git", "-C", str(repo), "add", "--", *part], check=True, env=env)
        subprocess.run(["git", "-C", str(repo), "-c", "gc.auto=0", "commit", "-qm", f"part {n}"], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "gc", "-q"], check=True, env=env)
    repo.rename(final)
    return final


def run(pythonpath: Path, tree: Path, jobs: int, extra: list[str]) -> tuple[float, int, int]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    command = "history" if extra[:1] == ["history"] else "scan"
    extra = extra[1:] if command == "history" else extra
    cmd = [sys.executable, "-m", "nhiguard", command, str(tree), "-f", "json", "--no-baseline", "-j", str(jobs),
           *extra]
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(done.stderr.decode(errors="replace")[-2000:])
    stats = json.loads(done.stdout).get("stats", {})
    return seconds, int(stats.get("bytes", 0)), int(stats.get("files", 0))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--before", type=Path, default=Path("/work/main"), help="checkout to compare with")
    parser.add_argument("--history", action="store_true", help="also sweep the plain tree's history (no archives)")
    args = parser.parse_args()
    plain, packed = build()
    cases = {
        "plain tree, before": (args.before, plain, []),
        "plain tree, now": (ROOT, plain, []),
        "plain tree, now, --archive-depth 0": (ROOT, plain, ["--archive-depth", "0"]),
        "packed tree, now": (ROOT, packed, []),
    }
    if args.history:
        repo = history_repo(plain)
        cases.update({
            "history, before": (args.before, repo, ["history"]),
            "history, now": (ROOT, repo, ["history"]),
            "history, now, --archive-depth 0": (ROOT, repo, ["history", "--archive-depth", "0"]),
        })
    if not (args.before / "nhiguard").is_dir():
        cases = {k: v for k, v in cases.items() if "before" not in k}
    times: dict[str, list[float]] = {name: [] for name in cases}
    scanned: dict[str, tuple[int, int]] = {}
    for src, tree, extra in cases.values():  # warm the page cache and compiled-database cache
        run(src, tree, args.jobs, extra)
    for _ in range(args.runs):
        for name, (src, tree, extra) in cases.items():
            seconds, nbytes, files = run(src, tree, args.jobs, extra)
            times[name].append(seconds)
            scanned[name] = (nbytes, files)
    print(f"runs: {args.runs} each, alternating, -j {args.jobs}; medians")
    for name, values in times.items():
        nbytes, files = scanned[name]
        median = statistics.median(values)
        print(f"{name:38s} {median:7.2f} s  {files:6,} files  {nbytes / 1e6:7.1f} MB  {nbytes / 1e6 / median:6.1f} MB/s"
              f"   (runs: {', '.join(f'{v:.2f}' for v in values)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
