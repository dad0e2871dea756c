"""Repositories that are not the happy case: each gives a clear notice or message, the right exit code, and
nothing is dropped without saying so."""

from __future__ import annotations

import os
from pathlib import Path

from nhiguard.history.sweep import HistoryOptions
from tests.history.kit import ALICE, BOB, Person, Repo, cli_json, locations, sweep, token
from tests.support.cli import run_cli


def _source(tmp_path: Path) -> Repo:
    repo = Repo(tmp_path / "src")
    repo.write("old.txt", f"{token('old')}\n")
    repo.commit("old secret", ALICE)
    repo.write("keep.txt", f"x\n{token('keep')}\n")
    repo.commit("kept secret", BOB)
    repo.remove("old.txt")
    repo.commit("drop old", ALICE)
    repo.write("other.txt", "other\n")
    repo.commit("other", BOB)
    return repo


def test_shallow_clone_says_what_was_not_scanned(tmp_path: Path) -> None:
    source = _source(tmp_path)
    clone = tmp_path / "shallow"
    source.git("clone", "-q", "--depth", "1", f"file://{source.path}", clone)
    head = Repo.__new__(Repo)
    head.path = clone
    tip = head.git("rev-parse", "HEAD")
    result = sweep(clone)
    assert [(s, p, n, c, k) for s, p, n, c, _, _, k in locations(result)] == [
        (token("keep"), "keep.txt", 2, tip, "head"),
        (token("keep"), "keep.txt", 2, tip, "history"),  # the boundary commit: the clone knows no older one
    ]
    (notice,) = result.report.notices
    assert "shallow clone" in notice.reason and tip[:12] in notice.reason and "not scanned" in notice.reason
    assert "--unshallow" in notice.reason
    assert notice.incomplete  # the history asked for is not all there: never a clean exit 0


def test_shallow_clone_exits_incomplete_unless_accepted(tmp_path: Path) -> None:
    # nothing found in the part of the history the clone holds: exit 4 (incomplete), not 0 (clean)
    source = Repo(tmp_path / "clean")
    source.write("a.txt", "one\n")
    source.commit("one", ALICE)
    source.write("a.txt", "two\n")
    source.commit("two", BOB)
    clone = tmp_path / "shallow"
    source.git("clone", "-q", "--depth", "1", f"file://{source.path}", clone)
    base = ["history", str(clone), "--no-progress", "--no-baseline"]
    incomplete = run_cli(*base)
    assert incomplete.returncode == 4 and "shallow clone" in incomplete.stdout + incomplete.stderr
    assert run_cli(*base, "--allow-incomplete").returncode == 0
    assert run_cli("history", str(source.path), "--no-progress", "--no-baseline").returncode == 0


def test_bare_repository_gives_the_same_findings(tmp_path: Path) -> None:
    source = _source(tmp_path)
    bare = tmp_path / "bare.git"
    source.git("clone", "-q", "--bare", source.path, bare)
    assert locations(sweep(bare)) == locations(sweep(source.path))
    assert {f.secret for f in sweep(bare).report.findings} == {token("old"), token("keep")}


def test_empty_repository_is_a_clean_exit_with_a_notice(tmp_path: Path) -> None:
    Repo(tmp_path / "empty")
    code, doc, _ = cli_json(tmp_path / "empty")
    assert code == 0
    assert doc["findings"] == []
    assert [n["reason"] for n in doc["notices"]] == ["empty repository (no commits): nothing to scan"]


def test_not_a_repository_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    done = run_cli("history", tmp_path / "plain", "--no-progress", env={"GIT_CEILING_DIRECTORIES": str(tmp_path)})
    assert done.returncode == 2
    assert "not a git repository" in done.stderr
    missing = run_cli("history", tmp_path / "nowhere", "--no-progress")
    assert missing.returncode == 2 and "no such folder" in missing.stderr
    unknown = run_cli("history", _source(tmp_path).path, "--branch", "no-such-branch", "--no-progress")
    assert unknown.returncode == 2 and "no-such-branch" in unknown.stderr


def test_detached_head(tmp_path: Path) -> None:
    repo = _source(tmp_path)
    first = repo.git("rev-list", "--max-parents=0", "HEAD")
    repo.git("checkout", "-q", "--detach", first)  # HEAD where the old secret still is
    repo.write("detached.txt", f"{token('detached')}\n")
    made = repo.commit("on a detached HEAD, no branch holds it", BOB)
    result = sweep(repo.path)
    at_head = {f.secret for f in result.report.findings if result.present_at_head[f.fingerprint]}
    assert at_head == {token("old"), token("detached")}
    assert (token("detached"), "detached.txt", 1, made.sha, BOB.name, BOB.email, "history") in locations(result)


def test_submodules_are_skipped_with_a_notice(tmp_path: Path) -> None:
    sub = _source(tmp_path)
    repo = Repo(tmp_path / "super")
    repo.write("a.txt", "a\n")
    repo.commit()
    repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", sub.path, "vendor/sub")
    repo.commit("add submodule")
    result = sweep(repo.path)
    assert not result.report.findings  # the submodule's secrets live in its own repository
    notices = [(n.path, n.reason) for n in result.report.notices]
    assert len(notices) == 1 and notices[0][0] == "vendor/sub" and "submodule" in notices[0][1]


def test_big_blobs_are_skipped_with_notices_binary_strings_scanned(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    repo.write("image.png", b"\x89PNG\r\n\x1a\n\0\0" + os.urandom(4096) + b"\0" + token("bin").encode())
    repo.write("big.log", ("filler line\n" * 100_000) + token("big") + "\n")
    repo.write("small.txt", f"{token('small')}\n")
    repo.commit()
    repo.write("image.png", b"\x89PNG\r\n\x1a\n\0\0" + os.urandom(4096))
    repo.commit()
    result = sweep(repo.path, HistoryOptions(max_blob_size=512 * 1024, progress=False))
    assert {f.secret for f in result.report.findings} == {token("small"), token("bin")}
    reasons = {n.path: n.reason for n in result.report.notices}
    assert "image.png" not in reasons  # a binary's printable strings are scanned
    assert reasons["big.log"].startswith("1 version larger than the size limit (")
    assert result.report.stats.skipped == 1


def test_non_utf8_paths_names_and_messages(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    repo.write(b"caf\xe9/secret.txt", f"{token('latin')}\n")
    odd = Person("Jos\udce9 Latin1", "jose@example.com")  # the raw byte 0xe9 in the author name
    repo.commit(b"r\xe9sum\xe9 \xff\xfe not utf-8\n", odd)
    result = sweep(repo.path)
    ((secret, path, line, _, author, _, kind),) = [loc for loc in locations(result) if loc[6] == "history"]
    # git itself may have re-encoded the name to UTF-8 at commit time; either way it is shown, never a crash
    assert (secret, path, line, kind) == (token("latin"), "caf\\xe9/secret.txt", 1, "history")
    assert author in ("Jos\\xe9 Latin1", "Jos\u00e9 Latin1")
    code, doc, _ = cli_json(repo.path)
    assert code == 1 and doc["findings"][0]["locations"][0]["path"] == "caf\\xe9/secret.txt"


def _loose(repo: Repo, content_path: str) -> Path:
    oid = repo.git("rev-parse", f"HEAD:{content_path}")
    return repo.path / ".git" / "objects" / oid[:2] / oid[2:]


def test_missing_and_corrupt_objects_are_reported_and_the_sweep_goes_on(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    repo.write("gone.txt", f"{token('gone')}\n")
    repo.write("broken.txt", f"{token('broken')}\n")
    repo.write("fine.txt", f"{token('fine')}\n")
    repo.commit()
    gone, broken = _loose(repo, "gone.txt"), _loose(repo, "broken.txt")
    gone.unlink()
    broken.chmod(0o644)
    broken.write_bytes(b"this is not zlib data at all")
    code, doc, _ = cli_json(repo.path)
    assert code == 1  # findings decide the exit code; the damage is reported, not fatal
    assert {f["secret"] for f in doc["findings"]} == {token("fine")}
    reasons = {n["path"]: n["reason"] for n in doc["notices"]}
    assert "is missing" in reasons["gone.txt"] and "was not scanned" in reasons["gone.txt"]
    assert "is unreadable" in reasons["broken.txt"] and "was not scanned" in reasons["broken.txt"]


def test_refs_to_blobs_and_trees_are_named(tmp_path: Path) -> None:
    repo = _source(tmp_path)
    repo.git("tag", "key-blob", repo.git("rev-parse", "HEAD:keep.txt"))
    repo.git("tag", "-a", "-m", "a tree", "a-tree", repo.git("rev-parse", "HEAD^{tree}"))
    notices = {(n.path, n.reason, n.incomplete) for n in sweep(repo.path).report.notices}
    tail = "not a commit: not swept (only what commits hold is)"
    # content a ref publishes and the sweep did not read: the run is incomplete (exit 4), never clean
    assert notices == {("refs/tags/key-blob", f"ref points at a blob, {tail}; scan it with "
                        "`git cat-file -p refs/tags/key-blob | nhiguard scan -`", True),
                       ("refs/tags/a-tree", f"ref points at a tree, {tail}", True)}


def test_replace_refs_and_grafts_do_not_hide_a_commit(tmp_path: Path) -> None:
    # refs/replace/* travels with a push: a commit that added a key, replaced by an innocent one, must still be
    # swept (and a graft that cuts it off too)
    repo = Repo(tmp_path / "r")
    repo.write("README", "base\n")
    repo.commit("init")
    repo.write("s.env", f"GITHUB_TOKEN={token('hidden')}\n")
    repo.commit("add")
    bad = repo.git("rev-parse", "HEAD")
    repo.remove("s.env")
    repo.commit("remove")
    repo.git("replace", bad, repo.git("commit-tree", "-p", f"{bad}~1", "-m", "innocent", f"{bad}~1^{{tree}}"))
    assert {f.secret for f in sweep(repo.path).report.findings} == {token("hidden")}
    repo.git("replace", "-d", bad)
    (repo.path / ".git" / "info").mkdir(exist_ok=True)
    (repo.path / ".git" / "info" / "grafts").write_text(repo.git("rev-parse", "HEAD") + "\n")
    assert {f.secret for f in sweep(repo.path).report.findings} == {token("hidden")}
