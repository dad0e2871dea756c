"""`nhiguard ci` on GitHub Actions push events (updates, new branches with an all-zero `before`, forced pushes,
deletions, shallow clones) and on events without a commit range."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.ci.kit import (
    GITHUB_NAME,
    ODD,
    ODD_NAME,
    S_PR2,
    SETTINGS,
    STRIPE_NAME,
    T_MAIN,
    T_OLD,
    T_PR1,
    T_R2,
    T_TOPIC,
    Upstream,
    annotation,
    build_upstream,
    clone,
    col,
    push_event,
    row,
    run_github,
    sarif_errors,
    summary_text,
)
from tests.support.gitrepo import BOB, ZERO, GitRepo


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Upstream:
    return build_upstream(tmp_path_factory.mktemp("ci-push"))


def _sarif(work: GitRepo) -> str:
    return str(work.path / "nhiguard.sarif")


def _main_annotation(up: Upstream) -> str:
    return annotation("error", "main-only.txt", 1, 1, GITHUB_NAME, "github-pat-classic", "critical", T_MAIN,
                      up.c["m3"])


def _topic_annotations(up: Upstream) -> list[str]:
    c = up.c
    critical = sorted([
        annotation("error", "app/settings.py", 2, col(SETTINGS, T_PR1), GITHUB_NAME, "github-pat-classic",
                   "critical", T_PR1, c["f1"]),
        annotation("error", "topic.txt", 2, 1, GITHUB_NAME, "github-pat-classic", "critical", T_TOPIC, c["t1"]),
    ])
    return [*critical, annotation("error", ODD_NAME, 1, col(ODD, S_PR2), STRIPE_NAME, "stripe-webhook-secret",
                                  "medium", S_PR2, c["f2"])]


def _critical_first(commands: list[str]) -> list[str]:
    """Findings of one rule are ordered by fingerprint: sort those for a stable comparison."""
    critical = sorted(line for line in commands if "severity critical" in line)
    return critical + [line for line in commands if "severity critical" not in line]


def test_push_scans_before_to_after(upstream: Upstream, tmp_path: Path) -> None:
    c = upstream.c
    work = clone(upstream, tmp_path / "work")
    run = run_github(work, tmp_path, "push", push_event("refs/heads/main", c["c2"].sha, c["m3"].sha))
    assert run.code == 1, run.stderr
    assert run.stderr == ""
    assert run.commands == [_main_annotation(upstream)]
    assert run.summary == summary_text(
        "push to main", f"commits `{c['c2'].sha[:12]}..{c['m3'].sha[:12]}`", 1, 1, 0,
        [row("critical", "github-pat-classic", "main-only.txt:1", c["m3"], T_MAIN)])
    assert run.outputs == {"findings": "1", "new-findings": "1", "sarif": _sarif(work)}
    assert sarif_errors(run.sarif) == []


def test_new_branch_with_an_all_zero_before_scans_what_the_default_branch_lacks(upstream: Upstream,
                                                                               tmp_path: Path) -> None:
    """topic was branched from feature: its commits the default branch lacks are f1, f2 and t1."""
    c = upstream.c
    work = clone(upstream, tmp_path / "work", "--branch", "topic")
    run = run_github(work, tmp_path, "push", push_event("refs/heads/topic", ZERO, c["t1"].sha),
                     ref="refs/heads/topic")
    fetch = "git fetch origin +refs/heads/main:refs/remotes/origin/main"
    assert run.code == 1, run.stderr
    assert run.stderr == f"nhiguard: fetched history: {fetch}\n"
    assert _critical_first(run.commands) == _topic_annotations(upstream)
    scanned = f"the commits of `{c['t1'].sha[:12]}` that the default branch `main` (`{c['m3'].sha[:12]}`) lacks"
    rows = sorted([row("critical", "github-pat-classic", "app/settings.py:2", c["f1"], T_PR1),
                   row("critical", "github-pat-classic", "topic.txt:2", c["t1"], T_TOPIC)])
    rows.append(row("medium", "stripe-webhook-secret", f"{ODD_NAME}:1", c["f2"], S_PR2))
    expected = summary_text("push to topic", scanned, 3, 3, 0, rows, fetches=[fetch])
    table = [line for line in run.summary.splitlines() if line.startswith("| critical")]
    assert run.summary.replace("\n".join(table), "\n".join(sorted(table))) == expected
    assert run.outputs == {"findings": "3", "new-findings": "3", "sarif": _sarif(work)}


def test_new_branch_in_a_shallow_clone_fetches_the_default_branch_and_deepens(upstream: Upstream,
                                                                              tmp_path: Path) -> None:
    c = upstream.c
    work = clone(upstream, tmp_path / "work", "--depth", "1", "--branch", "topic")
    assert work.git("rev-parse", "--is-shallow-repository") == "true"
    run = run_github(work, tmp_path, "push", push_event("refs/heads/topic", ZERO, c["t1"].sha),
                     ref="refs/heads/topic")
    fetches = ["git fetch --depth=1 origin +refs/heads/main:refs/remotes/origin/main",
               f"git fetch --deepen=50 origin {c['t1'].sha[:12]} {c['m3'].sha[:12]}"]
    assert run.code == 1, run.stderr
    assert run.stderr == "".join(f"nhiguard: fetched history: {f}\n" for f in fetches)
    assert _critical_first(run.commands) == _topic_annotations(upstream)
    assert f"History fetched for this scan: `{fetches[0]}`; `{fetches[1]}`.\n" in run.summary
    assert run.outputs == {"findings": "3", "new-findings": "3", "sarif": _sarif(work)}
    assert work.git("rev-parse", "--is-shallow-repository") == "true"


def test_push_in_a_depth_1_clone_fetches_the_before_commit_and_deepens(upstream: Upstream, tmp_path: Path) -> None:
    c = upstream.c
    work = clone(upstream, tmp_path / "work", "--depth", "1", "--branch", "main")
    assert work.git("cat-file", "-t", c["c2"].sha, check=False) == ""
    run = run_github(work, tmp_path, "push", push_event("refs/heads/main", c["c2"].sha, c["m3"].sha))
    before, after = c["c2"].sha[:12], c["m3"].sha[:12]
    fetches = [f"git fetch --depth=1 origin {before}", f"git fetch --deepen=50 origin {after} {before}"]
    assert run.code == 1, run.stderr
    assert run.stderr == "".join(f"nhiguard: fetched history: {f}\n" for f in fetches)
    assert run.commands == [_main_annotation(upstream)]
    assert run.summary == summary_text(
        "push to main", f"commits `{before}..{after}`", 1, 1, 0,
        [row("critical", "github-pat-classic", "main-only.txt:1", c["m3"], T_MAIN)], fetches=fetches)
    assert run.outputs == {"findings": "1", "new-findings": "1", "sarif": _sarif(work)}


def test_forced_push_onto_a_newer_default_branch_scans_only_the_rewritten_commits(upstream: Upstream,
                                                                                 tmp_path: Path) -> None:
    """feature (tip f2) is rewritten as one commit on top of the newer main (m3) and force-pushed: the old tip and
    the default branch both have m3's history, so only the new commit is scanned (not T_MAIN)."""
    c = upstream.c
    work = clone(upstream, tmp_path / "work")
    work.git("checkout", "-q", "-B", "feature", c["m3"].sha)
    work.write("rewritten.py", f"TOKEN = '{T_R2}'\n")
    r2 = work.commit("r2: rewritten", BOB)
    run = run_github(work, tmp_path, "push", push_event("refs/heads/feature", c["f2"].sha, r2.sha, forced=True),
                     ref="refs/heads/feature")
    fetch = "git fetch origin +refs/heads/main:refs/remotes/origin/main"
    assert run.code == 1, run.stderr
    assert run.commands == [annotation("error", "rewritten.py", 1, col(f"TOKEN = '{T_R2}'", T_R2), GITHUB_NAME,
                                       "github-pat-classic", "critical", T_R2, r2)]
    scanned = (f"the commits of `{r2.sha[:12]}` that the tip before the forced push (`{c['f2'].sha[:12]}`) and the "
               f"default branch `main` (`{c['m3'].sha[:12]}`) lack")
    assert run.summary == summary_text(
        "push to feature", scanned, 1, 1, 0,
        [row("critical", "github-pat-classic", "rewritten.py:1", r2, T_R2)], fetches=[fetch])
    assert run.outputs == {"findings": "1", "new-findings": "1", "sarif": _sarif(work)}


def test_forced_push_whose_old_tip_is_gone_compares_with_the_default_branch(upstream: Upstream,
                                                                           tmp_path: Path) -> None:
    c = upstream.c
    gone = hashlib.sha1(b"a commit garbage-collected after the forced push").hexdigest()
    work = clone(upstream, tmp_path / "work")
    work.git("checkout", "-q", "-B", "feature", c["m3"].sha)
    work.write("rewritten.py", f"TOKEN = '{T_R2}'\n")
    r2 = work.commit("r2: rewritten", BOB)
    run = run_github(work, tmp_path, "push", push_event("refs/heads/feature", gone, r2.sha, forced=True),
                     ref="refs/heads/feature")
    assert run.code == 1, run.stderr
    assert len(run.commands) == 1 and "file=rewritten.py,line=1," in run.commands[0]
    scanned = f"the commits of `{r2.sha[:12]}` that the default branch `main` (`{c['m3'].sha[:12]}`) lacks"
    note = (f"`{r2.sha[:12]}`: the tip before the forced push, {gone[:12]}, cannot be fetched any more: compared "
            "with the default branch only")
    assert run.summary == summary_text(
        "push to feature", scanned, 1, 1, 0, [row("critical", "github-pat-classic", "rewritten.py:1", r2, T_R2)],
        fetches=["git fetch origin +refs/heads/main:refs/remotes/origin/main"], notes=[note])


def test_first_push_of_the_default_branch_scans_its_whole_history(upstream: Upstream, tmp_path: Path) -> None:
    c = upstream.c
    work = clone(upstream, tmp_path / "work")
    run = run_github(work, tmp_path, "push", push_event("refs/heads/main", ZERO, c["m3"].sha))
    assert run.code == 1, run.stderr
    assert sorted(run.commands) == sorted([
        _main_annotation(upstream),
        annotation("error", "legacy.env", 1, 11, GITHUB_NAME, "github-pat-classic", "critical", T_OLD, c["c2"]),
    ])
    assert (f"Scanned push to main: every commit of `{c['m3'].sha[:12]}` (the first push of the default branch)."
            in run.summary)
    assert run.outputs == {"findings": "2", "new-findings": "2", "sarif": _sarif(work)}


def test_deleted_branch_scans_nothing(upstream: Upstream, tmp_path: Path) -> None:
    c = upstream.c
    work = clone(upstream, tmp_path / "work")
    run = run_github(work, tmp_path, "push", push_event("refs/heads/topic", c["t1"].sha, ZERO),
                     ref="refs/heads/topic")
    assert run.code == 0, run.stderr
    assert run.commands == []
    assert run.summary == summary_text("push to topic", "refs/heads/topic was deleted: there is nothing to scan",
                                       0, 0, 0, [])
    assert run.outputs == {"findings": "0", "new-findings": "0", "sarif": _sarif(work)}
    assert sarif_errors(run.sarif) == []


def test_a_push_payload_without_after_is_an_error_not_a_deletion(upstream: Upstream, tmp_path: Path) -> None:
    """A truncated or foreign event file (`{}`) names no commit: exit 2, never "deleted, nothing to scan"."""
    work = clone(upstream, tmp_path / "work")
    run = run_github(work, tmp_path, "push", {}, ref="refs/heads/main")
    assert run.code == 2, run.stderr
    assert "has no after" in run.stderr


@pytest.mark.parametrize("event", ["workflow_dispatch", "schedule"])
def test_events_without_a_range_scan_the_checked_out_tree(upstream: Upstream, tmp_path: Path, event: str) -> None:
    work = clone(upstream, tmp_path / "work")
    run = run_github(work, tmp_path, event, {"ref": "refs/heads/main", "repository": {"full_name": "acme/app"}})
    assert run.code == 1, run.stderr
    assert sorted(run.commands) == sorted([
        annotation("error", "legacy.env", 1, 11, GITHUB_NAME, "github-pat-classic", "critical", T_OLD, None),
        annotation("error", "main-only.txt", 1, 1, GITHUB_NAME, "github-pat-classic", "critical", T_MAIN, None),
    ])
    rows = sorted([row("critical", "github-pat-classic", "legacy.env:1", None, T_OLD),
                   row("critical", "github-pat-classic", "main-only.txt:1", None, T_MAIN)])
    expected = summary_text(f"{event} run", f"the {event} event has no commit range: scanned the files of the "
                            "checked-out tree (use `nhiguard history` to sweep every commit)", 2, 2, 0, rows)
    table = [line for line in run.summary.splitlines() if line.startswith("| critical")]
    assert run.summary.replace("\n".join(table), "\n".join(sorted(table))) == expected
    assert run.outputs == {"findings": "2", "new-findings": "2", "sarif": _sarif(work)}
