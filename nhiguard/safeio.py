"""Reading a file a repository supplies (config, rules, baseline): a regular file under a size cap, or an error.

`baseline: /dev/zero` would exhaust memory and a FIFO would block forever on open: the file is opened with
O_NONBLOCK (a FIFO with no writer opens at once), checked with fstat on the open descriptor (no race with a swap
of the path), and read up to the cap only.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import IO

from nhiguard.errors import NhiguardError

CONFIG_MAX_BYTES = 4 << 20
RULES_MAX_BYTES = 8 << 20
BASELINE_MAX_BYTES = 64 << 20
REPORT_MAX_BYTES = 1 << 30  # a saved report or remediation plan (a history report can be large)
_READ = 1 << 20


def open_regular(path: Path, *, what: str, error: type[NhiguardError]) -> IO[bytes]:
    """`path` opened for reading, which must be a regular file (a FIFO would block the open, a device would
    never end); else `error` naming the file."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise error(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    except ValueError:
        raise error(f"{str(path)!r}: cannot read {what}: a file name cannot hold a NUL byte") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise error(f"{path}: {what} must be a regular file (not a folder, device or pipe)")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_capped(path: Path, *, limit: int, what: str, error: type[NhiguardError]) -> bytes:
    """The bytes of `path`, which must be a regular file of at most `limit` bytes; else `error` naming the file."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise error(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    except ValueError:  # a NUL byte in the name
        raise error(f"{str(path)!r}: cannot read {what}: a file name cannot hold a NUL byte") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise error(f"{path}: {what} must be a regular file (not a folder, device or pipe)")
        if st.st_size > limit:
            raise error(f"{path}: {what} is too large ({st.st_size} bytes; the limit is {limit})")
        chunks: list[bytes] = []
        total = 0
        while True:
            try:
                block = os.read(fd, _READ)
            except OSError as exc:
                raise error(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
            if not block:
                return b"".join(chunks)
            total += len(block)
            if total > limit:  # a file that grows while it is read
                raise error(f"{path}: {what} is too large (over {limit} bytes)")
            chunks.append(block)
    finally:
        os.close(fd)
