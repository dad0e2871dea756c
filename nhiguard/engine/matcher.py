"""The only user of the `regex` module: compiling rule patterns and running them under a time bound."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any


class PatternError(ValueError):
    """A pattern the `regex` module cannot compile."""


@lru_cache(maxsize=1)
def _regex() -> Any:
    # imported on first use: a pre-commit run whose staged lines hit no keyword never runs a pattern, and the
    # module costs 14 ms of a start-up that has 300
    import regex

    return regex


def _compile(pattern: str | bytes, flags: int = 0) -> Any:
    engine = _regex()
    try:
        return engine.compile(pattern, flags)
    except engine.error as exc:
        raise PatternError(str(exc)) from None


@lru_cache(maxsize=4096)
def compile_pattern(pattern: str) -> Any:
    """Rule patterns run with ASCII semantics: tokens are ASCII, and `\\w` must not eat UTF-8 bytes."""
    return _compile(pattern, _regex().ASCII)


@lru_cache(maxsize=1024)
def compile_plain(pattern: str) -> Any:
    return _compile(pattern)


@lru_cache(maxsize=256)
def compile_gate(pattern: str) -> Any:
    """A prefilter gate as Hyperscan runs it: case-insensitive, ASCII classes (its `\\s` is `[\\t\\n\\v\\f\\r ]`)."""
    engine = _regex()
    return _compile(pattern, engine.IGNORECASE | engine.ASCII)


def group_names(pattern: str) -> frozenset[str]:
    return frozenset(compile_pattern(pattern).groupindex)


def search(compiled: Any, text: str, timeout: float) -> bool:
    """Whether the pattern matches anywhere; raises TimeoutError when it runs past `timeout` seconds."""
    return compiled.search(text, timeout=timeout) is not None


def finditer(compiled: Any, text: str, timeout: float) -> Iterator[Any]:
    """Raises TimeoutError when the pattern runs past `timeout` seconds."""
    return compiled.finditer(text, timeout=timeout)  # type: ignore[no-any-return]


_GROUP_OPEN = "(?P<secret>"
# a global flag group, or verbose mode anywhere: the group's text would not mean the same on its own
_UNSOUND = re.compile(r"\(\?[aiLmsux]+\)|\(\?[a-zA-Z-]*x|\(\?P=|\(\?\(|\\[1-9]|\\g<")


@lru_cache(maxsize=4096)
def secret_gate(pattern: str) -> Any:
    """A cheap necessary condition for `pattern`: its `secret` group(s) alone, on bytes (a tenth of a millisecond
    to compile, where a whole rule pattern costs 1-15 ms). A window where the gate finds nothing cannot hold a
    match, so the rule's own pattern is neither compiled nor run there (see `gate_open`).
    It is compiled case-insensitive, dot-all and multi-line: a flag scoped around the group can only widen what
    the group accepts, so the gate accepts at least as much. None when no sound gate can be derived (global
    inline flags, verbose mode, back-references, conditionals) or when it would match everywhere."""
    if _UNSOUND.search(pattern):
        return None
    bodies: list[str] = []
    at = pattern.find(_GROUP_OPEN)
    while at >= 0:
        body = _group_body(pattern, at + len(_GROUP_OPEN))
        if body is None:
            return None
        bodies.append(re.sub(r"\(\?P<\w+>", "(?:", body))
        at = pattern.find(_GROUP_OPEN, at + 1)
    if not bodies:
        return None
    engine = _regex()
    flags = engine.ASCII | engine.IGNORECASE | engine.DOTALL | engine.MULTILINE
    try:
        gate = _compile("|".join(f"(?:{b})" for b in dict.fromkeys(bodies)).encode("ascii"), flags)
        if gate.search(b"", timeout=0.1) is not None:
            return None
    except (PatternError, UnicodeEncodeError, OverflowError, RecursionError, TimeoutError):
        return None
    return gate


def gate_open(gate: Any, data: bytes, timeout: float) -> bool:
    """Whether `data` may hold a match. The gate is a rule's own sub-pattern, so it runs under the same time bound
    (a repository's rule may backtrack catastrophically); when the bound fires the window stays open and the rule's
    pattern, under its own bound, decides and reports the timeout."""
    try:
        return gate.search(data, timeout=timeout) is not None
    except TimeoutError:
        return True


def _group_body(pattern: str, start: int) -> str | None:
    """The text of a group from `start` (just after its opening) to its closing parenthesis, honouring escapes
    and character classes; None when it never closes."""
    depth, i, n = 1, start, len(pattern)
    in_class = False
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
        elif c == "[":
            in_class = True
            if pattern.startswith("^]", i + 1):
                i += 2
            elif pattern.startswith("]", i + 1):
                i += 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return pattern[start:i]
        i += 1
    return None
