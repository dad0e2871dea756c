"""What an interrupted sweep leaves for `--resume`: a folder in the user cache per repository, rules and options,
holding the key it was made for and an append-only log of blob outcomes (never a secret)."""

from __future__ import annotations

import binascii
import contextlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import IO

_STATUS = tuple(bytes((status,)) for status in range(5))  # a blob outcome (gitobjects.CLEAN…) as its log byte


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nhiguard" / "history"


class SweepLog:
    """What an interrupted sweep had done: per blob, its id and outcome (21 bytes a record, appended after every
    batch). Never a secret: a matched blob is read and scanned again on resume to recover its findings."""

    RECORD = 21

    def __init__(self, folder: Path, meta: dict[str, object]) -> None:
        self.folder = folder
        self.meta = meta
        self._handle: IO[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.folder / "blobs.log"

    def load(self) -> dict[bytes, int]:
        """Outcomes recorded by an earlier run with the same key, or {} when there is none."""
        meta_path = self.folder / "meta.json"
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            raw = self.log_path.read_bytes()
        except (OSError, ValueError):
            return {}
        if meta != self.meta:
            return {}
        raw = raw[: len(raw) - len(raw) % self.RECORD]  # a record cut short by a kill is dropped
        done: dict[bytes, int] = {}
        for at in range(0, len(raw), self.RECORD):
            done[raw[at : at + 20].hex().encode()] = raw[at + 20]
        return done

    def start(self, keep: bool) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        if not keep:
            self.log_path.unlink(missing_ok=True)
        (self.folder / "meta.json").write_text(json.dumps(self.meta, sort_keys=True), encoding="utf-8")
        size = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._handle = open(self.log_path, "ab")  # noqa: SIM115 - held open for the whole sweep
        if size % self.RECORD:
            self._handle.truncate(size - size % self.RECORD)

    def append(self, outcomes: Iterable[tuple[bytes, int]]) -> None:
        if self._handle is None:
            return
        self._handle.write(b"".join([binascii.unhexlify(oid) + _STATUS[status] for oid, status in outcomes]))
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def remove(self) -> None:
        self.close()
        for name in ("blobs.log", "meta.json"):
            (self.folder / name).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.folder.rmdir()
