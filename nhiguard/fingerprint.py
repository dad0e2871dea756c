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
