"""Files and directories on disk, and standard input.

Walks without following symlinks (a link is never a way out of the root, and loops cannot happen), prunes
allowed folders before reading them, and reports every file it does not scan with the reason.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nhiguard import filekinds
from nhiguard.config import ArchiveLimits
from nhiguard.engine.filters import path_matches
from nhiguard.errors import SourceError
from nhiguard.escape import path_text
from nhiguard.model import Chunk, Notice, Origin
from nhiguard.sources import archives
from nhiguard.sources.text import prepare

SKIP_DIRS = frozenset({".git", ".hg", ".svn", ".bzr", "_darcs"})


@dataclass(frozen=True, slots=True)
class FileRef:
    path: str  # as reported: relative to the scan root where possible
    real: str  # what to open
    size: int


def _display(path: str, base: str) -> str:
    rel = os.path.relpath(path, base) if base else path
    return path_text(rel.replace(os.sep, "/"))  # a name that is not UTF-8 is shown with \xNN escapes


def walk(
    targets: list[Path],
    *,
    allow_paths: tuple[str, ...],
    max_size: int,
    display_base: Path | None = None,
    allow_root: Path | None = None,
) -> Iterator[FileRef | Notice]:
    """Every regular file under the targets, or a Notice for what is skipped. Allowed paths are globs
    relative to `allow_root` (the config file's folder)."""
    base = str(display_base) if display_base else ""
    for target in targets:
        try:
            st = os.lstat(target)
        except OSError as exc:
            raise SourceError(f"{target}: {exc.strerror or exc}") from None
        if stat.S_ISDIR(st.st_mode):
            yield from _walk_dir(str(target), base or str(target), allow_paths, max_size, _rel(target, allow_root))
        elif stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
            rel = _rel(target, allow_root)
            if allow_paths and rel is not None and path_matches(rel, allow_paths):
                continue
            # A file named on the command line is scanned even through a link: the user asked for it.
            ref = _file(str(target), base or os.path.dirname(str(target)) or ".", max_size, follow=True)
            if ref is not None:
                yield ref
        else:
            yield Notice(path_text(str(target)), "not a regular file")


def _rel(path: Path, root: Path | None) -> str | None:
    """`path` relative to `root` with forward slashes, '' for the root itself, None when outside it."""
    if root is None:
        return None
    try:
        rel = Path(os.path.abspath(path)).relative_to(os.path.abspath(root))
    except ValueError:
        return None
    text = rel.as_posix()
    return "" if text == "." else text


def _file(path: str, base: str, max_size: int, *, follow: bool) -> FileRef | Notice | None:
    shown = _display(path, base)
    try:
        st = os.stat(path) if follow else os.lstat(path)
    except OSError as exc:
        return Notice(shown, f"unreadable: {exc.strerror or exc}")
    if not stat.S_ISREG(st.st_mode):
        return Notice(shown, "not a regular file")
    if st.st_size > max_size:
        return Notice(shown, f"larger than the size limit ({st.st_size} > {max_size} bytes)")
    return FileRef(shown, path, st.st_size)


def _walk_dir(
    root: str, base: str, allow_paths: tuple[str, ...], max_size: int, allow_rel: str | None
) -> Iterator[FileRef | Notice]:
    check = bool(allow_paths) and allow_rel is not None
    stack: list[tuple[str, str]] = [(root, allow_rel or "")]
    while stack:
        directory, rel_dir = stack.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            yield Notice(_display(directory, base), f"unreadable folder: {exc.strerror or exc}")
            continue
        subdirs = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                if entry.is_symlink():
                    continue  # never followed: the target is scanned where it lives, if inside the root
                if entry.is_dir(follow_symlinks=False):
                    if entry.name in SKIP_DIRS or (check and path_matches(rel + "/", allow_paths)):
                        continue
                    subdirs.append((entry.path, rel))
                    continue
                if not entry.is_file(follow_symlinks=False):
                    continue
                if check and path_matches(rel, allow_paths):
                    continue
                size = entry.stat(follow_symlinks=False).st_size
            except OSError as exc:
                yield Notice(_display(entry.path, base), f"unreadable: {exc.strerror or exc}")
                continue
            if size > max_size:
                yield Notice(_display(entry.path, base), f"larger than the size limit ({size} > {max_size} bytes)")
                continue
            yield FileRef(_display(entry.path, base), entry.path, size)
        stack.extend(reversed(subdirs))


def read(ref: FileRef) -> Chunk | Notice:
    data = _read_bytes(ref)
    return data if isinstance(data, Notice) else _chunk(ref, data)


def _chunk(ref: FileRef, data: bytes) -> Chunk | Notice:
    prepared = prepare(data)
    if prepared is None:
        if filekinds.wants_binary(ref.path):  # an encrypted credential store a file-kind detector can open
            return Chunk(data=b"", origin=Origin(path=ref.path), whole=data)
        return Notice(ref.path, "binary")
    return Chunk(data=prepared, origin=Origin(path=ref.path))


def read_all(ref: FileRef, limits: ArchiveLimits | None, max_member: int) -> Iterator[Chunk | Notice]:
    """`read`, with an archive opened into its members (`sources/archives.py`)."""
    data = _read_bytes(ref)
    if isinstance(data, Notice):
        yield data
    elif limits is not None and limits.depth > 0 and archives.kind(data) is not None \
            and not filekinds.wants_binary(ref.path):
        yield from archives.expand(data, Origin(path=ref.path), limits, max_member)
    else:
        yield _chunk(ref, data)


def _read_bytes(ref: FileRef) -> bytes | Notice:
    try:
        # O_NONBLOCK: should a path turn into a FIFO after the walk, opening it must not hang the scan.
        fd = os.open(ref.real, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:
            parts = []
            while True:
                part = os.read(fd, max(ref.size + 1, 65536))
                if not part:
                    break
                parts.append(part)
        finally:
            os.close(fd)
    except OSError as exc:
        return Notice(ref.path, f"unreadable: {exc.strerror or exc}")
    return parts[0] if len(parts) == 1 else b"".join(parts)


def read_stdin(name: str = "<stdin>", max_size: int | None = None,
               limits: ArchiveLimits | None = None) -> Chunk | Notice | list[Chunk | Notice]:
    data = sys.stdin.buffer.read() if max_size is None else sys.stdin.buffer.read(max_size + 1)
    if max_size is not None and len(data) > max_size:
        return Notice(name, f"larger than the size limit ({max_size} bytes)")
    if limits is not None and archives.kind(data) is not None:
        return list(archives.chunks(data, Origin(path=name, kind="stdin"), limits, max_size or len(data)))
    prepared = prepare(data)
    if prepared is None:
        return Notice(name, "binary")
    return Chunk(data=prepared, origin=Origin(path=name, kind="stdin"))
