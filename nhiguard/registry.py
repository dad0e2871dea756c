"""A plugin registry: built-ins named by "module:attribute" (imported on first use), then what the caller adds,
then the installed packages' entry points of one group. A built-in name cannot be taken over by a plugin."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from importlib import metadata

T = TypeVar("T")


class PluginRegistry(Generic[T]):
    """Each name is looked up once per instance."""

    def __init__(self, builtins: Mapping[str, str], group: str, extra: Mapping[str, T] | None = None) -> None:
        self._builtins = builtins
        self._group = group
        self._extra = dict(extra or {})
        self._loaded: dict[str, T] = {}
        self._plugins: dict[str, Any] | None = None

    def names(self) -> list[str]:
        return sorted({*self._builtins, *self._extra, *self._entry_points()})

    def _entry_points(self) -> dict[str, metadata.EntryPoint]:
        if self._plugins is None:
            self._plugins = {}
            if _group_declared(self._group):
                from importlib import metadata

                self._plugins = {ep.name: ep for ep in metadata.entry_points(group=self._group)}
        return self._plugins


    def get(self, name: str) -> T | None:
        if name in self._loaded:
            return self._loaded[name]
        found: T | None = None
        if name in self._builtins:
            module_name, _, attribute = self._builtins[name].partition(":")
            found = getattr(importlib.import_module(module_name), attribute)
        elif name in self._extra:
            found = self._extra[name]
        else:
            entry = self._entry_points().get(name)
            if entry is not None:
                found = entry.load()
        if found is not None:
            self._loaded[name] = found
        return found


@cache
def _declared_groups() -> frozenset[str]:
    """The entry-point groups any installed distribution declares, read straight from the `entry_points.txt` files
    on sys.path: importing `importlib.metadata` alone costs a pre-commit hook more than its whole scan, and most
    installations have no nhiguard plugin at all."""
    groups: set[str] = set()
    for folder in sys.path:
        try:
            names = os.listdir(folder or ".")
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            try:
                with open(os.path.join(folder or ".", name, "entry_points.txt"), encoding="utf-8") as handle:
                    text = handle.read(1 << 20)
            except OSError:
                continue
            groups.update(line.strip()[1:-1].strip() for line in text.splitlines() if line.strip().startswith("["))
    return frozenset(groups)


def _group_declared(group: str) -> bool:
    return group in _declared_groups()

