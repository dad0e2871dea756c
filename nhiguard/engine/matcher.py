"""The only user of the `regex` module: compiling rule patterns and running them under a time bound."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import regex

PatternError = regex.error


@lru_cache(maxsize=4096)
def compile_pattern(pattern: str) -> Any:
    """Rule patterns run with ASCII semantics: tokens are ASCII, and `\\w` must not eat UTF-8 bytes."""
    return regex.compile(pattern, regex.ASCII)


@lru_cache(maxsize=1024)
def compile_plain(pattern: str) -> Any:
    return regex.compile(pattern)


@lru_cache(maxsize=256)
def compile_gate(pattern: str) -> Any:
    """A prefilter gate as Hyperscan runs it: case-insensitive, ASCII classes (its `\\s` is `[\\t\\n\\v\\f\\r ]`)."""
    return regex.compile(pattern, regex.IGNORECASE | regex.ASCII)


def group_names(pattern: str) -> frozenset[str]:
    return frozenset(compile_pattern(pattern).groupindex)


def search(compiled: Any, text: str, timeout: float) -> bool:
    """Whether the pattern matches anywhere; raises TimeoutError when it runs past `timeout` seconds."""
    return compiled.search(text, timeout=timeout) is not None


def finditer(compiled: Any, text: str, timeout: float) -> Iterator[Any]:
    """Raises TimeoutError when the pattern runs past `timeout` seconds."""
    return compiled.finditer(text, timeout=timeout)  # type: ignore[no-any-return]
