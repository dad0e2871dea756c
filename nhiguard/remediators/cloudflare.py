"""Cloudflare self-revocation: a leaked user API token deletes itself.

`GET https://api.cloudflare.com/client/v4/user/tokens/verify` with the token answers the token's own id (only a valid
token gets an answer, and only about itself); `DELETE /client/v4/user/tokens/{id}` with the same token deletes it,
which works when the token holds the "User API Tokens: Edit" permission. A token without that permission gets 403 and
the action fails with that reason; nothing else is ever deleted, as the id comes from the token's own verification.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from nhiguard.http import Request
from nhiguard.remediators import Outcome, RevokeTarget, Transport
from nhiguard.verifyspec import RevokeSpec

HOST = "api.cloudflare.com"
BASE = f"https://{HOST}/client/v4/user/tokens"
_ID = re.compile(r"^[A-Za-z0-9]{16,64}$")  # token ids are 32 hex; anything else is never put into a URL


def own_id(document: Any) -> str | None:
    """The token id from a successful verify answer (None when the answer is not one)."""
    if not isinstance(document, dict) or document.get("success") is not True:
        return None
    result = document.get("result")
    ident = result.get("id") if isinstance(result, dict) else None
    return ident if isinstance(ident, str) and _ID.match(ident) else None


class CloudflareSelfRevoke:
    name = "cloudflare-token-revoke"

    def hosts(self, spec: RevokeSpec) -> tuple[str, ...]:
        return (HOST,)

    def revoke(self, targets: Sequence[RevokeTarget], transport: Transport,
               env: Mapping[str, str]) -> list[Outcome]:
        return [self._one(t, transport) for t in targets]

    def _one(self, target: RevokeTarget, transport: Transport) -> Outcome:
        headers = (("Authorization", f"Bearer {target.secret}"),)
        check = transport.send(Request("GET", f"{BASE}/verify", headers))
        if check.status != 200:
            hint = " (the token is already invalid)" if check.status == 401 else ""
            return Outcome(False, "failed", detail=f"Cloudflare answered {check.status} verifying the token{hint}; "
                                                   "nothing was deleted", http_status=check.status)
        try:
            ident = own_id(json.loads(check.body))
        except ValueError:
            ident = None
        if ident is None:
            return Outcome(False, "failed", detail="Cloudflare's verify answer names no token id; nothing was deleted",
                           http_status=200)
        response = transport.send(Request("DELETE", f"{BASE}/{ident}", headers))
        if response.status == 200:
            return Outcome(True, "revoked", detail="the token deleted itself", http_status=200)
        hint = " (the token lacks the User API Tokens: Edit permission)" if response.status == 403 else ""
        return Outcome(False, "failed", detail=f"Cloudflare answered {response.status} to the deletion{hint}",
                       http_status=response.status)


REVOKER = CloudflareSelfRevoke()
