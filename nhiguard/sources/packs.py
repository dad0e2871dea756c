"""Blob contents read straight from the repository's pack files, in the reading process: a history sweep's fast
path.

`git cat-file --batch` hands every byte of every blob through a pipe: git writes it, the kernel allocates pipe
pages, copies, wakes the reader, copies again. On a sweep of a few GB that costs about as much CPU as inflating
the objects. Here zlib (zlib-ng's, where it imports) inflates each pack entry, dulwich's native `apply_delta`
rebuilds deltified ones, and a cache of recent objects (as large as git's delta base cache) keeps delta chains
short.

Only the plain case is handled; everything else is left to git, which gives the canonical answer (the content,
"missing", or its own error): an object that is not in a pack (loose, in an alternate, or written after the packs
were opened), a pack index that is not version 2, a pack whose trailer disagrees with its index, a repository
whose objects are not SHA-1, a delta against an object of another pack, an entry that does not inflate or rebuild
to its recorded size. `PackStore.blob` then answers None. Git does not check an object's hash when it reads it
either; a damaged entry fails zlib's checksum or the recorded sizes.
"""

from __future__ import annotations

import binascii
import bisect
import contextlib
import inspect
import os
import struct
import sys
import zlib
from array import array
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import IO, cast

try:  # the same inflate, 1.7x as fast as the zlib CPython links (3.1 s against 1.8 s on the history bench's pack)
    from zlib_ng import zlib_ng as _zlib
except ImportError:  # pragma: no cover - a platform with no zlib-ng wheel
    _zlib = zlib  # type: ignore[misc,assignment,unused-ignore]
_INFLATE_ERRORS = (zlib.error, cast(type[Exception], _zlib.error))  # (zlib-ng's stub types it oddly)

CACHE_BYTES = 96 << 20  # what git's core.deltaBaseCacheLimit defaults to
_CACHE_LARGEST = CACHE_BYTES // 8  # a larger object is not cached (it would push out everything else)
_FIRST_READ = 4096  # one read gets an entry's header and, for most deltas, all of its data
_LARGE = 8 << 20  # an entry this large is inflated into a buffer of its exact size (see _large_entry)
_STEP = 1 << 20
_MAX_PACKS = 128
_MAX_CHAIN = 10_000  # git's deepest chains are 4,095; beyond that the pack is damaged
_BLOB = 3
_OFS_DELTA, _REF_DELTA = 6, 7
_BASE_TYPES = frozenset({1, 2, 3, 4})
_IDX_MAGIC = b"\xfftOc"
_SHA_PREFIXES = struct.Struct(">" + "Q12x" * 4096)  # 8-byte prefixes of 4,096 ids at a time

ApplyDelta = Callable[[bytes, bytes], list[bytes]]


def native_apply_delta() -> ApplyDelta | None:
    """dulwich's `apply_delta` if it is the compiled one (its pure-Python fallback is slower than git)."""
    try:
        from dulwich.pack import apply_delta
    except ImportError:
        return None
    return apply_delta if inspect.isbuiltin(apply_delta) else None


class _Cache:
    """Recently rebuilt objects of all the packs, least recently used dropped first, `CACHE_BYTES` at most."""

    def __init__(self) -> None:
        self.entries: OrderedDict[tuple[int, int], tuple[int, bytes]] = OrderedDict()
        self.size = 0

    def get(self, key: tuple[int, int]) -> tuple[int, bytes] | None:
        found = self.entries.get(key)
        if found is not None:
            self.entries.move_to_end(key)
        return found

    def put(self, key: tuple[int, int], kind: int, data: bytes) -> None:
        if len(data) > _CACHE_LARGEST or key in self.entries:
            return
        self.entries[key] = (kind, data)
        self.size += len(data)
        while self.size > CACHE_BYTES:
            _, (_, dropped) = self.entries.popitem(last=False)
            self.size -= len(dropped)


class _Pack:
    """One pack and its version-2 index. The index is kept as two compact arrays (8-byte id prefixes and
    offsets, 16 bytes an object); a prefix hit is confirmed against the full id in the index file."""

    def __init__(self, idx_path: Path, pack_path: Path, number: int, cache: _Cache) -> None:
        self._number = number
        self._cache = cache
        self._idx: IO[bytes] = open(idx_path, "rb")  # noqa: SIM115 - open for the store's lifetime
        self._pack: IO[bytes] | None = None
        try:
            header = self._idx.read(8 + 1024)
            if len(header) != 8 + 1024 or header[:4] != _IDX_MAGIC or header[4:8] != b"\0\0\0\2":
                raise ValueError("not a version 2 pack index")
            count = struct.unpack(">I", header[-4:])[0]
            self.count = count
            self._sha_at = 8 + 1024
            prefixes = array("Q")
            left = count
            while left:
                step = min(left, 4096)
                raw = self._idx.read(20 * step)
                if len(raw) != 20 * step:
                    raise ValueError("truncated pack index")
                unpack = _SHA_PREFIXES.unpack if step == 4096 else struct.Struct(">" + "Q12x" * step).unpack
                prefixes.extend(unpack(raw))
                left -= step
            self._prefixes = prefixes
            self._idx.seek(self._sha_at + 24 * count)  # past the ids and the CRC32s
            small = array("I")
            if small.itemsize != 4:
                raise ValueError("no 4-byte array type here")
            small.frombytes(self._idx.read(4 * count))
            if len(small) != count:
                raise ValueError("truncated pack index")
            if sys.byteorder == "little":
                small.byteswap()  # (stored big-endian)
            offsets = array("Q", small)
            large = [i for i, value in enumerate(small) if value & 0x80000000]
            if large:
                table = self._idx.read(8 * (max(small[i] & 0x7FFFFFFF for i in large) + 1))
                for i in large:
                    at = 8 * (small[i] & 0x7FFFFFFF)
                    offsets[i] = struct.unpack(">Q", table[at : at + 8])[0]
            self._offsets = offsets
            self._idx.seek(-40, os.SEEK_END)
            pack_sum = self._idx.read(20)
            self._pack = open(pack_path, "rb")  # noqa: SIM115 - open for the store's lifetime
            self._fd = self._pack.fileno()
            self._size = os.fstat(self._fd).st_size
            head = os.pread(self._fd, 12, 0)
            if (len(head) != 12 or head[:4] != b"PACK" or struct.unpack(">I", head[4:8])[0] not in (2, 3)
                    or struct.unpack(">I", head[8:12])[0] != count
                    or os.pread(self._fd, 20, self._size - 20) != pack_sum):
                raise ValueError("the pack does not match its index")
        except BaseException:
            self.close()
            raise
        self._end = self._size - 20

    def close(self) -> None:
        for handle in (self._idx, self._pack):
            if handle is not None:
                with contextlib.suppress(OSError):
                    handle.close()

    def find(self, oid: bytes) -> int | None:
        """The offset of the object with this (20-byte) id, or None."""
        key = int.from_bytes(oid[:8], "big")
        prefixes = self._prefixes
        at = bisect.bisect_left(prefixes, key)
        while at < self.count and prefixes[at] == key:
            if os.pread(self._idx.fileno(), 20, self._sha_at + 20 * at) == oid:
                return self._offsets[at]
            at += 1
        return None

    def read(self, offset: int, apply_delta: ApplyDelta) -> tuple[int, bytes] | None:
        """(type, content) of the object at `offset`, its delta chain resolved; None if anything is off."""
        chain: list[tuple[int, bytes]] = []
        at = offset
        number = self._number
        while True:
            cached = self._cache.get((number, at))
            if cached is not None:
                kind, data = cached
                break
            entry = self._entry(at)
            if entry is None:
                return None
            kind, base, payload = entry
            if kind in _BASE_TYPES:
                data = payload
                self._cache.put((number, at), kind, data)
                break
            if isinstance(base, bytes):
                base = self.find(base)  # (a base in another pack is left to git)
            if base is None or len(chain) >= _MAX_CHAIN:
                return None
            chain.append((at, payload))
            at = base
        for at, delta in reversed(chain):
            try:
                data = b"".join(apply_delta(data, delta))
            except Exception:  # dulwich's ApplyDeltaError: a size or an instruction that does not fit
                return None
            self._cache.put((number, at), kind, data)
        return kind, data

    def _entry(self, offset: int) -> tuple[int, int | bytes | None, bytes] | None:
        """(type, base offset or id for a delta, inflated data) of one entry, or None if it is damaged."""
        if not 12 <= offset < self._end:
            return None
        fd = self._fd
        raw = os.pread(fd, min(_FIRST_READ, self._end - offset), offset)
        try:
            byte = raw[0]
            kind, size, shift, at = (byte >> 4) & 7, byte & 15, 4, 1
            while byte & 0x80:
                byte = raw[at]
                size |= (byte & 0x7F) << shift
                shift += 7
                at += 1
            base: int | bytes | None = None
            if kind == _OFS_DELTA:
                byte = raw[at]
                distance = byte & 0x7F
                at += 1
                while byte & 0x80:
                    byte = raw[at]
                    distance = ((distance + 1) << 7) | (byte & 0x7F)
                    at += 1
                base = offset - distance
                if base < 12:
                    return None
            elif kind == _REF_DELTA:
                base = raw[at : at + 20]
                at += 20
                if len(base) != 20:
                    return None
            elif kind not in _BASE_TYPES:
                return None
        except IndexError:  # a header running past the end of the pack
            return None
        if size > _LARGE:
            return self._large_entry(kind, base, offset + at, size)
        inflater = _zlib.decompressobj()
        try:
            # never more than the entry's recorded size and one byte: a stream that inflates past it is damaged (a
            # crafted pack's 6-byte blob inflated to 3 GB of zeros)
            parts = [inflater.decompress(memoryview(raw)[at:], size + 1)]
            produced = len(parts[0])
            position = offset + len(raw)
            while not inflater.eof:
                if produced > size or inflater.unconsumed_tail:
                    return None
                # deflate never grows data by more than this (zlib's compressBound)
                want = min(max(size + (size >> 12) + (size >> 14) + 64, _FIRST_READ), self._end - position)
                more = os.pread(fd, want, position) if want > 0 else b""
                if not more:
                    return None
                position += len(more)
                parts.append(inflater.decompress(more, size + 1 - produced))
                produced += len(parts[-1])
        except _INFLATE_ERRORS:
            return None
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        return (kind, base, data) if len(data) == size else None

    def _large_entry(self, kind: int, base: int | bytes | None, start: int,
                     size: int) -> tuple[int, int | bytes | None, bytes] | None:
        """A large entry inflated into one buffer of exactly its size, so the blob is held once: the pieces of
        an incremental inflate and their join held it twice, and reading ahead by deflate's worst case held up to
        as much again. A first pass, in bounded steps with its output let go, finds where the stream ends: twice
        the inflating, for the few entries this large."""
        fd = self._fd
        bound = size + (size >> 12) + (size >> 14) + 64  # zlib's compressBound: no stream is longer
        inflater = _zlib.decompressobj()
        position = start
        produced = 0
        try:
            while not inflater.eof:
                if position - start > bound or position >= self._end:
                    return None
                more = os.pread(fd, min(_STEP, self._end - position), position)
                if not more:
                    return None
                position += len(more)
                while more and not inflater.eof:
                    produced += len(inflater.decompress(more, _STEP))
                    if produced > size:  # (past its recorded size: damaged, however long it would run)
                        return None
                    more = inflater.unconsumed_tail
            length = position - start - len(inflater.unused_data)
            data = _zlib.decompress(os.pread(fd, length, start), zlib.MAX_WBITS, size)
        except _INFLATE_ERRORS:
            return None
        return (kind, base, data) if len(data) == size else None


class PackStore:
    """The blobs of a repository's packs (see the module's note for what is left to git)."""

    def __init__(self, packs: list[_Pack], apply_delta: ApplyDelta) -> None:
        self._packs = packs
        self._apply_delta = apply_delta

    @classmethod
    def open(cls, objects: Path, object_format: str = "sha1") -> PackStore | None:
        """The store of the packs under `objects` (the repository's object folder), or None when there is
        nothing this reader can do there (no packs, no native delta code, ids that are not SHA-1)."""
        apply_delta = native_apply_delta()
        if apply_delta is None or object_format != "sha1":
            return None
        packs: list[_Pack] = []
        cache = _Cache()
        try:
            names = sorted((objects / "pack").glob("pack-*.idx"), key=_largest_first)
        except OSError:
            return None
        for idx in names[:_MAX_PACKS]:  # (two open files a pack; the objects of any others are left to git)
            try:
                packs.append(_Pack(idx, idx.with_suffix(".pack"), len(packs), cache))
            except (OSError, ValueError, struct.error):
                continue  # git reads what this reader cannot
        return cls(packs, apply_delta) if packs else None

    def blob(self, oid: str | bytes) -> bytes | None:
        """The content of the blob with this id (40 hex digits), or None: not a packed blob this reader can
        rebuild (git then answers)."""
        try:
            key = binascii.unhexlify(oid)
        except (binascii.Error, ValueError):
            return None
        if len(key) != 20:
            return None
        try:
            for pack in self._packs:
                offset = pack.find(key)
                if offset is not None:
                    found = pack.read(offset, self._apply_delta)
                    return found[1] if found is not None and found[0] == _BLOB else None
        except (OSError, MemoryError):  # a read error, or a damaged size asking for more than there is
            return None
        return None

    def close(self) -> None:
        for pack in self._packs:
            pack.close()
        self._packs = []

    def __enter__(self) -> PackStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _largest_first(idx: Path) -> int:
    try:
        return -idx.stat().st_size
    except OSError:
        return 0
