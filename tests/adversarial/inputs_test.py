"""Everything a repository supplies is untrusted input: allow regexes, extra rules and baselines from its config,
its object format, and the folders the CLI is pointed at. Bad input is exit 2 naming the file and what is wrong;
nothing hangs, nothing crashes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.gitrepo import ALICE, GitRepo
from tests.support.tokens import github_classic


def _no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr


# -- SHA-256 repositories -------------------------------------------------------------------------------------
@pytest.fixture
def sha256_repo(tmp_path: Path) -> tuple[GitRepo, str, str]:
    path = tmp_path / "repo"
    path.mkdir()
    subprocess.run(["git", "init", "-q", "--object-format=sha256", str(path)], check=True)
    repo = GitRepo(path)
    repo.write("README.md", "hello\n")
    base = repo.commit("first", ALICE)
    token = github_classic("sha256")
    repo.write("config/app.env", f"GITHUB_TOKEN={token}\n")
    repo.commit("add a token", ALICE)
    assert len(repo.git("rev-parse", "HEAD")) == 64
    return repo, base.sha, token


def test_history_on_a_sha256_repository(sha256_repo: tuple[GitRepo, str, str]) -> None:
    repo, _, token = sha256_repo
    done = run_cli("history", repo.path, "-f", "json")
    _no_traceback(done)
    assert done.returncode == 1, done.stderr
    findings = json.loads(done.stdout)["findings"]
    assert [f["rule_id"] for f in findings] == ["github-pat-classic"]
    assert len(findings[0]["locations"][0]["commit"]) == 64
    assert token not in done.stdout


def test_staged_and_range_on_a_sha256_repository(sha256_repo: tuple[GitRepo, str, str]) -> None:
    repo, base, _ = sha256_repo
    ranged = run_cli("git", repo.path, "--range", f"{base}..HEAD", "-f", "json")
    _no_traceback(ranged)
    assert ranged.returncode == 1 and len(json.loads(ranged.stdout)["findings"]) == 1
    new_branch = run_cli("git", repo.path, "--range", f"{'0' * 64}..HEAD", "-f", "json")
    _no_traceback(new_branch)
    assert new_branch.returncode == 1
    repo.write("more.env", f"OTHER={github_classic('staged')}\n")
    repo.git("add", "more.env")
    staged = run_cli("git", repo.path, "--staged", "-f", "json")
    _no_traceback(staged)
    assert staged.returncode == 1 and [f["locations"][0]["path"] for f in json.loads(staged.stdout)["findings"]] \
        == ["more.env"]


# -- sweep ----------------------------------------------------------------------------------------------------
def test_sweep_with_a_relative_workdir(tmp_path: Path) -> None:
    source = GitRepo(tmp_path / "origin")
    source.write("app.env", f"TOKEN={github_classic('sweep-relative')}\n")
    source.commit("token", ALICE)
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(source.path), str(bare)], check=True)
    listing = tmp_path / "repos.txt"
    listing.write_text(f"{bare.as_uri()}\n", encoding="utf-8")
    work = tmp_path / "cwd"
    work.mkdir()
    args = ["sweep", listing, "--inventory", tmp_path / "inv.sqlite", "--workdir", "clones", "-f", "json", "-j", "1"]
    done = run_cli(*args, cwd=work)
    assert done.returncode == 0, done.stderr
    assert [r["mode"] for r in json.loads(done.stdout)["repositories"]] == ["full"]
    clones = [p.name for p in (work / "clones").iterdir()]
    assert len(clones) == 1 and (work / "clones" / clones[0] / ".git").is_dir()
    again = run_cli(*args, cwd=work)  # fetches into the same clone
    assert again.returncode == 0, again.stderr
    assert [r["mode"] for r in json.loads(again.stdout)["repositories"]] == ["unchanged"]
