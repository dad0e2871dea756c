"""The only way a secret becomes text. Every reporter, log line and ticket goes through `preview`."""

from __future__ import annotations


def preview(secret: str, *, show: bool = False) -> str:
    """A redacted preview: a short prefix that identifies the kind, never enough to use or guess the secret."""
    if show:
        return secret
    secret = secret.replace("\n", " ")
    n = len(secret)
    if n <= 8:
        return "*" * n if n else ""
    keep = 4 if n < 24 else min(8, _prefix_length(secret) + 2)
    return secret[:keep] + "*" * min(max(n - keep, 4), 16) + f" ({n} chars)"


def _prefix_length(secret: str) -> int:
    """Length of a provider prefix such as 'ghp_' or 'sk-proj-' (letters followed by _ or -)."""
    for i, ch in enumerate(secret[:12]):
        if ch in "_-.":
            return i + 1
    return 2


def scrub(text: str, secrets: list[str] | tuple[str, ...], *, show: bool = False) -> str:
    """Replace every occurrence of each secret inside free text (a source line, an error message)."""
    if show:
        return text
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, preview(secret))
    return text
