"""GitHub's public credential revocation API: `POST https://api.github.com/credentials/revoke`.

Unauthenticated by design (an authenticated call gets 403), body `{"credentials": [...]}` with at most 1000 tokens,
202 when accepted (the owner is emailed and the event logged), 422 when the batch fails validation or is flagged as
spam, 429 when the 60-requests-an-hour limit is hit (`nhiguard.http` honours a short Retry-After; a longer one
gives up and the batch is reported as failed with the wait). Accepts classic and fine-grained PATs, OAuth, user-to-
server and refresh tokens.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from nhiguard.http import Request
from nhiguard.remediate.plugins import Outcome, RevokeTarget, Transport
from nhiguard.verify.spec import RevokeSpec

URL = "https://api.github.com/credentials/revoke"
BATCH = 1000
PREFIXES = ("ghp_", "github_pat_", "gho_", "ghu_", "ghr_")


class GitHubCredentialRevoke:
    name = "github-credential-revoke"

    def hosts(self, spec: RevokeSpec) -> tuple[str, ...]:
        return ("api.github.com",)

    def revoke(self, targets: Sequence[RevokeTarget], transport: Transport,
               env: Mapping[str, str]) -> list[Outcome]:
        outcomes: dict[int, Outcome] = {}
        accepted = []
        for index, target in enumerate(targets):
            if target.secret.startswith(PREFIXES):
                accepted.append(index)
            else:
                outcomes[index] = Outcome(False, "failed", detail="GitHub's revocation API does not accept this "
                                                                  "kind of token")
        headers = (("Accept", "application/vnd.github+json"), ("X-GitHub-Api-Version", "2022-11-28"),
                   ("Content-Type", "application/json"))
        for start in range(0, len(accepted), BATCH):
            batch = accepted[start:start + BATCH]
            body = json.dumps({"credentials": [targets[i].secret for i in batch]}).encode()
            try:
                response = transport.send(Request("POST", URL, headers, body))
            except Exception as exc:  # one failed batch never stops the others
                for i in batch:
                    outcomes[i] = Outcome(False, "failed", detail=str(exc) or type(exc).__name__)
                continue
            if response.status == 202:
                outcome = Outcome(True, "revoked", detail="accepted by GitHub's credential revocation API",
                                  http_status=202)
            elif response.status == 422:
                outcome = Outcome(False, "failed", detail="GitHub refused the batch (422: validation failed or "
                                                          "flagged as spam)", http_status=422)
            elif response.status == 429:
                wait = response.headers.get("retry-after") or response.headers.get("x-ratelimit-reset") or "?"
                outcome = Outcome(False, "failed", detail=f"rate limited by GitHub (429); retry after {wait}",
                                  http_status=429)
            else:
                outcome = Outcome(False, "failed", detail=f"unexpected answer {response.status}",
                                  http_status=response.status)
            for i in batch:
                outcomes[i] = outcome
        return [outcomes[i] for i in range(len(targets))]


REVOKER = GitHubCredentialRevoke()
