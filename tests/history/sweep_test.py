"""`nhiguard history` on real repositories: every blob once, findings attributed to the commit, path, line and
author that introduced them, and whether they are still at HEAD."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from nhiguard.history import sweep as history_sweep
from nhiguard.history.sweep import HistoryOptions, HistoryResult, run_history
from tests.history.kit import ALICE, BOB, CAROL, Repo, cli_json, locations, sweep, token


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> tuple[Repo, dict[str, object]]:
    """A repository with a past: many commits, two branches, a merge, a rename, deletions and a tag."""
    repo = Repo(tmp_path_factory.mktemp("story") / "repo")
    facts: dict[str, object] = {}
    repo.write("README.md", "# service\n")
    repo.write("src/app.py", "".join(f"line {i}\n" for i in range(1, 30)))
    repo.commit("initial", ALICE)
    # a secret added by Bob at line 3, then deleted two commits later
    repo.write("config/settings.py", f'DEBUG = False\nNAME = "svc"\nGITHUB_TOKEN = "{token("deleted")}"\n')
    facts["deleted"] = repo.commit("add settings", BOB)
    repo.write("src/app.py", "".join(f"line {i}\n" for i in range(1, 40)))
    repo.commit("more app", ALICE)
    repo.remove("config/settings.py")
    facts["deleted_by"] = repo.commit("remove settings", CAROL)
    # a secret that stays, while lines are added above it (new blobs, same secret: one introduction)
    repo.write("deploy/env.sh", f"export A=1\nexport GH={token('kept')}\n")
    facts["kept"] = repo.commit("deploy script", ALICE)
    repo.write("deploy/env.sh", f"# header\nexport A=1\nexport GH={token('kept')}\n")
    repo.commit("header", BOB)
    # a feature branch with its own secret, merged; the file is renamed afterwards
    repo.git("checkout", "-q", "-b", "feature")
    for i in range(5):
        repo.write(f"feature/f{i}.txt", f"feature {i}\n")
        repo.commit(f"feature {i}", BOB)
    repo.write("feature/creds.txt", f"token: {token('feature')}\n")
    facts["feature"] = repo.commit("creds", BOB)
    repo.git("checkout", "-q", "main")
    repo.write("main.txt", "main side\n")
    repo.commit("main side", ALICE)
    facts["merge"] = repo.merge("feature", ALICE)
    repo.git("mv", "feature/creds.txt", "feature/credentials.txt")
    facts["rename"] = repo.commit("rename creds", CAROL)
    # a branch never merged, and a tag on a commit no branch holds any more
    repo.git("checkout", "-q", "-b", "spike")
    repo.write("spike.py", f"T = '{token('spike')}'\n")
    facts["spike"] = repo.commit("spike", CAROL)
    repo.git("checkout", "-q", "main")
    repo.git("checkout", "-q", "-b", "gone")
    repo.write("tagged/only.txt", f"x\ny\n{token('tagged')}\n")
    facts["tagged"] = repo.commit("tagged only", ALICE)
    repo.tag("v-gone")
    repo.git("checkout", "-q", "main")
    repo.git("branch", "-q", "-D", "gone")
    # the same secret in two files at once: one finding, two locations
    repo.write("a/one.cfg", f"key={token('twice')}\n")
    repo.write("b/two.cfg", f"\n\nkey={token('twice')}\n")
    facts["twice"] = repo.commit("twice", BOB)
    for i in range(10):
        repo.write("src/app.py", "".join(f"line {j} v{i}\n" for j in range(1, 40)))
        repo.commit(f"app v{i}", ALICE)
    return repo, facts


def _only(result: HistoryResult, secret: str) -> list[tuple[str, str, int, str | None, str | None,
                                                                       str | None, str]]:
    return [loc for loc in locations(result) if loc[0] == secret]


def test_deleted_secret_is_found_where_it_was_introduced(story: tuple[Repo, dict[str, object]]) -> None:
    repo, facts = story
    result = sweep(repo.path)
    added = facts["deleted"]
    assert _only(result, token("deleted")) == [
        (token("deleted"), "config/settings.py", 3, added.sha, BOB.name, BOB.email, "history"),  # type: ignore[attr-defined]
    ]
    finding = next(f for f in result.report.findings if f.secret == token("deleted"))
    assert result.present_at_head[finding.fingerprint] is False
    loc = finding.locations[0]
    assert loc.column == len('GITHUB_TOKEN = "') + 1
    assert loc.date == "2024-03-01T02:00:00+00:00"


def test_secret_still_at_head_has_one_introduction_and_a_head_location(
    story: tuple[Repo, dict[str, object]],
) -> None:
    repo, facts = story
    result = sweep(repo.path)
    head = repo.git("rev-parse", "HEAD")
    assert _only(result, token("kept")) == [
        (token("kept"), "deploy/env.sh", 3, head, None, None, "head"),
        (token("kept"), "deploy/env.sh", 2, facts["kept"].sha, ALICE.name, ALICE.email, "history"),  # type: ignore[attr-defined]
    ]
    finding = next(f for f in result.report.findings if f.secret == token("kept"))
    assert result.present_at_head[finding.fingerprint] is True


def test_branch_merge_rename_tag_and_unmerged_branch(story: tuple[Repo, dict[str, object]]) -> None:
    repo, facts = story
    result = sweep(repo.path)
    head = repo.git("rev-parse", "HEAD")
    assert _only(result, token("feature")) == [
        (token("feature"), "feature/credentials.txt", 1, head, None, None, "head"),
        (token("feature"), "feature/credentials.txt", 1, facts["rename"].sha, CAROL.name, CAROL.email,  # type: ignore[attr-defined]
         "history"),
        (token("feature"), "feature/creds.txt", 1, facts["feature"].sha, BOB.name, BOB.email, "history"),  # type: ignore[attr-defined]
    ]
    assert _only(result, token("spike")) == [
        (token("spike"), "spike.py", 1, facts["spike"].sha, CAROL.name, CAROL.email, "history"),  # type: ignore[attr-defined]
    ]
    assert _only(result, token("tagged")) == [
        (token("tagged"), "tagged/only.txt", 3, facts["tagged"].sha, ALICE.name, ALICE.email, "history"),  # type: ignore[attr-defined]
    ]
    twice = [f for f in result.report.findings if f.secret == token("twice")]
    assert len(twice) == 1
    assert sorted((loc.path, loc.line, loc.kind) for loc in twice[0].locations) == [
        ("a/one.cfg", 1, "head"), ("a/one.cfg", 1, "history"), ("b/two.cfg", 3, "head"), ("b/two.cfg", 3, "history"),
    ]
    assert len(result.report.findings) == 6
    assert not result.report.notices


def test_every_reachable_blob_is_scanned_exactly_once(story: tuple[Repo, dict[str, object]]) -> None:
    repo, _ = story
    result = sweep(repo.path)
    blobs = repo.blob_count()
    assert result.blobs == blobs
    assert result.report.stats.files == blobs


def test_workers_give_the_same_result(story: tuple[Repo, dict[str, object]], monkeypatch: pytest.MonkeyPatch) -> None:
    repo, _ = story
    alone = sweep(repo.path, jobs=1)
    monkeypatch.setattr(history_sweep, "PARALLEL_MIN_STORED", 0)
    monkeypatch.setattr(history_sweep, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(history_sweep, "BATCH_BLOBS", 3)
    together = sweep(repo.path, jobs=3)
    assert locations(together) == locations(alone)
    assert together.report.stats.files == alone.report.stats.files


def test_branch_since_and_exclude(story: tuple[Repo, dict[str, object]]) -> None:
    repo, facts = story
    only_spike = sweep(repo.path, HistoryOptions(branches=("spike",), progress=False))
    secrets = {f.secret for f in only_spike.report.findings}
    assert token("spike") in secrets and token("tagged") not in secrets and token("twice") not in secrets
    # HEAD (main) was not swept, yet presence at HEAD is still answered for what was found
    kept = next(f for f in only_spike.report.findings if f.secret == token("kept"))
    assert only_spike.present_at_head[kept.fingerprint] is True
    after = sweep(repo.path, HistoryOptions(since=facts["twice"].date, progress=False))  # type: ignore[attr-defined]
    assert {f.secret for f in after.report.findings} == {token("twice")}
    excluded = sweep(repo.path, HistoryOptions(exclude_paths=("config/**", "*.cfg"), progress=False))
    secrets = {f.secret for f in excluded.report.findings}
    assert token("deleted") not in secrets and token("twice") not in secrets and token("kept") in secrets
    assert any("excluded" in n.reason for n in excluded.report.notices)


def test_stashes_are_opt_in(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    repo.write("a.txt", "a\n")
    repo.commit()
    repo.write("a.txt", f"a\n{token('stash')}\n")
    repo.git("stash", "-q")
    repo.write("a.txt", f"b\n{token('stash2')}\n")
    repo.git("stash", "-q")
    assert not sweep(repo.path).report.findings
    found = sweep(repo.path, HistoryOptions(stashes=True, progress=False))
    assert {f.secret for f in found.report.findings} == {token("stash"), token("stash2")}


def test_baseline_and_allow_apply(story: tuple[Repo, dict[str, object]], tmp_path: Path) -> None:
    repo, _ = story
    code, doc, _ = cli_json(repo.path)
    assert code == 1 and len(doc["findings"]) == 6
    baseline = tmp_path / "baseline.json"
    from tests.support.cli import run_cli

    made = run_cli("baseline", "create", repo.path, "-o", baseline)
    assert made.returncode == 0
    # the baseline made from the work tree knows the secrets still at HEAD only
    code, doc, err = cli_json(repo.path, "--baseline", baseline)
    assert code == 1
    assert {f["secret"] for f in doc["findings"]} == {token(s) for s in ("deleted", "spike", "tagged")}
    assert "still present at HEAD" in err


def test_progress_line_on_request_and_quiet_otherwise(story: tuple[Repo, dict[str, object]]) -> None:
    repo, _ = story
    quiet = io.StringIO()
    run_history(repo.path, *_defaults(repo.path), HistoryOptions(), stream=quiet)
    assert quiet.getvalue() == ""  # not a terminal
    shown = io.StringIO()
    run_history(repo.path, *_defaults(repo.path), HistoryOptions(progress=True), stream=shown)
    assert shown.getvalue().startswith("\rhistory [")  # redrawn in place, then cleared
    assert "blobs" in shown.getvalue() and "ETA" in shown.getvalue() and "finding(s)" in shown.getvalue()
    assert shown.getvalue().endswith("\r")


def _defaults(path: Path) -> tuple[object, object]:
    from nhiguard.config import Config
    from nhiguard.scan import ScanSettings

    return Config(root=path), ScanSettings()


def test_text_report_and_exit_codes(story: tuple[Repo, dict[str, object]], tmp_path: Path) -> None:
    from tests.support.cli import run_cli

    repo, facts = story
    done = run_cli("history", repo.path, "--no-progress")
    assert done.returncode == 1
    assert "config/settings.py:3:" in done.stdout
    assert facts["deleted"].sha[:12] in done.stdout  # type: ignore[attr-defined]
    assert token("deleted") not in done.stdout  # redacted by default
    clean = Repo(tmp_path / "clean")
    clean.write("a.txt", "nothing here\n")
    clean.commit()
    assert run_cli("history", clean.path, "--no-progress").returncode == 0


def test_scanning_ahead_of_the_walk_keeps_only_what_reachable_paths_allow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With workers, a whole-history sweep scans the object database while the history is still walked, every
    rule on (paths are not known yet). What a path turns off (generic rules in lock files), blobs no ref reaches
    and blobs only at excluded paths must come out exactly as in a walk-first sweep."""
    password = "HExV" + "tn7BEKbhzk%B"  # a generic password (split: this file must not report itself)
    repo = Repo(tmp_path / "r")
    repo.write("package-lock.json", f'{{"password": "{password}"}}\n')  # generic rules are off in lock files
    repo.write("app/settings.py", f'DB_PASSWORD = "{password[::-1]}"\n')
    repo.write("vendor/lib.py", f"T = '{token('vendored')}'\n")
    repo.commit("lock and app", BOB)
    loose = tmp_path / "dangling.txt"
    loose.write_text(f"T = '{token('dangling')}'\n")
    repo.git("hash-object", "-w", loose)  # in the object database, reachable from nothing
    options = HistoryOptions(exclude_paths=("vendor/**",), progress=False)
    alone = sweep(repo.path, options, jobs=1)
    monkeypatch.setattr(history_sweep, "PARALLEL_MIN_STORED", 0)
    monkeypatch.setattr(history_sweep, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(history_sweep, "BATCH_BLOBS", 1)
    rescanned: list[list[tuple[bytes, str]]] = []
    real_settle = history_sweep._settle

    def settle(*args: object, **kwargs: object) -> list[list[tuple[bytes, str]]]:
        again = real_settle(*args, **kwargs)  # type: ignore[arg-type]
        rescanned.extend(again)
        return again

    monkeypatch.setattr(history_sweep, "_settle", settle)
    together = sweep(repo.path, options, jobs=2)
    # it ran ahead, then fixed the lock file; a settings file is scanned again at its path for the file-kind detectors
    assert sorted(path for batch in rescanned for _, path in batch) == ["app/settings.py", "package-lock.json"]
    assert locations(together) == locations(alone)
    assert {f.secret for f in together.report.findings} == {password[::-1]}
    assert together.report.stats.files == alone.report.stats.files == 2
    assert together.report.stats.bytes == alone.report.stats.bytes
