"""Real repositories for the history tests: commits by named people at fixed dates, tokens made at run time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nhiguard.config import Config
from nhiguard.history.sweep import HistoryOptions, HistoryResult, run_history
from nhiguard.scan import ScanSettings
from tests.support.cli import run_cli
from tests.support.gitrepo import ALICE, BOB, CAROL, Commit, GitRepo, Person
from tests.support.tokens import github_classic

__all__ = ["ALICE", "BOB", "CAROL", "Commit", "Person", "Repo", "cli_json", "locations", "sweep", "token"]


def token(seed: int | str) -> str:
    return github_classic(f"history-{seed}")


class Repo(GitRepo):
    """GitRepo with hourly commit dates (many commits a day) and commit messages that may be raw bytes."""

    def date(self) -> str:
        self._tick += 1
        return f"2024-03-{1 + self._tick // 24:02d}T{self._tick % 24:02d}:00:00+00:00"

    def remove(self, name: str) -> None:
        (self.path / name).unlink()

    def commit(  # type: ignore[override]
        self, message: str | bytes = "change", who: Person = ALICE, *, all: bool = True, date: str | None = None
    ) -> Commit:
        if isinstance(message, str):
            return super().commit(message, who, all=all, date=date)
        when = date or self.date()
        env = {"GIT_AUTHOR_NAME": who.name, "GIT_AUTHOR_EMAIL": who.email, "GIT_AUTHOR_DATE": when,
               "GIT_COMMITTER_NAME": who.name, "GIT_COMMITTER_EMAIL": who.email, "GIT_COMMITTER_DATE": when}
        if all:
            self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "--no-verify", "-F", "-", env=env, input=message)
        return Commit(self.git("rev-parse", "HEAD"), who, when)

    def blob_count(self, *refs: str) -> int:
        listed = self.git("rev-list", "--objects", *(refs or ("--all",)))
        ids = [line.split()[0] for line in listed.splitlines()]
        types = self.git("cat-file", "--batch-check=%(objecttype)", input="\n".join(ids).encode() + b"\n")
        return types.split().count("blob")


def sweep(path: Path, options: HistoryOptions | None = None, **settings: Any) -> HistoryResult:
    return run_history(path, Config(root=path), ScanSettings(**settings), options or HistoryOptions(progress=False))


def locations(result: HistoryResult) -> list[tuple[str, str, int, str | None, str | None, str | None, str]]:
    """(secret, path, line, commit, author, email, kind) for every location, sorted."""
    out = [
        (f.secret, loc.path, loc.line, loc.commit, loc.author, loc.email, loc.kind)
        for f in result.report.findings
        for loc in f.locations
    ]
    return sorted(out, key=lambda t: (t[0], t[6], t[1], t[2]))


def cli_json(*args: str | Path) -> tuple[int, dict[str, Any], str]:
    done = run_cli("history", *args, "-f", "json", "--show-secrets", "--no-progress")
    doc = json.loads(done.stdout) if done.returncode in (0, 1) else {}
    return done.returncode, doc, done.stderr
