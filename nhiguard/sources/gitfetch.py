"""Making a commit range complete in a CI checkout: fetch the commits it lacks and deepen a shallow clone, a
bounded number of times.

CI systems clone shallowly (GitHub's actions/checkout fetches one commit by default; a pull request's checkout
is the merge commit, whose parents are absent). A range BASE..HEAD is complete when both commits are present
and, in a shallow clone, when git can find their merge base and no commit of the range is a shallow boundary
(a boundary has no parents locally, so its diff would be the whole tree and the range would run on into
commits BASE already has). When it is not, `complete_range`:

1. fetches the missing commits by id (`git fetch --depth=1 REMOTE SHA...` in a shallow clone, a plain fetch
   otherwise);
2. deepens by `DEEPEN_STEPS` (`git fetch --deepen=N REMOTE HEAD BASE`), checking after each step; `--deepen`
   counts from the current shallow boundaries, so it never makes history shorter, as `--depth` can;
3. gives up with a SourceError that says what was tried and what to set (the caller's `hint`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nhiguard.errors import SourceError
from nhiguard.sources.gitdiff import Repo, _git_message, _run

DEEPEN_STEPS = (50, 250, 1000)


@dataclass(frozen=True, slots=True)
class Rev:
    """A commit the range needs, and where its id came from (for messages), e.g. `pull_request.base.sha`."""

    sha: str
    source: str


@dataclass(slots=True)
class FetchLog:
    """The fetches that worked, in order, for the job log and summary."""

    commands: list[str] = field(default_factory=list)


def commit_of(repo: Repo, rev: str) -> str | None:
    """The full id of the commit `rev` names, or None when it is not in the repository."""
    if not rev or rev.startswith("-"):
        return None
    done = _run(repo.path, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", check=False)
    if done.returncode != 0:
        return None
    return done.stdout.decode("ascii", "replace").strip() or None


def is_shallow(repo: Repo) -> bool:
    return _run(repo.path, "rev-parse", "--is-shallow-repository", check=False).stdout.strip() == b"true"


def _shallow_commits(repo: Repo) -> frozenset[str]:
    path = Path(_run(repo.path, "rev-parse", "--git-path", "shallow").stdout.decode("utf-8", "surrogateescape").strip())
    path = path if path.is_absolute() else repo.path / path
    try:
        return frozenset(path.read_text("ascii").split())
    except OSError:
        return frozenset()


def gap(repo: Repo, base: Rev | None, head: Rev) -> str | None:
    """Why BASE..HEAD cannot be scanned exactly yet, or None when it can. Without a base, HEAD's whole history
    must be present."""
    for rev, role in ((head, "head"), (base, "base")):
        if rev is not None and commit_of(repo, rev.sha) is None:
            return f"the {role} commit {rev.sha[:12]} ({rev.source}) is not in this clone"
    if not is_shallow(repo):
        return None
    if base is not None:
        found = _run(repo.path, "merge-base", "--end-of-options", base.sha, head.sha, check=False)
        if found.returncode != 0:
            return (f"the history of {head.sha[:12]} and {base.sha[:12]} is cut off by the shallow clone before "
                    "their common ancestor")
    walk = [head.sha] + ([f"^{base.sha}"] if base is not None else [])
    listed = _run(repo.path, "rev-list", "--end-of-options", *walk).stdout.decode("ascii", "replace").split()
    cut = _shallow_commits(repo).intersection(listed)
    if cut:
        return f"the commits to scan run into the shallow clone's boundary at {sorted(cut)[0][:12]}"
    return None


def fetch(repo: Repo, remote: str, refspecs: Sequence[str], *, depth: int | None = None,
          deepen: int | None = None) -> str | None:
    """Run one `git fetch`; the error message, or None when it worked."""
    args = ["fetch", "--no-tags", "--no-recurse-submodules", "--quiet"]
    if depth is not None:
        args.append(f"--depth={depth}")
    if deepen is not None:
        args.append(f"--deepen={deepen}")
    done = _run(repo.path, *args, "--end-of-options", remote, *refspecs, check=False)
    if done.returncode == 0:
        return None
    return _git_message(done.stderr, ["fetch"]).removeprefix("git fetch: ")


def describe(remote: str, refspecs: Sequence[str], *, depth: int | None = None, deepen: int | None = None) -> str:
    flags = (f" --depth={depth}" if depth is not None else "") + (f" --deepen={deepen}" if deepen is not None else "")
    shown = " ".join(r[:12] if len(r) == 40 else r for r in refspecs)
    return f"git fetch{flags} {remote} {shown}"


def complete_range(
    repo: Repo,
    base: Rev | None,
    head: Rev,
    *,
    remote: str,
    hint: str,
    allow_fetch: bool = True,
    steps: Sequence[int] = DEEPEN_STEPS,
    log: FetchLog | None = None,
) -> FetchLog:
    """Fetch and deepen until BASE..HEAD (or HEAD's whole history, without a base) is complete; SourceError
    naming what is missing, what was tried and `hint` when that cannot be done."""
    log = log if log is not None else FetchLog()
    problem = gap(repo, base, head)
    if problem is None:
        return log
    if not allow_fetch:
        raise SourceError(f"{problem} and fetching is turned off (--no-fetch): {hint}")
    wanted = [head.sha] + ([base.sha] if base is not None else [])
    missing = [sha for sha in wanted if commit_of(repo, sha) is None]
    if missing:
        depth = 1 if is_shallow(repo) else None
        shown = describe(remote, missing, depth=depth)
        error = fetch(repo, remote, missing, depth=depth)
        if error is not None:
            raise SourceError(f"{problem} and `{shown}` failed ({error}): {hint}")
        log.commands.append(shown)
        problem = gap(repo, base, head)
    fetched = 0
    for step in steps:
        if problem is None or not is_shallow(repo):
            break
        shown = describe(remote, wanted, deepen=step)
        error = fetch(repo, remote, wanted, deepen=step)
        if error is not None:
            raise SourceError(f"{problem} and `{shown}` failed ({error}): {hint}")
        log.commands.append(shown)
        fetched += step
        problem = gap(repo, base, head)
    if problem is not None:
        tried = f" after deepening the clone by {fetched} commits" if fetched else ""
        raise SourceError(f"{problem}{tried}: {hint}")
    return log
