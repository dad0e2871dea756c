"""`nhiguard ci` on GitHub Actions pull request events: a real payload, a real clone (full, or shallow as
actions/checkout makes it), and exactly the annotations, job summary, outputs, SARIF and exit code it produces."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ci.kit import (
    GITHUB_NAME,
    MORE,
    ODD,
    ODD_NAME,
    S_PR2,
    SETTINGS,
    STRIPE_NAME,
    T_OLD,
    T_PR1,
    T_PR3,
    Upstream,
    annotation,
    build_upstream,
    checkout_like_actions,
    clone,
    col,
    github_env,
    pull_request_event,
    row,
    run_github,
    sarif_errors,
    stripe_webhook_secret,
    summary_text,
)
from tests.support.cli import run_cli
from tests.support.gitrepo import BOB, CAROL


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Upstream:
    return build_upstream(tmp_path_factory.mktemp("ci-pr"))


def _pr_annotations(up: Upstream) -> list[str]:
    c = up.c
    return [
        annotation("error", "app/settings.py", 2, col(SETTINGS, T_PR1), GITHUB_NAME, "github-pat-classic",
                   "critical", T_PR1, c["f1"]),
        annotation("error", ODD_NAME, 1, col(ODD, S_PR2), STRIPE_NAME, "stripe-webhook-secret", "medium", S_PR2,
                   c["f2"]),
    ]


def _pr_rows(up: Upstream) -> list[str]:
    c = up.c
    return [
        row("critical", "github-pat-classic", "app/settings.py:2", c["f1"], T_PR1),
        row("medium", "stripe-webhook-secret", f"{ODD_NAME}:1", c["f2"], S_PR2),
    ]


def test_opened_scans_base_to_head_and_reports_on_every_channel(upstream: Upstream, tmp_path: Path) -> None:
    c = upstream.c
    work = checkout_like_actions(upstream, tmp_path / "work", "refs/pull/7/merge", depth=None)  # fetch-depth: 0
    run = run_github(work, tmp_path, "pull_request", pull_request_event("opened", c["m3"], c["f2"]))
    assert run.code == 1, run.stderr
    assert run.stderr == ""
    # T_MAIN (on main after the branch point) and T_OLD (before it) are not the pull request's.
    assert run.commands == _pr_annotations(upstream)
    assert run.summary == summary_text("pull request #7", f"commits `{c['m3'].sha[:12]}..{c['f2'].sha[:12]}`",
                                       2, 2, 0, _pr_rows(upstream))
    assert run.outputs == {"findings": "2", "new-findings": "2", "sarif": str(work.path / "nhiguard.sarif")}
    assert "== CRITICAL: 1 finding ==" in run.log and "== MEDIUM: 1 finding ==" in run.log
    assert T_PR1 not in run.stdout + run.summary and S_PR2 not in run.stdout + run.summary
    assert sarif_errors(run.sarif) == []
    results = run.sarif["runs"][0]["results"]
    assert [(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
             r["locations"][0]["physicalLocation"]["region"]["startLine"], r["properties"]["commit"])
            for r in results] == [("github-pat-classic", "app/settings.py", 2, c["f1"].sha),
                                  ("stripe-webhook-secret", "conf%2Cig%3A1%25.env", 1, c["f2"].sha)]
    assert T_PR1 not in (work.path / "nhiguard.sarif").read_text()


def test_synchronize_scans_the_whole_pull_request_not_only_the_last_push(upstream: Upstream,
                                                                          tmp_path: Path) -> None:
    c = upstream.c
    work = clone(upstream, tmp_path / "work")
    work.git("checkout", "-q", "--detach", c["f2"].sha)
    work.write("app/more.py", MORE)
    f3 = work.commit("f3: more", BOB)
    payload = pull_request_event("synchronize", c["m3"], f3, commits=3, before=c["f2"])
    run = run_github(work, tmp_path, "pull_request", payload)
    assert run.code == 1, run.stderr
    extra = annotation("error", "app/more.py", 3, col(MORE, T_PR3), GITHUB_NAME, "github-pat-classic", "critical",
                       T_PR3, f3)
    # Ordered by severity, then rule, then fingerprint: compare as sets within the critical rule.
    assert sorted(run.commands) == sorted([*_pr_annotations(upstream), extra])
    assert run.outputs == {"findings": "3", "new-findings": "3", "sarif": str(work.path / "nhiguard.sarif")}
    assert run.summary.startswith("## nhiguard: 3 new leaked secrets\n\nScanned pull request #7: commits "
                                  f"`{c['m3'].sha[:12]}..{f3.sha[:12]}`.\n")
    assert row("critical", "github-pat-classic", "app/more.py:3", f3, T_PR3) in run.summary.splitlines()


def test_shallow_checkout_of_the_merge_commit_is_deepened_just_enough(upstream: Upstream, tmp_path: Path) -> None:
    """actions/checkout's default: the merge commit alone (depth 1). Both base and head are missing; they are
    fetched by id, then one deepening step finds their merge base; the clone stays shallow."""
    c = upstream.c
    work = checkout_like_actions(upstream, tmp_path / "work", "refs/pull/7/merge")
    assert work.git("rev-parse", "--is-shallow-repository") == "true"
    assert work.git("cat-file", "-t", c["f2"].sha, check=False) == ""
    run = run_github(work, tmp_path, "pull_request", pull_request_event("opened", c["m3"], c["f2"]),
                     sha=c["merge"].sha, ref="refs/pull/7/merge")
    head, base = c["f2"].sha[:12], c["m3"].sha[:12]
    fetches = [f"git fetch --depth=1 origin {head} {base}", f"git fetch --deepen=50 origin {head} {base}"]
    assert run.code == 1, run.stderr
    assert run.stderr == "".join(f"nhiguard: fetched history: {f}\n" for f in fetches)
    assert run.commands == _pr_annotations(upstream)
    assert run.summary == summary_text("pull request #7", f"commits `{base}..{head}`", 2, 2, 0, _pr_rows(upstream),
                                       fetches=fetches)
    assert run.outputs == {"findings": "2", "new-findings": "2", "sarif": str(work.path / "nhiguard.sarif")}
    assert work.git("rev-parse", "--is-shallow-repository") == "true"  # deepened, not unshallowed


def test_shallow_checkout_without_fetching_says_what_to_set(upstream: Upstream, tmp_path: Path) -> None:
    c = upstream.c
    work = checkout_like_actions(upstream, tmp_path / "work", "refs/pull/7/merge")
    run = run_github(work, tmp_path, "pull_request", pull_request_event("opened", c["m3"], c["f2"]), "--no-fetch")
    message = (f"the head commit {c['f2'].sha[:12]} (pull_request.head.sha) is not in this clone and fetching is "
               "turned off (--no-fetch): set `fetch-depth: 0` on the actions/checkout step (or fetch the history "
               "before running nhiguard ci)")
    assert run.code == 2
    assert run.stderr == f"nhiguard: error: {message}\n"
    assert run.commands == [f"::error title=nhiguard could not scan::{message}"]
    assert run.summary == f"## nhiguard: could not scan\n\n{message}\n"
    assert run.outputs == {}
    assert not (work.path / "nhiguard.sarif").exists()


def test_shallow_checkout_whose_remote_cannot_be_reached_fails_with_exit_2(upstream: Upstream,
                                                                            tmp_path: Path) -> None:
    c = upstream.c
    work = checkout_like_actions(upstream, tmp_path / "work", "refs/pull/7/merge")
    work.git("remote", "set-url", "origin", f"file://{tmp_path}/gone")
    run = run_github(work, tmp_path, "pull_request", pull_request_event("opened", c["m3"], c["f2"]))
    head, base = c["f2"].sha[:12], c["m3"].sha[:12]
    assert run.code == 2
    assert run.stderr.startswith(f"nhiguard: error: the head commit {head} (pull_request.head.sha) is not in this "
                                 f"clone and `git fetch --depth=1 origin {head} {base}` failed (")
    assert run.stderr.endswith("): set `fetch-depth: 0` on the actions/checkout step (or fetch the history before "
                               "running nhiguard ci)\n")
    assert len(run.commands) == 1 and run.commands[0].startswith("::error title=nhiguard could not scan::")


def test_a_leak_already_in_the_baseline_is_not_new(upstream: Upstream, tmp_path: Path) -> None:
    c = upstream.c
    work = clone(upstream, tmp_path / "work")
    # The team accepted T_OLD (on main since c2) in a baseline.
    done = run_cli("baseline", "create", work.path, "-o", tmp_path / "baseline.json")
    assert done.returncode == 0, done.stderr
    work.git("checkout", "-q", "-b", "reuse", c["m3"].sha)
    work.write("config/app.env", f"# copied from legacy.env\nOLD_TOKEN={T_OLD}\n")
    head = work.commit("reuse the old token", CAROL)
    run = run_github(work, tmp_path, "pull_request", pull_request_event("opened", c["m3"], head, commits=1),
                     "--baseline", str(tmp_path / "baseline.json"))
    assert run.code == 0, run.stderr
    assert run.commands == []
    assert run.summary == summary_text("pull request #7", f"commits `{c['m3'].sha[:12]}..{head.sha[:12]}`",
                                       0, 0, 1, [])
    assert run.outputs == {"findings": "1", "new-findings": "0", "sarif": str(work.path / "nhiguard.sarif")}
    results = run.sarif["runs"][0]["results"]
    assert sarif_errors(run.sarif) == [] and len(results) == 1
    assert results[0]["suppressions"] == [
        {"kind": "external", "status": "accepted", "justification": "in the baseline"}]


def test_fail_on_high_with_only_a_medium_finding_passes_with_a_warning(upstream: Upstream, tmp_path: Path) -> None:
    c = upstream.c
    secret = stripe_webhook_secret("ci-medium-only")
    content = f"STRIPE_WEBHOOK_SECRET={secret}\n"
    work = clone(upstream, tmp_path / "work")
    work.git("checkout", "-q", "-b", "hooks", c["m3"].sha)
    work.write("deploy/hooks.env", content)
    head = work.commit("webhook secret", CAROL)
    run = run_github(work, tmp_path, "pull_request", pull_request_event("opened", c["m3"], head, commits=1),
                     "--fail-on", "high")
    assert run.code == 0, run.stderr
    assert run.commands == [annotation("warning", "deploy/hooks.env", 1, col(content, secret), STRIPE_NAME,
                                       "stripe-webhook-secret", "medium", secret, head)]
    assert run.summary == summary_text(
        "pull request #7", f"commits `{c['m3'].sha[:12]}..{head.sha[:12]}`", 1, 0, 0,
        [row("medium", "stripe-webhook-secret", "deploy/hooks.env:1", head, secret, below=True)], fail_on="high")
    assert run.outputs == {"findings": "1", "new-findings": "1", "sarif": str(work.path / "nhiguard.sarif")}
    # The same pull request fails at the default threshold (any severity).
    again = run_github(work, tmp_path, "pull_request", pull_request_event("opened", c["m3"], head, commits=1))
    assert again.code == 1
    assert again.commands == [run.commands[0].replace("::warning ", "::error ", 1)]


def test_pull_request_target_fetches_the_head_into_a_full_clone(upstream: Upstream, tmp_path: Path) -> None:
    """pull_request_target checks out the base branch: the head commit is fetched by id (no depth)."""
    c = upstream.c
    work = clone(upstream, tmp_path / "work", "--single-branch", "--branch", "main", "--no-tags")
    assert work.git("cat-file", "-t", c["f2"].sha, check=False) == ""
    run = run_github(work, tmp_path, "pull_request_target", pull_request_event("opened", c["m3"], c["f2"]))
    assert run.code == 1, run.stderr
    assert run.stderr == f"nhiguard: fetched history: git fetch origin {c['f2'].sha[:12]}\n"
    assert run.commands == _pr_annotations(upstream)


def test_a_repository_checked_out_below_the_workspace_gets_workspace_paths(upstream: Upstream,
                                                                          tmp_path: Path) -> None:
    c = upstream.c
    clone(upstream, tmp_path / "workspace" / "src")
    workspace = tmp_path / "workspace"
    env, summary, _ = github_env(workspace, tmp_path, "pull_request",
                                 pull_request_event("opened", c["m3"], c["f2"]), c["f2"].sha)
    done = run_cli("ci", "src", cwd=workspace, env=env)
    assert done.returncode == 1, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith(("::error", "::warning"))]
    assert lines == [line.replace("file=", "file=src/", 1) for line in _pr_annotations(upstream)]
    assert (f"| [`src/app/settings.py:2`](https://github.com/acme/app/blob/{c['f1'].sha}/app/settings.py#L2) |"
            in summary.read_text())
    assert (workspace / "nhiguard.sarif").is_file()
