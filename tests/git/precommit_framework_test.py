"""The real pre-commit framework running this project's hooks (.pre-commit-hooks.yaml) in a temp repository.

pre-commit clones the hook repository at `rev` and pip-installs it into its own environment, so it only sees
committed code. When this project's hook-relevant files are committed and clean, the project itself is used at
its HEAD; otherwise the working tree is snapshotted into a temporary repository and committed there, so the
test always exercises the code on disk.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.gitrepo import GitRepo
from tests.support.tokens import github_classic

PROJECT = Path(__file__).resolve().parents[2]
PRE_COMMIT = Path(sys.executable).with_name("pre-commit")
RELEVANT = ["nhiguard", "rules", "pyproject.toml", ".pre-commit-hooks.yaml", "README.md"]

pytestmark = pytest.mark.skipif(not PRE_COMMIT.exists(), reason="pre-commit is not installed next to python")


@dataclass(frozen=True)
class HookSource:
    path: Path
    rev: str


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def _hook_source(scratch: Path) -> HookSource:
    dirty = _git(PROJECT, "status", "--porcelain", "--", *RELEVANT)
    tracked = _git(PROJECT, "ls-files", "--", ".pre-commit-hooks.yaml")
    if not dirty and tracked:
        return HookSource(PROJECT, _git(PROJECT, "rev-parse", "HEAD"))
    snapshot = GitRepo(scratch / "nhiguard-snapshot")
    listed = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=PROJECT,
                            capture_output=True, check=True).stdout
    for raw in listed.split(b"\0"):
        name = os.fsdecode(raw)
        source = PROJECT / name
        if not name or not source.is_file() or name.startswith(("bench/", "tests/")):
            continue
        target = snapshot.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return HookSource(snapshot.path, snapshot.commit("snapshot of the nhiguard working tree").sha)


@pytest.fixture(scope="module")
def hooks(tmp_path_factory: pytest.TempPathFactory) -> tuple[HookSource, Path]:
    """The hook source and a PRE_COMMIT_HOME shared by this module's tests (the hook env is built once)."""
    scratch = tmp_path_factory.mktemp("precommit")
    return _hook_source(scratch), scratch / "pre-commit-home"


def _project(tmp_path: Path, hooks: tuple[HookSource, Path]) -> tuple[GitRepo, dict[str, str]]:
    source, home = hooks
    repo = GitRepo(tmp_path / "project")
    repo.write(".pre-commit-config.yaml", (
        "repos:\n"
        f"  - repo: {source.path}\n"
        f"    rev: {source.rev}\n"
        "    hooks:\n"
        "      - id: nhiguard\n"
        "      - id: nhiguard-pre-push\n"
    ))
    env = {"PRE_COMMIT_HOME": str(home), "NO_COLOR": "1"}
    done = subprocess.run([str(PRE_COMMIT), "install", "-t", "pre-commit", "-t", "pre-push"], cwd=repo.path,
                          capture_output=True, text=True, env={**os.environ, **env}, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return repo, env


def _commit(repo: GitRepo, env: dict[str, str], message: str) -> subprocess.CompletedProcess[str]:
    repo.git("add", "-A")
    return subprocess.run(["git", "commit", "-m", message], cwd=repo.path, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=600, check=False)


def test_commit_hook_blocks_a_staged_key_and_passes_clean_commits(
    tmp_path: Path, hooks: tuple[HookSource, Path]
) -> None:
    repo, env = _project(tmp_path, hooks)
    repo.write("README.md", "hello\n")
    clean = _commit(repo, env, "clean")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "nhiguard (secrets in staged changes)" in clean.stderr and "Passed" in clean.stderr

    token = github_classic("pre-commit-framework")
    repo.write("deploy/settings.env", f"REGION=eu\nGITHUB_TOKEN={token}\n")
    blocked = _commit(repo, env, "leak")
    assert blocked.returncode != 0, blocked.stdout + blocked.stderr
    out = blocked.stdout + blocked.stderr
    assert "Failed" in out
    assert "github-pat-classic" in out and "deploy/settings.env:2" in out
    assert token not in blocked.stdout + blocked.stderr
    assert repo.git("rev-list", "--count", "HEAD") == "1"

    # Config and inline ignores apply inside the hook too.
    repo.write("deploy/settings.env", f"REGION=eu\nGITHUB_TOKEN={token}  # nhiguard:allow\n")
    allowed = _commit(repo, env, "documented example")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr


def test_pre_push_hook_blocks_commits_carrying_a_key(tmp_path: Path, hooks: tuple[HookSource, Path]) -> None:
    repo, env = _project(tmp_path, hooks)
    remote = GitRepo(tmp_path / "remote.git", bare=True)
    repo.git("remote", "add", "origin", remote.path)
    repo.write("README.md", "hello\n")
    repo.commit("root")
    first = subprocess.run(["git", "push", "-q", "origin", "main"], cwd=repo.path, capture_output=True, text=True,
                           env={**os.environ, **env}, timeout=600, check=False)
    assert first.returncode == 0, first.stdout + first.stderr

    token = github_classic("pre-push-framework")
    repo.write("ci/token.txt", f"{token}\n")
    repo.commit("sneaks past the commit hook")  # committed with --no-verify
    repo.write("ci/other.txt", "fine\n")
    tip = repo.commit("a clean commit on top")
    pushed = subprocess.run(["git", "push", "origin", "main"], cwd=repo.path, capture_output=True, text=True,
                            env={**os.environ, **env}, timeout=600, check=False)
    assert pushed.returncode != 0, pushed.stdout + pushed.stderr
    assert "ci/token.txt:1" in pushed.stdout + pushed.stderr
    assert remote.git("rev-parse", "main") != tip.sha

    # Removing the key in a later commit does not help: the pushed commits still carry it.
    repo.write("ci/token.txt", "gone\n")
    repo.commit("remove it")
    again = subprocess.run(["git", "push", "origin", "main"], cwd=repo.path, capture_output=True, text=True,
                           env={**os.environ, **env}, timeout=600, check=False)
    assert again.returncode != 0

    # A new branch with only clean commits pushes fine.
    repo.git("checkout", "-q", "-b", "clean-topic", "origin/main")
    repo.write("docs.md", "docs\n")
    repo.commit("docs")
    ok = subprocess.run(["git", "push", "origin", "clean-topic"], cwd=repo.path, capture_output=True, text=True,
                        env={**os.environ, **env}, timeout=600, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
