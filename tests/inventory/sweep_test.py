"""`nhiguard sweep`: several repositories (local paths and a clone URL) into one inventory; incremental re-sweeps;
a killed sweep resumed; two sweeps at once; the Dask executor on a real local cluster."""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nhiguard import sweep
from tests.support.cli import run_cli
from tests.support.gitrepo import ALICE, BOB, GitRepo
from tests.support.tokens import github_classic


def _estate(tmp: Path, n: int = 3, commits: int = 30) -> tuple[list[GitRepo], Path]:
    repos = []
    for r in range(n):
        repo = GitRepo(tmp / f"repo{r}")
        for c in range(commits):
            repo.write(f"src/module{c % 7}.py", f"# revision {c}\nVALUE = {c * r}\n" * 20)
            if c % 10 == 3:
                repo.write(f"config/{c}.env", f"GITHUB_TOKEN={github_classic(f'sweep-{r}-{c}')}\n")
            when = f"2023-{1 + c // 28:02d}-{1 + c % 28:02d}T10:00:00Z"
            repo.commit(f"change {c}", ALICE if c % 2 else BOB, date=when)
        repo.write("shared.env", f"TOKEN={github_classic('sweep-shared')}\n")
        repo.commit("shared token", BOB, date="2023-06-01T10:00:00Z")
        repos.append(repo)
    listing = tmp / "repos.txt"
    listing.write_text("# estate\n" + "".join(f"repo{r}\n" for r in range(n)), encoding="utf-8")
    return repos, listing


def snapshot(db: Path) -> dict[str, Any]:
    con = sqlite3.connect(db)
    try:
        return {
            "identities": sorted(con.execute("SELECT fingerprint, rule_id, preview, expiry FROM identities")),
            "locations": sorted(con.execute("SELECT fingerprint, repo, path, line, commit_sha, author, email, date "
                                            "FROM locations")),
            "tips": sorted(con.execute("SELECT repo, ref, tip FROM sweep_refs")),
        }
    finally:
        con.close()


def test_sweep_many_repositories_then_incremental(tmp_path: Path) -> None:
    repos, listing = _estate(tmp_path)
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repos[0].path), str(bare)], check=True)
    listing.write_text(listing.read_text() + f"{bare.as_uri()}\n", encoding="utf-8")
    db = tmp_path / "inv.sqlite"
    args = ["sweep", listing, "--inventory", db, "--workdir", tmp_path / "clones", "-f", "json", "-j", "2"]
    first = run_cli(*args, "--progress")
    assert first.returncode == 0, first.stderr
    modes = sorted(r["mode"] for r in json.loads(first.stdout)["repositories"])
    assert modes == ["full"] * 4
    assert "4/4 repositories" in first.stderr
    snap = snapshot(db)
    # 3 tokens per repository + the shared one; the clone holds repo0's tokens again
    assert len(snap["identities"]) == 3 * 3 + 1
    assert len({loc[1] for loc in snap["locations"]}) == 4

    again = run_cli(*args)
    assert sorted(r["mode"] for r in json.loads(again.stdout)["repositories"]) == ["unchanged"] * 4
    assert snapshot(db) == snap

    repos[1].write("later.env", f"TOKEN={github_classic('sweep-later')}\n")
    new = repos[1].commit("later", ALICE, date="2024-06-01T10:00:00Z")
    third = run_cli(*args)
    outcome = {Path(r["repo"]).name: r["mode"] for r in json.loads(third.stdout)["repositories"]}
    assert outcome == {"repo0": "unchanged", "repo1": "incremental", "repo2": "unchanged",
                       bare.as_uri().rsplit("/", 1)[-1]: "unchanged"}
    after = snapshot(db)
    added = set(after["locations"]) - set(snap["locations"])
    assert [(Path(a[1]).name, a[2], a[4], a[5]) for a in added] == [("repo1", "later.env", new.sha, ALICE.name)]


def test_an_unchanged_resweep_costs_under_a_tenth(tmp_path: Path) -> None:
    _, listing = _estate(tmp_path, n=2, commits=60)
    sources = sweep.read_list(listing)
    db = tmp_path / "inv.sqlite"
    started = time.perf_counter()
    sweep.run_sweep(sources, db, workdir=tmp_path / "w", runner=sweep.local_runner(1), stream=io.StringIO())
    first = time.perf_counter() - started
    started = time.perf_counter()
    summary = sweep.run_sweep(sources, db, workdir=tmp_path / "w", runner=sweep.local_runner(1),
                              stream=io.StringIO())
    second = time.perf_counter() - started
    assert summary.count("unchanged") == 2
    print(f"first sweep {first:.3f}s, unchanged re-sweep {second:.3f}s ({100 * second / first:.1f}%)")
    assert second < 0.1 * first


def test_a_killed_sweep_resumes_to_the_same_inventory(tmp_path: Path) -> None:
    _, listing = _estate(tmp_path)
    whole, killed = tmp_path / "whole.sqlite", tmp_path / "killed.sqlite"
    assert run_cli("sweep", listing, "--inventory", whole, "-j", "1").returncode == 0
    stopped = run_cli("sweep", listing, "--inventory", killed, "-j", "1", env={"NHIGUARD_SWEEP_STOP_AFTER": "1"})
    assert stopped.returncode == 137
    assert len(snapshot(killed)["tips"]) < len(snapshot(whole)["tips"])
    resumed = run_cli("sweep", listing, "--inventory", killed, "-j", "1")
    assert resumed.returncode == 0 and "1 unchanged" in resumed.stderr and "2 full" in resumed.stderr
    assert snapshot(killed) == snapshot(whole)


def test_two_sweeps_at_once_lose_nothing(tmp_path: Path) -> None:
    _, listing = _estate(tmp_path, n=4, commits=12)
    lines = listing.read_text().splitlines()[1:]
    (tmp_path / "a.txt").write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("\n".join(lines[2:]) + "\n", encoding="utf-8")
    db = tmp_path / "inv.sqlite"
    procs = [subprocess.Popen([sys.executable, "-m", "nhiguard", "sweep", str(tmp_path / name), "--inventory",
                               str(db), "-j", "2"], stderr=subprocess.PIPE) for name in ("a.txt", "b.txt")]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    snap = snapshot(db)
    # one token per repository (commit 3 of 12) + the shared one in all four
    assert len(snap["identities"]) == 4 * 1 + 1
    assert len({loc[1] for loc in snap["locations"]}) == 4
    assert len(snap["tips"]) == 4
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 4
    con.close()


# -- Dask --------------------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def start_cluster(tmp_path: Path, hold: str | None = None) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """A real scheduler and two workers on 127.0.0.1; with `hold`, worker 0 holds each task (see sweep_one)."""
    pytest.importorskip("distributed")
    from distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(sys.executable).parent / "dask")
    logs = tmp_path / "dask-logs"
    logs.mkdir(exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []
    workers: list[subprocess.Popen[bytes]] = []
    try:
        with (logs / "scheduler.log").open("wb") as log:
            procs.append(subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                           "--no-dashboard"], stdout=log, stderr=log, cwd=tmp_path))
        for n in range(2):
            env = {**os.environ, **({"NHIGUARD_SWEEP_TEST_HOLD": hold} if hold and n == 0 else {})}
            with (logs / f"worker{n}.log").open("wb") as log:
                workers.append(subprocess.Popen(
                    [dask, "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-nanny", "--no-dashboard",
                     "--host", "127.0.0.1", "--name", f"w{n}", "--local-directory", str(tmp_path / f"w{n}")],
                    stdout=log, stderr=log, cwd=tmp_path, env=env))
        procs.extend(workers)
        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(address, timeout="5s") as client:
                    client.wait_for_workers(2, timeout=30)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield address, workers
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_dask_cluster_gives_the_same_inventory_as_the_local_pool(tmp_path: Path) -> None:
    _, listing = _estate(tmp_path, n=4, commits=12)
    local, dask = tmp_path / "local.sqlite", tmp_path / "dask.sqlite"
    assert run_cli("sweep", listing, "--inventory", local, "-j", "2").returncode == 0
    with start_cluster(tmp_path) as (address, _):
        done = run_cli("sweep", listing, "--inventory", dask, "--executor", "dask", "--scheduler", address)
    assert done.returncode == 0, done.stderr
    assert "4 full" in done.stderr
    assert snapshot(dask) == snapshot(local)


def test_a_dask_worker_killed_mid_sweep_loses_nothing(tmp_path: Path) -> None:
    _, listing = _estate(tmp_path, n=4, commits=12)
    local, dask = tmp_path / "local.sqlite", tmp_path / "dask.sqlite"
    assert run_cli("sweep", listing, "--inventory", local, "-j", "2").returncode == 0
    mark = tmp_path / "held"
    with start_cluster(tmp_path, hold=f"60:{mark}") as (address, workers):
        sweep_proc = subprocess.Popen([sys.executable, "-m", "nhiguard", "sweep", str(listing), "--inventory",
                                       str(dask), "--executor", "dask", "--scheduler", address],
                                      stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while not mark.exists():
            assert time.monotonic() < deadline and sweep_proc.poll() is None, "worker 0 never got a task"
            time.sleep(0.1)
        workers[0].kill()  # mid-task: Dask hands its repository to the surviving worker
        workers[0].wait()
        _, err = sweep_proc.communicate(timeout=240)
    assert sweep_proc.returncode == 0, err.decode()
    assert "4 full" in err.decode() and "0 failed" in err.decode()
    assert snapshot(dask) == snapshot(local)


def test_a_clone_urls_password_is_never_printed(tmp_path: Path) -> None:
    """A listed clone URL may carry a deploy password: the failure line, the JSON summary and the inventory's
    repository name show the URL without it. (Port 9 on the loopback refuses at once: nothing leaves.)"""
    secret = "Sup3rS3cretPassw0rd"
    listing = tmp_path / "list.txt"
    listing.write_text(f"https://deploy:{secret}@127.0.0.1:9/org/app.git\n")
    for fmt in ("text", "json"):
        result = run_cli("sweep", listing, "--inventory", tmp_path / "inv.sqlite", "--workdir", tmp_path / "work",
                         "--no-progress", "-f", fmt)
        assert result.returncode == 2
        assert secret not in result.stdout + result.stderr
        assert "https://deploy:***@127.0.0.1:9/org/app.git" in result.stdout + result.stderr
    assert sweep.label_of(f"https://deploy:{secret}@git.example.org/a.git") == "https://deploy@git.example.org/a.git"


def test_a_repository_swept_in_part_is_incomplete_and_swept_again(tmp_path: Path) -> None:
    """A blob that cannot be read: the sweep says so (exit 4) and records no tips, so the next sweep reads the
    repository again instead of calling it unchanged."""
    repo = tmp_path / "repo"
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x"}
    subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env)
    (repo / "a.env").write_text(f"GITHUB_TOKEN={github_classic('incomplete')}\n")
    (repo / "b.txt").write_text("hello\n")
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "c"], check=True, env=env)
    blob = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD:b.txt"], check=True, capture_output=True,
                          text=True, env=env).stdout.strip()
    (repo / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    listing = tmp_path / "list.txt"
    listing.write_text(f"{repo}\n")
    for _ in range(2):
        done = run_cli("sweep", listing, "--inventory", tmp_path / "inv.sqlite", "--no-progress", "-f", "json")
        assert done.returncode == 4, done.stderr
        [entry] = json.loads(done.stdout)["repositories"]
        assert entry["mode"] == "full" and entry["identities"] == 1
        assert "b.txt" in entry["incomplete"][0]
    accepted = run_cli("sweep", listing, "--inventory", tmp_path / "inv.sqlite", "--no-progress", "--allow-incomplete")
    assert accepted.returncode == 0, accepted.stderr
