"""The diff stream parser on hand-written git output, and hostile repository settings on real repositories."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from nhiguard.model import Chunk, Notice
from nhiguard.sources import gitdiff
from tests.support.gitrepo import BOB, GitRepo, found, locations, nhiguard_git
from tests.support.tokens import github_classic

T1, T2, T3 = (github_classic(f"parse-{n}") for n in range(3))


def _parse(text: bytes, kind: str = "commit") -> list[Chunk | Notice]:
    parser = gitdiff._Parser(Path("."), 1 << 20, kind)
    return list(parser.parse(io.BytesIO(text)))


@pytest.mark.parametrize(
    ("quoted", "plain"),
    [
        (b"plain/name.txt", b"plain/name.txt"),
        (b'"tab\\there"', b"tab\there"),
        (b'"quote\\"d\\\\"', b'quote"d\\'),
        (b'"caf\\303\\251 \\377"', b"caf\xc3\xa9 \xff"),
    ],
)
def test_unquote(quoted: bytes, plain: bytes) -> None:
    assert gitdiff._unquote(quoted) == plain


@pytest.mark.parametrize(
    ("rest", "path"),
    [
        (b"a/x b/x", b"x"),
        (b"a/with space b/with space", b"with space"),
        (b"a/x b/y b/x b/y", b"x b/y"),
        (b'"a/t\\tb" "b/t\\tb"', b"t\tb"),
        (b"a/one b/two", None),
    ],
)
def test_header_path_only_when_both_sides_agree(rest: bytes, path: bytes | None) -> None:
    assert gitdiff._header_path(rest) == path


def test_stream_with_commits_no_newline_marker_and_octopus_merge() -> None:
    sha1, sha2 = "1" * 40, "2" * 40
    text = b"".join([
        b"\x00" + sha1.encode() + b"\x00\x00Ann\x00ann@x\x002024-01-01T00:00:00+00:00\n",
        b"\n",
        b"diff --git a/f.txt b/f.txt\n",
        b"index " + b"0" * 40 + b".." + b"3" * 40 + b" 100644\n",
        b"--- a/f.txt\n",
        b"+++ b/f.txt\n",
        b"@@ -2,0 +3,2 @@ ctx\n",
        b"+third\r\n",
        b"+fourth\n",
        b"\\ No newline at end of file\n",
        b"@@ -9 +10 @@\n",
        b"-old\n",
        b"+tenth\n",
        b"\x00" + sha2.encode() + b"\x00a b c\x00Bo\x00bo@x\x002024-01-02T00:00:00+00:00\n",
        b"\n",
        b"diff --combined m.txt\n",
        b"--- a/m.txt\n",
        b"+++ b/m.txt\n",
        b"@@@@ -1,1 -1,1 -1,1 +1,3 @@@@\n",
        b"  +from third\n",
        b"+++new everywhere\n",
        b"- -gone\n",
        b"+ +from second\n",
    ])
    items = _parse(text)
    assert [(i.data, i.line_map, i.origin.commit, i.origin.author) for i in items if isinstance(i, Chunk)] == [
        (b"third\r\nfourth\ntenth\n", (3, 4, 10), sha1, "Ann"),
        (b"new everywhere\n", (2,), sha2, "Bo"),
    ]


def test_deleted_submodule_and_binary_entries() -> None:
    text = b"".join([
        b"diff --git a/gone.txt b/gone.txt\n",
        b"deleted file mode 100644\n",
        b"--- a/gone.txt\n",
        b"+++ /dev/null\n",
        b"@@ -1 +0,0 @@\n",
        b"-x\n",
        b"diff --git a/sub b/sub\n",
        b"new file mode 160000\n",
        b"@@ -0,0 +1 @@\n",
        b"+Subproject commit " + b"4" * 40 + b"\n",
        b"diff --git a/img.png b/img.png\n",
        b"new file mode 100644\n",
        b"Binary files /dev/null and b/img.png differ\n",
    ])
    assert _parse(text, "staged") == [
        Notice("sub", "submodule: not scanned here (scan it in its own repository)"),
        Notice("img.png", "binary"),
    ]


def test_hostile_repository_settings_do_not_change_the_result(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "work")
    for key, value in [
        ("diff.noprefix", "true"), ("diff.mnemonicPrefix", "true"), ("color.ui", "always"),
        ("color.diff", "always"), ("diff.external", "false"), ("core.quotePath", "true"),
        ("diff.relative", "true"), ("diff.renames", "false"), ("format.pretty", "oneline"),
        ("diff.suppressBlankEmpty", "true"), ("log.showRoot", "false"), ("diff.context", "7"),
        ("core.pager", "cat"), ("log.decorate", "full"),
    ]:
        repo.git("config", key, value)
    repo.write("src/na\u00efve file.py", f"x = 1\n\ny = 2\nT = '{T1}'\n")
    root = repo.commit("root")
    repo.write("src/na\u00efve file.py", f"x = 1\n\ny = 2\nT = '{T1}'\n\nU = '{T2}'\n")
    second = repo.commit("second", BOB)
    code, doc, err = nhiguard_git(repo.path, "--range", f"{root.sha}..HEAD")
    assert code == 1, err
    assert locations(doc) == [(T2, "src/na\u00efve file.py", 6, second.sha, BOB.name, BOB.email, second.date)]
    # The root commit's lines count too when the range starts before it (log.showRoot=false is overridden).
    code, doc, _ = nhiguard_git(repo.path, "--range", "..HEAD")
    assert found(doc) == [(T1, "src/na\u00efve file.py", 4), (T2, "src/na\u00efve file.py", 6)]
    (repo.path / "src" / "sub").mkdir()
    repo.write("src/sub/new.txt", f"\n{T3}\n")
    repo.git("add", "-A")
    code, doc, _ = nhiguard_git(repo.path / "src" / "sub", "--staged")
    assert found(doc) == [(T3, "src/sub/new.txt", 2)]


def test_size_limit_applies_to_added_lines(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "work")
    repo.write("big.txt", "a\n" * 3000 + f"{T1}\n")
    repo.write("small.txt", f"{T2}\n")
    repo.git("add", "-A")
    code, doc, _ = nhiguard_git(repo.path, "--staged", "--max-file-size", "4KB")
    assert code == 1
    assert found(doc) == [(T2, "small.txt", 1)]
    assert doc["notices"] == [{"path": "big.txt", "reason": "added lines larger than the size limit (> 4096 bytes)",
                               "incomplete": True}]
