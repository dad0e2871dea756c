"""A tree large enough for the worker processes gives exactly what one process finds."""

from __future__ import annotations

import json
from pathlib import Path

from nhiguard import scan
from tests.support.cli import run_cli
from tests.support.tokens import github_classic


def _tree(root: Path) -> set[tuple[str, str, int]]:
    """About 3x the size at which a scan goes parallel, secrets spread over it; what a scan must find."""
    planted = set()
    filler = "".join(f"value_{i} = compute({i}, scale=0.{i % 10})\n" for i in range(2000))
    size = 0
    n = 0
    while size < 3 * scan.PARALLEL_MIN_BYTES:
        text = filler
        if n % 37 == 0:
            secret = github_classic(f"parallel-{n}")
            text = filler + f"GITHUB_TOKEN={secret}\n"
            planted.add((f"pkg{n % 7}/module_{n}.py", secret, filler.count("\n") + 1))
        target = root / f"pkg{n % 7}" / f"module_{n}.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        size += len(text)
        n += 1
    return planted


def _found(root: Path, jobs: int) -> set[tuple[str, str, int]]:
    done = run_cli("scan", root, "--no-baseline", "--show-secrets", "--jobs", str(jobs), "-f", "json")
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    return {(loc["path"], f["secret"], loc["line"]) for f in doc["findings"] for loc in f["locations"]}


def test_workers_find_exactly_what_one_process_finds(tmp_path: Path) -> None:
    planted = _tree(tmp_path / "tree")
    assert len(planted) >= 10
    alone = _found(tmp_path / "tree", jobs=1)
    assert alone == planted
    assert _found(tmp_path / "tree", jobs=2) == alone
