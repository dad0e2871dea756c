"""A small on-disk cache in the user's cache folder (`$XDG_CACHE_HOME/nhiguard`, else `~/.cache/nhiguard`).

It keeps compiled artefacts between runs (the prefilter database) so that a pre-commit hook does not rebuild
them. Every failure is silent: a read-only or missing cache only costs speed. `NHIGUARD_NO_CACHE=1` disables it.
"""

from __future__ import annotations

import os
from pathlib import Path

from nhiguard._paths import build_cache_dir

_KEEP = 8


class FileStore:
    def __init__(self, directory: Path | None = None, prefix: str = "engine") -> None:
        self.directory = directory or build_cache_dir()
        self.prefix = prefix

    def _path(self, key: str) -> Path:
        return self.directory / f"{self.prefix}-{key}.bin"

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            data = path.read_bytes()
            os.utime(path)  # (pruning keeps the most recently used)
        except OSError:
            return None
        return data

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
            old = sorted(self.directory.glob(f"{self.prefix}-*.bin"), key=lambda p: p.stat().st_mtime, reverse=True)
            for stale in old[_KEEP:]:
                stale.unlink(missing_ok=True)
        except OSError:
            pass


def default_store() -> FileStore | None:
    return None if os.environ.get("NHIGUARD_NO_CACHE") else FileStore()
