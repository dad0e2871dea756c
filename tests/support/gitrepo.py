"""Real git repositories built in temp folders, and helpers to run `nhiguard git` and read its results."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.cli import run_cli

ZERO = "0" * 40


@dataclass(frozen=True)
class Person:
    name: str
    email: str


ALICE = Person("Alice Liddell", "alice@example.com")
BOB = Person("Bob Builder", "bob@example.org")
CAROL = Person("Carol Ünicode", "carol@example.net")


class GitRepo:
    """A work tree with helpers that write files as bytes and commit as a given person at a given date."""

    def __init__(self, path: Path, *, bare: bool = False) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main", *(["--bare"] if bare else []), ".")
        self.git("config", "core.autocrlf", "false")
        self.git("config", "commit.gpgsign", "false")
        self._tick = 0

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

    def date(self) -> str:
        self._tick += 1
        return f"2024-03-{self._tick:02d}T10:{self._tick:02d}:00+00:00"

    def commit(self, message: str, who: Person = ALICE, *, all: bool = True, date: str | None = None) -> Commit:
        if all:
            self.git("add", "-A")
        when = date or self.date()
        env = {"GIT_AUTHOR_NAME": who.name, "GIT_AUTHOR_EMAIL": who.email, "GIT_AUTHOR_DATE": when,
               "GIT_COMMITTER_NAME": who.name, "GIT_COMMITTER_EMAIL": who.email, "GIT_COMMITTER_DATE": when}
        self.git("commit", "-q", "--allow-empty", "--no-verify", "-m", message, env=env)
        return Commit(self.git("rev-parse", "HEAD"), who, when)

    def tag(self, name: str, who: Person = ALICE) -> None:
        env = {"GIT_COMMITTER_NAME": who.name, "GIT_COMMITTER_EMAIL": who.email, "GIT_COMMITTER_DATE": self.date()}
        self.git("tag", "-a", "-m", f"release {name}", name, env=env)

    def merge(self, branch: str, who: Person = ALICE, *, resolve: dict[str, str] | None = None) -> Commit:
        """Merge `branch`; on conflict write `resolve` (path -> content) and conclude the merge."""
        when = self.date()
        env = {"GIT_AUTHOR_NAME": who.name, "GIT_AUTHOR_EMAIL": who.email, "GIT_AUTHOR_DATE": when,
               "GIT_COMMITTER_NAME": who.name, "GIT_COMMITTER_EMAIL": who.email, "GIT_COMMITTER_DATE": when}
        self.git("merge", "-q", "--no-ff", "--no-edit", branch, env=env, check=resolve is None)
        if resolve is not None:
            for name, content in resolve.items():
                self.write(name, content)
            self.git("add", "-A")
            self.git("commit", "-q", "--no-edit", "--no-verify", env=env)
        return Commit(self.git("rev-parse", "HEAD"), who, when)


@dataclass(frozen=True)
class Commit:
    sha: str
    who: Person
    date: str


def nhiguard_git(*args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None,
                 stdin: bytes | None = None) -> tuple[int, dict[str, Any], str]:
    """Run `nhiguard git ... -f json --show-secrets`; returns (exit code, JSON document or {}, stderr)."""
    done = run_cli("git", *args, "-f", "json", "--show-secrets", env=env, cwd=cwd, stdin=stdin)
    doc = json.loads(done.stdout) if done.returncode in (0, 1) else {}
    return done.returncode, doc, done.stderr


def locations(doc: dict[str, Any]) -> list[tuple[str, str, int, str | None, str | None, str | None, str | None]]:
    """Every location as (secret, path, line, commit, author, email, date), sorted by path and line."""
    out = [
        (f["secret"], loc["path"], loc["line"], loc["commit"], loc["author"], loc["email"], loc["date"])
        for f in doc["findings"]
        for loc in f["locations"]
    ]
    return sorted(out, key=lambda t: (t[1], t[2], t[3] or ""))


def found(doc: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(secret, path, line) of every location."""
    return [(s, p, n) for s, p, n, *_ in locations(doc)]
