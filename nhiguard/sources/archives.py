"""Archives opened in memory: a file's bytes → the Chunks of its members, nested archives included.

zip and its family (jar, war, apk, whl, nupkg, docx…), tar, and gzip / bzip2 / xz streams (a compressed tar is
one archive: `x.tar.gz!etc/app.yml`; a single compressed file is shown with its inner name: `app.log.gz!app.log`).
Kinds are told by magic bytes, not by names, so a sniff costs a few byte comparisons and a tree without archives
pays nothing. Members are read into memory one at a time, never written to disk. Every cap (depth, bytes expanded,
compression ratio, entries) holds for one archive tree, and reaching one is a Notice: the rest of the tree is still
scanned where the cap allows, and a corrupt member or archive never stops the scan of its siblings.
"""

from __future__ import annotations

import bz2
import io
import lzma
import posixpath
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from nhiguard.config import ArchiveLimits
from nhiguard.model import Chunk, Notice, Origin
from nhiguard.sources.text import HEAD, prepare, text_extent

_BLOCK = 1 << 20
_RATIO_FLOOR = 1 << 20  # members expanding to less than this are never called bombs
_XZ = b"\xfd7zXZ\x00"
_STREAM_SUFFIXES = {"gzip": (".gz", ".gzip"), "bzip2": (".bz2",), "xz": (".xz",)}


def kind(data: bytes) -> str | None:
    """The archive kind of `data` from its magic bytes, or None. Cheap enough to ask of every file."""
    head = data[:10]
    if head[:4] == b"PK\x03\x04" or zip_at_end(data, max(0, len(data) - EOCD_REACH)):
        return "zip"
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:3] == b"BZh" and head[4:10] == b"1AY&SY":
        return "bzip2"
    if head[:6] == _XZ:
        return "xz"
    if data[257:262] == b"ustar":
        return "tar"
    return None


EOCD_REACH = 22 + 65_535  # the end-of-central-directory record and the longest comment after it


def zip_at_end(data: bytes, lo: int = 0, before: Callable[[int], bytes] | None = None) -> bool:
    """Whether `data` (from offset `lo` on: a file's last bytes) ends a zip that does not start at offset 0: a
    Python zipapp behind its shebang, a Spring Boot jar behind its launch script, a self-extracting archive. Its
    end-of-central-directory record must point back at a central directory header; `before(n)` reads the 4
    bytes n bytes before `data` when that header lies earlier than `data` holds."""
    n = len(data)
    if data[n - 22:n - 18] == b"PK\x05\x06" and n - 22 >= lo:
        end = n - 22  # (the record without a comment: what zipapps, jars and self-extractors write)
    elif data.find(b"\0", lo) < 0:
        return False  # (the record holds NUL bytes: text has none, and every file of a tree is asked this)
    else:
        end = data.rfind(b"PK\x05\x06", lo)
        if end < 0 or end + 22 > n:
            return False
    size = int.from_bytes(data[end + 12:end + 16], "little")
    if size == 0 or size == 0xFFFFFFFF:
        return False
    start = end - size
    if start >= 0:
        return data[start:start + 4] == b"PK\x01\x02"
    return before is not None and before(-start) == b"PK\x01\x02"


def _lost(path: str, reason: str) -> Notice:
    """A notice for archive content that was not read (a cap, corruption, encryption): the run is incomplete."""
    return Notice(path, reason, incomplete=True)


@dataclass(slots=True)
class _Budget:
    """What is left of one archive tree's caps; `stopped` once the bytes or entries ran out."""

    limits: ArchiveLimits
    max_member: int
    bytes_left: int
    entries_left: int
    stopped: bool = False


def expand(data: bytes, origin: Origin, limits: ArchiveLimits, max_member: int) -> Iterator[Chunk | Notice]:
    """The scannable members of the archive `data` (its kind must be known: `kind(data)`), as Chunks whose
    path is `origin.path!member`, and a Notice for each cap reached or part not read."""
    found = kind(data)
    if found is None or limits.depth <= 0:
        return
    budget = _Budget(limits, max_member, limits.max_bytes, limits.max_entries)
    yield from _open(data, found, origin.path, 1, budget, origin)


def _open(data: bytes, what: str, shown: str, level: int, budget: _Budget, origin: Origin) -> Iterator[Chunk | Notice]:
    binary = 0
    for item in _OPENERS[what](data, shown, level, budget, origin):
        if item is _BINARY:
            binary += 1
        else:
            assert not isinstance(item, _Binary)
            yield item
    if binary:
        yield Notice(shown, f"{binary} binary member(s) not scanned")


class _Binary:
    """A member that is neither text nor an archive: counted, not reported one by one (a jar holds thousands)."""


_BINARY = _Binary()
_Item = Chunk | Notice | _Binary


def _member(content: bytes | Notice, name: str, level: int, budget: _Budget, origin: Origin) -> Iterator[_Item]:
    """A member read whole (opened again when it is itself an archive), or the notice of why it was not read."""
    if isinstance(content, Notice):
        yield content
        return
    nested = kind(content)
    if nested is not None:
        if level >= budget.limits.depth:
            yield _lost(name, f"archive nested deeper than {budget.limits.depth} level(s): not opened")
            return
        yield from _open(content, nested, name, level + 1, budget, origin)
        return
    prepared = prepare(content)
    if prepared is None:
        yield _BINARY
        return
    yield Chunk(data=prepared, origin=replace(origin, path=name))


def _entry(budget: _Budget, shown: str) -> Notice | None:
    """Count one member against the tree's cap; the Notice the first time it is exceeded."""
    if budget.stopped:
        return None
    budget.entries_left -= 1
    if budget.entries_left < 0:
        budget.stopped = True
        return _lost(shown, f"more than {budget.limits.max_entries:,} archive members: the rest was not read")
    return None


def _take(budget: _Budget, size: int, shown: str) -> Notice | None:
    if budget.stopped:
        return None
    budget.bytes_left -= size
    if budget.bytes_left < 0:
        budget.stopped = True
        return _lost(shown, (f"archive expands past {budget.limits.max_bytes:,} bytes (possible archive bomb): "
                              "the rest was not read"))
    return None


_RATIO_NOTICE = "compression ratio over {}:1 (possible archive bomb): not scanned"


def _declared(name: str, size: int, ratio_cap: int, budget: _Budget) -> Notice | None:
    """Why a member whose header declares `size` is not read at all, or None."""
    if size > budget.max_member:
        return _lost(name, f"member larger than the size limit ({size:,} > {budget.max_member:,} bytes): not scanned")
    if size > ratio_cap:
        return _lost(name, _RATIO_NOTICE.format(budget.limits.max_ratio))
    return None


def _ratio_cap(budget: _Budget, compressed: int) -> int:
    return max(_RATIO_FLOOR, budget.limits.max_ratio * max(compressed, 1))


def _bounded(read: Callable[[int], bytes], compressed: int, name: str, budget: _Budget) -> bytes | Notice:
    """Read a member through `read` up to the member size limit, the ratio cap and the tree's byte budget."""
    ratio_cap = _ratio_cap(budget, compressed)
    cap = min(budget.max_member, ratio_cap)
    parts: list[bytes] = []
    got = 0
    while True:
        want = min(_BLOCK, cap + 1 - got, budget.bytes_left + 1)
        block = read(want) if want > 0 else b""
        if not block:
            break
        got += len(block)
        parts.append(block)
        over = _take(budget, len(block), name)
        if over is not None:
            return over
        if budget.stopped:
            return _lost(name, "not read: the archive's byte budget was spent")
        if got > cap:
            if cap == ratio_cap:
                return _lost(name, _RATIO_NOTICE.format(budget.limits.max_ratio))
            return _lost(name, f"member larger than the size limit ({budget.max_member:,} bytes): not scanned")
    return b"".join(parts)


def _read_member(read: Callable[[int], bytes], compressed: int, name: str, budget: _Budget) -> bytes | Notice:
    """`_bounded`, except that a member whose first bytes say the rest holds no text (`text_extent`: a numeric
    NumPy array) is read no further: its values are never inflated."""
    head = read(min(HEAD, budget.max_member + 1))
    if text_extent(head) is not None:
        return _take(budget, len(head), name) or head
    first = iter((head,))

    def rest(want: int) -> bytes:
        block = next(first, None)  # (the head once, whatever `want` is: _bounded counts what it gets)
        return block if block is not None else read(want)

    return _bounded(rest, compressed, name, budget)


# -- zip ------------------------------------------------------------------------------------------------------
def _zip_entries(data: bytes) -> int | None:
    """The entry count the end-of-central-directory record announces (None: not found, or zip64), read before
    zipfile builds an object per entry."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end < 0 or end + 12 > len(data):
        return None
    count = int.from_bytes(data[end + 10:end + 12], "little")
    return None if count == 0xFFFF else count


def _zip(data: bytes, shown: str, level: int, budget: _Budget, origin: Origin) -> Iterator[_Item]:
    announced = _zip_entries(data)
    if announced is not None and announced > budget.entries_left:
        budget.stopped = True
        yield _lost(shown, f"zip announces {announced:,} members, more than the cap of "
                            f"{budget.limits.max_entries:,}: not opened")
        return
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        # (NotImplementedError: a central directory that declares a zip version zipfile does not know)
        yield _lost(shown, f"corrupt zip archive, not opened: {exc}")
        return
    with archive:
        for info in archive.infolist():
            if budget.stopped:
                return
            if info.is_dir():
                continue
            name = f"{shown}!{info.filename}"
            over = _entry(budget, shown)
            if over is not None:
                yield over
                return
            if info.flag_bits & 0x1:
                yield _lost(name, "encrypted archive member: not scanned")
                continue
            # declared sizes settle it without inflating up to the cap (a lying header is still capped below)
            refused = _declared(name, info.file_size, _ratio_cap(budget, info.compress_size), budget)
            if refused is not None:
                yield refused
                continue
            try:
                with archive.open(info) as member:
                    content = _read_member(member.read, info.compress_size, name, budget)
            except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, OSError, EOFError, ValueError,
                    NotImplementedError, RuntimeError) as exc:
                yield _lost(name, f"corrupt archive member, not scanned: {exc}")
                continue
            yield from _member(content, name, level, budget, origin)


# -- tar ------------------------------------------------------------------------------------------------------
def _tar(data: bytes, shown: str, level: int, budget: _Budget, origin: Origin) -> Iterator[_Item]:
    try:
        archive = tarfile.open(fileobj=io.BytesIO(data), mode="r:")  # noqa: SIM115 - closed by the with below
    except (tarfile.TarError, OSError, ValueError, EOFError) as exc:
        yield _lost(shown, f"corrupt tar archive, not opened: {exc}")
        return
    with archive:
        members = iter(archive)
        while not budget.stopped:
            try:
                info = next(members)
            except StopIteration:
                return
            except (tarfile.TarError, OSError, ValueError, EOFError) as exc:
                yield _lost(shown, f"corrupt tar archive, the rest was not read: {exc}")
                return
            if not info.isreg():
                continue
            name = f"{shown}!{info.name.removeprefix('./')}"
            over = _entry(budget, shown)
            if over is not None:
                yield over
                return
            refused = _declared(name, info.size, info.size, budget)  # (a tar stores members as they are)
            if refused is not None:
                yield refused
                continue
            try:
                handle = archive.extractfile(info)
                if handle is None:
                    continue
                # a tar stores members as they are: their ratio is 1
                content = _read_member(handle.read, info.size, name, budget)
            except (tarfile.TarError, OSError, ValueError, EOFError) as exc:
                yield _lost(name, f"corrupt archive member, not scanned: {exc}")
                continue
            yield from _member(content, name, level, budget, origin)


# -- single compressed streams ----------------------------------------------------------------------------------
class _Stream:
    """A gzip, bzip2 or xz stream (concatenated members included) behind a bounded `read(n)`."""

    def __init__(self, what: str, data: bytes) -> None:
        self.what, self.rest, self.ended = what, data, False
        self._start()

    def _start(self) -> None:
        if self.what == "gzip":
            self.zlib = zlib.decompressobj(wbits=31)
        else:
            self.other = bz2.BZ2Decompressor() if self.what == "bzip2" else lzma.LZMADecompressor()

    def _step(self, n: int) -> tuple[bytes, bool, bytes, bool]:
        """(output, end of this member, bytes after it, more input needed)"""
        if self.what == "gzip":
            d = self.zlib
            out = d.decompress(d.unconsumed_tail or self.rest, n)
            self.rest = b""
            return out, d.eof, d.unused_data, not d.unconsumed_tail
        o = self.other
        out = o.decompress(self.rest, n)
        self.rest = b""
        return out, o.eof, o.unused_data if o.eof else b"", o.needs_input

    def read(self, n: int) -> bytes:
        while not self.ended:
            out, done, unused, hungry = self._step(n)
            if out:
                self.ended = done and not unused.strip(b"\0")
                if done and not self.ended:
                    self.rest = unused
                    self._start()
                return out
            if done and unused.strip(b"\0"):  # a next member (padding zeros end the stream)
                self.rest = unused
                self._start()
                continue
            if done:
                self.ended = True
            elif hungry and not self.rest:
                raise EOFError("compressed stream ends early")
        return b""


def _stream(data: bytes, shown: str, level: int, budget: _Budget, origin: Origin) -> Iterator[_Item]:
    what = kind(data)
    assert what is not None
    over = _entry(budget, shown)
    if over is not None:
        yield over
        return
    try:
        content = _bounded(_Stream(what, data).read, len(data), shown, budget)
    except (zlib.error, OSError, lzma.LZMAError, EOFError, ValueError) as exc:
        yield _lost(shown, f"corrupt {what} stream, not scanned: {exc}")
        return
    if isinstance(content, Notice):
        yield content
        return
    if kind(content) == "tar":  # x.tar.gz is one archive: its members are shown right under it
        yield from _tar(content, shown, level, budget, origin)
        return
    yield from _member(content, f"{shown}!{_inner_name(shown, what)}", level, budget, origin)


def _inner_name(shown: str, what: str) -> str:
    """The name of a single compressed file's content: its own name without the compression suffix."""
    base = posixpath.basename(shown.rsplit("!", 1)[-1])
    for suffix in _STREAM_SUFFIXES[what]:
        if base.lower().endswith(suffix) and len(base) > len(suffix):
            return base[: -len(suffix)]
    return base or "content"


_OPENERS: dict[str, Callable[[bytes, str, int, _Budget, Origin], Iterator[_Item]]] = {
    "zip": _zip,
    "tar": _tar,
    "gzip": _stream,
    "bzip2": _stream,
    "xz": _stream,
}




def closed_notice(path: str) -> Notice:
    return Notice(path, "archive not opened: the configuration sets archives.depth to 0 (its members were not "
                        "scanned; --archive-depth N overrides it)", incomplete=True)


def chunks(data: bytes, origin: Origin, limits: ArchiveLimits | None, max_member: int) -> Iterator[Chunk | Notice]:
    """A file's bytes as the engine takes them: an archive's members (when `limits` open archives), else the
    text, else a Notice that it is binary. Every source that reads whole files calls this."""
    if limits is not None and kind(data) is not None:
        if limits.depth > 0:
            yield from expand(data, origin, limits, max_member)
            return
        if limits.closed_by_config:
            yield closed_notice(origin.path)
    prepared = prepare(data)
    yield Notice(origin.path, "binary") if prepared is None else Chunk(data=prepared, origin=origin)
__all__ = ["chunks", "closed_notice", "expand", "kind"]
