"""The `context:` shorthand for credentials without a prefix: a key that only a nearby provider name identifies.

Many providers issue bare 32/40/64-hex or base62 keys. Such a key is the provider's only when the provider's name
stands right before it: in the variable (`SENDBIRD_API_TOKEN=…`, `sendbirdApiToken: …`, `"sendbird_key": "…"`),
in a header or flag on the same line, or on the line above in the two-line forms of Kubernetes manifests, ECS task
definitions, Helm values and docker-compose files:

    - name: SENDBIRD_API_TOKEN        sendbird:                "sendbird": {
      value: "4f0c…"                    apiToken: 4f0c…          "token": "4f0c…"

A rule writes only the names and the value's shape; this module derives its keywords and its pattern, so every
such rule accepts the same forms and keeps the same bounded reach (a key far from its provider's name stays
unreported). Hosts (`api.sendbird.com`) identify the provider on either side of the value on one line. A section
named for the provider reaches its key a few settings down, and an assignment that ends its line its value on the
next. Weakest of all, a host on the line above or below, or the name on the line above (a log, a comment), of a
value that its own line assigns to a credential's setting (`API_KEY = "…"` under `BASE = "https://api…"`): such a
match is marked `_near`, and the engine lets any other provider's claim on the value win over it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_REACH = 40
MAX_REACH = 80
HOST_REACH = 100  # a URL's path and query can stand between a header's key and the host
_NAME = re.compile(r"^[a-z0-9]+(?:[_.][a-z0-9]+){0,2}$")
_HOST = re.compile(r"^[a-z0-9-]+(?:\.[a-z0-9-]+)+$")
_KEYS = frozenset({"names", "secret", "hosts", "reach"})
# a value's edges: a key is never the middle of a longer identifier, path or hex run
# (or a shell default after `:-`: `${CONSUL_HTTP_TOKEN:-<token>}` sets the token when the variable is unset), and
# never a file's digest: a wheel's RECORD lists `sendbird/client.py,sha256=<43 base64url>` under the provider's name
_BEFORE = r"(?:(?<![A-Za-z0-9_-])(?<!sha256=)(?<!sha384=)(?<!sha512=)|(?<=:-))"
_AFTER = r"(?![A-Za-z0-9_-])"
_SEPARATORS = ("", "_", "-", ".")
NEAR_LINE = 200
SECTION_LINES = 4  # how far below a section named for the provider its key may stand (engine/core.py widens to it)
# where a value's own line names it a credential: a setting named for one (`API_KEY =`, `apiToken:`, `"x-api-key":`)
# or whose whole name is such a word (`token:`, not `idempotency_key:`), assigned; or an auth scheme (`Bearer …`)
_NEAR_KEY = (
    r"(?:(?:(?:(?<![A-Za-z])|(?<=[a-z])(?=[A-Z]))(?i:(?:api|app|access|auth|client|private|secret)[_-]?"
    r"(?:key|token|secret))|(?<![\w.-])(?i:key|token|secret|password|authorization))"
    r"(?:(?![A-Za-z])|(?<=[a-z])(?=[A-Z]))[\w.-]{0,20}[\"'\]]?[ \t]{0,4}(?:=>|[:=(,])[^\r\n]{0,16}?"
    r"|(?<![\w.-])(?i:bearer|basic|token)[ \t]{1,4}[\"']?)"
)


class ContextError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Expanded:
    names: tuple[str, ...]
    keywords: tuple[str, ...]
    pattern: str


def expand(raw: Any, *, validate: bool = True) -> Expanded:
    """A `context:` mapping → the rule's names, keywords and pattern. Raises ContextError on a bad block.
    `validate=False` skips compiling the value's shape: only for blocks validated before (the rules cache)."""
    if not isinstance(raw, Mapping):
        raise ContextError("'context' must be a mapping with 'names' and 'secret'")
    unknown = set(raw) - _KEYS
    if unknown:
        raise ContextError(f"'context' has unknown keys {sorted(unknown)} (allowed: {', '.join(sorted(_KEYS))})")
    names = _strings(raw.get("names"), "names")
    if not names:
        raise ContextError("'context.names' needs at least one provider name")
    for name in names:
        if not _NAME.match(name) or len(name.replace("_", "").replace(".", "")) < 4:
            raise ContextError(
                f"context name {name!r}: lowercase letters and digits, at least 4, parts joined by '_' or '.'"
                " (at most three parts; '_' matches '_', '-', '.', a space or nothing)"
            )
    hosts = _strings(raw.get("hosts"), "hosts")
    for host in hosts:
        if not _HOST.match(host):
            raise ContextError(f"context host {host!r} must be a lowercase host name like api.example.com")
    secret = raw.get("secret")
    if not isinstance(secret, str) or not secret:
        raise ContextError("'context.secret' is required: the value's shape as a bounded regex, e.g. '[a-f0-9]{32}'")
    try:
        groups = re.compile(secret).groups if validate else 0
    except (re.error, OverflowError, RecursionError) as exc:  # (a{99999999999} overflows, it does not fail)
        raise ContextError(f"'context.secret' is not a regex: {exc}") from None
    if groups:
        raise ContextError("'context.secret' must not have groups; use (?:…)")
    reach = raw.get("reach", DEFAULT_REACH)
    if not isinstance(reach, int) or isinstance(reach, bool) or not 1 <= reach <= MAX_REACH:
        raise ContextError(f"'context.reach' must be a number of characters from 1 to {MAX_REACH}")
    keywords = sorted({k for n in names for k in _spellings(n)} | set(hosts))
    return Expanded(tuple(names), tuple(keywords), _pattern(names, hosts, secret, reach))


def _strings(raw: Any, key: str) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
        raise ContextError(f"'context.{key}' must be a list of strings")
    return list(raw)


def _spellings(name: str) -> set[str]:
    """The literal spellings of a name for the keyword prefilter (`front_app`: frontapp, front_app, front-app)."""
    parts = re.split(r"[_.]", name)
    out = set()
    for seps in itertools.product(_SEPARATORS, repeat=len(parts) - 1):
        out.add(parts[0] + "".join(s + p for s, p in zip(seps, parts[1:], strict=True)))
    return out


def _name_regex(name: str) -> str:
    """A name where an identifier's word starts: after a non-letter (`MY_SENDBIRD_KEY`, `x-sendbird-key`) or
    capitalised after a lower-case letter (`mySendbirdKey`), never inside another word (`SCRAPERBOX`, `kucoin`).
    The literal comes first and the boundary is checked behind it, so the regex engine can search for the literal
    instead of trying a look-behind at every position."""
    parts = re.split(r"[_.]", name)
    head, k = re.escape(parts[0]), len(parts[0])
    rest = "".join(r"[_.\s-]?" + re.escape(p) for p in parts[1:])
    boundary = f"(?:(?<![A-Za-z0-9].{{{k}}})|(?<=-D.{{{k}}}))"  # (or a Java system property: -Dsonar.login=…)
    if parts[0][0].isalpha():
        boundary = f"(?:{boundary}|(?<=[a-z0-9][A-Z].{{{k - 1}}}))"
    return f"(?i:{head}){boundary}(?i:{rest})" if rest else f"(?i:{head}){boundary}"


def _pattern(names: list[str], hosts: list[str], secret: str, reach: int) -> str:
    name = "(?:" + "|".join(_name_regex(n) for n in sorted(names, key=len, reverse=True)) + ")"
    value = f"{_BEFORE}(?P<secret>{secret}){_AFTER}"
    key = r"""["']?[ \t]{0,4}[:=][ \t]{0,4}["']?"""
    lead = r"[ \t]{0,40}-?[ \t]{0,8}"
    forms = [
        # the name, then the value on the same line
        rf"[^\r\n]{{0,{reach}}}?",
        # `- name: X_API_KEY` / `value: …` (Kubernetes env, ECS, Compose long form)
        rf"[^\r\n]{{0,{reach}}}\r?\n{lead}[\"']?(?i:value){key}",
        # `sendbird:` / `apiToken: …` and `"sendbird": {` / `"token": "…"` (a section named for the provider), the
        # key up to SECTION_LINES settings further down (`enabled: true` between), none a section of its own
        # (and a Terraform/HCL block: `variable "sendbird_api_token" {` / `type = string` / `default = "…"`)
        rf"[\w.-]{{0,40}}[\"']?[ \t]{{0,4}}(?::[ \t]{{0,4}}\{{?|\{{)[ \t]{{0,4}}\r?\n"
        rf"(?:[ \t]{{1,40}}[^\r\n]{{0,{NEAR_LINE}}}[^\s:{{\[]\r?\n){{0,{SECTION_LINES - 1}}}?"
        rf"{lead}[\"']?[\w.-]{{1,40}}{key}",
        # `SENDBIRD_API_TOKEN = (` / `"4f0c…"`, `sendbirdKey =` / `'4f0c…';`, `SENDBIRD_TOKEN: |` / `4f0c…`: an
        # assignment that ends its line, the value indented on the next (not a setting of its own there)
        r"[\w.-]{0,40}[\"'\]]?[ \t]{0,4}(?::=|=>|[:=])[ \t]{0,4}(?:[(\[]|[|>][-+]?)?[ \t]{0,4}\r?\n"
        r"[ \t]{1,40}[\"'`]?(?![\w.-]{1,60}[\"']?[ \t]{0,4}[:=])",
    ]
    branches = [name + "(?:" + "|".join(forms) + ")" + value]
    # the provider's name on the line above a value that a credential's setting names, as a log or a comment
    # has it (`Sending request to the Sendbird API` / `Using API_KEY=…`, `# Sendbird` / `API_KEY=…`): the weak
    # evidence of a host beside the line (below), which any other provider's claim on the value beats
    line = rf"[^\r\n]{{0,{NEAR_LINE}}}"
    whole = rf"{_BEFORE}(?={secret}{_AFTER})"
    # (not a setting of its own: `ACME_REGION=eu` / `OTHER_KEY=…` is another provider's key as often as not, and
    # neither is `npm_token: "${{ secrets.NPM_TOKEN }}"` above `idempotency_key: …`)
    above = rf"(?:^|\n)[^\r\n=:]{{0,{NEAR_LINE}}}{name}[^\r\n=:]{{0,{NEAR_LINE}}}\r?\n[^\r\n]{{0,60}}?"
    branches.append(rf"{whole}(?<={above}{_NEAR_KEY})(?P<_near>){value}")
    if hosts:
        host = "(?i:" + "|".join(re.escape(h) for h in hosts) + ")"
        branches.append(host + rf"[^\r\n]{{0,{HOST_REACH}}}?" + value)
        branches.append(value + rf"[^\r\n]{{0,{HOST_REACH}}}?" + host)
        # the host on the line above or below a value that a credential's setting names (`url = "https://api…"` /
        # `api_key = "…"`): weaker evidence, marked `_near`, which any other provider's claim on the value beats.
        # Only the value is matched (the rest is looked at around it), so a neighbour's own match is never eaten;
        # a whole value must stand at a place before the costlier look behind it is tried.
        branches.append(rf"{whole}(?<={host}{line}\r?\n[^\r\n]{{0,60}}?{_NEAR_KEY})(?P<_near>){value}")
        branches.append(rf"{whole}(?<={_NEAR_KEY})(?P<_near>){value}(?={line}\r?\n{line}?{host})")
    return "|".join(f"(?:{b})" for b in branches)
