"""Byte-level preparation shared by every source: binary detection and UTF-16/32 transcoding."""

from __future__ import annotations

import codecs

_SNIFF = 8192


def prepare(data: bytes) -> bytes | None:
    """Bytes ready for the engine (UTF-8 or ASCII-compatible), or None for binary content."""
    head = data[:_SNIFF]
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return _transcode(data, "utf-32")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _transcode(data, "utf-16")
    if b"\0" not in head:
        return data
    # UTF-16 without a BOM: ASCII text with a NUL in every other byte.
    if len(head) >= 16:
        odd, even = head[1::2], head[0::2]
        if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
            return _transcode(data, "utf-16-le")
        if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
            return _transcode(data, "utf-16-be")
    return None


def _transcode(data: bytes, encoding: str) -> bytes | None:
    try:
        return data.decode(encoding, errors="replace").encode("utf-8")
    except (UnicodeError, LookupError):
        return None
