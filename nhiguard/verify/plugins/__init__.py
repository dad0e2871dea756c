"""Verifiers: ask a provider whether a credential is live, and what it can reach.

A verifier is any callable `(target, transport) -> Verdict` (the `Verifier` protocol). It never opens a socket
itself: every request goes through the `Transport` it is handed, which pins the rule's hosts (or the explicit
endpoint override), refuses private addresses for secret-chosen destinations, and is audited by the caller.

Registry: the built-ins below (imported lazily, so an optional extra that is missing costs nothing until used)
plus the `nhiguard.verifiers` entry-point group for third-party plugins. Rules name a verifier with
`verify: {plugin: NAME}`; data files never name code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from nhiguard.http import Request, Response
from nhiguard.model import Verdict
from nhiguard.registry import PluginRegistry
from nhiguard.verify.spec import VerifySpec

ENTRY_POINT_GROUP = "nhiguard.verifiers"
DECLARATIVE = "http"


@dataclass(frozen=True, slots=True)
class Target:
    """What a verifier checks: the secret with its paired parts and the context values read near it."""

    rule_id: str
    provider: str
    secret: str
    spec: VerifySpec
    parts: Mapping[str, str] = field(default_factory=dict)


class Transport(Protocol):
    def send(self, request: Request, *, from_secret: bool = False) -> Response:
        """Send one request to the rule's pinned hosts. `from_secret=True` when the destination was taken from the
        finding (a webhook URL, a host built from a part): private, loopback and link-local addresses are refused.
        Raises `nhiguard.http.Blocked` or `nhiguard.http.HttpError`, or `NotChecked`."""
        ...


class Verifier(Protocol):
    def __call__(self, target: Target, transport: Transport) -> Verdict: ...


class NotChecked(Exception):
    """Raised by a verifier or transport when no check can be made (missing part, missing extra, no endpoint);
    the message becomes the verdict's detail."""


# name → "module:attribute"; imported on first use
BUILTINS: dict[str, str] = {
    DECLARATIVE: "nhiguard.verify.plugins.declarative:verify",
    "aws-sts": "nhiguard.verify.plugins.aws:verify_sts",
    "aws-key-id": "nhiguard.verify.plugins.aws:verify_key_id",
    "gcp-service-account": "nhiguard.verify.plugins.gcp:verify_service_account",
    "azure-storage-shared-key": "nhiguard.verify.plugins.azure:verify_shared_key",
}


class Registry(PluginRegistry[Verifier]):
    """Built-ins first (a plugin cannot replace them), then `extra`, then entry points."""

    def __init__(self, extra: Mapping[str, Verifier] | None = None) -> None:
        super().__init__(BUILTINS, ENTRY_POINT_GROUP, extra)


def verifier_name(spec: VerifySpec) -> str:
    return spec.plugin or DECLARATIVE


__all__ = [
    "BUILTINS", "DECLARATIVE", "ENTRY_POINT_GROUP", "NotChecked", "Registry", "Target", "Transport", "Verifier",
    "verifier_name",
]
