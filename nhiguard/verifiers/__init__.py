"""Verifiers: ask a provider whether a credential is live, and what it can reach.

A verifier is any callable `(target, transport) -> Verdict` (the `Verifier` protocol). It never opens a socket
itself: every request goes through the `Transport` it is handed, which pins the rule's hosts (or the explicit
endpoint override), refuses private addresses for secret-chosen destinations, and is audited by the caller.

Registry: the built-ins below (imported lazily, so an optional extra that is missing costs nothing until used)
plus the `nhiguard.verifiers` entry-point group for third-party plugins. Rules name a verifier with
`verify: {plugin: NAME}`; data files never name code.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Protocol, cast

from nhiguard.http import Request, Response
from nhiguard.model import Verdict
from nhiguard.verifyspec import VerifySpec

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
    DECLARATIVE: "nhiguard.verifiers.declarative:verify",
    "aws-sts": "nhiguard.verifiers.aws:verify_sts",
    "aws-key-id": "nhiguard.verifiers.aws:verify_key_id",
    "gcp-service-account": "nhiguard.verifiers.gcp:verify_service_account",
    "azure-storage-shared-key": "nhiguard.verifiers.azure:verify_shared_key",
}


def _load(reference: str) -> Verifier:
    module_name, _, attribute = reference.partition(":")
    module = importlib.import_module(module_name)
    return cast(Verifier, getattr(module, attribute))


def entry_points() -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


class Registry:
    """Built-ins first (a plugin cannot replace them), then entry points. Lookups are cached per instance."""

    def __init__(self, extra: Mapping[str, Verifier] | None = None) -> None:
        self._extra = dict(extra or {})
        self._loaded: dict[str, Verifier] = {}
        self._plugins: dict[str, metadata.EntryPoint] | None = None

    def names(self) -> list[str]:
        return sorted({*BUILTINS, *self._extra, *self._entry_points()})

    def _entry_points(self) -> dict[str, metadata.EntryPoint]:
        if self._plugins is None:
            self._plugins = entry_points()
        return self._plugins

    def get(self, name: str) -> Verifier | None:
        if name in self._loaded:
            return self._loaded[name]
        verifier: Verifier | None = None
        if name in BUILTINS:
            verifier = _load(BUILTINS[name])
        elif name in self._extra:
            verifier = self._extra[name]
        else:
            ep = self._entry_points().get(name)
            if ep is not None:
                verifier = cast(Verifier, ep.load())
        if verifier is not None:
            self._loaded[name] = verifier
        return verifier


def verifier_name(spec: VerifySpec) -> str:
    return spec.plugin or DECLARATIVE


__all__ = [
    "BUILTINS", "DECLARATIVE", "ENTRY_POINT_GROUP", "NotChecked", "Registry", "Target", "Transport", "Verifier",
    "verifier_name",
]
