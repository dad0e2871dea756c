"""Cloudflare self-revocation: a leaked user API token deletes itself.

`GET https://api.cloudflare.com/client/v4/user/tokens/verify` with the token answers the token's own id (only a valid
token gets an answer, and only about itself); `DELETE /client/v4/user/tokens/{id}` with the same token deletes it,
which works when the token holds the "User API Tokens: Edit" permission. A token without that permission gets 403 and
the action fails with that reason; nothing else is ever deleted, as the id comes from the token's own verification.
"""

from __future__ import annotations

import re
from typing import Any

from nhiguard.remediate.plugins.selfdelete import LookupThenDelete

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


REVOKER = LookupThenDelete(
    name="cloudflare-token-revoke", host=HOST, provider="Cloudflare", lookup_url=f"{BASE}/verify", delete_base=BASE,
    headers=lambda secret: (("Authorization", f"Bearer {secret}"),), find_id=lambda document, _secret: own_id(document),
    looking="verifying the token", what="token", missing="Cloudflare's verify answer names no token id",
    done="the token deleted itself", forbidden="the token lacks the User API Tokens: Edit permission",
)
