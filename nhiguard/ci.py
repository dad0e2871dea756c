"""`nhiguard ci`: scan exactly what a pull request or push adds, as the CI system describes it, and report it the
way the CI system shows it.

What is scanned comes from the environment:

* **GitHub Actions** (`GITHUB_ACTIONS=true`): the event payload at `GITHUB_EVENT_PATH`.
  - `pull_request` / `pull_request_target` (every action: opened, synchronize, reopened…): the pull request's
    commits, `pull_request.base.sha..pull_request.head.sha` (the whole pull request, not only the last push).
  - `merge_group`: `merge_group.base_sha..merge_group.head_sha`.
  - `push`: `before..after`. A new branch or tag (all-zero `before`) is compared with the repository's default
    branch (`repository.default_branch`, fetched when the checkout lacks it): its commits that the default branch
    lacks; the first push of the default branch itself scans its whole history. A forced push scans the commits
    of `after` that neither the old tip (`before`) nor the default branch has, so a rebase onto a newer default
    branch does not re-report that branch's commits; when the old tip can no longer be fetched, the commits the
    default branch lacks. A deleted ref scans nothing.
  - any other event (`workflow_dispatch`, `schedule`, …) has no commit range: the checked-out tree is scanned,
    like `nhiguard scan` (use `nhiguard history` for a sweep of every commit).
* **GitLab CI** (`GITLAB_CI=true`): a merge request pipeline scans `CI_MERGE_REQUEST_DIFF_BASE_SHA..CI_COMMIT_SHA`;
  a push pipeline `CI_COMMIT_BEFORE_SHA..CI_COMMIT_SHA`, or, when GitLab gives an all-zero `CI_COMMIT_BEFORE_SHA`
  (new branch or tag), the commits that `CI_DEFAULT_BRANCH` lacks; scheduled, web, API and trigger pipelines scan
  the tree.
* **Bitbucket Pipelines** (`BITBUCKET_BUILD_NUMBER`): pull request pipelines scan
  `BITBUCKET_PR_DESTINATION_COMMIT..BITBUCKET_COMMIT` (fetching `BITBUCKET_PR_DESTINATION_BRANCH` when needed).
* **Azure Pipelines** (`TF_BUILD=True`): pull request builds scan the commits of
  `SYSTEM_PULLREQUEST_SOURCECOMMITID` (else `BUILD_SOURCEVERSION`) that `SYSTEM_PULLREQUEST_TARGETBRANCH` lacks.
* Anything else, or a pipeline with no commit range: a usage error asking for `--range BASE..HEAD`, which also
  overrides the detection everywhere.

A shallow checkout is completed first (`sources.gitfetch`): missing commits are fetched by id and the clone is
deepened a bounded number of times, else the run stops with exit code 2 and says what to set
(`fetch-depth: 0` on actions/checkout, `GIT_DEPTH: 0` on GitLab…).

On GitHub the results appear as workflow-command annotations on stdout (`::error` for findings at or above
`--fail-on`, `::warning` below it; secrets redacted; values escaped per GitHub's rules), a Markdown job summary
appended to `GITHUB_STEP_SUMMARY`, outputs appended to `GITHUB_OUTPUT` (`findings`, `new-findings`, `sarif`, in
the delimiter form) and, on every CI, a SARIF file for code-scanning upload. The exit code is 1 only when a new
finding (one not in the baseline) is at or above `--fail-on`.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from nhiguard import __version__, hook, redact
from nhiguard.constants import EXIT_CLEAN, EXIT_FINDINGS
from nhiguard.errors import ConfigError, SourceError
from nhiguard.http import HttpClient, HttpError, HttpSettings, Policy, Request
from nhiguard.inventory.links import file_link
from nhiguard.model import SEVERITIES, Finding, Location, Notice, Report, severity_rank
from nhiguard.reporters.json import ordered_findings, ordered_locations
from nhiguard.reporters.text import clean
from nhiguard.scan import ScanSettings, run_paths
from nhiguard.sources import gitdiff, gitfetch
from nhiguard.sources.gitdiff import Repo, Revisions
from nhiguard.sources.gitfetch import FetchLog, Rev

FAIL_ON = (*SEVERITIES, "never")
DEFAULT_SARIF = "nhiguard.sarif"
MAX_ANNOTATIONS = 50
MAX_ROWS = 200
MAX_NOTES = 20

GITHUB_HINT = ("set `fetch-depth: 0` on the actions/checkout step (or fetch the history before running "
               "nhiguard ci)")
GITLAB_HINT = "set the variable `GIT_DEPTH: 0` for this job (or fetch the history before running nhiguard ci)"
BITBUCKET_HINT = "set `clone: depth: full` in bitbucket-pipelines.yml (or fetch the history first)"
AZURE_HINT = "set `fetchDepth: 0` on the checkout step (or fetch the history before running nhiguard ci)"
LOCAL_HINT = "fetch the missing history (e.g. `git fetch --unshallow`) and run again"
NO_RANGE = ("pass --range BASE..HEAD (the commits to scan), or use `nhiguard scan` for the files or "
            "`nhiguard history` for every commit")

@dataclass(frozen=True, slots=True)
class CiOptions:
    repo: Path | None = None
    config_path: Path | None = None
    revision_range: str | None = None
    fail_on: str = "low"
    sarif: Path = Path(DEFAULT_SARIF)
    remote: str = "origin"
    fetch: bool = True


@dataclass(frozen=True, slots=True)
class Context:
    """What the CI system says to scan.

    `mode`: `range` (base..head), `new-branch` (head minus the default branch), `forced` (head minus `before` and
    the default branch), `all` (head's whole history), `spec` (an explicit --range), `tree` (the checked-out
    files) or `nothing`."""

    system: str
    event: str
    mode: str
    title: str
    head: Rev | None = None
    base: Rev | None = None
    before: Rev | None = None
    default_branch: str | None = None
    branch: str | None = None
    prefetch: tuple[str, ...] = ()
    spec: str = ""
    hint: str = LOCAL_HINT
    reason: str = ""
    number: str | None = None  # the pull request's number (GitHub), for its comment


@dataclass(slots=True)
class Outcome:
    context: Context
    report: Report
    fail_on: str
    sarif: Path
    repo_root: Path
    scanned: str = ""
    fetches: list[str] = field(default_factory=list)

    def fails(self, finding: Finding) -> bool:
        return self.fail_on != "never" and severity_rank(finding.rule.severity) <= severity_rank(self.fail_on)

    @property
    def failing(self) -> list[Finding]:
        return [f for f in self.report.findings if self.fails(f)]

    @property
    def total(self) -> int:
        return len(self.report.findings) + self.report.stats.baselined

    @property
    def exit_code(self) -> int:
        return EXIT_FINDINGS if self.failing else EXIT_CLEAN


# -- detection -------------------------------------------------------------------------------------------------
def on_github(environ: Mapping[str, str]) -> bool:
    return environ.get("GITHUB_ACTIONS") == "true"


def system_of(environ: Mapping[str, str]) -> str:
    if on_github(environ):
        return "github"
    if environ.get("GITLAB_CI") == "true":
        return "gitlab"
    if environ.get("BITBUCKET_BUILD_NUMBER"):
        return "bitbucket"
    if environ.get("TF_BUILD", "").lower() == "true":
        return "azure"
    return "local"


def detect(environ: Mapping[str, str], revision_range: str | None = None) -> Context:
    """The Context for this environment; ConfigError (exit 2) when there is no commit range to scan."""
    system = system_of(environ)
    if revision_range is not None:
        hint = {"github": GITHUB_HINT, "gitlab": GITLAB_HINT, "bitbucket": BITBUCKET_HINT,
                "azure": AZURE_HINT}.get(system, LOCAL_HINT)
        return Context(system, "range", "spec", f"range {revision_range}", spec=revision_range, hint=hint)
    if system == "github":
        return _github(environ)
    if system == "gitlab":
        return _gitlab(environ)
    if system == "bitbucket":
        return _bitbucket(environ)
    if system == "azure":
        return _azure(environ)
    raise ConfigError("nhiguard ci: no CI system recognised (GITHUB_ACTIONS, GITLAB_CI, BITBUCKET_BUILD_NUMBER "
                      f"and TF_BUILD are unset): {NO_RANGE}")


def _payload(environ: Mapping[str, str]) -> dict[str, Any]:
    path = environ.get("GITHUB_EVENT_PATH")
    if not path:
        raise ConfigError("GitHub Actions: GITHUB_EVENT_PATH is not set, so the event cannot be read; " + NO_RANGE)
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"GitHub Actions: cannot read the event payload {path}: {exc.strerror or exc}") from None
    except (ValueError, RecursionError) as exc:
        raise ConfigError(f"GitHub Actions: the event payload {path} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"GitHub Actions: the event payload {path} is not a JSON object")
    return doc


def _field(doc: Mapping[str, Any], dotted: str, *, event: str, required: bool = True) -> str:
    value: Any = doc
    for key in dotted.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if required:
        raise ConfigError(f"GitHub Actions: the {event} event payload has no {dotted}; {NO_RANGE}")
    return ""


def _github(environ: Mapping[str, str]) -> Context:
    event = environ.get("GITHUB_EVENT_NAME", "")
    if event in ("pull_request", "pull_request_target"):
        doc = _payload(environ)
        number = _field(doc, "number", event=event, required=False) or _field(
            doc, "pull_request.number", event=event, required=False)
        return Context(
            "github", event, "range", f"pull request #{number}" if number else "pull request", number=number or None,
            head=Rev(_field(doc, "pull_request.head.sha", event=event), "pull_request.head.sha"),
            base=Rev(_field(doc, "pull_request.base.sha", event=event), "pull_request.base.sha"),
            hint=GITHUB_HINT,
        )
    if event == "merge_group":
        doc = _payload(environ)
        return Context(
            "github", event, "range", "merge queue group",
            head=Rev(_field(doc, "merge_group.head_sha", event=event), "merge_group.head_sha"),
            base=Rev(_field(doc, "merge_group.base_sha", event=event), "merge_group.base_sha"),
            hint=GITHUB_HINT,
        )
    if event == "push":
        doc = _payload(environ)
        ref = _field(doc, "ref", event=event, required=False)
        branch = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None
        shown = ref.removeprefix("refs/heads/").removeprefix("refs/tags/") or "?"
        after = _field(doc, "after", event=event, required=False)
        if not after and doc.get("deleted") is not True:
            # (a payload with no `after` at all is no deletion: a truncated or foreign event file must not pass
            # as "nothing to scan")
            raise ConfigError(f"GitHub Actions: the {event} event payload has no after; {NO_RANGE}")
        if doc.get("deleted") is True or gitdiff.is_zero(after):
            return Context("github", event, "nothing", f"push to {shown}", hint=GITHUB_HINT,
                           reason=f"{_md(ref) if ref else 'the ref'} was deleted: there is nothing to scan")
        before = _field(doc, "before", event=event, required=False)
        default = _field(doc, "repository.default_branch", event=event, required=False) or None
        head = Rev(after, "after")
        title = f"push to {shown}"
        if gitdiff.is_zero(before):
            mode = "all" if branch is not None and branch == default else "new-branch"
            return Context("github", event, mode, title, head=head, default_branch=default, branch=branch,
                           hint=GITHUB_HINT)
        if doc.get("forced") is True:
            return Context("github", event, "forced", title, head=head, before=Rev(before, "before"),
                           default_branch=default, branch=branch, hint=GITHUB_HINT)
        return Context("github", event, "range", title, head=head, base=Rev(before, "before"), hint=GITHUB_HINT)
    shown = event or "unknown"
    return Context("github", shown, "tree", f"{shown} run", hint=GITHUB_HINT,
                   reason=f"the {shown} event has no commit range: scanned the files of the checked-out tree "
                          "(use `nhiguard history` to sweep every commit)")


_GITLAB_TREE_SOURCES = frozenset({"schedule", "web", "api", "trigger", "pipeline", "parent_pipeline", "chat"})


def _gitlab(environ: Mapping[str, str]) -> Context:
    head_sha = environ.get("CI_COMMIT_SHA", "")
    source = environ.get("CI_PIPELINE_SOURCE", "")
    diff_base = environ.get("CI_MERGE_REQUEST_DIFF_BASE_SHA", "")
    if not head_sha:
        raise ConfigError(f"GitLab CI: CI_COMMIT_SHA is not set; {NO_RANGE}")
    head = Rev(head_sha, "CI_COMMIT_SHA")
    if diff_base:
        iid = environ.get("CI_MERGE_REQUEST_IID", "")
        return Context("gitlab", "merge_request_event", "range", f"merge request !{iid}" if iid else "merge request",
                       head=head, base=Rev(diff_base, "CI_MERGE_REQUEST_DIFF_BASE_SHA"), hint=GITLAB_HINT)
    ref = environ.get("CI_COMMIT_BRANCH") or environ.get("CI_COMMIT_TAG") or environ.get("CI_COMMIT_REF_NAME", "")
    before = environ.get("CI_COMMIT_BEFORE_SHA", "")
    title = f"push to {ref}" if ref else "push"
    if source in _GITLAB_TREE_SOURCES:
        return Context("gitlab", source, "tree", f"{source} pipeline", hint=GITLAB_HINT,
                       reason=f"a {source} pipeline has no commit range: scanned the files of the checked-out tree "
                              "(use `nhiguard history` to sweep every commit)")
    if before and not gitdiff.is_zero(before):
        return Context("gitlab", source or "push", "range", title, head=head,
                       base=Rev(before, "CI_COMMIT_BEFORE_SHA"), hint=GITLAB_HINT)
    default = environ.get("CI_DEFAULT_BRANCH", "") or None
    if source == "push" and default:
        branch = environ.get("CI_COMMIT_BRANCH") or None
        mode = "all" if branch == default else "new-branch"
        return Context("gitlab", "push", mode, title, head=head, default_branch=default, branch=branch,
                       hint=GITLAB_HINT)
    raise ConfigError(f"GitLab CI: this {source or 'unknown'} pipeline gives no commit range "
                      f"(no CI_MERGE_REQUEST_DIFF_BASE_SHA, CI_COMMIT_BEFORE_SHA is all zeros); {NO_RANGE}")


def _bitbucket(environ: Mapping[str, str]) -> Context:
    head_sha = environ.get("BITBUCKET_COMMIT", "")
    base_sha = environ.get("BITBUCKET_PR_DESTINATION_COMMIT", "")
    if not (environ.get("BITBUCKET_PR_ID") and head_sha and base_sha):
        raise ConfigError("Bitbucket Pipelines: only pull request pipelines give a commit range "
                          f"(BITBUCKET_PR_ID, BITBUCKET_PR_DESTINATION_COMMIT); {NO_RANGE}")
    target = environ.get("BITBUCKET_PR_DESTINATION_BRANCH", "")
    return Context("bitbucket", "pull-request", "range", f"pull request #{environ['BITBUCKET_PR_ID']}",
                   head=Rev(head_sha, "BITBUCKET_COMMIT"), base=Rev(base_sha, "BITBUCKET_PR_DESTINATION_COMMIT"),
                   prefetch=(_tracking_refspec(target),) if target else (), hint=BITBUCKET_HINT)


def _azure(environ: Mapping[str, str]) -> Context:
    target = environ.get("SYSTEM_PULLREQUEST_TARGETBRANCH", "").removeprefix("refs/heads/")
    head_sha = environ.get("SYSTEM_PULLREQUEST_SOURCECOMMITID") or environ.get("BUILD_SOURCEVERSION", "")
    if environ.get("BUILD_REASON") != "PullRequest" or not target or not head_sha:
        raise ConfigError("Azure Pipelines: only pull request builds give a commit range "
                          f"(BUILD_REASON=PullRequest, SYSTEM_PULLREQUEST_TARGETBRANCH); {NO_RANGE}")
    number = environ.get("SYSTEM_PULLREQUEST_PULLREQUESTID") or environ.get("SYSTEM_PULLREQUEST_PULLREQUESTNUMBER")
    return Context("azure", "PullRequest", "range", f"pull request {number}" if number else "pull request",
                   head=Rev(head_sha, "SYSTEM_PULLREQUEST_SOURCECOMMITID"),
                   base=Rev(f"refs/remotes/origin/{target}", "SYSTEM_PULLREQUEST_TARGETBRANCH"),
                   prefetch=(_tracking_refspec(target),), hint=AZURE_HINT)


def _tracking_refspec(branch: str, remote: str = "origin") -> str:
    return f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}"


# -- what to walk ------------------------------------------------------------------------------------------------
def _resolve(repo: Repo, rev: Rev, prefetch: Sequence[str], options: CiOptions, log: FetchLog) -> Rev:
    """`rev` as a full commit id: fetching `prefetch` first when the clone lacks it (a branch, or a short id
    the remote cannot serve by itself)."""
    found = gitfetch.commit_of(repo, rev.sha)
    if found is None and prefetch and options.fetch:
        depth = 1 if gitfetch.is_shallow(repo) else None
        if gitfetch.fetch(repo, options.remote, prefetch, depth=depth) is None:
            log.commands.append(gitfetch.describe(options.remote, prefetch, depth=depth))
        found = gitfetch.commit_of(repo, rev.sha)
    if found is not None:
        return Rev(found, rev.source)
    if re.fullmatch(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}", rev.sha):
        return rev  # a full id: complete_range fetches it
    raise SourceError(f"{rev.source} {rev.sha!r} is not in this clone and cannot be fetched by name")


def _default_tip(repo: Repo, ctx: Context, options: CiOptions, log: FetchLog) -> Rev | None:
    """The default branch's tip as the remote has it now (fetched), else as the clone has it, else None."""
    if not ctx.default_branch:
        return None
    ref = f"refs/remotes/{options.remote}/{ctx.default_branch}"
    if options.fetch:
        depth = 1 if gitfetch.is_shallow(repo) else None
        refspec = _tracking_refspec(ctx.default_branch, options.remote)
        if gitfetch.fetch(repo, options.remote, [refspec], depth=depth) is None:
            log.commands.append(gitfetch.describe(options.remote, [refspec], depth=depth))
    sha = gitfetch.commit_of(repo, ref)
    return Rev(sha, f"the default branch {ctx.default_branch}") if sha else None


def _complete(repo: Repo, base: Rev | None, head: Rev, ctx: Context, options: CiOptions, log: FetchLog) -> None:
    gitfetch.complete_range(repo, base, head, remote=options.remote, hint=ctx.hint, allow_fetch=options.fetch,
                            log=log)


def revisions(repo: Repo, ctx: Context, options: CiOptions, log: FetchLog) -> tuple[Revisions, str]:
    """The commits to scan and a sentence saying which they are."""
    if ctx.mode == "spec":
        walk = hook.range_revisions(repo, ctx.spec)
        return walk, f"commits `{ctx.spec}`"
    assert ctx.head is not None
    head = ctx.head
    if ctx.mode == "range":
        assert ctx.base is not None
        base = _resolve(repo, ctx.base, ctx.prefetch, options, log)
        _complete(repo, base, head, ctx, options, log)
        walk = Revisions(include=(head.sha,), exclude=(base.sha,), label=f"{base.sha[:12]}..{head.sha[:12]}")
        return walk, f"commits `{base.sha[:12]}..{head.sha[:12]}`"
    if ctx.mode == "all":
        _complete(repo, None, head, ctx, options, log)
        walk = Revisions(include=(head.sha,), label=head.sha[:12])
        return walk, f"every commit of `{head.sha[:12]}` (the first push of the default branch)"
    notices: list[Notice] = []
    excludes: list[str] = []
    said: list[str] = []
    if ctx.mode == "forced":
        assert ctx.before is not None
        try:
            _complete(repo, ctx.before, head, ctx, options, log)
        except SourceError:
            notices.append(Notice(head.sha[:12], f"the tip before the forced push, {ctx.before.sha[:12]}, cannot "
                                                 "be fetched any more: compared with the default branch only"))
        else:
            excludes.append(ctx.before.sha)
            said.append(f"the tip before the forced push (`{ctx.before.sha[:12]}`)")
    tip = _default_tip(repo, ctx, options, log) if ctx.branch is None or ctx.branch != ctx.default_branch else None
    if tip is not None:
        _complete(repo, tip, head, ctx, options, log)
        excludes.append(tip.sha)
        said.append(f"the default branch `{ctx.default_branch}` (`{tip.sha[:12]}`)")
    if not excludes:
        _complete(repo, None, head, ctx, options, log)
        walk = gitdiff.new_branch(repo, head.sha, remote=options.remote, label=head.sha[:12])
        walk = replace(walk, notices=(*notices, *walk.notices))
        return walk, f"the commits of `{head.sha[:12]}` not on the remote's branches"
    walk = Revisions(include=(head.sha,), exclude=tuple(excludes), label=head.sha[:12], notices=tuple(notices))
    return walk, f"the commits of `{head.sha[:12]}` that " + " and ".join(said) + (" lacks" if len(said) == 1
                                                                                    else " lack")


# -- the run -----------------------------------------------------------------------------------------------------
def run(options: CiOptions, settings: ScanSettings, environ: Mapping[str, str]) -> Outcome:
    ctx = detect(environ, options.revision_range)
    repo_path = options.repo
    if repo_path is None:
        workspace = environ.get("GITHUB_WORKSPACE") if ctx.system == "github" else None
        repo_path = Path(workspace) if workspace else Path(".")
    repo = hook.open_repo(repo_path)
    config = hook.load_config(repo, options.config_path)
    log = FetchLog()
    if ctx.mode == "tree":
        report = run_paths([repo.top], config, settings)
        report.target = ctx.title
        scanned = ctx.reason
    elif ctx.mode == "nothing":
        report = Report(target=ctx.title, tool_version=__version__)
        scanned = ctx.reason
    else:
        walk, scanned = revisions(repo, ctx, options, log)
        report = hook.run_git(repo, config, settings, revisions=[walk], target=ctx.title)
    sarif = options.sarif if options.sarif.is_absolute() else Path.cwd() / options.sarif
    return Outcome(context=ctx, report=report, fail_on=options.fail_on, sarif=sarif,
                   repo_root=Path(os.path.abspath(repo.top)), scanned=scanned, fetches=log.commands)


def write_sarif(outcome: Outcome) -> None:
    """The SARIF file for code-scanning upload, secrets redacted (written after verification, if any, so it
    carries the verdicts)."""
    from nhiguard.reporters import REPORTERS

    outcome.sarif.parent.mkdir(parents=True, exist_ok=True)
    outcome.sarif.write_text(REPORTERS["sarif"](outcome.report), encoding="utf-8")


# -- GitHub workflow commands, summary and outputs -----------------------------------------------------------------
def escape_data(text: str) -> str:
    """A workflow command's message: `%`, CR and LF percent-encoded."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: as a message, plus `:` and `,`."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str | int) -> str:
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


@contextmanager
def quoted_log(environ: Mapping[str, str], echo: Callable[[str], None]) -> Iterator[None]:
    """On GitHub, stop workflow-command processing around free text (the report), so no line in it can act as a
    command, whatever a file name or a commit holds."""
    if not on_github(environ):
        yield
        return
    resume = f"nhiguard-{uuid.uuid4().hex}"
    echo(f"::stop-commands::{resume}")
    try:
        yield
    finally:
        echo(f"::{resume}::")


def _workspace_prefix(outcome: Outcome, environ: Mapping[str, str]) -> str:
    """Annotation paths are relative to the workspace: the repository may be checked out below it."""
    workspace = environ.get("GITHUB_WORKSPACE")
    if not workspace:
        return ""
    try:
        rel = outcome.repo_root.relative_to(os.path.abspath(workspace)).as_posix()
    except ValueError:
        return ""
    return "" if rel == "." else rel + "/"


def annotation_lines(outcome: Outcome, environ: Mapping[str, str]) -> list[str]:
    """One `::error` (or `::warning`, below --fail-on) per location of each new finding, at most MAX_ANNOTATIONS."""
    prefix = _workspace_prefix(outcome, environ)
    lines = []
    for finding in ordered_findings(outcome.report.findings):
        rule = finding.rule
        secret = redact.preview(finding.secret)
        for location in ordered_locations(finding.locations):
            where = f" added in commit {location.commit[:12]}" if location.commit else ""
            verdict = f" Verdict: {finding.verdict.status}." if finding.verdict.status != "not_checked" else ""
            message = (f"{rule.name} {secret} ({rule.id}, severity {rule.severity}){where}.{verdict} Rotate it "
                       "first, then remove it from the code; see the job summary for how to mark a false positive.")
            lines.append(command("error" if outcome.fails(finding) else "warning", message,
                                 file=prefix + location.path, line=location.line, col=location.column,
                                 title=f"nhiguard: leaked {rule.name}"))
    return lines[:MAX_ANNOTATIONS]


def _code(text: str) -> str:
    """A Markdown code span that is safe in a table cell, whatever the text holds."""
    text = clean(text).replace("|", "\\|")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _md(text: str) -> str:
    """Plain text in Markdown: characters that could start markup, a link or HTML are backslash-escaped."""
    return re.sub(r"([\\`*\[\]<>|~])", r"\\\1", clean(text))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _row(finding: Finding, location: Location, outcome: Outcome, prefix: str, verdicts: bool,
         environ: Mapping[str, str]) -> str:
    where = _code(f"{prefix}{location.path}:{location.line}")
    # the link is into the repository (its own paths); the text is the workspace path the annotations use
    link = _file_link(environ, location.commit, location.path, location.line)
    cells = [
        finding.rule.severity + ("" if outcome.fails(finding) else " (below fail-on)"),
        _code(finding.rule.id),
        f"[{where}]({link})" if link else where,
        _code(location.commit[:12]) if location.commit else "—",
        _code(redact.preview(finding.secret)),
    ]
    if verdicts:
        cells.append(finding.verdict.status.replace("_", " "))
    return "| " + " | ".join(cells) + " |"


def _file_link(environ: Mapping[str, str], commit: str | None, path: str, line: int) -> str | None:
    """The file at the commit that added the secret, on the server the workflow runs on (GitHub or Enterprise)."""
    server, repository = environ.get("GITHUB_SERVER_URL", ""), environ.get("GITHUB_REPOSITORY", "")
    if not server.startswith("https://") or not re.fullmatch(r"[\w.-]+/[\w.-]+", repository):
        return None
    link = file_link(f"{server.rstrip('/')}/{repository}", commit, path, line)
    return link.replace("(", "%28").replace(")", "%29") if link else None


def summary(outcome: Outcome, environ: Mapping[str, str]) -> str:
    report = outcome.report
    new, failing, baselined = len(report.findings), len(outcome.failing), report.stats.baselined
    heading = f"## nhiguard: {_plural(new, 'new leaked secret')}" if new else "## nhiguard: no new leaked secrets"
    fail_on = ("never fails the check" if outcome.fail_on == "never"
               else f"fails the check at severity {outcome.fail_on} and above")
    lines = [
        heading,
        "",
        f"Scanned {_md(outcome.context.title)}: {outcome.scanned}.",
        "",
        f"New findings: **{new}** ({failing} failing: the run {fail_on}). Already in the baseline: {baselined}.",
    ]
    if outcome.fetches:
        lines += ["", "History fetched for this scan: " + "; ".join(_code(c) for c in outcome.fetches) + "."]
    if new:
        prefix = _workspace_prefix(outcome, environ)
        verdicts = any(f.verdict.status != "not_checked" for f in report.findings)
        header = ["Severity", "Rule", "Location", "Commit", "Secret"] + (["Verdict"] if verdicts else [])
        lines += ["", "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
        rows = [_row(f, loc, outcome, prefix, verdicts, environ)
                for f in ordered_findings(report.findings) for loc in ordered_locations(f.locations)]
        lines += rows[:MAX_ROWS]
        if len(rows) > MAX_ROWS:
            lines += ["", f"… and {len(rows) - MAX_ROWS} more locations (see the SARIF file or the job log)."]
        lines += [
            "",
            "### How to fix",
            "1. **Rotate the credential first.** A pushed secret is in the repository's history and in every clone "
            "and fork: treat it as compromised. Revoke or rotate it at the provider and update what uses it.",
            "2. **Then remove it from the code**: read it from the environment or a secret manager, and push the "
            "change. Deleting the line or rewriting history does not make a leaked credential safe again; "
            "rotating does.",
            "",
            "### A false positive?",
            "- Mark the line with an inline comment: `nhiguard:allow`.",
            "- Or accept the finding in a baseline: run `nhiguard baseline create` in the repository (it records "
            "fingerprints and redacted previews, never secrets), commit `.nhiguard-baseline.json` and set "
            "`baseline: .nhiguard-baseline.json` in `.nhiguard.yml` (or the action's `baseline` input).",
            "- Or accept one finding with a reason, recorded in the baseline: `nhiguard ignore FINGERPRINT --reason "
            "\"why\"` (each finding's fingerprint is in the job log and the SARIF file).",
        ]
    if report.notices:
        lines += ["", "### Notes"]
        lines += [f"- {_code(n.path)}: {clean(n.reason)}" for n in report.notices[:MAX_NOTES]]
        if len(report.notices) > MAX_NOTES:
            lines.append(f"- … and {len(report.notices) - MAX_NOTES} more (see the job log).")
    return "\n".join(lines) + "\n"


def output_lines(values: Mapping[str, str]) -> str:
    """`GITHUB_OUTPUT` entries in the delimiter form, which holds any value (a path with a newline included)."""
    out = []
    for name, value in values.items():
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
        assert delimiter not in value and delimiter not in name
        out.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    return "".join(out)


def _append(path: str | None, text: str) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)


def publish(outcome: Outcome, environ: Mapping[str, str], echo: Callable[[str], None]) -> None:
    """On GitHub: annotations on stdout, the job summary and the step outputs. Elsewhere: nothing more."""
    if not on_github(environ):
        return
    for line in annotation_lines(outcome, environ):
        echo(line)
    _append(environ.get("GITHUB_STEP_SUMMARY"), summary(outcome, environ))
    _append(environ.get("GITHUB_OUTPUT"), output_lines({
        "findings": str(outcome.total),
        "new-findings": str(len(outcome.report.findings)),
        "sarif": str(outcome.sarif),
    }))


COMMENT_MARKER = "<!-- nhiguard:pull-request-comment -->"
_COMMENT_PAGES = 20


def comment_on_pull_request(outcome: Outcome, environ: Mapping[str, str], echo: Callable[[str], None], *,
                            ca_bundle: str | None = None) -> None:
    """One comment on the pull request with the job summary, updated in place on every run (found by a hidden
    marker), never duplicated; none is created while nothing was found. Needs `pull-requests: write` (or
    `issues: write`) for the workflow's token: without it, a warning says so and the run goes on."""
    number, repository = outcome.context.number, environ.get("GITHUB_REPOSITORY", "")
    if not on_github(environ) or not number or not re.fullmatch(r"[\w.-]+/[\w.-]+", repository):
        echo(command("notice", "nhiguard: no pull request comment (not a GitHub pull request event)"))
        return
    token = environ.get("NHIGUARD_GITHUB_TOKEN") or environ.get("GITHUB_TOKEN") or ""
    if not token:
        echo(command("warning", "nhiguard: set the action's github-token (or GITHUB_TOKEN) to comment on the pull "
                                "request"))
        return
    api = environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    host = urllib.parse.urlsplit(api)
    if host.scheme != "https" or not host.netloc:
        echo(command("warning", "nhiguard: GITHUB_API_URL must be https; no pull request comment"))
        return
    policy = Policy(hosts=(host.netloc,), ca_bundle=ca_bundle)
    headers = (("Authorization", f"Bearer {token}"), ("Accept", "application/vnd.github+json"),
               ("X-GitHub-Api-Version", "2022-11-28"))
    body = json.dumps({"body": COMMENT_MARKER + "\n" + summary(outcome, environ)}).encode()
    base = f"{api}/repos/{repository}/issues"
    client = HttpClient(HttpSettings(retries=1))
    try:
        existing = _find_comment(client, policy, headers, f"{base}/{number}/comments")
        if existing is None and not outcome.report.findings:
            return
        if existing is None:
            answer = client.send(Request("POST", f"{base}/{number}/comments", (*headers, _JSON), body,
                                         repeatable=False), policy)
        else:
            answer = client.send(Request("PATCH", f"{base}/comments/{existing}", (*headers, _JSON), body), policy)
        if answer.status not in (200, 201):
            raise HttpError(_comment_refusal(answer.status))
    except HttpError as exc:
        echo(command("warning", f"nhiguard: could not comment on the pull request: {exc}"))
    finally:
        client.close()


_JSON = ("Content-Type", "application/json")


def _comment_refusal(status: int) -> str:
    if status in (401, 403, 404):
        return (f"GitHub answered {status}: give the workflow `permissions: pull-requests: write` (a pull request "
                "from a fork gets a read-only token)")
    return f"GitHub answered {status}"


def _find_comment(client: HttpClient, policy: Policy, headers: tuple[tuple[str, str], ...], url: str) -> int | None:
    for page in range(1, _COMMENT_PAGES + 1):
        answer = client.send(Request("GET", f"{url}?per_page=100&page={page}", headers), policy)
        if answer.status != 200:
            raise HttpError(_comment_refusal(answer.status))
        items = answer.json()
        if not isinstance(items, list):
            raise HttpError("GitHub's answer was not a list of comments")
        for item in items:
            if isinstance(item, dict) and COMMENT_MARKER in str(item.get("body", "")) and isinstance(
                    item.get("id"), int):
                return int(item["id"])
        if len(items) < 100:
            return None
    return None


def announce_error(message: str, environ: Mapping[str, str], echo: Callable[[str], None]) -> None:
    """A run that could not scan says so where GitHub users look: an annotation and the job summary."""
    if not on_github(environ):
        return
    echo(command("error", message, title="nhiguard could not scan"))
    _append(environ.get("GITHUB_STEP_SUMMARY"), f"## nhiguard: could not scan\n\n{clean(message)}\n")

