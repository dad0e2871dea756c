"""Location-independent fingerprints: the same secret found by the same rule anywhere is one finding.

A fingerprint is stored in baselines and inventories, which may be public, so it must not reveal the secret.
High-entropy tokens cannot be brute-forced from a hash; short human passwords can, so the hash is stretched
(PBKDF2) for secrets that are short or found by generic rules.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from nhiguard.model import Rule

PREFIX = "nhg1:"
_STRETCH = 50_000


@lru_cache(maxsize=65536)
def _digest(rule_id: str, secret: str, stretch: bool) -> str:
    salt = b"nhiguard/fingerprint/v1/" + rule_id.encode()
    raw = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, _STRETCH if stretch else 1)
    return PREFIX + raw.hex()[:40]


def fingerprint(rule: Rule, secret: str) -> str:
    return _digest(rule.id, secret, rule.generic or len(secret) < 24)


MIN_PREFIX_HEX = 12  # what the text report prints after the scheme; 48 bits tell findings apart


def normalize(entry: str) -> str | None:
    """A fingerprint as a person may paste it (`nhg1:533f905d4406`, full, or bare hex) → its canonical form, or
    None when it can never match one (wrong scheme, not hex, fewer than 12 hex digits)."""
    text = entry.strip().lower()
    scheme, colon, digits = text.rpartition(":")
    if not colon:
        scheme, digits = PREFIX[:-1], text
    if not scheme.startswith("nhg") or not scheme[3:].isdigit():
        return None
    if len(digits) < MIN_PREFIX_HEX or any(c not in "0123456789abcdef" for c in digits):
        return None
    return f"{scheme}:{digits}"


class Accepted:
    """Fingerprints a team accepted (`allow.fingerprints`, baseline entries): full values or any prefix of at
    least 12 hex digits, so the short form every report prints works when pasted. Remembers which entries
    matched, so an entry that silences nothing can be pointed out."""

    def __init__(self, entries: frozenset[str] | set[str] | tuple[str, ...] | list[str] = ()) -> None:
        self.malformed = sorted(e for e in entries if normalize(e) is None)
        self._given = {n: e for e in entries if (n := normalize(e)) is not None}
        self._by_head: dict[str, list[str]] = {}
        for canonical in self._given:
            head = canonical.partition(":")[2][:MIN_PREFIX_HEX]
            self._by_head.setdefault(head, []).append(canonical)
        self._used: set[str] = set()

    def __bool__(self) -> bool:
        return bool(self._given)

    def __contains__(self, fingerprint: object) -> bool:
        return isinstance(fingerprint, str) and self.which(fingerprint) is not None

    def which(self, fingerprint: str) -> str | None:
        """The accepted entry (as written) that matches this fingerprint, if any; every match counts as used."""
        if not self._by_head:
            return None
        scheme, _, digits = fingerprint.partition(":")
        hit = None
        for canonical in self._by_head.get(digits[:MIN_PREFIX_HEX], ()):
            their_scheme, _, their_digits = canonical.partition(":")
            if their_scheme == scheme and digits.startswith(their_digits):
                self._used.add(canonical)
                hit = hit or self._given[canonical]
        return hit

    def unused(self) -> list[str]:
        """Entries (as written) that matched no finding so far."""
        return sorted(e for n, e in self._given.items() if n not in self._used)
