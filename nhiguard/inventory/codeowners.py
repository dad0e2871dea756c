"""CODEOWNERS, GitHub and GitLab syntax: `pattern owner…` lines, gitignore-style patterns, the last matching
pattern wins. GitLab sections (`[Section]`, `^[Optional]`, `[Section][2]`, `[Section] @default-owners`) each
keep their own last match; the owners of a path are the union over sections, as GitLab does."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from nhiguard.errors import ConfigError
from nhiguard.safeio import CONFIG_MAX_BYTES, read_capped

LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS")
_SECTION = re.compile(r"^\^?\[(?P<name>[^\]]+)\](?:\[\d+\])?\s*(?P<owners>.*)$")


# A pattern's pieces: a literal character, `?` (one character but '/'), `*` (a run without '/'), `**` (any run),
# `**/` (any number of leading folders)
_LIT, _ONE, _STAR, _ANY, _DIRS = range(5)


@dataclass(frozen=True, slots=True)
class Glob:
    """A CODEOWNERS pattern, matched by following every position a path can reach piece by piece: time is the
    pattern's length times the path's, whatever the pattern. (As a backtracking regex, `*a*a*a*a*a*a*a*a*a*a*a*b`
    from a repository's CODEOWNERS took 46 s against a 40-character name and doubled with each character more.)"""

    pieces: tuple[tuple[int, str], ...]
    anchored: bool
    tail: str  # "$": the path ends there; "/": a folder, something below it; "": either

    def match(self, path: str) -> bool:
        n = len(path)
        at = {0} if self.anchored else _folders({0}, path)
        for kind, char in self.pieces:
            if not at:
                return False
            if kind == _LIT:
                at = {p + 1 for p in at if p < n and path[p] == char}
            elif kind == _ONE:
                at = {p + 1 for p in at if p < n and path[p] != "/"}
            elif kind == _STAR:
                at = _runs(at, path)
            elif kind == _ANY:
                at = set(range(min(at), n + 1))
            else:
                at = _folders(at, path)
        below = any(p < n and path[p] == "/" for p in at)
        return below if self.tail == "/" else n in at if self.tail == "$" else n in at or below


def _runs(at: set[int], path: str) -> set[int]:
    """Every position a run without '/' reaches from `at` (each position once, however many starts)."""
    out: set[int] = set()
    reach = -1
    for p in sorted(at):
        q = max(p, reach)
        stop = path.find("/", p)
        stop = len(path) if stop < 0 else stop
        if q <= stop:
            out.update(range(q, stop + 1))
            reach = stop + 1
    return out


def _folders(at: set[int], path: str) -> set[int]:
    """`at` and every position just past a '/' at or after the first of them (`(.*/)?`)."""
    first = min(at)
    return at | {q + 1 for q in range(first, len(path)) if path[q] == "/"}


def _translate(pattern: str) -> Glob:
    dir_only = pattern.endswith("/")
    core = pattern.strip("/")
    anchored = pattern.startswith("/") or "/" in core
    pieces: list[tuple[int, str]] = []
    i = 0
    while i < len(core):
        if core.startswith("**/", i):
            pieces.append((_DIRS, ""))
            i += 3
        elif core.startswith("/**", i) and i + 3 == len(core):
            pieces += [(_LIT, "/"), (_ANY, "")]
            i += 3
        elif core.startswith("**", i):
            pieces.append((_ANY, ""))
            i += 2
        elif core[i] == "*":
            pieces.append((_STAR, ""))
            i += 1
        elif core[i] == "?":
            pieces.append((_ONE, ""))
            i += 1
        elif core[i] == "\\" and i + 1 < len(core):
            pieces.append((_LIT, core[i + 1]))
            i += 2
        else:
            pieces.append((_LIT, core[i]))
            i += 1
    if dir_only:
        tail = "/"
    elif core.endswith("/*") or (core == "*" and anchored):
        tail = "$"
    else:
        tail = ""
    return Glob(tuple(pieces), anchored, tail)


@dataclass(frozen=True, slots=True)
class Entry:
    section: str
    pattern: str
    regex: Glob
    owners: tuple[str, ...]


def parse(text: str) -> list[Entry]:
    entries: list[Entry] = []
    section: str = ""
    defaults: tuple[str, ...] = ()
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        found = _SECTION.match(line)
        if found:
            section = found["name"].strip()
            defaults = tuple(o for o in found["owners"].split() if not o.startswith("#"))
            continue
        parts = line.split()
        owners: list[str] = []
        for word in parts[1:]:
            if word.startswith("#"):
                break
            owners.append(word)
        entries.append(Entry(section, parts[0], _translate(parts[0]), tuple(owners) or defaults))
    return entries


def owners_of(entries: list[Entry], path: str) -> tuple[str, ...]:
    """Owners of `path` (relative, '/'-separated): the last matching entry of each section."""
    path = path.lstrip("/")
    last: dict[str, Entry] = {}
    for entry in entries:
        if entry.regex.match(path):
            last[entry.section] = entry
    out: list[str] = []
    for entry in last.values():
        out.extend(o for o in entry.owners if o not in out)
    return tuple(out)


def find(root: Path) -> Path | None:
    for name in LOCATIONS:
        if (root / name).is_file():
            return root / name
    return None


def load(root: Path) -> list[Entry]:
    found = find(root)
    if found is None:
        return []
    try:
        raw = read_capped(found, limit=CONFIG_MAX_BYTES, what="CODEOWNERS", error=ConfigError)
    except ConfigError:  # the repository's file: unreadable, a pipe or huge means no owners from it
        return []
    return parse(raw.decode("utf-8", "replace"))


def everyone(entries: list[Entry]) -> tuple[str, ...]:
    out: list[str] = []
    for entry in entries:
        out.extend(o for o in entry.owners if o not in out)
    return tuple(out)
