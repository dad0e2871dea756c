"""Byte-level preparation shared by every source: UTF-16/32 transcoding, and a text view of binary content.

Binary content is not skipped (one NUL near the start would hide a whole file, and tokens sit in the printable
strings of builds, archives and databases): every byte outside printable ASCII, tab, CR and LF becomes a space
(control bytes only, when the content is valid UTF-8).
Offsets and line breaks are kept, so line numbers stay true, printable runs (what `strings` shows) stay whole
and no pattern can join two runs across the garbage between them.

A format may declare that its payload holds no text: a NumPy array (`.npy`, each member of an `.npz`) is a short
text header and then raw values, and when the header declares plain numbers (floats, integers, complex,
booleans, dates) only the header is text. `text_extent` says so from the first bytes, so a reader stops there
instead of inflating and viewing the values (scipy's test data alone is half a gigabyte of floats). Arrays of
strings, objects (pickles) or records are scanned whole.
"""

from __future__ import annotations

import codecs
import re

_SNIFF = 8192
_PRINTABLE = frozenset((9, 10, 13, *range(32, 127)))
_VIEW_SAMPLE = 64 << 10
_TEXT_VIEW = bytes(b if b in _PRINTABLE else 32 for b in range(256))
_UTF8_VIEW = bytes(b if b in _PRINTABLE or b >= 128 else 32 for b in range(256))  # valid UTF-8 keeps its letters


def prepare(data: bytes) -> bytes | None:
    """Bytes ready for the engine (UTF-8 or ASCII-compatible). Binary content comes back as its printable view
    (see the module note); None is kept in the signature for sources that cannot read a blob at all."""
    kind = sniff(data)
    if kind == TEXT:
        return data
    if kind == BINARY:
        extent = text_extent(data[:HEAD])
        return printable_view(data if extent is None else data[:extent])
    return _transcode(data, kind)


HEAD = 4096  # the bytes a reader takes first, to ask `text_extent` whether it may stop early
_NPY_MAGIC = b"\x93NUMPY"
_NPY_NUMBERS = re.compile(rb"""['"]descr['"]\s*:\s*['"][<>|=]?(?:[?biufc]\d*|[mM]8(?:\[\w+\])?)['"]""")


def text_extent(head: bytes) -> int | None:
    """How many leading bytes of content that starts with `head` can hold text, when its format says the rest
    holds none (a NumPy array of numbers: its header); None when any of it may."""
    if not head.startswith(_NPY_MAGIC) or len(head) < 12:
        return None
    major = head[6]
    if major == 1:
        size = 10 + int.from_bytes(head[8:10], "little")
    elif major in (2, 3):
        size = 12 + int.from_bytes(head[8:12], "little")
    else:
        return None
    if len(head) < size or _NPY_NUMBERS.search(head, 0, size) is None:
        return None  # (a header longer than the head given is scanned with the values: nothing assumed)
    return size


TEXT = "text"
BINARY = "binary"


def sniff(data: bytes) -> str:
    """TEXT, BINARY, or the UTF-16/32 codec to transcode `data` with (decided from its first 8 KiB)."""
    head = data[:_SNIFF]
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\0" not in head:
        return TEXT
    if len(head) >= 16:
        # UTF-32 without a BOM: the top two bytes of every character are NUL (all of the Basic Multilingual Plane)
        # (and it decodes to text: a table of small 32-bit integers has the same NULs)
        lanes = [head[i::4] for i in range(4)]
        if all(lanes[i].count(0) > 0.9 * len(lanes[i]) for i in (2, 3)) and _reads_as(head, "utf-32-le"):
            return "utf-32-le"
        if all(lanes[i].count(0) > 0.9 * len(lanes[i]) for i in (0, 1)) and _reads_as(head, "utf-32-be"):
            return "utf-32-be"
        # UTF-16 without a BOM: ASCII text with a NUL in every other byte, or, when the text also holds other
        # scripts (Japanese comments, Cyrillic strings), a head that decodes to printable text one way
        odd, even = head[1::2], head[0::2]
        if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
            return "utf-16-le"
        if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
            return "utf-16-be"
        if head.count(0) > len(head) // 8:
            for codec in ("utf-16-le", "utf-16-be"):
                if _reads_as(head, codec):
                    return codec
    return BINARY


def _reads_as(head: bytes, codec: str) -> bool:
    """Whether `head` decodes as `codec` to text: nearly all printable, in lines, a fifth of it ASCII (code and
    markup around the other script). Pairs of ASCII bytes read as UTF-16 are printable CJK characters, so a binary
    file's strings would pass the first test alone; they have no line breaks in that reading and no ASCII. (A cut
    last character is dropped first.)"""
    unit = 4 if codec.startswith("utf-32") else 2
    try:
        text = head[: len(head) - len(head) % unit].decode(codec)
    except UnicodeDecodeError:
        return False
    # the cheap tests first (a binary file asks this of every head with NULs in it): no NUL character, lines,
    # ASCII; the per-character count of printables last
    if not text or "\0" in text or text.count("\n") * 200 < len(text):
        return False
    if len(text.encode("ascii", "ignore")) < 0.2 * len(text):
        return False
    plain = sum(1 for c in text if c.isprintable() or c in "\t\r\n")
    return plain >= 0.97 * len(text)


def printable_view(data: bytes) -> bytes:
    """`data` with every byte that is not printable ASCII, tab, CR or LF replaced by a space (same length); in
    valid UTF-8 (text with a stray NUL) only the control bytes are replaced."""
    return data.translate(_UTF8_VIEW if _utf8_text(data) else _TEXT_VIEW)


def _utf8_text(data: bytes) -> bool:
    """Whether `data` reads as UTF-8 text with some non-ASCII letters, judged from its first 64 KiB (a
    zero-filled array is valid UTF-8 for hundreds of megabytes: decoding it all cost more than the scan)."""
    head = data[:_VIEW_SAMPLE]
    if head.isascii():
        return False  # (both views agree on ASCII)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) == len(data))
    except UnicodeDecodeError:
        return False
    return True


def _transcode(data: bytes, encoding: str) -> bytes | None:
    try:
        return data.decode(encoding, errors="replace").encode("utf-8")
    except (UnicodeError, LookupError):
        return None
