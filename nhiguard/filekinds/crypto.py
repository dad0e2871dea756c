"""The reversible obfuscations that need a cipher (rclone "obscure", DBeaver's credential file, Navicat). The
only `cryptography` user among the detectors: it is an optional extra, so every function answers None when the
library is missing and the detector reports the stored value with a note instead."""

from __future__ import annotations

import base64
import binascii

RCLONE_KEY = bytes.fromhex("9c935b48730a554d6bfd7c63c886a92bd390198eb8128afbf4de162b8b95f638")
DBEAVER_KEY = bytes.fromhex("babb4a9f774ab853c96c2d653dfe544a")
NAVICAT_KEY = b"libcckeylibcckey"
NAVICAT_IV = b"libcciv libcciv "


def available() -> bool:
    try:
        import cryptography.hazmat.primitives.ciphers  # noqa: F401
    except ImportError:
        return False
    return True


def _decrypt(mode_name: str, key: bytes, iv: bytes, data: bytes) -> bytes | None:
    try:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    except ImportError:
        return None
    # ECB is .mylogin.cnf's own choice: reading it, not a way of protecting anything
    mode = modes.CTR(iv) if mode_name == "ctr" else modes.ECB() if mode_name == "ecb" else modes.CBC(iv)  # noqa: S305
    try:
        decryptor = Cipher(algorithms.AES(key), mode).decryptor()
        return decryptor.update(data) + decryptor.finalize()
    except ValueError:
        return None


def _unpad(data: bytes) -> bytes | None:
    if not data or not 1 <= data[-1] <= 16 or data[-data[-1]:] != bytes([data[-1]]) * data[-1]:
        return None
    return data[: -data[-1]]


def rclone_reveal(obscured: str) -> str | None:
    """rclone's `obscure`: URL-safe base64 (no padding) of a 16-byte IV and AES-256-CTR ciphertext."""
    try:
        raw = base64.urlsafe_b64decode(obscured + "=" * (-len(obscured) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) < 17:
        return None
    plain = _decrypt("ctr", RCLONE_KEY, raw[:16], raw[16:])
    return _text(plain)


def dbeaver_credentials(blob: bytes) -> str | None:
    """credentials-config.json: a 16-byte IV, then AES-128-CBC (PKCS#5) of a JSON document."""
    if len(blob) < 32 or len(blob) % 16:
        return None
    plain = _decrypt("cbc", DBEAVER_KEY, blob[:16], blob[16:])
    plain = _unpad(plain) if plain is not None else None
    return _text(plain)


def navicat_reveal(hexed: str) -> str | None:
    """Navicat 12+ exports: hex of AES-128-CBC with a fixed key and IV."""
    try:
        raw = bytes.fromhex(hexed)
    except ValueError:
        return None
    if not raw or len(raw) % 16:
        return None
    plain = _decrypt("cbc", NAVICAT_KEY, NAVICAT_IV, raw)
    plain = _unpad(plain) if plain is not None else None
    return _text(plain)


def mylogin_plain(blob: bytes) -> str | None:
    """`.mylogin.cnf` (mysql_config_editor): 4 unused bytes, a 20-byte key folded into an AES-128 key, then
    records of a little-endian length and AES-128-ECB ciphertext, each one padded line of an INI file."""
    if len(blob) < 24 + 4 + 16:
        return None
    key = bytearray(16)
    for i, b in enumerate(blob[4:24]):
        key[i % 16] ^= b
    pos, lines = 24, []
    while pos + 4 <= len(blob):
        size = int.from_bytes(blob[pos:pos + 4], "little")
        pos += 4
        if size <= 0 or size % 16 or pos + size > len(blob):
            return None
        plain = _decrypt("ecb", bytes(key), b"", blob[pos:pos + size])
        line = _unpad(plain) if plain is not None else None
        if line is None:
            return None
        lines.append(line)
        pos += size
    return _text(b"".join(lines))


def _text(plain: bytes | None) -> str | None:
    if plain is None:
        return None
    try:
        text = plain.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.isprintable() or text.startswith(("{", "[")) else None
