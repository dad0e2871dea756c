"""The progress line tells the truth: a total fixed before the bar moves, an ETA from the rate so far, and a
closing summary whose counts are the ones the line ended on (issue 15, point 8)."""

from __future__ import annotations

import io
import itertools
import random
import re
from pathlib import Path

from nhiguard.history.sweep import HistoryOptions, summary
from nhiguard.progress import Progress
from tests.history.kit import Repo, sweep, token
from tests.support.cli import run_cli

_FRAME = re.compile(r"(history(?:: rescanning at their paths)?) (?:\[[# ]*\] )?(\d[\d,]*)/(\d[\d,]*) blobs")


def frames(stderr: str) -> dict[str, list[tuple[int, int]]]:
    """Frames per phase: the sweep, then (when a rule a blob's path turns off had matched) the rescans."""
    out: dict[str, list[tuple[int, int]]] = {}
    for label, a, b in _FRAME.findall(stderr):
        out.setdefault(label, []).append((int(a.replace(",", "")), int(b.replace(",", ""))))
    return out


def estate(tmp: Path, files: int = 60) -> Repo:
    """Enough stored bytes (random, incompressible) for the worker pool and the sweep ahead of the walk."""
    repo = Repo(tmp / "r")
    rng = random.Random(5)
    for n in range(files):
        repo.write(f"data/{n}.txt", rng.randbytes(40_000).hex())
        if n % 20 == 0:
            repo.write(f"conf/{n}.env", f"TOKEN={token(n)}\n")
        if n % 10 == 9:
            repo.commit(f"batch {n}")
    repo.remove("conf/0.env")
    repo.commit("drop one")
    return repo


def test_history_progress_total_is_fixed_and_agrees_with_the_summary(tmp_path: Path) -> None:
    repo = estate(tmp_path)
    for jobs in ("2", "1"):
        done = run_cli("history", repo.path, "--progress", "--no-baseline", "-j", jobs)
        assert done.returncode == 1, done.stderr
        phases = frames(done.stderr)
        assert "history" in phases, done.stderr
        read = 0
        for seen in phases.values():
            totals = {total for _, total in seen if total}
            assert len(totals) == 1, seen  # never a growing total within a phase
            [total] = totals
            assert seen[-1] == (total, total)
            assert all(a <= b for (a, _), (b, _) in itertools.pairwise(seen))
            read += total
        closing = done.stderr.strip().splitlines()[-1]
        assert f"read {read:,} blob(s)" in closing, closing
        again = phases.get("history: rescanning at their paths")
        assert (again is None) == ("again at their path" not in closing)
        reachable = repo.blob_count()
        assert f"history: {reachable:,} reachable blob(s)" in closing
        assert "3 new finding(s), 2 still present at HEAD" in closing


def test_eta_comes_from_the_rate_and_waits_for_a_meaningful_sample() -> None:
    bar = Progress(io.StringIO(), "history", 400, 1000, "blobs")
    bar.started = 100.0
    bar.done_units, bar.done_bytes = 100, 250
    assert bar.eta(110.0) == "0:00:30"  # a quarter in 10 s: 30 s left
    assert bar.eta(101.0) == "--:--"  # too early to say
    bar.done_bytes = 1000
    assert bar.eta(140.0) == "0:00:00"
    unknown = Progress(io.StringIO(), "history", 0, 0, "blobs")
    unknown.done_units = 7
    assert "7 blobs" in unknown.line(5.0) and "ETA --:--" in unknown.line(5.0) and "[" not in unknown.line(5.0)


def test_summary_counts_match_the_run(tmp_path: Path) -> None:
    repo = estate(tmp_path, files=20)
    result = sweep(repo.path, HistoryOptions(progress=False), jobs=1)
    line = summary(result)
    assert f"read {result.read_blobs:,} blob(s)" in line and result.read_blobs == repo.blob_count()
