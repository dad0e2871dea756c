"""Real repositories for the history tests: commits by named people at fixed dates, tokens made at run time."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nhiguard.config import Config
from nhiguard.history import HistoryOptions, HistoryResult, run_history
from nhiguard.scan import ScanSettings
from tests.support.cli import run_cli
from tests.support.tokens import github_classic


@dataclass(frozen=True)
class Person:
    name: str
    email: str


ALICE = Person("Alice Liddell", "alice@example.com")
BOB = Person("Bob Builder", "bob@example.org")
CAROL = Person("Carol Ünicode", "carol@example.net")


@dataclass(frozen=True)
class Commit:
    sha: str
    who: Person
    date: str


def token(seed: int | str) -> str:
    return github_classic(f"history-{seed}")


class Repo:
    def __init__(self, path: Path, *, bare: bool = False) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main", *(["--bare"] if bare else []), ".")
        self.git("config", "core.autocrlf", "false")
        self.git("config", "commit.gpgsign", "false")
        self.tick = 0

    def git(self, *args: str | Path, env: dict[str, str] | None = None, check: bool = True,
            input: bytes | None = None) -> str:
        isolated = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
        done = subprocess.run(["git", *map(str, args)], cwd=self.path, capture_output=True,
                              env={**os.environ, **isolated, **(env or {})}, check=False, input=input)
        if check and done.returncode != 0:
            raise AssertionError(f"git {' '.join(map(str, args))} failed:\n{done.stderr.decode()}")
        return done.stdout.decode("utf-8", "surrogateescape").strip()

    def write(self, name: str | bytes, content: str | bytes) -> Path:
        target = self.path / os.fsdecode(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)
        return target

    def remove(self, name: str) -> None:
        (self.path / name).unlink()

    def _env(self, who: Person) -> tuple[dict[str, str], str]:
        self.tick += 1
        when = f"2024-03-{1 + self.tick // 24:02d}T{self.tick % 24:02d}:00:00+00:00"
        return {"GIT_AUTHOR_NAME": who.name, "GIT_AUTHOR_EMAIL": who.email, "GIT_AUTHOR_DATE": when,
                "GIT_COMMITTER_NAME": who.name, "GIT_COMMITTER_EMAIL": who.email, "GIT_COMMITTER_DATE": when}, when

    def commit(self, message: str | bytes = "change", who: Person = ALICE) -> Commit:
        env, when = self._env(who)
        self.git("add", "-A")
        if isinstance(message, bytes):
            self.git("commit", "-q", "--allow-empty", "--no-verify", "-F", "-", env=env, input=message)
        else:
            self.git("commit", "-q", "--allow-empty", "--no-verify", "-m", message, env=env)
        return Commit(self.git("rev-parse", "HEAD"), who, when)

    def merge(self, branch: str, who: Person = ALICE) -> Commit:
        env, when = self._env(who)
        self.git("merge", "-q", "--no-ff", "--no-edit", branch, env=env)
        return Commit(self.git("rev-parse", "HEAD"), who, when)

    def tag(self, name: str) -> None:
        env, _ = self._env(ALICE)
        self.git("tag", "-a", "-m", f"release {name}", name, env=env)

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
