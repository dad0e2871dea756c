"""Facts read from a secret while it is in memory: a JWT's `exp`. Only the date is kept, never the token."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def jwt_claims(token: str) -> dict[str, object] | None:
    pieces = token.strip().split(".")
    if len(pieces) != 3:
        return None
    try:
        claims = json.loads(_b64url(pieces[1]))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return claims if isinstance(claims, dict) else None


def jwt_expiry(token: str) -> str | None:
    """The `exp` claim as an ISO-8601 UTC timestamp, or None (no claims, no exp, not a number)."""
    claims = jwt_claims(token)
    if claims is None:
        return None
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    try:
        return datetime.fromtimestamp(exp, UTC).replace(microsecond=0).isoformat()
    except (OverflowError, OSError, ValueError):
        return None
