"""Declarative self-revocation: a rule's `revoke.request` rendered with the leaked secret (the token revokes
itself: GitLab `personal_access_tokens/self`, Slack `auth.revoke`, Vault `revoke-self`, a Discord webhook DELETE…),
sent through the transport to the rule's `revoke.hosts`, and judged by its `revoked` matchers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from nhiguard.http import Request
from nhiguard.remediate.plugins import Outcome, RevokeTarget, Transport
from nhiguard.verify.spec import Answer, MissingValue, RevokeSpec, render, revoked_by


class DeclarativeRevoker:
    name = "http-revoke"

    def hosts(self, spec: RevokeSpec) -> tuple[str, ...]:
        return spec.hosts

    def revoke(self, targets: Sequence[RevokeTarget], transport: Transport,
               env: Mapping[str, str]) -> list[Outcome]:
        return [self._one(t, transport) for t in targets]

    def _one(self, target: RevokeTarget, transport: Transport) -> Outcome:
        spec = target.spec
        if spec.request is None:
            return Outcome(False, "failed", detail="the rule's revoke block has no request")
        try:
            rendered = render(spec.request, {"secret": target.secret, **target.parts})
        except MissingValue as exc:
            return Outcome(False, "failed", detail=f"needs '{exc.name}', which was not found near the secret")
        except ValueError as exc:
            return Outcome(False, "failed", detail=str(exc))
        response = transport.send(
            Request(method=rendered.method, url=rendered.url, headers=rendered.headers, body=rendered.body,
                    basic_auth=rendered.basic_auth),
            from_secret=rendered.host_from_secret,
        )
        answer = Answer(response.status, response.headers, response.body)
        if revoked_by(spec, answer):
            return Outcome(True, "revoked", detail=f"the provider answered {response.status}",
                           http_status=response.status)
        hint = " (the token lacks the permission to revoke itself)" if response.status == 403 else ""
        return Outcome(False, "failed", detail=f"the provider answered {response.status}{hint}",
                       http_status=response.status)


REVOKER = DeclarativeRevoker()
