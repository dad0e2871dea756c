"""`nhiguard git --range` / `--since-commit`: every finding attributed to the commit, author, date, path and
line that added it, over a history with branches, a conflicted merge, renames, deletions and tags."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.gitrepo import ALICE, BOB, CAROL, ZERO, Commit, GitRepo, locations, nhiguard_git
from tests.support.tokens import github_classic

T1, T2, T3, T4, T5, T6, T7 = (github_classic(f"range-{n}") for n in range(1, 8))


@dataclass
class History:
    repo: GitRepo
    c: dict[str, Commit]


def _row(secret: str, path: str, line: int, commit: Commit) -> tuple[str, str, int, str, str, str, str]:
    return (secret, path, line, commit.sha, commit.who.name, commit.who.email, commit.date)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    repo = GitRepo(tmp_path_factory.mktemp("range") / "work")
    c: dict[str, Commit] = {}
    repo.write("app/config.py", f"DEBUG = False\nTOKEN = '{T1}'\n")
    repo.write("shared.txt", "line1\nline2\n")
    c["c1"] = repo.commit("c1: config", ALICE)
    repo.write("README.md", "readme\n")
    repo.write("app/config.py", f"DEBUG = False\nTOKEN = '{T1}'\nOTHER = '{T2}'\n")
    c["c2"] = repo.commit("c2: more config", BOB)
    repo.tag("v1")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("feature.txt", f"intro\n{T3}\n")
    c["c3"] = repo.commit("c3: feature", CAROL)
    (repo.path / "docs").mkdir()
    repo.git("mv", "feature.txt", "docs/feature notes.txt")
    repo.write("docs/feature notes.txt", f"intro\n{T3}\nmore {T4}\n")
    c["c4"] = repo.commit("c4: rename and extend", CAROL)
    repo.write("shared.txt", "feature line1\nline2\n")
    c["c4b"] = repo.commit("c4b: conflicting edit", CAROL)
    repo.git("checkout", "-q", "main")
    repo.write("shared.txt", "main line1\nline2\n")
    repo.git("rm", "-q", "app/config.py")
    c["c5"] = repo.commit("c5: drop config", BOB)
    c["merge"] = repo.merge("feature", ALICE, resolve={"shared.txt": f"merged line1\nEVIL = '{T5}'\nline2\n"})
    repo.write("again.env", f"TOKEN={T1}\n")
    c["c6"] = repo.commit("c6: the old token again", BOB)
    repo.write("docs/feature notes.txt", f"intro\nmore {T4}\n")
    c["c7"] = repo.commit("c7: remove a line", ALICE)
    return History(repo, c)


def _scan(history: History, *args: str) -> list[tuple[str, str, int, str | None, str | None, str | None, str | None]]:
    code, doc, err = nhiguard_git(history.repo.path, *args)
    assert code in (0, 1), err
    assert code == (1 if doc["findings"] else 0)
    return locations(doc)


def test_full_range_attributes_every_line_to_the_commit_that_added_it(history: History) -> None:
    c = history.c
    assert _scan(history, "--range", f"{c['c1'].sha}..HEAD") == sorted(
        [
            _row(T1, "again.env", 1, c["c6"]),
            _row(T2, "app/config.py", 3, c["c2"]),
            _row(T4, "docs/feature notes.txt", 3, c["c4"]),
            _row(T3, "feature.txt", 2, c["c3"]),
            _row(T5, "shared.txt", 2, c["merge"]),
        ],
        key=lambda t: (t[1], t[2]),
    )


def test_new_branch_without_remotes_excludes_other_local_branches(history: History) -> None:
    c = history.c
    code, doc, _ = nhiguard_git(history.repo.path, "--range", f"{ZERO}..HEAD")
    assert code == 1
    assert locations(doc) == [_row(T1, "again.env", 1, c["c6"]), _row(T5, "shared.txt", 2, c["merge"])]
    assert doc["notices"] == [
        {"path": f"{ZERO}..HEAD", "reason": "no base commit (new branch): scanned the commits not on any other "
                                            "local branch (feature)"}
    ]


def test_tag_as_base(history: History) -> None:
    c = history.c
    assert _scan(history, "--range", "v1..main") == sorted(
        [
            _row(T1, "again.env", 1, c["c6"]),
            _row(T4, "docs/feature notes.txt", 3, c["c4"]),
            _row(T3, "feature.txt", 2, c["c3"]),
            _row(T5, "shared.txt", 2, c["merge"]),
        ],
        key=lambda t: (t[1], t[2]),
    )


def test_since_commit_excludes_that_commit_and_its_ancestors(history: History) -> None:
    c = history.c
    assert _scan(history, "--since-commit", c["c4"].sha) == [
        _row(T1, "again.env", 1, c["c6"]),
        _row(T5, "shared.txt", 2, c["merge"]),
    ]


def test_branch_range_and_empty_range(history: History) -> None:
    c = history.c
    assert _scan(history, "--range", f"{c['c2'].sha[:10]}..feature") == [
        _row(T4, "docs/feature notes.txt", 3, c["c4"]),
        _row(T3, "feature.txt", 2, c["c3"]),
    ]
    assert _scan(history, "--range", "HEAD..HEAD") == []
    # A merge that only brings over one side's lines adds nothing of its own.
    assert _scan(history, "--range", f"{c['c6'].sha}..{c['c7'].sha}") == []


def test_base_only_means_base_to_head(history: History) -> None:
    c = history.c
    assert _scan(history, "--range", c["merge"].sha) == [_row(T1, "again.env", 1, c["c6"])]


def test_new_branch_excludes_remote_tracking_refs(tmp_path: Path) -> None:
    remote = GitRepo(tmp_path / "remote.git", bare=True)
    repo = GitRepo(tmp_path / "work")
    repo.write("a.txt", f"{T1}\n")
    base = repo.commit("on main")
    repo.write("a.txt", f"{T1}\n{T2}\n")
    more = repo.commit("more on main", BOB)
    # Nothing to compare with: every commit, and the notice says so.
    code, doc, _ = nhiguard_git(repo.path, "--range", "..main")
    assert code == 1
    assert locations(doc) == [_row(T1, "a.txt", 1, base), _row(T2, "a.txt", 2, more)]
    assert doc["notices"] == [{"path": "..main", "reason": "no base commit (new branch) and no remote-tracking ref "
                                                          "or other branch to compare with: scanned every commit "
                                                          "reachable from main"}]
    repo.git("remote", "add", "origin", remote.path)
    repo.git("push", "-q", "origin", "main")
    repo.git("checkout", "-q", "-b", "topic")
    repo.write("b.txt", f"x\n{T6}\n")
    first = repo.commit("topic 1", BOB)
    repo.write("c.txt", f"{T7}\n")
    second = repo.commit("topic 2", CAROL)
    code, doc, _ = nhiguard_git(repo.path, "--range", f"{ZERO}..topic")
    assert code == 1
    assert locations(doc) == [_row(T6, "b.txt", 2, first), _row(T7, "c.txt", 1, second)]
    reason = "no base commit (new branch): scanned the commits not on any remote-tracking ref (origin/main)"
    assert doc["notices"] == [{"path": f"{ZERO}..topic", "reason": reason}]
    # The same in the bare remote, once pushed: ranges work without a work tree.
    repo.git("push", "-q", "origin", "topic")
    code, doc, _ = nhiguard_git(remote.path, "--range", "main..topic")
    assert code == 1
    assert locations(doc) == [_row(T6, "b.txt", 2, first), _row(T7, "c.txt", 1, second)]


# -- bad input -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--range", "nope..HEAD"], "range base 'nope': unknown revision or not a commit"),
        (["--range", "HEAD..nope"], "range head 'nope': unknown revision or not a commit"),
        (["--range", "main...HEAD"], "use BASE..HEAD"),
        (["--range", "--output=x..HEAD"], "not a revision"),
        (["--since-commit", "deadbeef"], "--since-commit 'deadbeef': unknown revision"),
        (["--range", "v1^{tree}..HEAD"], "not a commit"),
        ([], "give exactly one of --staged, --range, --since-commit, --pre-push"),
        (["--staged", "--range", "HEAD..HEAD"], "(got --staged, --range)"),
    ],
)
def test_bad_input_exits_2_with_a_message(history: History, args: list[str], message: str) -> None:
    code, _, err = nhiguard_git(history.repo.path, *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_not_a_repository_and_missing_folder(tmp_path: Path) -> None:
    code, _, err = nhiguard_git(tmp_path, "--staged")
    assert code == 2 and "not a git repository" in err
    code, _, err = nhiguard_git(tmp_path / "missing", "--range", "a..b")
    assert code == 2 and "no such folder" in err


def test_staged_in_a_bare_repository(tmp_path: Path) -> None:
    remote = GitRepo(tmp_path / "remote.git", bare=True)
    code, _, err = nhiguard_git(remote.path, "--staged")
    assert code == 2 and "bare repository has no staged changes" in err


def test_range_in_an_empty_repository(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "work")
    code, _, err = nhiguard_git(repo.path, "--range", "HEAD~1..HEAD")
    assert code == 2 and "the repository has no commits yet" in err


def test_shallow_clone_names_the_cause(tmp_path: Path) -> None:
    origin = GitRepo(tmp_path / "origin")
    for n in range(3):
        origin.write("f.txt", f"{n}\n")
        origin.commit(f"c{n}")
    clone = tmp_path / "clone"
    origin.git("clone", "-q", "--depth", "1", f"file://{origin.path}", clone)
    code, _, err = nhiguard_git(clone, "--range", "HEAD~2..HEAD")
    assert code == 2
    assert "shallow clone" in err
