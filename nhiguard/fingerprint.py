"""Location-independent fingerprints: the same secret found by the same rule anywhere is one finding.

A fingerprint is stored in baselines and inventories, which may be public, so it must not reveal the secret.
A random token cannot be brute-forced from a hash; a password a person chose can, so only a secret that looks
guessable is stretched (PBKDF2, 50,000 rounds: 7-11 ms). Whether it looks guessable is decided from the secret
alone (`guess_bits`), so the same secret always gets the same fingerprint.

Forms:
- `nhg1:` + 40 hex digits: PBKDF2-SHA256(secret, salt = v1 + rule id), 50,000 rounds when stretched, else 1.
  Every fingerprint nhiguard made before `nhg2` existed, and still every one whose stretching did not change.
- `nhg2:` + 40 hex digits: the same hash with a v2 salt and 1 round, for secrets the first scheme stretched only
  because their rule is generic or they are under 24 characters, but that are strong on their own (a random
  API key caught by a generic rule) or not secret at all (a rule marked `identifier`: an AWS access key id).
  Their `nhg1` form (`legacy`) is computed only to honour a baseline or an
  `allow.fingerprints` list that still holds `nhg1` entries.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable
from functools import lru_cache

from nhiguard.model import Rule

PREFIX = "nhg1:"
PREFIX_V2 = "nhg2:"
_STRETCH = 50_000
STRONG_BITS = 100.0  # below this estimate a secret is treated as guessable (stretched, never previewed)
_LEGACY_LENGTH = 24  # the first scheme stretched everything shorter, and every generic rule's secret

# A secret as a person builds one: capitalised words, letter runs, digit runs, single symbols.
_SEGMENT = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+|[^A-Za-z0-9]")
_LETTER_BITS = math.log2(26)
_DIGIT_BITS = math.log2(10)
_WORD_BITS = 14.0  # a run of letters costs at most a word from a large dictionary (2^14 words)
_NUMBER_BITS = 10.0  # a run of digits at most a year, a PIN or a counter
_SYMBOL_BITS = 5.0
_REPEAT_BITS = 1.0  # a segment seen before in the same secret adds almost nothing


def guess_bits(secret: str, enough: float = math.inf) -> float:
    """A conservative estimate of the work (bits) to guess `secret`: each word-like run counts as one dictionary
    word, each digit run as one number, repeats as nothing. Random tokens score about their real entropy;
    words, years, keyboard patterns and repetitions score far below it. Stops counting once `enough` is reached."""
    bits = 0.0
    seen: set[str] = set()
    for segment in _SEGMENT.findall(secret):
        key = segment.lower()
        if len(key) > 1 and key in seen:  # (single characters recur in random tokens too)
            bits += _REPEAT_BITS
            continue
        seen.add(key)
        first = segment[0]
        if first.isalpha():
            bits += min(len(segment) * _LETTER_BITS, _WORD_BITS)
        elif first.isdigit():
            bits += min(len(segment) * _DIGIT_BITS, _NUMBER_BITS)
        else:
            bits += _SYMBOL_BITS
        if bits >= enough:
            break
    return bits


@lru_cache(maxsize=65536)
def guessable(secret: str) -> bool:
    return guess_bits(secret, STRONG_BITS) < STRONG_BITS


@lru_cache(maxsize=65536)
def _digest(rule_id: str, secret: str, stretch: bool) -> str:
    salt = b"nhiguard/fingerprint/v1/" + rule_id.encode()
    raw = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, _STRETCH if stretch else 1)
    return PREFIX + raw.hex()[:40]


@lru_cache(maxsize=65536)
def _digest_v2(rule_id: str, secret: str) -> str:
    salt = b"nhiguard/fingerprint/v2/" + rule_id.encode()
    return PREFIX_V2 + hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, 1).hex()[:40]


def _legacy_stretched(rule: Rule, secret: str) -> bool:
    return rule.generic or len(secret) < _LEGACY_LENGTH


def stretches(rule: Rule, secret: str) -> bool:
    """Whether this secret's fingerprint is the slow, stretched kind (milliseconds, not microseconds). An
    identifier is no secret: nothing to protect by stretching."""
    return _legacy_stretched(rule, secret) and not rule.identifier and guessable(secret)


def fingerprint(rule: Rule, secret: str) -> str:
    if not _legacy_stretched(rule, secret):
        return _digest(rule.id, secret, False)  # a provider token of 24+ characters: never stretched
    if stretches(rule, secret):
        return _digest(rule.id, secret, True)
    return _digest_v2(rule.id, secret)


def legacy(rule: Rule, secret: str) -> str | None:
    """The `nhg1` fingerprint older nhiguard gave this secret, when it differs from today's (a stretched hash:
    milliseconds; call it only when a list of old fingerprints may hold it)."""
    if _legacy_stretched(rule, secret) and not stretches(rule, secret):
        return _digest(rule.id, secret, True)
    return None


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


def accepted_entry(rule: Rule, secret: str, current: str, accepted: Accepted, *, legacy_possible: bool) -> str | None:
    """The entry of `accepted` that holds this secret's fingerprint: today's (`current`), or its legacy `nhg1`
    form when `legacy_possible` (the list holds `nhg1` entries that could be it: only then is it computed)."""
    hit = accepted.which(current)
    if hit is not None or not legacy_possible or not current.startswith(PREFIX_V2):
        return hit
    old = legacy(rule, secret)
    return accepted.which(old) if old is not None else None


def holds_legacy(entries: Iterable[str]) -> bool:
    """Whether any of these accepted entries is in the `nhg1` form (bare hex counts as `nhg1`)."""
    return any((n := normalize(e)) is not None and n.startswith(PREFIX) for e in entries)


def matches(rule: Rule, secret: str, fp: str) -> bool:
    """Whether `fp` (from a saved report, plan or inventory) is this secret's fingerprint, in either form."""
    current = fingerprint(rule, secret)
    return fp == current or (fp.startswith(PREFIX) and current.startswith(PREFIX_V2) and legacy(rule, secret) == fp)
