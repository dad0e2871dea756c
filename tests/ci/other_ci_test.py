"""`nhiguard ci` outside GitHub (GitLab CI, Bitbucket Pipelines, Azure Pipelines), with no CI at all, with an
explicit --range, with broken GitHub payloads; and the escaping rules of workflow commands and outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nhiguard import ci
from tests.ci.kit import (
    S_PR2,
    T_MAIN,
    T_OLD,
    T_PR1,
    T_TOPIC,
    Upstream,
    build_upstream,
    clone,
    github_env,
    parse_outputs,
    sarif_errors,
)
from tests.support.cli import run_cli
from tests.support.gitrepo import ZERO, GitRepo, found


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Upstream:
    return build_upstream(tmp_path_factory.mktemp("ci-other"))


def _ci(work: GitRepo, env: dict[str, str], *args: str) -> tuple[int, dict[str, Any], str, str]:
    done = run_cli("ci", *args, "-f", "json", "--show-secrets", cwd=work.path, env=env)
    doc = json.loads(done.stdout) if done.returncode in (0, 1) else {}
    return done.returncode, doc, done.stdout, done.stderr


def _pr_found() -> list[tuple[str, str, int]]:
    return [(T_PR1, "app/settings.py", 2), (S_PR2, "conf,ig:1%.env", 1)]


def test_gitlab_merge_request_scans_diff_base_to_commit(upstream: Upstream, tmp_path: Path) -> None:
    c = upstream.c
    work = clone(upstream, tmp_path / "work", "--branch", "feature")
    env = {"GITLAB_CI": "true", "CI": "true", "CI_PIPELINE_SOURCE": "merge_request_event",
           "CI_MERGE_REQUEST_IID": "7", "CI_MERGE_REQUEST_DIFF_BASE_SHA": c["c2"].sha, "CI_COMMIT_SHA": c["f2"].sha,
           "CI_COMMIT_BEFORE_SHA": ZERO, "CI_DEFAULT_BRANCH": "main"}
    code, doc, stdout, stderr = _ci(work, env)
    assert code == 1, stderr
    assert found(doc) == _pr_found()
    assert doc["target"] == "merge request !7"
    assert "::" not in stdout.replace("https://", "")  # no workflow commands outside GitHub
    sarif = json.loads((work.path / "nhiguard.sarif").read_text())
    assert sarif_errors(sarif) == []
    assert len(sarif["runs"][0]["results"]) == 2


def test_gitlab_push_scans_before_to_commit(upstream: Upstream, tmp_path: Path) -> None:
    c = upstream.c
    work = clone(upstream, tmp_path / "work")
    env = {"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "main",
           "CI_COMMIT_BEFORE_SHA": c["c2"].sha, "CI_COMMIT_SHA": c["m3"].sha, "CI_DEFAULT_BRANCH": "main"}
    code, doc, _, stderr = _ci(work, env)
    assert code == 1, stderr
    assert found(doc) == [(T_MAIN, "main-only.txt", 1)]
    assert doc["target"] == "push to main"


def test_gitlab_new_branch_compares_with_the_default_branch(upstream: Upstream, tmp_path: Path) -> None:
    c = upstream.c
    work = clone(upstream, tmp_path / "work", "--branch", "topic")
    env = {"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "topic",
           "CI_COMMIT_BEFORE_SHA": ZERO, "CI_COMMIT_SHA": c["t1"].sha, "CI_DEFAULT_BRANCH": "main"}
    code, doc, _, stderr = _ci(work, env)
    assert code == 1, stderr
    assert found(doc) == [(T_PR1, "app/settings.py", 2), (S_PR2, "conf,ig:1%.env", 1), (T_TOPIC, "topic.txt", 2)]
    assert stderr == "nhiguard: fetched history: git fetch origin +refs/heads/main:refs/remotes/origin/main\n"


def test_gitlab_scheduled_pipeline_scans_the_tree(upstream: Upstream, tmp_path: Path) -> None:
    c = upstream.c
    work = clone(upstream, tmp_path / "work")
    env = {"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "schedule", "CI_COMMIT_BRANCH": "main",
           "CI_COMMIT_BEFORE_SHA": ZERO, "CI_COMMIT_SHA": c["m3"].sha, "CI_DEFAULT_BRANCH": "main"}
    code, doc, _, stderr = _ci(work, env)
    assert code == 1, stderr
    assert found(doc) == [(T_OLD, "legacy.env", 1), (T_MAIN, "main-only.txt", 1)]


def test_gitlab_shallow_clone_without_fetching_names_git_depth(upstream: Upstream, tmp_path: Path) -> None:
    c = upstream.c
    work = clone(upstream, tmp_path / "work", "--depth", "1", "--branch", "feature")
    env = {"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_IID": "7",
           "CI_MERGE_REQUEST_DIFF_BASE_SHA": c["c2"].sha, "CI_COMMIT_SHA": c["f2"].sha}
    code, _, stdout, stderr = _ci(work, env, "--no-fetch")
    assert code == 2
    assert stdout == ""
    assert stderr == (f"nhiguard: error: the base commit {c['c2'].sha[:12]} (CI_MERGE_REQUEST_DIFF_BASE_SHA) is "
                      "not in this clone and fetching is turned off (--no-fetch): set the variable `GIT_DEPTH: 0` "
                      "for this job (or fetch the history before running nhiguard ci)\n")
    # With fetching on (the default), the same clone is completed and scanned.
    code, doc, _, stderr = _ci(work, env)
    assert code == 1, stderr
    assert found(doc) == _pr_found()


def test_gitlab_pipeline_without_a_range_is_a_usage_error(upstream: Upstream, tmp_path: Path) -> None:
    work = clone(upstream, tmp_path / "work")
    env = {"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "external", "CI_COMMIT_BEFORE_SHA": ZERO,
           "CI_COMMIT_SHA": upstream.c["m3"].sha}
    code, _, _, stderr = _ci(work, env)
    assert code == 2
    assert stderr == ("nhiguard: error: GitLab CI: this external pipeline gives no commit range (no "
                      "CI_MERGE_REQUEST_DIFF_BASE_SHA, CI_COMMIT_BEFORE_SHA is all zeros); pass --range BASE..HEAD "
                      "(the commits to scan), or use `nhiguard scan` for the files or `nhiguard history` for every "
                      "commit\n")


def test_bitbucket_pull_request_with_a_short_destination_commit(upstream: Upstream, tmp_path: Path) -> None:
    """Bitbucket may give a 12-character destination commit: the destination branch is fetched to resolve it."""
    c = upstream.c
    work = clone(upstream, tmp_path / "work", "--single-branch", "--branch", "feature")
    env = {"CI": "true", "BITBUCKET_BUILD_NUMBER": "12", "BITBUCKET_PR_ID": "7", "BITBUCKET_COMMIT": c["f2"].sha,
           "BITBUCKET_PR_DESTINATION_BRANCH": "main", "BITBUCKET_PR_DESTINATION_COMMIT": c["m3"].sha[:12]}
    code, doc, _, stderr = _ci(work, env)
    assert code == 1, stderr
    assert found(doc) == _pr_found()
    assert doc["target"] == "pull request #7"
    assert stderr == "nhiguard: fetched history: git fetch origin +refs/heads/main:refs/remotes/origin/main\n"


def test_bitbucket_branch_pipeline_is_a_usage_error(upstream: Upstream, tmp_path: Path) -> None:
    work = clone(upstream, tmp_path / "work")
    env = {"BITBUCKET_BUILD_NUMBER": "12", "BITBUCKET_COMMIT": upstream.c["m3"].sha, "BITBUCKET_BRANCH": "main"}
    code, _, _, stderr = _ci(work, env)
    assert code == 2
    assert stderr.startswith("nhiguard: error: Bitbucket Pipelines: only pull request pipelines give a commit range")
    assert stderr.endswith("pass --range BASE..HEAD (the commits to scan), or use `nhiguard scan` for the files or "
                           "`nhiguard history` for every commit\n")


def test_azure_pull_request_build(upstream: Upstream, tmp_path: Path) -> None:
    c = upstream.c
    work = clone(upstream, tmp_path / "work", "--single-branch", "--branch", "feature")
    env = {"TF_BUILD": "True", "BUILD_REASON": "PullRequest", "SYSTEM_PULLREQUEST_TARGETBRANCH": "refs/heads/main",
           "SYSTEM_PULLREQUEST_SOURCECOMMITID": c["f2"].sha, "SYSTEM_PULLREQUEST_PULLREQUESTID": "7",
           "BUILD_SOURCEVERSION": c["f2"].sha}
    code, doc, _, stderr = _ci(work, env)
    assert code == 1, stderr
    assert found(doc) == _pr_found()


def test_no_ci_is_a_usage_error_asking_for_range(upstream: Upstream, tmp_path: Path) -> None:
    work = clone(upstream, tmp_path / "work")
    done = run_cli("ci", cwd=work.path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == ("nhiguard: error: nhiguard ci: no CI system recognised (GITHUB_ACTIONS, GITLAB_CI, "
                           "BITBUCKET_BUILD_NUMBER and TF_BUILD are unset): pass --range BASE..HEAD (the commits to "
                           "scan), or use `nhiguard scan` for the files or `nhiguard history` for every commit\n")
    assert not (work.path / "nhiguard.sarif").exists()


def test_explicit_range_works_anywhere_and_writes_sarif_where_asked(upstream: Upstream, tmp_path: Path) -> None:
    c = upstream.c
    work = clone(upstream, tmp_path / "work", "--branch", "feature")
    code, doc, _, stderr = _ci(work, {}, "--range", f"{c['c2'].sha}..{c['f2'].sha}", "--sarif",
                               str(tmp_path / "out" / "ci.sarif"))
    assert code == 1, stderr
    assert found(doc) == _pr_found()
    assert sarif_errors(json.loads((tmp_path / "out" / "ci.sarif").read_text())) == []
    assert not (work.path / "nhiguard.sarif").exists()


def test_fail_on_never_reports_but_passes(upstream: Upstream, tmp_path: Path) -> None:
    c = upstream.c
    work = clone(upstream, tmp_path / "work", "--branch", "feature")
    code, doc, _, stderr = _ci(work, {}, "--range", f"{c['c2'].sha}..{c['f2'].sha}", "--fail-on", "never")
    assert code == 0, stderr
    assert len(doc["findings"]) == 2


@pytest.mark.parametrize(("payload", "message"), [
    ("{not json", "the event payload {path} is not valid JSON: "),
    (json.dumps({"action": "opened", "number": 7, "pull_request": {"head": {"sha": "abc"}}}),
     "the pull_request event payload has no pull_request.base.sha; pass --range BASE..HEAD"),
])
def test_broken_github_payload_is_exit_2_with_an_annotation(upstream: Upstream, tmp_path: Path, payload: str,
                                                            message: str) -> None:
    work = clone(upstream, tmp_path / "work")
    env, summary, output = github_env(work.path, tmp_path, "pull_request", None, upstream.c["m3"].sha)
    Path(env["GITHUB_EVENT_PATH"]).write_text(payload, encoding="utf-8")
    done = run_cli("ci", cwd=work.path, env=env)
    expected = "GitHub Actions: " + message.format(path=env["GITHUB_EVENT_PATH"])
    assert done.returncode == 2
    assert done.stderr.startswith(f"nhiguard: error: {expected}")
    assert done.stdout.startswith(f"::error title=nhiguard could not scan::{ci.escape_data(expected)}")
    assert summary.read_text().startswith(f"## nhiguard: could not scan\n\n{expected}")
    assert output.read_text() == ""


# -- escaping ---------------------------------------------------------------------------------------------------
def test_workflow_command_escaping_follows_githubs_rules() -> None:
    assert ci.escape_data("100% done\r\nnext: a,b") == "100%25 done%0D%0Anext: a,b"
    assert ci.escape_property("100% done\r\nnext: a,b") == "100%25 done%0D%0Anext%3A a%2Cb"
    line = ci.command("error", "two\nlines", file="dir,x/a:b%.py", line=3, col=1, title="t: x, y")
    assert line == "::error file=dir%2Cx/a%3Ab%25.py,line=3,col=1,title=t%3A x%2C y::two%0Alines"
    assert ci.command("notice", "plain") == "::notice::plain"


def test_outputs_use_the_delimiter_form_even_for_a_value_with_a_newline() -> None:
    text = ci.output_lines({"findings": "2", "sarif": "/tmp/odd\nname.sarif"})
    assert parse_outputs(text) == {"findings": "2", "sarif": "/tmp/odd\nname.sarif"}
    assert text.count("<<ghadelimiter_") == 2


def test_summary_code_spans_survive_pipes_backticks_and_control_characters() -> None:
    assert ci._code("a|b") == "`a\\|b`"
    assert ci._code("x`y") == "``x`y``"
    assert ci._code("`edge`") == "`` `edge` ``"
    assert ci._code("new\nline") == "`new\\x0aline`"


def test_merge_group_and_pull_request_payloads_name_base_and_head(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "checks_requested", "merge_group": {
        "head_sha": "a" * 40, "head_ref": "refs/heads/gh-readonly-queue/main/pr-7-" + "b" * 40,
        "base_sha": "b" * 40, "base_ref": "refs/heads/main"}}), encoding="utf-8")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "merge_group", "GITHUB_EVENT_PATH": str(event)}
    context = ci.detect(env)
    assert (context.mode, context.title, context.base, context.head) == (
        "range", "merge queue group", ci.Rev("b" * 40, "merge_group.base_sha"),
        ci.Rev("a" * 40, "merge_group.head_sha"))
    assert ci.detect(env, "main..HEAD").mode == "spec"  # --range overrides the event


def test_markdown_in_branch_names_is_escaped_in_the_summary() -> None:
    assert ci._md("push to <img src=x>*bold*[link](u)|x") == "push to \\<img src=x\\>\\*bold\\*\\[link\\](u)\\|x"
