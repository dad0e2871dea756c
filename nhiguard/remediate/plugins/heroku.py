"""Heroku self-revocation: the leaked key deletes its own OAuth authorization.

`GET https://api.heroku.com/oauth/authorizations` with the key lists the account's authorizations; the one whose
`access_token.token` equals the key exactly is deleted with `DELETE /oauth/authorizations/{id}` (200 when done).
Nothing else is ever deleted: without an exact match no DELETE is sent and the action fails with the reason.
"""

from __future__ import annotations

import hmac
from typing import Any

from nhiguard.remediate.plugins.selfdelete import LookupThenDelete

HOST = "api.heroku.com"
URL = f"https://{HOST}/oauth/authorizations"


def _headers(secret: str) -> tuple[tuple[str, str], ...]:
    return (("Accept", "application/vnd.heroku+json; version=3"), ("Authorization", f"Bearer {secret}"))


def matching_id(document: Any, secret: str) -> str | None:
    """The id of the authorization whose access token is exactly `secret` (None when there is none)."""
    if not isinstance(document, list):
        return None
    for item in document:
        if not isinstance(item, dict):
            continue
        access = item.get("access_token")
        token = access.get("token") if isinstance(access, dict) else None
        ident = item.get("id")
        if isinstance(token, str) and isinstance(ident, str) and ident \
                and hmac.compare_digest(token.encode(), secret.encode()):
            return ident
    return None


REVOKER = LookupThenDelete(
    name="heroku-authorization-revoke", host=HOST, provider="Heroku", lookup_url=URL, delete_base=URL,
    headers=_headers, find_id=matching_id, looking="listing the authorizations", what="key",
    missing="no authorization of this account has the leaked key as its access token",
    done="the key's Heroku authorization was deleted", forbidden="the key cannot delete its own authorization",
)
