"""A plugin registry: built-ins named by "module:attribute" (imported on first use), then what the caller adds,
then the installed packages' entry points of one group. A built-in name cannot be taken over by a plugin."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from importlib import metadata
from typing import Generic, TypeVar

T = TypeVar("T")


class PluginRegistry(Generic[T]):
    """Each name is looked up once per instance."""

    def __init__(self, builtins: Mapping[str, str], group: str, extra: Mapping[str, T] | None = None) -> None:
        self._builtins = builtins
        self._group = group
        self._extra = dict(extra or {})
        self._loaded: dict[str, T] = {}
        self._plugins: dict[str, metadata.EntryPoint] | None = None

    def names(self) -> list[str]:
        return sorted({*self._builtins, *self._extra, *self._entry_points()})

    def _entry_points(self) -> dict[str, metadata.EntryPoint]:
        if self._plugins is None:
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
