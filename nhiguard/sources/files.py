"""Files and directories on disk, and standard input.

Walks without following symlinks (a link is never a way out of the root, and loops cannot happen), prunes
allowed folders before reading them, and reports every file it does not scan with the reason.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import os
import stat
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from nhiguard import filekinds
from nhiguard.config import ArchiveLimits
from nhiguard.engine.filters import path_matches
from nhiguard.errors import SourceError
from nhiguard.escape import path_text
from nhiguard.model import Chunk, Notice, Origin
from nhiguard.sources import archives
from nhiguard.sources.text import BINARY, TEXT, prepare, printable_view, sniff

SKIP_DIRS = frozenset({".git", ".hg", ".svn", ".bzr", "_darcs"})
# Files larger than WINDOW + OVERLAP are read and scanned in windows, so memory is bounded by the window, never
# by the file. Consecutive windows overlap by more than any engine window reaches (a multi-line window 64 KiB,
# a decoded run 1 MiB), so a match across a seam is whole in one of them; each match is kept by the window
# whose own stretch it starts in, so it is reported once.
WINDOW = 8 << 20
OVERLAP = (1 << 20) + (128 << 10)


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
        if stat.S_ISLNK(st.st_mode):
            # A link named on the command line is followed, to a folder as to a file: the user asked for it
            # (links met inside a folder are not).
            with contextlib.suppress(OSError):
                st = os.stat(target)
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
        # (a link loop holds nothing to read: named, not incomplete; a file that cannot be read is)
        return Notice(shown, f"unreadable: {exc.strerror or exc}", incomplete=exc.errno != errno.ELOOP)
    if not stat.S_ISREG(st.st_mode):
        return Notice(shown, "not a regular file")
    if st.st_size > max_size:
        return Notice(shown, f"larger than the size limit ({st.st_size} > {max_size} bytes)", incomplete=True)
    return FileRef(shown, path, st.st_size)


def _walk_dir(
    root: str, base: str, allow_paths: tuple[str, ...], max_size: int, allow_rel: str | None
) -> Iterator[FileRef | Notice]:
    check = bool(allow_paths) and allow_rel is not None
    # Names below the root are plain, so a file's shown path is its folder's (one relpath per walk) plus names:
    # os.path.relpath per file cost a tenth of a large scan.
    top = os.path.relpath(root, base).replace(os.sep, "/") if base else root
    stack: list[tuple[str, str, str]] = [(root, allow_rel or "", "" if top == "." else top)]
    while stack:
        directory, rel_dir, shown_dir = stack.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            yield Notice(_display(directory, base), f"unreadable folder: {exc.strerror or exc}", incomplete=True)
            continue
        subdirs = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            shown = f"{shown_dir}/{entry.name}" if shown_dir else entry.name
            try:
                if entry.is_symlink():
                    continue  # never followed: the target is scanned where it lives, if inside the root
                if entry.is_dir(follow_symlinks=False):
                    if entry.name in SKIP_DIRS or (check and path_matches(rel + "/", allow_paths)):
                        continue
                    subdirs.append((entry.path, rel, shown))
                    continue
                if not entry.is_file(follow_symlinks=False):
                    continue
                if check and path_matches(rel, allow_paths):
                    continue
                size = entry.stat(follow_symlinks=False).st_size
            except OSError as exc:
                yield Notice(path_text(shown), f"unreadable: {exc.strerror or exc}", incomplete=True)
                continue
            if size > max_size:
                yield Notice(path_text(shown), f"larger than the size limit ({size} > {max_size} bytes)",
                             incomplete=True)
                continue
            yield FileRef(path_text(shown), entry.path, size)
        stack.extend(reversed(subdirs))


@dataclass(frozen=True, slots=True)
class Part:
    """A window of a file: matches that start in [keep_from, keep_to) of `chunk.data` are this window's."""

    chunk: Chunk
    keep_from: int
    keep_to: int


def _whole(chunk: Chunk) -> Part:
    """A file scanned in one piece keeps every match (a file-kind field may index the raw bytes of `whole`)."""
    return Part(chunk, 0, max(len(chunk.data), len(chunk.whole or b"")) + 1)


def read_parts(ref: FileRef) -> Iterator[Part | Notice]:
    """A file as one Part, or a large one as overlapping windows (see WINDOW)."""
    if ref.size <= WINDOW + OVERLAP:
        chunk = read(ref)
        yield chunk if isinstance(chunk, Notice) else _whole(chunk)
        return
    try:
        fd = os.open(ref.real, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        yield Notice(ref.path, f"unreadable: {exc.strerror or exc}", incomplete=True)
        return
    try:
        yield from _windows(fd, ref)
    except OSError as exc:
        yield Notice(ref.path, f"unreadable: {exc.strerror or exc}", incomplete=True)
    finally:
        os.close(fd)


def _windows(fd: int, ref: FileRef) -> Iterator[Part | Notice]:
    """A large file in overlapping windows of its text (see WINDOW): read in order, each read turned into the text
    the engine scans (as it is; its printable view; UTF-16/32 transcoded by an incremental decoder, which keeps a
    character a read cut for the next), so memory is bounded by the window whatever the file's size or encoding."""
    if filekinds.wants_binary(ref.path):
        chunk = read(ref)
        yield chunk if isinstance(chunk, Notice) else _whole(chunk)
        return
    size = os.fstat(fd).st_size
    kind = sniff(os.pread(fd, 8192, 0))
    convert: Callable[[bytes, bool], bytes]
    if kind == TEXT:
        convert = lambda raw, _final: raw  # noqa: E731
    elif kind == BINARY:
        convert = lambda raw, _final: printable_view(raw)  # noqa: E731
    else:
        decoder = codecs.getincrementaldecoder(kind)(errors="replace")
        convert = lambda raw, final: decoder.decode(raw, final=final).encode("utf-8")  # noqa: E731
    buf = b""  # the text from `base` on
    base = 0  # its position in the whole text
    line = 1  # the line number at `base`
    keep = 0  # matches from here on are this window's
    offset = 0
    done = False
    while not done or keep < base + len(buf):
        while not done and len(buf) < keep - base + WINDOW + OVERLAP:
            raw = os.pread(fd, WINDOW, offset)
            offset += len(raw)
            done = not raw or offset >= size
            buf += convert(raw, done)
        if not buf:
            return
        start = max(base, keep - OVERLAP)
        nl = buf.find(b"\n", start - base, keep - base) if start > base else -1
        if nl >= 0:
            start = base + nl + 1  # (just after a line break, so columns stay true)
        stop = min(base + len(buf), keep + WINDOW + OVERLAP)
        last = done and stop == base + len(buf)
        keep_to = stop if last else keep + WINDOW
        first = line + buf.count(b"\n", 0, start - base)
        yield Part(Chunk(data=buf[start - base:stop - base], origin=Origin(path=ref.path), first_line=first),
                   keep - start, keep_to - start)
        if last:
            return
        cut = max(0, keep_to - OVERLAP - base)  # the next window starts no earlier than this
        line += buf.count(b"\n", 0, cut)
        buf, base, keep = buf[cut:], base + cut, keep_to


def read(ref: FileRef) -> Chunk | Notice:
    data = _read_bytes(ref)
    return data if isinstance(data, Notice) else _chunk(ref, data)


def _chunk(ref: FileRef, data: bytes) -> Chunk | Notice:
    if filekinds.wants_binary(ref.path) and sniff(data) == BINARY:
        # an encrypted credential store a file-kind detector can open
        return Chunk(data=b"", origin=Origin(path=ref.path), whole=data)
    prepared = prepare(data)
    if prepared is None:
        return Notice(ref.path, "binary")
    return Chunk(data=prepared, origin=Origin(path=ref.path))


def read_all(ref: FileRef, limits: ArchiveLimits | None, max_member: int) -> Iterator[Part | Notice]:
    """A file as the parts to scan: an archive opened into its members (`sources/archives.py`), a large file in
    overlapping windows (`read_parts`), anything else whole."""
    opens = limits is not None and limits.depth > 0 and not filekinds.wants_binary(ref.path)
    closed = limits is not None and limits.closed_by_config  # (a config's depth 0: name each archive left closed)
    if ref.size > WINDOW + OVERLAP and not (opens and _starts_as_archive(ref)):
        if closed and _starts_as_archive(ref):
            yield archives.closed_notice(ref.path)
        yield from read_parts(ref)
        return
    data = _read_bytes(ref)
    if isinstance(data, Notice):
        yield data
    elif opens and limits is not None and archives.kind(data) is not None:
        for member in archives.expand(data, Origin(path=ref.path), limits, max_member):
            yield member if isinstance(member, Notice) else _whole(member)
    else:
        if closed and archives.kind(data) is not None:
            yield archives.closed_notice(ref.path)
        chunk = _chunk(ref, data)
        yield chunk if isinstance(chunk, Notice) else _whole(chunk)


def _starts_as_archive(ref: FileRef) -> bool:
    try:
        fd = os.open(ref.real, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:
            if archives.kind(os.pread(fd, 512, 0)) is not None:
                return True
            reach = min(ref.size, archives.EOCD_REACH)
            tail_at = ref.size - reach
            return archives.zip_at_end(os.pread(fd, reach, tail_at), 0,
                                       lambda back: os.pread(fd, 4, tail_at - back) if back <= tail_at else b"")
        finally:
            os.close(fd)
    except OSError:
        return False


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
        return Notice(ref.path, f"unreadable: {exc.strerror or exc}", incomplete=True)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def read_stdin(name: str = "<stdin>", max_size: int | None = None,
               limits: ArchiveLimits | None = None) -> Chunk | Notice | list[Chunk | Notice]:
    data = sys.stdin.buffer.read() if max_size is None else sys.stdin.buffer.read(max_size + 1)
    if max_size is not None and len(data) > max_size:
        return Notice(name, f"larger than the size limit ({max_size} bytes)", incomplete=True)
    if limits is not None and archives.kind(data) is not None:
        return list(archives.chunks(data, Origin(path=name, kind="stdin"), limits, max_size or len(data)))
    prepared = prepare(data)
    if prepared is None:
        return Notice(name, "binary")
    return Chunk(data=prepared, origin=Origin(path=name, kind="stdin"))
