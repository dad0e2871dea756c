"""CODEOWNERS, GitHub and GitLab syntax: `pattern owner…` lines, gitignore-style patterns, the last matching
pattern wins. GitLab sections (`[Section]`, `^[Optional]`, `[Section][2]`, `[Section] @default-owners`) each
keep their own last match; the owners of a path are the union over sections, as GitLab does."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from nhiguard.errors import ConfigError
from nhiguard.globs import Glob, pieces
from nhiguard.safeio import CONFIG_MAX_BYTES, read_capped

LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS")
_SECTION = re.compile(r"^\^?\[(?P<name>[^\]]+)\](?:\[\d+\])?\s*(?P<owners>.*)$")


def _translate(pattern: str) -> Glob:
    dir_only = pattern.endswith("/")
    core = pattern.strip("/")
    anchored = pattern.startswith("/") or "/" in core
    if dir_only:
        tail = "/"
    elif core.endswith("/*") or (core == "*" and anchored):
        tail = "$"
    else:
        tail = ""
    return Glob(pieces(core, escapes=True), anchored, tail)


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
