"""Encoded secrets: which needles announce an encoded keyword, and how to decode the run around a hit.

Decoding everything that looks like base64 would cost a regex pass over every byte. Instead each keyword is
also searched in its encoded forms (base64 at the three byte alignments, hex), and only a run that contains
one is decoded. Percent-encoding is announced by common escapes.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from urllib.parse import unquote_to_bytes

BASE64 = "base64"
HEX = "hex"
PERCENT = "percent"
ESCAPED = "escaped"  # JSON's escapes: `\/` for `/`, `\u0041` for `A`

MIN_RUN = 16
MAX_RUN = 1 << 20

_B64_CHARS = rb"A-Za-z0-9+/_-"
# The bytes a run of each kind is made of (the prefilter thins a needle's hits only inside one such run)
ALPHABETS = {
    BASE64: b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-",
    HEX: b"0123456789ABCDEFabcdef",
}
_B64_RIGHT = re.compile(rb"[" + _B64_CHARS + rb"]*={0,2}")
_B64_LEFT = re.compile(rb"[" + _B64_CHARS + rb"]*")
_HEX_RIGHT = re.compile(rb"[0-9A-Fa-f]*")
_HEX_LEFT = _HEX_RIGHT
_PRINTABLE = bytes([9, 10, 13, *range(32, 127)])
_PERCENT_NEEDLES = (b"%2f", b"%3a", b"%3d", b"%2b", b"%40", b"%5f", b"%2d", b"%22", b"%20")
_ESCAPED_SLASHES = b":\\/\\/"
# JSON inside a string literal or a log (`"{\"awsSecretKey\":\"…\"}"`, `-d "{\"token\": \"…\"}"`) and XML or
# shell inside one (`value=\"…\"`): every quote is escaped, so a rule that wants a quote beside a name sees none.
# Only a credential's setting announces such a line: every escaped `\":` did, and API models' documentation (AWS's
# service JSON: policy examples on lines of 100 KB) was read twice, 2.5x the CPU of a history sweep.
_SETTING_WORDS = (b"key", b"token", b"secret", b"password", b"passwd", b"pwd", b"auth", b"credentials", b"value")
_ESCAPED_QUOTES = tuple(w + s for w in _SETTING_WORDS for s in (b'\\":', b'=\\"'))
_JSON_ESCAPE = re.compile(rb'\\(["\\/])')
_UNICODE_ESCAPE = b"\\u00"  # JSON's `\u00XX`: some serialisers escape `+`, `/`, `=`, `'`, or every character
_ASCII_ESCAPE = re.compile(rb"\\u00([0-7][0-9A-Fa-f])")


def _determined_b64(keyword: bytes, shift: int, *, urlsafe: bool) -> bytes:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    encoded = encode(b"\0" * shift + keyword + b"\0\0")
    first_bit, last_bit = 8 * shift, 8 * (shift + len(keyword))
    chars = [encoded[i : i + 1] for i in range(len(encoded)) if 6 * i >= first_bit and 6 * i + 6 <= last_bit]
    return b"".join(chars)


def encoded_needles(keyword: bytes, depth: int = 1) -> list[tuple[bytes, str]]:
    """Encoded forms of a keyword, nested `depth` levels: base64 in its exact case (base64 is case-sensitive),
    hex in lower case (hex digits come in either case, the prefilter looks for hex needles in any case)."""
    out: set[tuple[bytes, str]] = set()
    if len(keyword) == 3:
        # A three-byte prefix (hf_, sk-, SG.) is four whole base64 characters where it starts the encoded
        # value, as every value under a Kubernetes Secret's `data:` does; at the other alignments, and in hex,
        # too few characters are its own to be worth a needle.
        for urlsafe in (False, True):
            inner = _determined_b64(keyword, 0, urlsafe=urlsafe)
            out.add((inner, BASE64))
            if depth >= 2 and not urlsafe:
                out.add((_determined_b64(inner, 0, urlsafe=False), BASE64))
    if len(keyword) >= 4:
        out.add((keyword.hex().encode(), HEX))
        for shift in range(3):
            for urlsafe in (False, True):
                inner = _determined_b64(keyword, shift, urlsafe=urlsafe)
                if len(inner) >= 4:
                    out.add((inner, BASE64))
                if depth >= 2 and not urlsafe and len(inner) >= 4:
                    for outer_shift in range(3):
                        outer = _determined_b64(inner, outer_shift, urlsafe=False)
                        if len(outer) >= 4:
                            out.add((outer, BASE64))
    return sorted(out)


def percent_needles() -> Iterable[tuple[bytes, str]]:
    """Needles that announce a line to unescape: percent escapes, JSON's escaped slashes in a URL
    (`https:\\/\\/hooks.slack.com\\/services\\/…`, as PHP's json_encode and many loggers write them) and JSON's
    `\\u00XX` escapes (.NET escapes `+` and `'`, obfuscated configs escape every character), and escaped quotes
    (JSON or XML written inside a string)."""
    return ((n, PERCENT) for n in (*_PERCENT_NEEDLES, _ESCAPED_SLASHES, *_ESCAPED_QUOTES, _UNICODE_ESCAPE))


def _run_start(data: bytes, at: int, pattern: re.Pattern[bytes]) -> int:
    """Where a run of `pattern`'s characters that reaches `at` begins, looking back at most MAX_RUN bytes.
    Looks back in growing steps: most runs are short, and reversing a megabyte per hit would be the cost."""
    step = 256
    while True:
        lo = max(0, at - step)
        m = pattern.match(data[lo:at][::-1])
        length = m.end() if m else 0
        if length < at - lo or lo == 0 or step >= MAX_RUN:
            return at - length
        step *= 8


def base64_run(data: bytes, at: int) -> tuple[int, int]:
    """The maximal base64 run around offset `at` (bounded)."""
    start = _run_start(data, at, _B64_LEFT)
    right = _B64_RIGHT.match(data, at, min(len(data), at + MAX_RUN))
    end = right.end() if right else at
    return start, end


_B64_LINE = re.compile(rb"[A-Za-z0-9+/]+={0,2}\r?$")


def wrapped_run(data: bytes, lo: int, hi: int, floor: int = 0) -> tuple[int, int, bytes] | None:
    """The block around a base64 run that fills its whole line, when that line is one of equal lines of 60 to 128
    characters (`base64` and MIME wrap at 76, PEM-style tools at 64), each behind the same indentation (a YAML block
    scalar's): the block's span and its base64 without the line breaks and indentation. None when the run is not
    part of such a block. The block reaches up no further than `floor` (where the previous block ended: each byte
    is decoded once, so a file of 10 MB of wrapped base64 costs one pass)."""
    start = data.rfind(b"\n", 0, lo) + 1
    indent = data[start:lo]
    if len(indent) > 64 or indent.strip(b" \t"):
        return None
    stop = data.find(b"\n", hi)
    stop = len(data) if stop < 0 else stop
    line = data[lo:stop].rstrip(b"\r")
    width = len(line)
    if not (60 <= width <= 128 and width % 4 == 0) or lo + width != hi:
        return None
    margin = len(indent)
    ups: list[bytes] = []
    top = start
    while top > floor and (len(ups) + 1) * width < MAX_RUN:  # lines above of the same width
        above = data.rfind(b"\n", 0, top - 1) + 1
        prior = data[above : top - 1].rstrip(b"\r")
        if (above < floor or len(prior) != margin + width or not prior.startswith(indent)
                or not _B64_LINE.match(prior, margin)):
            break
        ups.append(prior[margin:])
        top = above
    lines = [*reversed(ups), line]
    end = stop
    while end < len(data) and len(lines) * width < MAX_RUN:  # lines below: the same width, then a shorter last one
        below = data.find(b"\n", end + 1)
        below = len(data) if below < 0 else below
        following = data[end + 1 : below].rstrip(b"\r")
        if (len(following) <= margin or len(following) > margin + width or not following.startswith(indent)
                or not _B64_LINE.match(following, margin)):
            break
        lines.append(following[margin:])
        end = below
        if len(following) < margin + width:
            break
    return (top + margin, end, b"".join(lines)) if len(lines) > 1 else None


def hex_run(data: bytes, at: int) -> tuple[int, int]:
    start = _run_start(data, at, _HEX_LEFT)
    right = _HEX_RIGHT.match(data, at, min(len(data), at + MAX_RUN))
    return start, right.end() if right else at


def _mostly_text(raw: bytes) -> bool:
    if not raw:
        return False
    head = raw[:4096]
    printable = len(head) - len(head.translate(None, _PRINTABLE))
    return printable >= 0.85 * len(head)


def decode_base64(run: bytes) -> bytes | None:
    body = run.rstrip(b"=")
    if len(body) < MIN_RUN:
        return None
    for candidate in (body, body[: len(body) - len(body) % 4]):
        padded = candidate + b"=" * (-len(candidate) % 4)
        urlsafe = b"-" in padded or b"_" in padded
        try:
            raw = base64.urlsafe_b64decode(padded) if urlsafe else base64.b64decode(padded, validate=True)
        except (binascii.Error, ValueError):
            continue
        if _mostly_text(raw):
            return raw
    return None


def decode_hex(run: bytes) -> bytes | None:
    if len(run) < MIN_RUN:
        return None
    even = run[: len(run) - len(run) % 2]
    try:
        raw = bytes.fromhex(even.decode("ascii"))
    except ValueError:
        return None
    return raw if _mostly_text(raw) else None


_JSON_ESCAPE_TEXT = re.compile(_JSON_ESCAPE.pattern.decode())  # (the same escapes, on a str)


def unescaped(text: str) -> str:
    """A value with JSON's escaped quotes, backslashes and slashes undone: the same secret whether a rule found
    it in the raw line (`\\\\n` inside a key written in an escaped string) or in the line decode_line unescaped."""
    return _JSON_ESCAPE_TEXT.sub(r"\1", text) if "\\" in text else text


def decode_line(line: bytes) -> tuple[bytes, str] | None:
    """A line with its escapes undone, and which kind they were (ESCAPED when only JSON's were); None if the
    line has none."""
    raw = unquote_to_bytes(line) if b"%" in line else line
    kind = PERCENT if raw != line else ESCAPED
    if b"\\u00" in raw:
        raw = _ASCII_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)
    if b"\\/" in raw or b'\\"' in raw:
        raw = _JSON_ESCAPE.sub(rb"\1", raw)
    return (raw, kind) if raw != line else None
