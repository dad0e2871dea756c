"""File-kind detectors: credentials read from a file whose format says where they are (.netrc, .pgpass, FileZilla
site lists, wp-config.php, …), a kind of detector beside the regex rules.

A detector (`base.FileKind`) is chosen by the file's name — base name, name ending, path ending or a name test —
then a cheap test of its first 4 KiB, and parses the format to report each credential field with its context
(host, port, user, database) as a `base.Field`. The engine turns fields into ordinary `Match`es of the detector's
rules, so fingerprints, baselines, inline allows, inventory and reports treat them like any other finding.

Detectors are found through a registry: the built-in modules here, then the `nhiguard.filekinds` entry points
(each naming a `FileKind` or a sequence of them). The choice by name is a few dictionary look-ups, so a tree of
ordinary code pays nearly nothing, and a history sweep can tell from a path alone whether a blob must be scanned
again at that path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

from nhiguard.filekinds.base import DEFAULT_PASSWORD, SHARED_RULES, Field, FileKind, unbom, verdict
from nhiguard.model import Rule
from nhiguard.registry import PluginRegistry

ENTRY_POINT_GROUP = "nhiguard.filekinds"
SNIFF_BYTES = 4096
MAX_PARSE_BYTES = 16 << 20

BUILTINS: dict[str, str] = {
    "unix": "nhiguard.filekinds.unix:KINDS",
    "mail": "nhiguard.filekinds.mail:KINDS",
    "devtools": "nhiguard.filekinds.devtools:KINDS",
    "xmlstores": "nhiguard.filekinds.xmlstores:KINDS",
    "clients": "nhiguard.filekinds.clients:KINDS",
    "frameworks": "nhiguard.filekinds.frameworks:KINDS",
    "configs": "nhiguard.filekinds.configs:KINDS",
    "providers": "nhiguard.filekinds.providers:KINDS",
}

__all__ = ["Detectors", "Field", "FileKind", "all_kinds", "claimed", "rules"]


def _as_kinds(found: object) -> tuple[FileKind, ...]:
    if isinstance(found, FileKind):
        return (found,)
    if isinstance(found, Iterable):
        return tuple(k for k in found if isinstance(k, FileKind))
    return ()


@lru_cache(maxsize=1)
def all_kinds() -> tuple[FileKind, ...]:
    """Built-in detectors, then the installed plugins' (a plugin cannot reuse a built-in detector's name)."""
    registry: PluginRegistry[object] = PluginRegistry(BUILTINS, ENTRY_POINT_GROUP)
    kinds: dict[str, FileKind] = {}
    for name in [*BUILTINS, *(n for n in registry.names() if n not in BUILTINS)]:
        for kind in _as_kinds(registry.get(name)):
            kinds.setdefault(kind.name, kind)
    return tuple(kinds.values())


def rules() -> list[Rule]:
    """Every file-kind rule, each id once (shared rules first)."""
    out: dict[str, Rule] = {r.id: r for r in SHARED_RULES}
    for kind in all_kinds():
        for r in kind.rules:
            out.setdefault(r.id, r)
    return list(out.values())


class Detectors:
    """The detectors whose rules a run has loaded, indexed by name for a quick choice per path."""

    def __init__(self, kinds: Sequence[FileKind], enabled: frozenset[str]) -> None:
        self.enabled = enabled
        self._names: dict[str, list[FileKind]] = {}
        self._suffixes: dict[str, list[FileKind]] = {}
        self._paths: dict[str, list[tuple[str, FileKind]]] = {}
        self._folders: list[tuple[str, FileKind]] = []
        self._endings: list[tuple[str, FileKind]] = []
        self._claims: list[tuple[FileKind, re.Pattern[str]]] = []
        for kind in kinds:
            for name in kind.names:
                self._names.setdefault(name, []).append(kind)
            for suffix in kind.suffixes:
                if suffix.startswith("."):
                    self._suffixes.setdefault(suffix, []).append(kind)
                else:  # an ending that is not an extension ("-ds.xml"): a few, tested one by one
                    self._endings.append((suffix, kind))
            for p in kind.paths:
                if p.endswith("/"):
                    self._folders.append(("/" + p, kind))
                else:  # a path ending: looked up by its base name, then compared
                    self._paths.setdefault(p.rsplit("/", 1)[-1], []).append(("/" + p, kind))
            if kind.claim is not None:
                self._claims.append((kind, re.compile(kind.hint or ".*")))
        hints = [k.hint or ".*" for k, _ in self._claims]
        self._hint = re.compile("|".join(f"(?:{h})" for h in hints)) if hints else None
        self._ending_any = tuple(e for e, _ in self._endings)
        self._folder_any = re.compile("|".join(re.escape(f) for f, _ in self._folders)) if self._folders else None
        self._longest_suffix = max((s.count(".") for s in self._suffixes), default=0)
        self._cache: dict[str, tuple[FileKind, ...]] = {}

    @classmethod
    def for_rules(cls, loaded: Iterable[Rule]) -> Detectors | None:
        """None when no file-kind rule is loaded (then the engine skips this step entirely)."""
        ids = frozenset(r.id for r in loaded if r.source == "filekind" and not r.pattern)
        if not ids:
            return None
        return cls(all_kinds(), ids)

    def kinds_for(self, path: str) -> tuple[FileKind, ...]:
        found = self._cache.get(path)
        if found is not None:
            return found
        low = "/" + (path.replace("\\", "/") if "\\" in path else path).lower()
        name = low[low.rfind("/") + 1:]
        out: list[FileKind] = list(self._names.get(name, ()))
        at = len(name)
        for _ in range(self._longest_suffix + 1):
            at = name.rfind(".", 0, at)
            if at < 0:
                break
            out.extend(self._suffixes.get(name[at:], ()))
        if self._ending_any and name.endswith(self._ending_any):
            out.extend(kind for ending, kind in self._endings if name.endswith(ending))
        if name in self._paths:
            out.extend(kind for ending, kind in self._paths[name] if low.endswith(ending))
        if self._folder_any is not None and self._folder_any.search(low):
            out.extend(kind for folder, kind in self._folders if folder in low)
        if self._hint is not None and self._hint.search(name):
            out.extend(kind for kind, hint in self._claims if hint.search(name) and kind.claim is not None
                       and kind.claim(name))
        result = tuple(dict.fromkeys(out)) if len(out) > 1 else tuple(out)
        if len(self._cache) > 65536:
            self._cache.clear()
        self._cache[path] = result
        return result

    def scan(self, data: bytes, path: str, kinds: Sequence[FileKind]) -> list[Field]:
        """The fields every chosen detector reports, after the verdicts on values (templates and placeholders
        dropped, weak defaults moved to the low-confidence rule), for the loaded rules only."""
        if len(data) > MAX_PARSE_BYTES:
            return []
        text = unbom(data.decode("latin-1"))
        head = text[:SNIFF_BYTES]
        out: list[Field] = []
        seen: set[int] = set()  # one field per span: the first (most specific) detector's
        for kind in kinds:
            if kind.sniff is not None and not kind.binary and not kind.sniff(head):
                continue
            try:
                found = list(kind.parse(text, path))
            except Exception:  # noqa: S112 (untrusted input: a file a detector cannot read yields nothing from
                continue  # it, rather than stopping the scan; the corpus tests hold every detector to its recall)
            for f in found:
                judged = _judge(f, path, kind.name)
                if judged is None or judged.rule not in self.enabled or f.offset in seen:
                    continue
                seen.add(f.offset)
                out.append(judged)
        return out


def _judge(f: Field, path: str, kind_name: str) -> Field | None:
    if not f.value:
        return None
    call = verdict(f.value, path, f.kind)
    if call == "drop":
        return None
    context = (*f.context, ("kind", kind_name))
    if call == "weak":
        return Field(DEFAULT_PASSWORD, f.value, f.offset, f.length, (*context, ("rule", f.rule)), f.decoded, False,
                     f.kind)
    return Field(f.rule, f.value, f.offset, f.length, context, f.decoded, f.generic, f.kind)


@lru_cache(maxsize=1)
def _default() -> Detectors:
    return Detectors(all_kinds(), frozenset(r.id for r in rules()))


def claimed(path: str) -> bool:
    """Whether some detector is chosen by this path (sources use it to read a whole new file for a diff)."""
    return bool(_default().kinds_for(path))


@lru_cache(maxsize=1)
def _binary() -> Detectors:
    """Only the detectors of binary formats (a handful of names and suffixes): every file read asks this."""
    return Detectors([k for k in all_kinds() if k.binary], frozenset(r.id for r in rules()))


def wants_binary(path: str) -> bool:
    return bool(_binary().kinds_for(path))
