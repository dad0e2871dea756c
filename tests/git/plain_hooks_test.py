"""nhiguard as plain git hooks (no framework): `.git/hooks/pre-commit` and `.git/hooks/pre-push` scripts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.gitrepo import GitRepo
from tests.support.tokens import github_classic


def _hook(repo: GitRepo, name: str, command: str) -> None:
    path = repo.path / ".git" / "hooks" / name
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m nhiguard {command}\n')
    path.chmod(0o755)


def _run(repo: GitRepo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=repo.path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NO_COLOR": "1"}, check=False)


def test_commit_all_uses_the_commit_index(tmp_path: Path) -> None:
    """`git commit -a` stages into a temporary index (GIT_INDEX_FILE): the hook must read that one."""
    repo = GitRepo(tmp_path / "work")
    repo.write("settings.ini", "[a]\nx = 1\n")
    repo.commit("base")
    _hook(repo, "pre-commit", "git --staged")
    token = github_classic("plain-hooks-commit")
    repo.write("settings.ini", f"[a]\nx = 1\ntoken = {token}\n")
    blocked = _run(repo, "commit", "-a", "-m", "leak")
    assert blocked.returncode != 0
    assert "settings.ini:3" in blocked.stdout + blocked.stderr
    repo.write("settings.ini", "[a]\nx = 2\n")
    assert _run(repo, "commit", "-a", "-m", "fine").returncode == 0


def test_pre_push_reads_git_hook_input(tmp_path: Path) -> None:
    remote = GitRepo(tmp_path / "remote.git", bare=True)
    repo = GitRepo(tmp_path / "work")
    repo.git("remote", "add", "origin", remote.path)
    repo.write("a.txt", "a\n")
    repo.commit("root")
    _hook(repo, "pre-push", 'git --pre-push --remote "$1"')
    assert _run(repo, "push", "-q", "origin", "main").returncode == 0
    token = github_classic("plain-hooks-push")
    repo.write("b.txt", f"{token}\n")
    repo.commit("leak")
    repo.write("b.txt", "gone\n")
    repo.commit("hide it")
    blocked = _run(repo, "push", "origin", "main")
    assert blocked.returncode != 0
    assert "b.txt:1" in blocked.stdout + blocked.stderr
    assert token not in blocked.stdout + blocked.stderr
    # Deleting a remote branch sends no commits.
    repo.git("push", "-q", "--no-verify", "origin", "main:scratch")
    assert _run(repo, "push", "origin", ":scratch").returncode == 0
