"""Regexes compiled on first use: the detectors hold a few hundred patterns, and a pre-commit run that looks at
three ordinary files must not pay for compiling them all (tens of milliseconds at every start)."""

from __future__ import annotations

import re
from typing import cast


class _LazyPattern:
    __slots__ = ("_compiled", "_flags", "_pattern")

    def __init__(self, pattern: str, flags: int) -> None:
        self._pattern, self._flags = pattern, flags
        self._compiled: re.Pattern[str] | None = None

    def __getattr__(self, name: str) -> object:
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(self._pattern, self._flags)
        return getattr(compiled, name)


def lazy_re(pattern: str, flags: int | re.RegexFlag = 0) -> re.Pattern[str]:
    """Stands in for `re.compile`: the same methods, compiled when one is first called."""
    return cast("re.Pattern[str]", _LazyPattern(pattern, int(flags)))
