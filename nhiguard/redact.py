"""The only way a secret becomes text. Every reporter, log line and ticket goes through `preview`."""

from __future__ import annotations

from nhiguard.fingerprint import guessable


def preview(secret: str, *, show: bool = False) -> str:
    """A redacted preview: a short prefix that identifies the kind, never enough to use or guess the secret."""
    if show:
        return secret
    secret = secret.replace("\n", " ")
    n = len(secret)
    if n <= 8:
        return "*" * n if n else ""
    if guessable(secret):
        # A password a person chose: every character shown, and its length, shortens a guess. A token's provider
        # prefix (ghp_, sk-proj-) is format, not secret, and stays when the secret is long enough to have one.
        prefix = _provider_prefix(secret) if n >= 24 else ""
        return prefix + "*" * 8 + " (hidden)"
    keep = 4 if n < 24 else min(8, _prefix_length(secret) + 2)
    return secret[:keep] + "*" * min(max(n - keep, 4), 16) + f" ({n} chars)"


def _provider_prefix(secret: str) -> str:
    """Letters up to and including the first _ or - when that comes within 8 characters (ghp_, glpat-, xoxb-)."""
    for i, ch in enumerate(secret[:9]):
        if ch in "_-":
            return secret[: i + 1] if secret[:i].isalpha() else ""
        if not ch.isalpha():
            return ""
    return ""


def _prefix_length(secret: str) -> int:
    """Length of a provider prefix such as 'ghp_' or 'sk-proj-' (letters followed by _ or -)."""
    for i, ch in enumerate(secret[:12]):
        if ch in "_-.":
            return i + 1
    return 2


def scrub(text: str, secrets: list[str] | tuple[str, ...], *, show: bool = False) -> str:
    """Replace every occurrence of each secret inside free text (a source line, an error message)."""
    if show or not text:
        return text
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret and secret in text:  # (a preview costs a guessability estimate: only for a secret present)
            text = text.replace(secret, preview(secret))
    return text


# Context a file-kind detector reads beside a credential (where it is used, by whom): shown in clear, since a
# finding without its host and user cannot be acted on. Any other part (a paired key id, a password, a URL or a
# connection string, which can embed one) is redacted like the secret.
CONTEXT_PARTS = frozenset({
    "host", "port", "user", "username", "database", "field", "setting", "note", "type", "name", "scheme",
    "registry", "protocol", "driver", "section", "ssid", "service", "table", "path", "source", "group", "client",
    "algorithm", "variable", "property", "object", "element", "store", "key_mgmt", "decoded", "profile", "region",
    "account", "kind", "format", "hash_scheme",
})


_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-+/=")


def looks_like_token(value: str) -> bool:
    """A context value that is itself a credential: a token where a user name goes (`https://ghp_…:x-oauth-basic@`
    in .git-credentials, `login <token>` in .netrc) is long, of token characters only, and not guessable."""
    return len(value) >= 20 and _TOKEN_CHARS.issuperset(value) and not guessable(value)


def in_clear(name: str, value: str, secret: str) -> bool:
    """Whether a finding's named part is context shown in clear: a context name, the secret not in it, and not a
    token itself."""
    return name in CONTEXT_PARTS and secret not in value and not looks_like_token(value)


def part(name: str, value: str, secret: str, *, show: bool = False) -> str:
    """A finding's named part as text: context in clear (the secret itself never, even inside it), else redacted."""
    if show or in_clear(name, value, secret):
        return value
    return preview(value)
