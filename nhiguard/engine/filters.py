"""Small pure predicates that turn a candidate into a non-finding.

`looks_fake` applies to every rule (placeholders inside an otherwise well-formed token); `is_not_secret`
adds the stronger heuristics used for generic (prefix-less) rules, where false positives live.
"""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache

_FAKE_MARKERS = (
    "example",
    "xxxxxx",
    "******",
    "placeholder",
    "your_",
    "your-",
    "yourapikey",
    "changeme",
    "change_me",
    "dummy",
    "redacted",
    "sample",
    "insert_",
    "replace_me",
    "replaceme",
    "notasecret",
    "not_a_secret",
    "fake_",
    "1234567890",
    "abcdefghij",
    "0000000000",
)

_TEMPLATE = re.compile(
    r"""(
        \$\{[^}]*\}?            # ${VAR}
      | \$\([^)]*\)?            # $(cmd)
      | \{\{.*?\}\}             # {{ secrets.X }} / jinja
      | \{%.*?%\}
      | <%.*?%>
      | ^\$[A-Za-z_][A-Za-z0-9_]*$   # $VAR
      | ^%[A-Za-z_][A-Za-z0-9_]*%$   # %VAR%
      | ^<[^>]*>$               # <TOKEN>
      | ^\[[^\]]*\]$            # [TOKEN]
      | ^\{[A-Za-z_][\w.-]*\}$  # {token}
      | ^\#\{.*\}$              # ruby interpolation
      | ^@[A-Za-z_][\w.]*@?$    # @placeholder@
      | ^__[A-Z0-9_]+__$        # __TOKEN__
    )""",
    re.VERBOSE,
)
_REFERENCE = re.compile(
    r"""(
        os\.environ | os\.getenv | getenv\( | process\.env | ENV\[ | System\.getenv | env\( | Environment\.
      | secrets\. | vars\. | config\. | settings\. | self\. | this\. | props\. | params\. | args\.
      | \( | \)$ | ^[A-Za-z_][\w.]*\(.*\)?$      # a call
      | ^[A-Za-z_]+(\.[A-Za-z_]\w*)+$            # dotted attribute path
      | ^[A-Z][A-Z0-9_]{2,}$                     # CONSTANT_NAME
      | ^[a-z]+(_[a-z]+)+$                       # snake_case_identifier
      | ^[a-z]+([A-Z][a-z]+)+$                   # camelCaseIdentifier
      | ^(true|false|null|none|nil|undefined|yes|no|on|off)$
    )""",
    re.VERBOSE | re.IGNORECASE,
)
_HASH_LIKE = re.compile(
    r"""^(
        [0-9a-f]{7,40} | [0-9A-F]{32} | [0-9a-f]{64} | [0-9a-f]{96} | [0-9a-f]{128}   # git SHAs, digests
      | [0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}   # UUID
      | (sha1|sha256|sha384|sha512|md5)[-:][A-Za-z0-9+/=]+                          # SRI / digests
      | \d+(\.\d+)*                                                                 # numbers, versions
    )$""",
    re.VERBOSE,
)
_PATH_OR_URL = re.compile(
    r"""^(
        [a-z][a-z0-9+.-]*://[^\s:@/]+(/[^\s]*)?$       # URL without userinfo
      | \.{0,2}/[\w./-]+                               # unix path
      | [A-Za-z]:\\[\w\\. -]+                          # windows path
      | [\w.-]+/[\w./-]+\.(py|js|ts|json|ya?ml|pem|key|crt|txt|sh|cfg|conf|ini|env|xml)
      | [\w-]+\.(py|js|ts|json|ya?ml|pem|key|crt|txt|cfg|conf|ini|xml|p12|jks)
    )$""",
    re.VERBOSE | re.IGNORECASE,
)
_LOCKFILES = (
    "package-lock.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "poetry.lock",
    "Pipfile.lock",
    "Cargo.lock",
    "go.sum",
    "composer.lock",
    "Gemfile.lock",
    "uv.lock",
    "pdm.lock",
    "packages.lock.json",
    "npm-shrinkwrap.json",
    "bun.lock",
    "flake.lock",
    "mix.lock",
    "Podfile.lock",
    "gradle.lockfile",
)


def looks_fake(secret: str) -> bool:
    low = secret.lower()
    if any(marker in low for marker in _FAKE_MARKERS):
        return True
    return len(set(low)) <= 2 or _TEMPLATE.search(secret) is not None


def is_repetitive(secret: str) -> bool:
    """Few distinct characters, or a short unit repeated (abcabcabc)."""
    if len(set(secret)) <= max(3, len(secret) // 8):
        return True
    for size in range(1, 5):
        unit = secret[:size]
        if unit * (len(secret) // size) == secret[: size * (len(secret) // size)] and len(secret) >= 3 * size:
            return True
    return False


def is_not_secret(secret: str) -> bool:
    """The generic-rule filter list: placeholders, templates, references, hashes, ids, paths and plain URLs."""
    return (
        looks_fake(secret)
        or is_repetitive(secret)
        or _TEMPLATE.search(secret) is not None
        or _REFERENCE.search(secret) is not None
        or _HASH_LIKE.match(secret) is not None
        or _PATH_OR_URL.match(secret) is not None
    )


def is_lockfile(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name in _LOCKFILES


@lru_cache(maxsize=4096)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """gitignore-flavoured globs: `**` spans directories, a pattern without '/' matches any basename."""
    if "/" not in pattern.rstrip("/"):
        pattern = "**/" + pattern
    if pattern.endswith("/"):
        pattern += "**"
    parts = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            parts.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            parts.append(".*")
            i += 2
        else:
            translated = fnmatch.translate(pattern[i])
            parts.append(translated[4:-3] if pattern[i] not in "*?" else ("[^/]*" if pattern[i] == "*" else "[^/]"))
            i += 1
    return re.compile("^" + "".join(parts) + "(?:/.*)?$")


def path_matches(path: str, patterns: tuple[str, ...]) -> bool:
    normalized = path.replace("\\", "/").lstrip("./") if path.startswith("./") else path.replace("\\", "/")
    return any(_glob_regex(p.lstrip("/")).match(normalized) for p in patterns)
