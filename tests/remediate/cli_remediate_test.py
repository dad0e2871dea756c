"""`nhiguard remediate` through the real CLI, against real HTTPS servers on 127.0.0.1 that speak the GitHub,
GitLab and Jira contracts (tests/remediate/fakes.py). Every request is redirected with --remediate-endpoint, which
the CLI announces."""

from __future__ import annotations

import json
import random
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.remediate.fakes import GitHubApi, GitHubIssues, GitLabIssues, Jira
from tests.support.cli import run_cli
from tests.support.providers import ProviderServer, Reset
from tests.support.tokens import github_classic, gitlab_pat

LIVE = github_classic("remediate-live")
OTHER = github_classic("remediate-other")
GITLAB = gitlab_pat("remediate-gitlab")


def _ticket_token(kind: str) -> str:
    rng = random.Random(kind)
    return "test-" + "".join(rng.choice(string.ascii_lowercase) for _ in range(24))


GH_TOKEN = _ticket_token("gh")
GL_TOKEN = _ticket_token("gl")
JIRA_TOKEN = _ticket_token("jira")
ENV = {"GITHUB_TOKEN": GH_TOKEN, "GITLAB_TOKEN": GL_TOKEN, "JIRA_EMAIL": "secops@acme.test",
       "NHIGUARD_JIRA_URL": "https://acme.atlassian.net",
       "JIRA_API_TOKEN": JIRA_TOKEN}
SECRETS = (LIVE, OTHER, GITLAB)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ProviderServer]:
    srv = ProviderServer(tmp_path / "tls")
    yield srv
    srv.close()


def _project(tmp_path: Path, config: str) -> Path:
    root = tmp_path / "project"
    (root / "deploy").mkdir(parents=True)
    (root / ".github").mkdir()
    (root / ".github" / "CODEOWNERS").write_text("/deploy/ @acme/platform\n", encoding="utf-8")
    (root / "deploy" / "release.env").write_text(f"GITHUB_TOKEN={LIVE}\n", encoding="utf-8")
    (root / "tools.env").write_text(f"GH_TOKEN={OTHER}\nGITLAB_TOKEN={GITLAB}\n", encoding="utf-8")
    (root / ".nhiguard.yml").write_text(config, encoding="utf-8")
    return root


GITHUB_POLICY = """\
remediate:
  policy:
    - when: {verdict: live, provider: github}
      then: revoke
  else: ticket
  tickets:
    backend: github
    github: {repo: acme/app, labels: [security]}
    assignees: {"@acme/platform": platform-lead}
    default_owner: "@acme/security"
"""


def _report(server: ProviderServer, project: Path, tmp_path: Path, api: GitHubApi) -> Path:
    server.scenarios["ghapi"] = api
    report = tmp_path / "report.json"
    result = run_cli("scan", project, "--verify", "-f", "json", "-o", report,
                     "--verify-endpoint", f"github={server.endpoint('ghapi')}",
                     "--verify-endpoint", f"*={server.endpoint('none')}",
                     "--verify-ca", server.ca_path, "--audit-log", tmp_path / "audit.jsonl")
    assert result.returncode == 1, result.stderr
    server.reset_counters()
    return report


@dataclass(frozen=True)
class _GitHub:
    report: Path
    api: GitHubApi
    issues: GitHubIssues
    flags: list[str]


def _github(server: ProviderServer, tmp_path: Path) -> _GitHub:
    """The project under GITHUB_POLICY, its verified report, the fake issue tracker, and the flags that send
    remediation to the fakes."""
    api = GitHubApi(live={LIVE})
    report = _report(server, _project(tmp_path, GITHUB_POLICY), tmp_path, api)
    issues = GitHubIssues(GH_TOKEN)
    server.scenarios["gh"] = issues
    return _GitHub(report, api, issues, _flags(server, tmp_path, "github-issues=gh", "github=ghapi"))


def _flags(server: ProviderServer, tmp_path: Path, *names: str) -> list[str]:
    out: list[str] = []
    for name in names:
        selector, _, key = name.partition("=")
        out += ["--remediate-endpoint", f"{selector}={server.endpoint(key or selector)}"]
    return [*out, "--remediate-ca", str(server.ca_path), "--audit-log", str(tmp_path / "audit.jsonl"),
            "--responder", "oncall@acme.test"]


def _audit(tmp_path: Path) -> list[dict[str, object]]:
    lines = (tmp_path / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _assert_no_secret(server: ProviderServer, tmp_path: Path, *, keys: tuple[str, ...]) -> None:
    log = (tmp_path / "audit.jsonl").read_text(encoding="utf-8")
    for secret in (*SECRETS, GH_TOKEN, GL_TOKEN, JIRA_TOKEN):
        assert secret not in log
    for seen in server.seen:
        if seen.key in keys:
            for secret in SECRETS:
                assert secret not in seen.text(), (seen.key, seen.method, seen.path)


def test_without_apply_nothing_is_sent_and_the_plan_is_deterministic(server: ProviderServer, tmp_path: Path) -> None:
    report, flags = (setup := _github(server, tmp_path)).report, setup.flags
    first = run_cli("remediate", report, "--plan-out", tmp_path / "plan1.json", *flags, env=ENV)
    second = run_cli("remediate", report, "--plan-out", tmp_path / "plan2.json", "-f", "json", *flags, env=ENV)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert server.seen == []  # --apply absent: zero requests
    assert (tmp_path / "plan1.json").read_bytes() == (tmp_path / "plan2.json").read_bytes()
    plan = json.loads((tmp_path / "plan1.json").read_text(encoding="utf-8"))
    actions = {a["rule_id"] + ":" + a["ticket"]["locations"][0]["path"]: a for a in plan["actions"]}
    assert actions["github-pat-classic:deploy/release.env"]["action"] == "revoke"
    assert actions["github-pat-classic:deploy/release.env"]["backend"] == "github-credential-revoke"
    assert actions["github-pat-classic:tools.env"]["action"] == "ticket"  # not live: ticket, per the policy
    assert actions["gitlab-pat:tools.env"]["action"] == "ticket"
    assert "revoke" in first.stdout and "dry run" in first.stderr
    planned = [r for r in _audit(tmp_path) if r["event"] == "remediate.plan"]
    assert len(planned) == 6 and {r["responder"] for r in planned} == {"oncall@acme.test"}
    _assert_no_secret(server, tmp_path, keys=("gh",))


def test_apply_revokes_live_tokens_files_routed_tickets_and_is_idempotent(server: ProviderServer,
                                                                          tmp_path: Path) -> None:
    setup = _github(server, tmp_path)
    report, api, issues, flags = setup.report, setup.api, setup.issues, setup.flags
    result = run_cli("remediate", report, "--apply", "--inventory", tmp_path / "inv.db", *flags, env=ENV)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "remediation endpoint override" in result.stderr
    assert not any(secret in result.stdout + result.stderr for secret in (*SECRETS, GH_TOKEN))

    revokes = [s for s in server.requests_for("ghapi") if s.path == "/credentials/revoke"]
    assert len(revokes) == 1
    assert revokes[0].method == "POST" and "Authorization" not in revokes[0].headers
    assert revokes[0].headers["Accept"] == "application/vnd.github+json"
    assert json.loads(revokes[0].body) == {"credentials": [LIVE]}
    assert api.live == set()

    assert len(issues.issues) == 2  # the two tokens in tools.env that were not revoked
    for issue in issues.issues:
        assert "security" in issue["labels"] and any(x.startswith("nhiguard-fp-") for x in issue["labels"])
        assert "How to fix" in issue["body"] and "False positive" in issue["body"]
        assert "<!-- nhiguard:fingerprint=nhg1:" in issue["body"]
        assert issue["title"].endswith(":tools.env")
    [gh_other] = [i for i in issues.issues if "github-pat-classic" in i["body"]]
    [gl] = [i for i in issues.issues if "gitlab-pat" in i["body"]]
    assert "@acme/security" in gh_other["body"]  # no CODEOWNERS entry, no author: the default queue
    assert "docs.github.com" in gh_other["body"] and "docs.gitlab.com" in gl["body"]
    for name in ("Rule", "Provider", "Fingerprint", "Verdict", "Age", "Secret (redacted)"):
        assert f"**{name}**" in gh_other["body"]
    creates = [s for s in server.requests_for("gh") if s.method == "POST"]
    assert [s.path for s in creates] == ["/repos/acme/app/issues"] * 2
    assert all(s.headers["Authorization"] == f"Bearer {GH_TOKEN}" for s in server.requests_for("gh"))

    applied = [r for r in _audit(tmp_path) if r["event"] == "remediate.apply"]
    revoked = next(r for r in applied if r["action"] == "revoke")
    assert revoked["ok"] is True and revoked["state"] == "revoked" and revoked["reverified"] == "invalid"
    assert {r["responder"] for r in applied} == {"oncall@acme.test"}
    _assert_no_secret(server, tmp_path, keys=("gh",))

    # the same report again: the open issues are found by their fingerprint label and commented on
    again = run_cli("remediate", report, "--apply", *flags, env=ENV)
    assert again.returncode == 0, again.stderr
    assert len(issues.issues) == 2 and len(issues.comments) == 2
    assert "updated" in again.stdout


def test_codeowners_routing_sets_the_assignee(server: ProviderServer, tmp_path: Path) -> None:
    config = GITHUB_POLICY.replace("then: revoke", "then: ticket")
    project = _project(tmp_path, config)
    report = _report(server, project, tmp_path, GitHubApi(live={LIVE}))
    issues = GitHubIssues(GH_TOKEN)
    server.scenarios["gh"] = issues
    result = run_cli("remediate", report, "--apply", *_flags(server, tmp_path, "github-issues=gh"), env=ENV)
    assert result.returncode == 0, result.stderr
    routed = next(i for i in issues.issues if "deploy/release.env" in i["title"])
    assert routed["assignees"] == ["platform-lead"]
    assert "@acme/platform (from codeowners)" in routed["body"]
    others = [i for i in issues.issues if i is not routed]
    assert all(i["assignees"] == [] and "(from default)" in i["body"] for i in others)


def test_a_403_for_missing_permission_is_reported_per_action(server: ProviderServer, tmp_path: Path) -> None:
    project = _project(tmp_path, GITHUB_POLICY.replace("then: revoke", "then: ticket"))
    report = _report(server, project, tmp_path, GitHubApi(live={LIVE}))
    server.scenarios["gh"] = GitHubIssues(GH_TOKEN, forbidden=True)
    result = run_cli("remediate", report, "--apply", *_flags(server, tmp_path, "github-issues=gh"), env=ENV)
    assert result.returncode == 1
    assert result.stdout.count("FAIL") == 3
    assert "GitHub answered 403" in result.stdout and "Resource not accessible" in result.stdout
    failed = [r for r in _audit(tmp_path) if r["event"] == "remediate.apply"]
    assert len(failed) == 3 and not any(r["ok"] for r in failed)
    assert GH_TOKEN not in result.stdout + result.stderr


SPLIT_POLICY = """\
remediate:
  policy:
    - when: {provider: gitlab}
      then: ticket:jira
  else: ticket
  tickets:
    backend: gitlab
    gitlab: {project: acme/app, labels: [security]}
    jira: {url: "https://acme.atlassian.net", project: SEC}
    default_owner: "@acme/security"
"""


def test_gitlab_confidential_tickets_and_partial_failure_when_jira_is_down(server: ProviderServer,
                                                                           tmp_path: Path) -> None:
    project = _project(tmp_path, SPLIT_POLICY)
    report = _report(server, project, tmp_path, GitHubApi(live={LIVE}))
    gitlab = GitLabIssues(GL_TOKEN)
    server.scenarios["gl"] = gitlab
    server.scenarios["jira"] = Reset()
    result = run_cli("remediate", report, "--apply", *_flags(server, tmp_path, "gitlab-issues=gl", "jira"), env=ENV)
    assert result.returncode == 1
    assert len(gitlab.issues) == 2 and all(i["confidential"] is True for i in gitlab.issues)
    posts = [s for s in server.requests_for("gl") if s.method == "POST"]
    assert {s.path for s in posts} == {"/api/v4/projects/acme%2Fapp/issues"}
    assert all(s.headers["PRIVATE-TOKEN"] == GL_TOKEN and s.headers["Content-Type"] == "application/json"
               for s in posts)
    body = json.loads(posts[0].body)
    assert set(body) == {"title", "description", "labels", "confidential"}
    assert body["labels"].startswith("security,nhiguard-fp-")
    [failed] = [line for line in result.stdout.splitlines() if "FAIL" in line]
    assert "1 failed" in result.stderr and "gitlab-pat" in failed and "connection failed" in failed  # Jira's
    _assert_no_secret(server, tmp_path, keys=("gl", "jira"))
    # GitLab re-run: no duplicate
    server.scenarios["jira"] = Jira("secops@acme.test", JIRA_TOKEN)
    again = run_cli("remediate", report, "--apply", *_flags(server, tmp_path, "gitlab-issues=gl", "jira"), env=ENV)
    assert again.returncode == 0, again.stdout
    assert len(gitlab.issues) == 2 and len(gitlab.notes) == 2


def test_jira_issue_in_adf_and_idempotent(server: ProviderServer, tmp_path: Path) -> None:
    config = SPLIT_POLICY.replace("provider: gitlab", "verdict: [live, invalid, unknown, not_checked]")
    project = _project(tmp_path, config)
    report = _report(server, project, tmp_path, GitHubApi(live={LIVE}))
    jira = Jira("secops@acme.test", JIRA_TOKEN)
    server.scenarios["jira"] = jira
    result = run_cli("remediate", report, "--apply", *_flags(server, tmp_path, "jira"), env=ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(jira.issues) == 3
    creates = [s for s in server.requests_for("jira") if s.path == "/rest/api/3/issue"]
    fields = json.loads(creates[0].body)["fields"]
    assert fields["project"] == {"key": "SEC"} and fields["issuetype"] == {"name": "Task"}
    assert fields["description"]["type"] == "doc" and fields["description"]["version"] == 1
    assert fields["summary"].startswith("[nhiguard] ")
    searches = [s for s in server.requests_for("jira") if s.path == "/rest/api/3/search/jql"]
    assert len(searches) == 3 and all(s.method == "POST" for s in searches)
    again = run_cli("remediate", report, "--apply", *_flags(server, tmp_path, "jira"), env=ENV)
    assert again.returncode == 0
    assert len(jira.issues) == 3 and len(jira.comments) == 3
    _assert_no_secret(server, tmp_path, keys=("jira",))


def test_a_saved_plan_is_applied_later(server: ProviderServer, tmp_path: Path) -> None:
    setup = _github(server, tmp_path)
    report, api, issues, flags = setup.report, setup.api, setup.issues, setup.flags
    planned = run_cli("remediate", report, "--plan-out", tmp_path / "plan.json", *flags, env=ENV)
    assert planned.returncode == 0 and server.seen == []
    applied = run_cli("remediate", "--apply", tmp_path / "plan.json", *flags, env=ENV)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert len(issues.issues) == 2 and len(api.batches) == 1


def test_from_the_inventory_and_state_recorded_back(server: ProviderServer, tmp_path: Path) -> None:
    from nhiguard.inventory.store import Inventory

    project = _project(tmp_path, GITHUB_POLICY)
    api = GitHubApi(live={LIVE})
    server.scenarios["ghapi"] = api
    inventory = tmp_path / "inv.db"
    scanned = run_cli("scan", project, "--verify", "--inventory", inventory,
                      "--verify-endpoint", f"github={server.endpoint('ghapi')}",
                      "--verify-endpoint", f"*={server.endpoint('none')}", "--verify-ca", server.ca_path,
                      "--audit-log", tmp_path / "audit.jsonl")
    assert scanned.returncode == 1, scanned.stderr
    server.reset_counters()
    issues = GitHubIssues(GH_TOKEN)
    server.scenarios["gh"] = issues
    flags = _flags(server, tmp_path, "github-issues=gh", "github=ghapi")
    result = run_cli("remediate", "--from-inventory", inventory, "--root", project, "-c",
                     project / ".nhiguard.yml", "--apply", "--inventory", inventory, *flags, env=ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(issues.issues) == 2 and len(api.batches) == 1
    with Inventory(inventory) as store:
        states = {i.rule_id + ":" + i.locations[0].path: i for i in store.identities()}
    assert states["github-pat-classic:deploy/release.env"].revocation_state == "revoked"
    assert states["github-pat-classic:deploy/release.env"].revoked_at
    assert states["gitlab-pat:tools.env"].ticket_state == "open"
    assert (states["gitlab-pat:tools.env"].ticket_ref or "").startswith("https://github.com/acme/app/issues/")


def test_apply_checks_every_token_it_needs_before_the_first_action(server: ProviderServer, tmp_path: Path) -> None:
    gh = _github(server, tmp_path)
    env_without = {k: "" for k in ENV}  # the run's environment lacks the ticket token
    dry = run_cli("remediate", gh.report, *gh.flags, env=env_without)
    assert dry.returncode == 0 and "--apply would stop first: github-issues: set GITHUB_TOKEN" in dry.stderr
    stopped = run_cli("remediate", gh.report, "--apply", *gh.flags, env=env_without)
    assert stopped.returncode == 2, stopped.stderr
    assert "nothing done" in stopped.stderr and "set GITHUB_TOKEN" in stopped.stderr
    assert [s for s in server.seen if s.key in ("gh", "ghapi")] == []  # not one request was made
    assert "Traceback" not in stopped.stderr
