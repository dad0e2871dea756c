"""Entropy and the named checks a rule may require. Pure functions of the secret."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import zlib
from collections import Counter
from collections.abc import Callable
from functools import lru_cache

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


@lru_cache(maxsize=65536)
def shannon_entropy(text: str) -> float:
    """Bits per character. Cached: a secret is measured by every rule and filter whose window holds it."""
    if not text:
        return 0.0
    n = len(text)
    if n <= _TABLED:
        # the same terms, summed in the same order, as the general case: the same float to the last bit
        return -sum(map(_terms(n).__getitem__, Counter(text).values()))
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


_TABLED = 512  # secrets up to this length read their terms from a table (a file of 100,000 tokens: 100,000 sums)


@lru_cache(maxsize=128)
def _terms(n: int) -> list[float]:
    """c/n·log2(c/n) for every count c of a character in a text of length n."""
    return [0.0] + [c / n * math.log2(c / n) for c in range(1, n + 1)]


def _encode(number: int, alphabet: str, width: int) -> str:
    base = len(alphabet)
    out = []
    while number:
        number, rem = divmod(number, base)
        out.append(alphabet[rem])
    return "".join(reversed(out)).rjust(width, alphabet[0])


def base62_crc32(body: str) -> str:
    """GitHub/npm token checksum: CRC32 of the random body, base62, left-padded to 6."""
    return _encode(zlib.crc32(body.encode()), _BASE62, 6)


def base36_crc32(text: str) -> str:
    """GitLab routable token checksum: CRC32 of everything before it, lowercase base36, padded to 7."""
    return _encode(zlib.crc32(text.encode()), _BASE36, 7)


def _prefixed_crc(secret: str, _arg: str) -> bool:
    # <prefix>_<30 random><6 checksum>; the checksum covers the random part only.
    _, sep, tail = secret.rpartition("_")
    if not sep or len(tail) < 7:
        return False
    body, checksum = tail[:-6], tail[-6:]
    return base62_crc32(body) == checksum


def _gitlab_routable(secret: str, _arg: str) -> bool:
    if len(secret) < 8:
        return False
    body, checksum = secret[:-7], secret[-7:]
    if "." not in body:
        return True  # legacy 20-char tokens carry no checksum
    return base36_crc32(body) == checksum


def _b64url_json(part: str) -> object:
    padded = part + "=" * (-len(part) % 4)
    return json.loads(base64.urlsafe_b64decode(padded))


def _atlassian_crc(secret: str, _arg: str) -> bool:
    """Atlassian API tokens end in '=' + 8 upper-case hex: the CRC32 of everything before them, '=' included."""
    if len(secret) < 10 or secret[-9] != "=":
        return False
    return f"{zlib.crc32(secret[:-8].encode()):08X}" == secret[-8:]


def _grafana_crc(secret: str, _arg: str) -> bool:
    """Grafana service-account tokens: glsa_<32 body>_<8 hex>, the CRC32 of `glsa_<body>` written as its four
    bytes in little-endian order (as Grafana's satokengen writes it; checked on tokens published in the wild)."""
    head, sep, checksum = secret.rpartition("_")
    if not sep or len(checksum) != 8:
        return False
    return zlib.crc32(head.encode()).to_bytes(4, "little").hex() == checksum.lower()


_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _bech32(secret: str, _arg: str) -> bool:
    """BIP-173 bech32 checksum (age secret keys are bech32 with the AGE-SECRET-KEY- human-readable part)."""
    text = secret.lower()
    sep = text.rfind("1")
    if sep < 1 or len(text) - sep < 7:
        return False
    hrp, data = text[:sep], text[sep + 1 :]
    if any(c not in _BECH32 for c in data):
        return False
    values = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp] + [_BECH32.index(c) for c in data]
    generator = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= generator[i] if (top >> i) & 1 else 0
    return chk == 1


def _jwt(secret: str, _arg: str) -> bool:
    pieces = secret.split(".")
    if len(pieces) != 3:
        return False
    try:
        header = _b64url_json(pieces[0])
        claims = _b64url_json(pieces[1])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return False
    return isinstance(header, dict) and "alg" in header and isinstance(claims, dict)


_PEM_MARKER = re.compile(r"-{4,5} ?(?:BEGIN|END)[A-Z0-9 ]{0,40}-{4,5}")  # (RFC 7468's five dashes, SSH2's four)
_BASE64_WORD = re.compile(r"[A-Za-z0-9+/=]+")
_XML_BREAK = re.compile(r"&#(?:x[aAdD]|1[03]);")


def _pem(secret: str, _arg: str) -> bool:
    # The body is what is left of the base64 words once the markers are gone: a key written on one line (its line
    # breaks turned to spaces, `export KEY="-----BEGIN … -----END …"`), CR-only breaks, a `# ` before each line, a
    # notebook's quoted source lines ("MIIE…\n",) and header lines (Proc-Type: 4,ENCRYPTED) leave only those.
    text = _PEM_MARKER.sub("\n", _XML_BREAK.sub("\n", secret.replace("\\r", "\n").replace("\\n", "\n")))
    words = (w.strip("\"',\\") for w in text.split())
    body = "".join(w for w in words if _BASE64_WORD.fullmatch(w) and w[0] != "=")  # (not PGP's =CRC24 line)
    if len(body) < 64:
        return False
    try:  # (whole quanta only: a header's stray word must not fail the padding)
        base64.b64decode(body.rstrip("=")[: len(body.rstrip("=")) // 4 * 4], validate=False)
    except (ValueError, binascii.Error):
        return False
    return True


def _min_digits(secret: str, arg: str) -> bool:
    return sum(c.isdigit() for c in secret) >= int(arg or 1)


def _min_letters(secret: str, arg: str) -> bool:
    return sum(c.isalpha() for c in secret) >= int(arg or 1)


def _mixed_case(secret: str, _arg: str) -> bool:
    return any(c.islower() for c in secret) and any(c.isupper() for c in secret)


def _not_all_same_class(secret: str, _arg: str) -> bool:
    """Rejects values made of one character class only, e.g. all letters (words) or all digits."""
    classes = sum(
        (
            any(c.isdigit() for c in secret),
            any(c.islower() for c in secret),
            any(c.isupper() for c in secret),
            any(not c.isalnum() for c in secret),
        )
    )
    return classes >= 2


def _base64_decodes(secret: str, _arg: str) -> bool:
    try:
        base64.b64decode(secret + "=" * (-len(secret) % 4), validate=True)
    except (ValueError, binascii.Error):
        return False
    return True


Check = Callable[[str, str], bool]

CHECKS: dict[str, Check] = {
    "github-crc32": _prefixed_crc,
    "npm-crc32": _prefixed_crc,
    "gitlab-routable-crc": _gitlab_routable,
    "atlassian-crc32": _atlassian_crc,
    "grafana-crc32": _grafana_crc,
    "bech32": _bech32,
    "jwt": _jwt,
    "pem": _pem,
    "min-digits": _min_digits,
    "min-letters": _min_letters,
    "mixed-case": _mixed_case,
    "mixed-classes": _not_all_same_class,
    "base64": _base64_decodes,
}


def parse_check(spec: str) -> tuple[str, str]:
    """'min-digits:2' → ('min-digits', '2')."""
    name, _, arg = spec.partition(":")
    return name, arg


def run_checks(checks: tuple[str, ...], secret: str) -> bool:
    for spec in checks:
        name, arg = parse_check(spec)
        if not CHECKS[name](secret, arg):
            return False
    return True
