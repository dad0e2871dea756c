"""Remediators: ticket backends (GitHub Issues, GitLab Issues, Jira Cloud) and revokers (GitHub's credential
revocation API, declarative `revoke:` blocks made with the leaked secret itself, Heroku keys deleting their own
OAuth authorization, AWS key deactivation with an administrator's own credentials).

A remediator never opens a socket itself: every request goes through the `Transport` it is handed, which pins the
hosts the orchestrator allows for that action (the rule's `revoke.hosts`, the ticket system's host) or the explicit
endpoint override, and is audited by the caller. A ticket backend never sees the secret: `Ticket` holds only its
redacted preview and fingerprint.

Registry: the built-ins below (imported lazily) plus the `nhiguard.remediators` entry-point group for third-party
ticket backends and revokers. Configuration and rules name remediators; data files never name code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from nhiguard.http import Request, Response
from nhiguard.registry import PluginRegistry
from nhiguard.verify.spec import RevokeSpec

ENTRY_POINT_GROUP = "nhiguard.remediators"
DECLARATIVE = "http-revoke"
LABEL_PREFIX = "nhiguard-fp-"


class Transport(Protocol):
    def send(self, request: Request, *, from_secret: bool = False) -> Response:
        """Send one request to the action's pinned hosts (or the endpoint override). Raises
        `nhiguard.http.Blocked` or `nhiguard.http.HttpError`."""
        ...


class RemediationError(Exception):
    """An action could not be taken (missing setting or token, unexpected answer); the message is shown and
    audited, so it never holds a secret or a token."""


@dataclass(frozen=True, slots=True)
class TicketLocation:
    repo: str
    path: str
    line: int
    commit: str | None = None
    author: str | None = None
    date: str | None = None


@dataclass(frozen=True, slots=True)
class Ticket:
    """Everything a ticket says. There is deliberately no field for the secret."""

    fingerprint: str
    rule_id: str
    rule_name: str
    provider: str
    severity: str
    redacted: str
    verdict: str
    verdict_detail: str = ""
    identity: str | None = None
    age_days: int | None = None
    locations: tuple[TicketLocation, ...] = ()
    rotation_guide: str = ""
    owner: str | None = None
    owner_source: str | None = None
    assignee: str | None = None
    labels: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The idempotency key carried by the ticket: one label per fingerprint."""
        return LABEL_PREFIX + self.fingerprint.split(":", 1)[-1][:16]

    @property
    def title(self) -> str:
        first = self.locations[0] if self.locations else None
        where = f" in {first.repo + ':' if first.repo else ''}{first.path}" if first else ""
        return f"[nhiguard] {self.provider} credential {self.verdict.upper()}{where}"


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    state: str  # created | updated | revoked | failed | skipped
    ref: str | None = None  # a ticket URL or key
    detail: str = ""
    http_status: int | None = None


@dataclass(frozen=True, slots=True)
class RevokeTarget:
    rule_id: str
    provider: str
    fingerprint: str
    secret: str
    spec: RevokeSpec
    parts: Mapping[str, str] = field(default_factory=dict)
    identity: str | None = None  # what verification revealed (an AWS ARN)


class TicketBackend(Protocol):
    name: str

    def hosts(self, settings: Mapping[str, Any]) -> tuple[str, ...]:
        """Where this backend's requests may go, from its settings."""
        ...

    def file(self, ticket: Ticket, settings: Mapping[str, Any], transport: Transport,
             env: Mapping[str, str]) -> Outcome:
        """Create the ticket, or update the open one carrying the same fingerprint."""
        ...


class Revoker(Protocol):
    name: str

    def hosts(self, spec: RevokeSpec) -> tuple[str, ...]: ...

    def revoke(self, targets: Sequence[RevokeTarget], transport: Transport,
               env: Mapping[str, str]) -> list[Outcome]:
        """One outcome per target, in order. Batches where the provider allows it."""
        ...


BUILTINS: dict[str, str] = {
    "github-issues": "nhiguard.remediate.plugins.tickets:GITHUB",
    "gitlab-issues": "nhiguard.remediate.plugins.tickets:GITLAB",
    "jira": "nhiguard.remediate.plugins.tickets:JIRA",
    DECLARATIVE: "nhiguard.remediate.plugins.declarative:REVOKER",
    "github-credential-revoke": "nhiguard.remediate.plugins.github:REVOKER",
    "aws-iam-deactivate": "nhiguard.remediate.plugins.aws:REVOKER",
    "heroku-authorization-revoke": "nhiguard.remediate.plugins.heroku:REVOKER",
    "cloudflare-token-revoke": "nhiguard.remediate.plugins.cloudflare:REVOKER",
}
TICKET_BACKENDS = ("github-issues", "gitlab-issues", "jira")


class Registry(PluginRegistry[Any]):
    """Ticket backends and revokers: built-ins first (a plugin cannot replace them), then `extra`, then entry
    points; a name gives whichever kind the object is."""

    def __init__(self, extra: Mapping[str, Any] | None = None) -> None:
        super().__init__(BUILTINS, ENTRY_POINT_GROUP, extra)

    def ticket_backend(self, name: str) -> TicketBackend | None:
        found = self.get(name)
        return cast(TicketBackend, found) if found is not None and hasattr(found, "file") else None

    def revoker(self, name: str) -> Revoker | None:
        found = self.get(name)
        return cast(Revoker, found) if found is not None and hasattr(found, "revoke") else None


def revoker_name(spec: RevokeSpec) -> str:
    return spec.plugin or DECLARATIVE


__all__ = [
    "BUILTINS",
    "DECLARATIVE",
    "ENTRY_POINT_GROUP",
    "LABEL_PREFIX",
    "TICKET_BACKENDS",
    "Outcome",
    "Registry",
    "RemediationError",
    "RevokeTarget",
    "Revoker",
    "Ticket",
    "TicketBackend",
    "TicketLocation",
    "Transport",
    "revoker_name",
]
