"""Self-revocation by lookup, then delete: the leaked credential asks the provider which object it is (its own token
id, the authorization that holds it), then deletes exactly that object with the same credential.

Nothing else is ever deleted: the id comes only from the provider's answer about this credential, is checked by
the provider's `find_id`, and is quoted into the URL. Any other answer fails with the reason and sends no DELETE.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nhiguard.http import Request
from nhiguard.remediate.plugins import Outcome, RevokeTarget, Transport
from nhiguard.verify.spec import RevokeSpec


@dataclass(frozen=True)
class LookupThenDelete:
    name: str
    host: str
    provider: str  # as named in outcomes ("Cloudflare")
    lookup_url: str
    delete_base: str  # the object's URL is delete_base/{id}
    headers: Callable[[str], tuple[tuple[str, str], ...]]
    find_id: Callable[[Any, str], str | None]  # (the lookup's JSON answer, the secret) → the object's id
    looking: str  # what the lookup does, for messages ("verifying the token")
    what: str  # "token", "key"
    missing: str  # why no id was found
    done: str  # what a 200 to the DELETE means
    forbidden: str  # why a 403 to the DELETE happens

    def hosts(self, spec: RevokeSpec) -> tuple[str, ...]:
        return (self.host,)

    def revoke(self, targets: Sequence[RevokeTarget], transport: Transport,
               env: Mapping[str, str]) -> list[Outcome]:
        return [self._one(t, transport) for t in targets]

    def _one(self, target: RevokeTarget, transport: Transport) -> Outcome:
        headers = self.headers(target.secret)
        lookup = transport.send(Request("GET", self.lookup_url, headers))
        if lookup.status != 200:
            hint = f" (the {self.what} is already invalid)" if lookup.status == 401 else ""
            return Outcome(False, "failed", detail=f"{self.provider} answered {lookup.status} {self.looking}{hint}; "
                                                   "nothing was deleted", http_status=lookup.status)
        try:
            ident = self.find_id(json.loads(lookup.body), target.secret)
        except ValueError:
            ident = None
        if ident is None:
            return Outcome(False, "failed", detail=f"{self.missing}; nothing was deleted", http_status=200)
        url = f"{self.delete_base}/{urllib.parse.quote(ident, safe='')}"
        response = transport.send(Request("DELETE", url, headers))
        if response.status == 200:
            return Outcome(True, "revoked", detail=self.done, http_status=200)
        hint = f" ({self.forbidden})" if response.status == 403 else ""
        return Outcome(False, "failed", detail=f"{self.provider} answered {response.status} to the deletion{hint}",
                       http_status=response.status)
