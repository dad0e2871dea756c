"""`nhiguard git --pre-push`: exactly the commits a push sends, from pre-commit's environment or git's hook input."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.gitrepo import BOB, CAROL, ZERO, Commit, GitRepo, found, nhiguard_git
from tests.support.tokens import github_classic

T1, T6, T7, T8 = (github_classic(f"push-{n}") for n in (1, 6, 7, 8))


@dataclass
class Pushed:
    repo: GitRepo
    remote: GitRepo
    main: Commit
    topic1: Commit
    topic2: Commit


@pytest.fixture()
def pushed(tmp_path: Path) -> Pushed:
    """main (with T1) is on the remote; topic adds T6 and T7 and is not pushed yet."""
    remote = GitRepo(tmp_path / "remote.git", bare=True)
    repo = GitRepo(tmp_path / "work")
    repo.write("a.txt", f"{T1}\n")
    main = repo.commit("main")
    repo.git("remote", "add", "origin", remote.path)
    repo.git("push", "-q", "origin", "main")
    repo.git("checkout", "-q", "-b", "topic")
    repo.write("b.txt", f"x\n{T6}\n")
    topic1 = repo.commit("topic 1", BOB)
    repo.write("c.txt", f"{T7}\n")
    topic2 = repo.commit("topic 2", CAROL)
    return Pushed(repo, remote, main, topic1, topic2)


def _env(**values: str) -> dict[str, str]:
    return {"PRE_COMMIT": "1", **{f"PRE_COMMIT_{k.upper()}": v for k, v in values.items()}}


def test_update_scans_from_ref_to_ref(pushed: Pushed) -> None:
    env = _env(from_ref=pushed.main.sha, to_ref=pushed.topic2.sha, remote_name="origin")
    code, doc, err = nhiguard_git(pushed.repo.path, "--pre-push", env=env)
    assert code == 1, err
    assert found(doc) == [(T6, "b.txt", 2), (T7, "c.txt", 1)]
    assert {loc["commit"] for f in doc["findings"] for loc in f["locations"]} == {pushed.topic1.sha,
                                                                                   pushed.topic2.sha}


@pytest.mark.parametrize("from_ref", [None, ZERO])
def test_new_branch_scans_commits_not_on_the_remote(pushed: Pushed, from_ref: str | None) -> None:
    values = {"local_branch": "refs/heads/topic", "remote_name": "origin", "remote_branch": "refs/heads/topic"}
    if from_ref is not None:
        values.update(from_ref=from_ref, to_ref=pushed.topic2.sha)
    code, doc, err = nhiguard_git(pushed.repo.path, "--pre-push", env=_env(**values))
    assert code == 1, err
    assert found(doc) == [(T6, "b.txt", 2), (T7, "c.txt", 1)]
    assert [n["reason"] for n in doc["notices"]] == [
        "no base commit (new branch): scanned the commits not on any remote-tracking ref (origin/main)"
    ]


def test_first_push_to_an_empty_remote_scans_everything(tmp_path: Path) -> None:
    remote = GitRepo(tmp_path / "remote.git", bare=True)
    repo = GitRepo(tmp_path / "work")
    repo.git("remote", "add", "origin", remote.path)
    repo.write("a.txt", f"{T1}\n")
    repo.commit("root")
    repo.write("a.txt", f"{T1}\n{T6}\n")
    repo.commit("second")
    env = _env(local_branch="refs/heads/main", remote_name="origin", remote_branch="refs/heads/main")
    code, doc, _ = nhiguard_git(repo.path, "--pre-push", env=env)
    assert code == 1
    assert found(doc) == [(T1, "a.txt", 1), (T6, "a.txt", 2)]


def test_force_push_scans_only_the_rewritten_commits(pushed: Pushed) -> None:
    repo = pushed.repo
    repo.git("push", "-q", "origin", "topic")
    repo.git("reset", "-q", "--hard", pushed.main.sha)
    repo.write("d.txt", f"{T8}\n")
    rewritten = repo.commit("rewritten", BOB)
    env = _env(from_ref=pushed.topic2.sha, to_ref=rewritten.sha, remote_name="origin")
    code, doc, _ = nhiguard_git(repo.path, "--pre-push", env=env)
    assert code == 1
    assert found(doc) == [(T8, "d.txt", 1)]


def test_remote_commit_unknown_locally_falls_back_to_new_branch(pushed: Pushed) -> None:
    unknown = "1234567890abcdef" * 2 + "12345678"
    env = _env(from_ref=unknown, to_ref=pushed.topic2.sha, remote_name="origin")
    code, doc, _ = nhiguard_git(pushed.repo.path, "--pre-push", env=env)
    assert code == 1
    assert found(doc) == [(T6, "b.txt", 2), (T7, "c.txt", 1)]
    assert any("not in this repository" in n["reason"] for n in doc["notices"])


def test_deleting_a_branch_pushes_nothing(pushed: Pushed) -> None:
    code, doc, _ = nhiguard_git(pushed.repo.path, "--pre-push", env=_env(from_ref=pushed.main.sha, to_ref=ZERO))
    assert code == 0
    assert doc["findings"] == [] and doc["target"] == "nothing to push"


def test_plain_git_hook_input_on_stdin(pushed: Pushed) -> None:
    lines = (
        f"refs/heads/topic {pushed.topic2.sha} refs/heads/topic {ZERO}\n"
        f"(delete) {ZERO} refs/heads/old {pushed.main.sha}\n"
    )
    code, doc, err = nhiguard_git(pushed.repo.path, "--pre-push", "--remote", "origin", stdin=lines.encode())
    assert code == 1, err
    assert found(doc) == [(T6, "b.txt", 2), (T7, "c.txt", 1)]


def test_clean_push_exits_0(pushed: Pushed) -> None:
    env = _env(from_ref=pushed.topic1.sha, to_ref=pushed.topic1.sha)
    code, doc, _ = nhiguard_git(pushed.repo.path, "--pre-push", env=env)
    assert code == 0 and doc["findings"] == []
