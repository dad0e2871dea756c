"""Heroku self-revocation: the leaked key deletes its own OAuth authorization.

`GET https://api.heroku.com/oauth/authorizations` with the key lists the account's authorizations; the one whose
`access_token.token` equals the key exactly is deleted with `DELETE /oauth/authorizations/{id}` (200 when done).
Nothing else is ever deleted: without an exact match no DELETE is sent and the action fails with the reason.
"""

from __future__ import annotations

import hmac
import json
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

from nhiguard.http import Request
from nhiguard.remediators import Outcome, RevokeTarget, Transport
from nhiguard.verifyspec import RevokeSpec

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


class HerokuSelfRevoke:
    name = "heroku-authorization-revoke"

    def hosts(self, spec: RevokeSpec) -> tuple[str, ...]:
        return (HOST,)

    def revoke(self, targets: Sequence[RevokeTarget], transport: Transport,
               env: Mapping[str, str]) -> list[Outcome]:
        return [self._one(t, transport) for t in targets]

    def _one(self, target: RevokeTarget, transport: Transport) -> Outcome:
        headers = _headers(target.secret)
        listing = transport.send(Request("GET", URL, headers))
        if listing.status != 200:
            hint = " (the key is already invalid)" if listing.status == 401 else ""
            return Outcome(False, "failed", detail=f"Heroku answered {listing.status} listing the authorizations"
                                                   f"{hint}; nothing was deleted", http_status=listing.status)
        try:
            document = json.loads(listing.body)
        except ValueError:
            return Outcome(False, "failed", detail="Heroku's list of authorizations is not JSON; nothing was deleted",
                           http_status=200)
        ident = matching_id(document, target.secret)
        if ident is None:
            return Outcome(False, "failed", detail="no authorization of this account has the leaked key as its access "
                                                   "token; nothing was deleted", http_status=200)
        url = f"{URL}/{urllib.parse.quote(ident, safe='')}"
        response = transport.send(Request("DELETE", url, headers))
        if response.status == 200:
            return Outcome(True, "revoked", detail="the key's Heroku authorization was deleted", http_status=200)
        hint = " (the key cannot delete its own authorization)" if response.status == 403 else ""
        return Outcome(False, "failed", detail=f"Heroku answered {response.status} to the deletion{hint}",
                       http_status=response.status)


REVOKER = HerokuSelfRevoke()
