"""Git entry points: staged changes (pre-commit), commit ranges (pull requests, CI) and pushes (pre-push).

`run_git` wires the git diff source into the same scan as files: config allow lists, rule and inline ignores,
baselines and exit codes behave exactly as for `nhiguard scan`. Everything runs in-process (no worker pool),
so a pre-commit hook pays only for start-up, two `git` calls and the rules its keywords hit.

Pre-push ranges come from the pre-commit framework's environment (`PRE_COMMIT_FROM_REF`, `PRE_COMMIT_TO_REF`,
`PRE_COMMIT_LOCAL_BRANCH`, `PRE_COMMIT_REMOTE_NAME`), or, in a plain `.git/hooks/pre-push`, from the
`<local ref> <local oid> <remote ref> <remote oid>` lines git writes to the hook's standard input:

* a deleted ref (local oid all zeros) pushes nothing;
* a new branch (remote oid missing or all zeros) pushes the commits not on any remote-tracking ref of that
  remote (every commit, on a first push to an empty remote);
* an update or force-push from an old remote commit pushes OLD..NEW; when the old commit is not in the local
  repository (someone else pushed, not fetched yet) it is treated as a new branch, and a Notice says so.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from nhiguard import __version__
from nhiguard import config as config_mod
from nhiguard.config import Config
from nhiguard.engine.filters import path_matches
from nhiguard.errors import SourceError
from nhiguard.model import Chunk, Notice, Report
from nhiguard.scan import (
    Collector,
    ScanSettings,
    archive_limits,
    finish,
    load_baseline,
    load_rules,
    make_engine,
    scan_chunks,
)
from nhiguard.sources import gitdiff
from nhiguard.sources.gitdiff import Repo, Revisions


def open_repo(path: Path) -> Repo:
    return gitdiff.open_repo(path)


def load_config(repo: Repo, explicit: Path | None) -> Config:
    """`--config`, else the nearest config file at or above the repository's work tree."""
    return config_mod.load(explicit, repo.top)


# -- what to scan -------------------------------------------------------------------------------------------------
def range_revisions(repo: Repo, spec: str) -> Revisions:
    return gitdiff.parse_range(repo, spec)


def since_revisions(repo: Repo, commit: str) -> Revisions:
    if gitdiff.is_zero(commit):
        return gitdiff.new_branch(repo, "HEAD", label=f"since {commit}")
    base = gitdiff.resolve(repo, commit, what="--since-commit")
    return Revisions(include=(gitdiff.resolve(repo, "HEAD"),), exclude=(base,), label=f"{commit}..HEAD")


def push_revisions(repo: Repo, old: str | None, new: str, remote: str | None) -> Revisions | None:
    """What pushing `new` over the remote's `old` sends; None for a deletion."""
    if gitdiff.is_zero(new):
        return None
    label = new[:12] if len(new) == 40 else new
    if gitdiff.is_zero(old):
        return gitdiff.new_branch(repo, new, remote=remote, label=label)
    assert old is not None
    try:
        old_sha = gitdiff.resolve(repo, old, what="pushed-over commit")
    except SourceError:
        revisions = gitdiff.new_branch(repo, new, remote=remote, label=label)
        missing = Notice(label, f"the remote's commit {old[:12]} is not in this repository (fetch first?): "
                                "treated as a new branch")
        return Revisions(revisions.include, revisions.exclude, revisions.label, (missing, *revisions.notices))
    new_sha = gitdiff.resolve(repo, new, what="pushed commit")
    return Revisions(include=(new_sha,), exclude=(old_sha,), label=f"{old_sha[:12]}..{label}")


def under_pre_commit(environ: Mapping[str, str]) -> bool:
    """Run by the pre-commit framework, which passes the push range in the environment, not on stdin."""
    return any(name in environ for name in ("PRE_COMMIT", "PRE_COMMIT_FROM_REF", "PRE_COMMIT_TO_REF"))


def pre_push_revisions(
    repo: Repo, environ: Mapping[str, str], stdin_lines: Iterable[str] = (), remote: str | None = None
) -> list[Revisions]:
    """The commits a push sends, from the pre-commit framework's environment (when `PRE_COMMIT` is set) or from
    git's pre-push lines. Under pre-commit without a from/to ref (it pushes a branch with its root commit, or
    was run by hand), HEAD or the local branch is treated as a new branch of the remote."""
    remote = environ.get("PRE_COMMIT_REMOTE_NAME") or remote
    if under_pre_commit(environ):
        to_ref = environ.get("PRE_COMMIT_TO_REF") or environ.get("PRE_COMMIT_LOCAL_BRANCH") or "HEAD"
        found = push_revisions(repo, environ.get("PRE_COMMIT_FROM_REF"), to_ref, remote)
        return [found] if found is not None else []
    out = []
    for line in stdin_lines:
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 4:
            raise SourceError(f"pre-push: expected '<local ref> <local oid> <remote ref> <remote oid>', got {line!r}")
        found = push_revisions(repo, parts[3], parts[1], remote)
        if found is not None:
            out.append(found)
    return out


# -- the run ----------------------------------------------------------------------------------------------------
def _allowed(items: Iterable[Chunk | Notice], repo: Repo, config: Config) -> Iterator[Chunk | Notice]:
    """Drop what the config's allow.paths cover; the globs are relative to the config file's folder."""
    patterns = config.allow.paths
    prefix: str | None = ""
    if patterns:
        try:
            rel = Path(os.path.abspath(repo.top)).relative_to(os.path.abspath(config.root)).as_posix()
            prefix = "" if rel == "." else rel + "/"
        except ValueError:
            prefix = None  # the config lives elsewhere: its paths cannot name files of this repository
    for item in items:
        path = _path(item)
        if patterns and prefix is not None and (
            path_matches(prefix + path, patterns)
            or ("!" in path and path_matches(prefix + path.split("!", 1)[0], patterns))  # an archive's member
        ):
            continue
        yield item


def _path(item: Chunk | Notice) -> str:
    return item.origin.path if isinstance(item, Chunk) else item.path


def run_git(
    repo: Repo,
    config: Config,
    settings: ScanSettings,
    *,
    staged: bool = False,
    revisions: Sequence[Revisions] = (),
    target: str = "",
) -> Report:
    """Scan the staged changes, or the commits of each of `revisions`, through the shared scan pipeline."""
    started = time.monotonic()
    rules = load_rules(config, settings)
    engine = make_engine(rules, config, settings)
    known = load_baseline(config, settings)
    collector = Collector({r.id: r for r in rules}, config.allow_fingerprints)
    report = Report(target=target or str(repo.top), tool_version=__version__)
    max_size = settings.max_file_size or config.max_file_size
    limits = archive_limits(config, settings)
    if staged:
        scan_chunks(_allowed(gitdiff.staged(repo, max_size=max_size, archive_limits=limits), repo, config), engine,
                    collector, report)
    for walk in revisions:
        report.notices.extend(walk.notices)
        scan_chunks(_allowed(gitdiff.commits(repo, walk, max_size=max_size, archive_limits=limits), repo, config),
                    engine, collector, report)
    return finish(report, collector, engine, known, started)
