"""Certificates and keys: notAfter and public-key comparison. The only `cryptography` user of the inventory;
without it (the `inventory` extra) certificates are linked to keys by proximity and carry no expiry."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC
from typing import Any

_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s\\n]+?-----END CERTIFICATE-----")

try:
    from cryptography import x509 as _x509
    from cryptography.hazmat.primitives import serialization as _ser

    AVAILABLE = True
except ImportError:  # pragma: no cover - exercised only without the extra
    AVAILABLE = False


@dataclass(frozen=True, slots=True)
class Certificate:
    not_after: str | None
    subject: str
    public_key: bytes | None  # SubjectPublicKeyInfo DER, None without cryptography


def _unescape(block: bytes) -> bytes:
    return block.replace(b"\\n", b"\n")


def certificates(data: bytes) -> list[Certificate]:
    """Every PEM certificate in `data`."""
    out = []
    for found in _CERT.finditer(data):
        block = _unescape(found.group(0))
        if not AVAILABLE:
            out.append(Certificate(None, "", None))
            continue
        try:
            cert = _x509.load_pem_x509_certificate(block)
        except ValueError:
            continue
        after = cert.not_valid_after_utc.astimezone(UTC).replace(microsecond=0).isoformat()
        spki = cert.public_key().public_bytes(_ser.Encoding.DER, _ser.PublicFormat.SubjectPublicKeyInfo)
        out.append(Certificate(after, cert.subject.rfc4514_string(), spki))
    return out


def private_key_public(pem: str) -> bytes | None:
    """SubjectPublicKeyInfo DER of a PEM private key (unencrypted), or None."""
    if not AVAILABLE:
        return None
    try:
        key: Any = _ser.load_pem_private_key(_unescape(pem.encode()), password=None)
    except (ValueError, TypeError):
        return None
    try:
        return bytes(key.public_key().public_bytes(_ser.Encoding.DER, _ser.PublicFormat.SubjectPublicKeyInfo))
    except (AttributeError, ValueError):
        return None
