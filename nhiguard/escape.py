"""One shown form for text that came from outside (file names, authors, provider answers), in every format.

- A byte of a file name that is not UTF-8 is shown as `\\xNN` (its value), as git's own sources show them, so
  a name is the same text in text, JSON, SARIF, JUnit, CSV and HTML output and in the inventory.
- A control or other non-printable character (ESC, CR, BEL, C1 controls such as CSI, line separators) is shown as
  `\\xNN`, `\\uNNNN` or `\\UNNNNNNNN`, so a crafted name or answer cannot drive a terminal or break a row.

`fs_path` maps a shown name back to the name on disk (for re-reading a reported file).
"""

from __future__ import annotations

import os
import re

_SURROGATE_LO, _SURROGATE_HI = 0xDC80, 0xDCFF  # how Python keeps an undecodable byte of a file name
_UNSAFE_IN_JSON = re.compile("[\u007f-\u009f\u2028\u2029\ud800-\udfff]")
_BYTE_ESCAPE = re.compile(r"\\x([89a-fA-F][0-9a-fA-F])")


def path_text(path: str | bytes) -> str:
    """A file name as text: valid UTF-8 as is, every other byte as `\\xNN`."""
    raw = path if isinstance(path, bytes) else os.fsencode(path)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace")


def fs_path(shown: str) -> str:
    """The name on disk for a shown name: `\\xNN` escapes of non-ASCII bytes become those bytes again."""
    if "\\x" not in shown:
        return shown
    raw = _BYTE_ESCAPE.sub(lambda m: chr(_SURROGATE_LO - 0x80 + int(m.group(1), 16)), shown)
    return os.fsdecode(raw.encode("utf-8", "surrogateescape"))


def printable(text: str) -> str:
    """Escape control characters and other non-printables so output cannot drive a terminal."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if ch.isprintable():  # False for C* categories and for every separator except the plain space
            out.append(ch)
        elif _SURROGATE_LO <= code <= _SURROGATE_HI:
            out.append(f"\\x{code - _SURROGATE_LO + 0x80:02x}")
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        else:
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
    return "".join(out)


def json_text(dumped: str) -> str:
    """JSON (from `json.dumps(..., ensure_ascii=False)`) with DEL, C1 controls, line separators and lone
    surrogates written as `\\uNNNN` escapes: json escapes only C0 controls, and a lone surrogate cannot be
    written as UTF-8 at all. These characters only occur inside strings, where the escape means the same."""
    if dumped.isascii() and "\x7f" not in dumped:  # (two C scans: a report of 100,000 findings is 30 MB)
        return dumped
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", dumped)


def printable_lines(text: str) -> str:
    """Multi-line text for a terminal: each line through `printable`, the line breaks kept."""
    return "\n".join(printable(line) for line in text.split("\n"))
