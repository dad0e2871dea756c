"""A rule's `verify:` block → frozen, validated VerifySpec; and the pure half of declarative verification.

Everything here is pure (no I/O): parsing and validating the block at rule-load time (errors name the file and the
rule id, like every other rule error), rendering a request from a secret and its parts, and turning a provider's
answer (status, headers, body) into a Verdict. The network half lives in `nhiguard.http` and `nhiguard.verify.plugins`.

The format is documented in docs/rules.md ("Verification").
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from nhiguard.model import Status, Verdict

Expect = Literal["live", "invalid", "unknown"]
EXPECTS: tuple[Expect, ...] = ("live", "invalid", "unknown")
METHODS = ("GET", "POST", "HEAD")
RESPONSES = ("json", "text")

_KEYS = frozenset(
    {
        "hosts", "request", "live", "invalid", "reveal", "response", "intrusive", "plugin", "supported",
        "reason", "context", "cases", "note",
    }
)
_REQUEST_KEYS = frozenset({"method", "url", "headers", "basic_auth", "body", "form", "json", "multipart"})
_MATCHER_KEYS = frozenset({"status", "json", "json_exists", "body_contains", "header"})
_REVEAL_KEYS = frozenset({"identity", "scopes", "expiry"})
_SOURCE_KEYS = frozenset({"json", "header", "split"})
_CONTEXT_KEYS = frozenset({"pattern", "within_lines", "default"})
_CASE_KEYS = frozenset({"name", "status", "headers", "body", "expect", "identity", "scopes", "expiry"})
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"^(?:\*\.)?(?:{_LABEL}\.)*{_LABEL}(?::\d{{1,5}})?$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
_PATH = re.compile(r"^(?:[A-Za-z0-9_-]+|\*)(?:\.(?:[A-Za-z0-9_-]+|\*))*$")
_GROUP = re.compile(r"\(\?P<([A-Za-z][A-Za-z0-9_]*)>")

JsonScalar = str | int | float | bool | None


class SpecError(ValueError):
    """A `verify:` or `revoke:` block is malformed; ruleset turns it into a RuleError naming the file and rule
    id."""

    def __init__(self, where: str, message: str, block: str = "verify") -> None:
        super().__init__(f"{block}.{where}: {message}" if where else f"{block}: {message}")
        self.where, self.message = where, message

    def of(self, block: str) -> SpecError:
        """The same error, said of another block (the request format is shared)."""
        return SpecError(self.where, self.message, block)


# -- the spec ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Matcher:
    """All conditions must hold. Statuses 429 and 5xx never match: they always mean `unknown`."""

    status: frozenset[int] = frozenset()
    json: tuple[tuple[str, JsonScalar], ...] = ()
    json_exists: tuple[str, ...] = ()
    body_contains: tuple[str, ...] = ()
    header: tuple[str, ...] = ()

    @property
    def uses_json(self) -> bool:
        return bool(self.json or self.json_exists)


@dataclass(frozen=True, slots=True)
class RequestSpec:
    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    basic_auth: tuple[str, str] | None = None
    body: str | None = None
    form: tuple[tuple[str, str], ...] | None = None
    json_body: str | None = None  # canonical JSON text; placeholders are rendered inside its strings
    multipart: tuple[tuple[str, str], ...] | None = None


@dataclass(frozen=True, slots=True)
class Source:
    """Where to read a revealed value: a dotted JSON path (`*` walks a list) or a response header."""

    json: str | None = None
    header: str | None = None
    split: str | None = None


@dataclass(frozen=True, slots=True)
class Reveal:
    identity: tuple[Source, ...] = ()
    scopes: tuple[Source, ...] = ()
    expiry: tuple[Source, ...] = ()


@dataclass(frozen=True, slots=True)
class ContextValue:
    """A value read near the secret (same file, within `within_lines`) when verifying: a shop name, a username."""

    name: str
    pattern: str
    within_lines: int = 10
    default: str | None = None


@dataclass(frozen=True, slots=True)
class Case:
    """A recorded response and the verdict it must produce."""

    status: int
    expect: Expect
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""
    name: str = ""
    identity: str | None = None
    scopes: tuple[str, ...] | None = None
    expiry: str | None = None


@dataclass(frozen=True, slots=True)
class VerifySpec:
    hosts: tuple[str, ...] = ()
    request: RequestSpec | None = None
    plugin: str | None = None
    live: tuple[Matcher, ...] = ()
    invalid: tuple[Matcher, ...] = ()
    reveal: Reveal = Reveal()
    response: str = "json"
    intrusive: bool = False
    supported: bool = True
    reason: str = ""
    context: tuple[ContextValue, ...] = ()
    cases: tuple[Case, ...] = ()
    note: str = ""

    @property
    def checks_live(self) -> bool:
        """True when the block makes a live call (a declarative request or a plugin)."""
        return self.supported and (self.request is not None or self.plugin is not None)

    @property
    def needs_endpoint(self) -> bool:
        """A path-only URL (`/v1/...`): the host is the user's own (a Vault cluster) and comes from an override."""
        return self.request is not None and self.request.url.startswith("/")


# -- parsing ----------------------------------------------------------------------------------------------------
def _fail(where: str, message: str) -> SpecError:
    return SpecError(where, message)


def _mapping(raw: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise _fail(where, "must be a mapping")
    return raw


def _unknown(raw: Mapping[str, Any], known: frozenset[str], where: str) -> None:
    extra = sorted(set(raw) - known)
    if extra:
        raise _fail(where, f"unknown keys {extra} (known: {sorted(known)})")


def _strings(raw: Any, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
        raise _fail(where, "must be a string or a list of non-empty strings")
    return tuple(raw)


def _pairs(raw: Any, where: str) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    data = _mapping(raw, where)
    out = []
    for key, value in data.items():
        if not isinstance(key, str) or not key:
            raise _fail(where, "keys must be non-empty strings")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _fail(where, f"value of {key!r} must be a string")
        out.append((key, str(value)))
    return tuple(out)


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def is_whole_placeholder(text: str) -> bool:
    """`{{secret}}` alone: a URL-shaped secret (a webhook) that is the whole URL."""
    return _PLACEHOLDER.fullmatch(text.strip()) is not None


def host_allowed(host: str, port: int | None, patterns: Sequence[str]) -> bool:
    """`host` (lower-case, no brackets) and the URL's explicit port against `hosts` patterns:
    `api.github.com`, `*.myshopify.com` (one or more labels), `127.0.0.1:8443` (port must match)."""
    host = host.lower().rstrip(".")
    for pattern in patterns:
        name, _, pport = pattern.lower().partition(":")
        if pport and int(pport) != (port or 443):
            continue
        if not pport and port not in (None, 443):
            continue
        if name.startswith("*."):
            suffix = name[1:]
            if host.endswith(suffix) and len(host) > len(suffix):
                return True
        elif host == name:
            return True
    return False


def _status_set(raw: Any, where: str) -> frozenset[int]:
    values = raw if isinstance(raw, list) else [raw]
    out = set()
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
            raise _fail(where, f"status codes are integers 100-599, got {value!r}")
        if value == 429 or value >= 500:
            raise _fail(where, f"status {value} always means 'unknown' (rate limit or server error); remove it")
        out.add(value)
    return frozenset(out)


def _json_path(raw: Any, where: str) -> str:
    if not isinstance(raw, str) or not _PATH.match(raw):
        raise _fail(where, f"a JSON path is dot-separated keys, list indexes or '*', got {raw!r}")
    return raw


def _matcher(raw: Any, where: str) -> Matcher:
    data = _mapping(raw, where)
    _unknown(data, _MATCHER_KEYS, where)
    if not data:
        raise _fail(where, "a matcher needs at least one condition")
    status = _status_set(data["status"], f"{where}.status") if "status" in data else frozenset()
    json_eq = []
    for path, value in _mapping(data.get("json") or {}, f"{where}.json").items():
        if value is not None and not isinstance(value, str | int | float | bool):
            raise _fail(f"{where}.json", f"{path!r} must equal a string, number, boolean or null")
        json_eq.append((_json_path(path, f"{where}.json"), value))
    exists = tuple(_json_path(p, f"{where}.json_exists") for p in _strings(data.get("json_exists"), where))
    headers = _strings(data.get("header"), f"{where}.header")
    for name in headers:
        if not _HEADER_NAME.match(name):
            raise _fail(f"{where}.header", f"not a header name: {name!r}")
    return Matcher(
        status=status,
        json=tuple(json_eq),
        json_exists=exists,
        body_contains=_strings(data.get("body_contains"), f"{where}.body_contains"),
        header=tuple(h.lower() for h in headers),
    )


def _matchers(raw: Any, where: str) -> tuple[Matcher, ...]:
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise _fail(where, "needs at least one matcher")
    return tuple(_matcher(item, f"{where}[{i}]" if isinstance(raw, list) else where) for i, item in enumerate(items))


def _sources(raw: Any, where: str) -> tuple[Source, ...]:
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for item in items:
        data = _mapping(item, where)
        _unknown(data, _SOURCE_KEYS, where)
        has_json, has_header = "json" in data, "header" in data
        if has_json == has_header:
            raise _fail(where, "each source names exactly one of 'json' (a path) or 'header'")
        split = data.get("split")
        if split is not None and (not isinstance(split, str) or not split):
            raise _fail(where, "'split' is a non-empty separator string")
        header = data.get("header")
        if has_header and (not isinstance(header, str) or not _HEADER_NAME.match(header)):
            raise _fail(where, f"not a header name: {header!r}")
        out.append(
            Source(
                json=_json_path(data["json"], where) if has_json else None,
                header=header.lower() if isinstance(header, str) else None,
                split=split,
            )
        )
    return tuple(out)


def _reveal(raw: Any) -> Reveal:
    if raw is None:
        return Reveal()
    data = _mapping(raw, "reveal")
    _unknown(data, _REVEAL_KEYS, "reveal")
    return Reveal(
        identity=_sources(data.get("identity"), "reveal.identity"),
        scopes=_sources(data.get("scopes"), "reveal.scopes"),
        expiry=_sources(data.get("expiry"), "reveal.expiry"),
    )


def _check_url(url: str, hosts: tuple[str, ...]) -> None:
    if url.startswith("/"):
        return  # the user's own host (Vault): only an explicit endpoint override gives it
    stripped = url.strip()
    if _PLACEHOLDER.fullmatch(stripped):
        if not hosts:
            raise _fail("request.url", "a URL taken from the secret needs 'hosts' (where it may be sent)")
        return
    if not url.startswith("https://"):
        raise _fail("request.url", "must start with https:// (or be a path /..., or a whole {{placeholder}})")
    netloc = urllib.parse.urlsplit(url).netloc
    if "@" in netloc:
        raise _fail("request.url", "credentials in the URL are not allowed; use basic_auth")
    if placeholders(netloc):
        if not hosts:
            raise _fail("request.url", "a host built from placeholders needs 'hosts' patterns that bound it")
        return
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname or not host_allowed(parts.hostname, parts.port, hosts):
        raise _fail("request.url", f"host {parts.hostname!r} is not in 'hosts' {list(hosts)}")


def _request(raw: Any, hosts: tuple[str, ...], methods: tuple[str, ...], why: str = "") -> RequestSpec:
    data = _mapping(raw, "request")
    _unknown(data, _REQUEST_KEYS, "request")
    method = str(data.get("method", "GET")).upper()
    if method not in methods:
        raise _fail("request.method", f"must be one of {', '.join(methods)}{why}")
    url = data.get("url")
    if not isinstance(url, str) or not url:
        raise _fail("request.url", "is required")
    _check_url(url, hosts)
    headers = _pairs(data.get("headers"), "request.headers")
    for name, _ in headers:
        if not _HEADER_NAME.match(name):
            raise _fail("request.headers", f"not a header name: {name!r}")
    basic = None
    if data.get("basic_auth") is not None:
        auth = _mapping(data["basic_auth"], "request.basic_auth")
        _unknown(auth, frozenset({"username", "password"}), "request.basic_auth")
        user, password = auth.get("username", ""), auth.get("password", "")
        if not isinstance(user, str) or not isinstance(password, str):
            raise _fail("request.basic_auth", "username and password are strings")
        basic = (user, password)
    bodies = [k for k in ("body", "form", "json", "multipart") if data.get(k) is not None]
    if len(bodies) > 1:
        raise _fail("request", f"give at most one of body, form, json, multipart (got {', '.join(bodies)})")
    with_body = [m for m in methods if m in ("POST", "PUT", "PATCH", "DELETE")]
    if bodies and method not in with_body:
        raise _fail("request", f"a {bodies[0]!r} body needs method {' or '.join(with_body)}")
    body = data.get("body")
    if body is not None and not isinstance(body, str):
        raise _fail("request.body", "a raw body is a string (use 'json' or 'form' for structured bodies)")
    json_body = None
    if data.get("json") is not None:
        try:
            json_body = json.dumps(data["json"], sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise _fail("request.json", f"not JSON-serialisable: {exc}") from None
    return RequestSpec(
        method=method,
        url=url,
        headers=headers,
        basic_auth=basic,
        body=body,
        form=_pairs(data["form"], "request.form") if data.get("form") is not None else None,
        json_body=json_body,
        multipart=_pairs(data["multipart"], "request.multipart") if data.get("multipart") is not None else None,
    )


def _context(raw: Any, compile_check: Callable[[str], frozenset[str]] | None) -> tuple[ContextValue, ...]:
    if raw is None:
        return ()
    data = _mapping(raw, "context")
    out = []
    for name, item in data.items():
        where = f"context.{name}"
        if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,40}", name) or name == "secret":
            raise _fail("context", f"names are lower_snake_case (and not 'secret'), got {name!r}")
        entry = _mapping(item, where)
        _unknown(entry, _CONTEXT_KEYS, where)
        pattern = entry.get("pattern")
        if not isinstance(pattern, str) or not pattern:
            raise _fail(where, "'pattern' is required: a regex with a named group 'value'")
        if compile_check is not None:
            try:
                groups = compile_check(pattern)
            except Exception as exc:  # the regex module's error type stays in the engine
                raise _fail(where, f"pattern does not compile: {exc}") from None
            if "value" not in groups:
                raise _fail(where, "pattern needs a named group 'value'")
        elif "(?P<value>" not in pattern:
            raise _fail(where, "pattern needs a named group 'value'")
        within = entry.get("within_lines", 10)
        if isinstance(within, bool) or not isinstance(within, int) or not 0 <= within <= 200:
            raise _fail(where, "'within_lines' is an integer 0-200")
        default = entry.get("default")
        if default is not None and not isinstance(default, str):
            raise _fail(where, "'default' is a string")
        out.append(ContextValue(name=name, pattern=pattern, within_lines=within, default=default))
    return tuple(out)


def _case_body(raw: Any, where: str) -> str:
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, Mapping | list):
        return json.dumps(raw, sort_keys=True)
    raise _fail(where, "a body is a string (sent as is) or a mapping/list (sent as JSON)")


def _cases(raw: Any) -> tuple[Case, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _fail("cases", "must be a list of recorded responses")
    out = []
    for i, item in enumerate(raw):
        where = f"cases[{i}]"
        data = _mapping(item, where)
        _unknown(data, _CASE_KEYS, where)
        status = data.get("status")
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise _fail(where, "'status' is an HTTP status code")
        expect = data.get("expect")
        if expect not in EXPECTS:
            raise _fail(where, f"'expect' is one of {', '.join(EXPECTS)}")
        identity = data.get("identity")
        if identity is not None and not isinstance(identity, str):
            raise _fail(where, "'identity' is a string")
        expiry = data.get("expiry")
        if expiry is not None and not isinstance(expiry, str):
            raise _fail(where, "'expiry' is a string")
        scopes = data.get("scopes")
        out.append(
            Case(
                status=status,
                expect=_as_expect(expect),
                headers=_pairs(data.get("headers"), f"{where}.headers"),
                body=_case_body(data.get("body"), f"{where}.body"),
                name=str(data.get("name", "")),
                identity=identity,
                scopes=None if scopes is None else tuple(sorted(_strings(scopes, f"{where}.scopes"))),
                expiry=expiry,
            )
        )
    return tuple(out)


def _as_expect(value: str) -> Expect:
    for e in EXPECTS:
        if e == value:
            return e
    raise AssertionError(value)


def pattern_parts(pattern: str) -> set[str]:
    """Named groups of a rule pattern other than `secret` and private `_x` groups (kept as parts)."""
    return {g for g in _GROUP.findall(pattern) if g != "secret" and not g.startswith("_")}


@dataclass(frozen=True, slots=True)
class _Block:
    """What `verify:` and `revoke:` share: supported or why not, hosts, and a request or a plugin."""

    supported: bool
    reason: str
    note: str
    hosts: tuple[str, ...] = ()
    plugin: str | None = None
    request: RequestSpec | None = None


def _block(data: Mapping[str, Any], keys: frozenset[str], methods: tuple[str, ...], *, no_api: str,
           why: str = "") -> _Block:
    _unknown(data, keys, "")
    supported = data.get("supported", True)
    if not isinstance(supported, bool):
        raise _fail("supported", "must be true or false")
    reason = data.get("reason", "")
    if not isinstance(reason, str):
        raise _fail("reason", "must be a string")
    note = data.get("note", "")
    if not isinstance(note, str):
        raise _fail("note", "must be a string")
    if not supported:
        extra = sorted(set(data) - {"supported", "reason", "note"})
        if extra:
            raise _fail("", f"'supported: false' takes only 'reason' (got {extra})")
        if not reason:
            raise _fail("reason", no_api)
        return _Block(False, reason, note)
    hosts = _strings(data.get("hosts"), "hosts")
    for host in hosts:
        if not _HOST.match(host.lower()):
            raise _fail("hosts", f"not a host name or *.suffix pattern: {host!r}")
    hosts = tuple(h.lower() for h in hosts)
    plugin = data.get("plugin")
    if plugin is not None and (not isinstance(plugin, str) or not _NAME.match(plugin)):
        raise _fail("plugin", "is a kebab-case plugin name")
    has_request = data.get("request") is not None
    if has_request == (plugin is not None):
        raise _fail("", "give exactly one of 'request' (declarative) or 'plugin' (or 'supported: false')")
    request = _request(data["request"], hosts, methods, why) if has_request else None
    return _Block(True, reason, note, hosts, plugin, request)


def _known_placeholders(request: RequestSpec, known: set[str]) -> None:
    used: set[str] = set()
    for text in request_texts(request):
        used |= placeholders(text)
    unknown = sorted(used - known)
    if unknown:
        raise _fail("request", f"unknown placeholders {unknown} (known: {sorted(known)})")


def parse(
    raw: Any,
    *,
    parts: Sequence[str] = (),
    compile_check: Callable[[str], frozenset[str]] | None = None,
) -> VerifySpec:
    """Validate a raw `verify:` mapping. `parts` are the names this rule's findings carry (named groups and
    depends_on parts); every placeholder must be `secret`, one of them, or a `context` value."""
    data = _mapping(raw, "")
    block = _block(data, _KEYS, METHODS, no_api="say why no safe check exists",
                   why=" (verification never changes state)")
    if not block.supported:
        return VerifySpec(supported=False, reason=block.reason, note=block.note)
    request = block.request
    live = _matchers(data.get("live"), "live")
    invalid = _matchers(data.get("invalid"), "invalid")
    if request is not None and not live:
        raise _fail("live", "a declarative check needs at least one 'live' matcher")
    response = data.get("response", "json")
    if response not in RESPONSES:
        raise _fail("response", f"is one of {', '.join(RESPONSES)}")
    if response == "text" and any(m.uses_json for m in (*live, *invalid)):
        raise _fail("response", "JSON matchers need 'response: json'")
    intrusive = data.get("intrusive", False)
    if not isinstance(intrusive, bool):
        raise _fail("intrusive", "must be true or false")
    context = _context(data.get("context"), compile_check)
    if request is not None:
        _known_placeholders(request, {"secret", *parts, *(c.name for c in context)})
    return VerifySpec(
        hosts=block.hosts,
        request=request,
        plugin=block.plugin,
        live=live,
        invalid=invalid,
        reveal=_reveal(data.get("reveal")),
        response=str(response),
        intrusive=intrusive,
        context=context,
        cases=_cases(data.get("cases")),
        note=block.note,
    )


def request_texts(request: RequestSpec) -> list[str]:
    """Every string of a request that may hold placeholders."""
    texts = [request.url, *(v for _, v in request.headers)]
    if request.basic_auth:
        texts.extend(request.basic_auth)
    if request.body is not None:
        texts.append(request.body)
    if request.json_body is not None:
        texts.append(request.json_body)
    for pairs in (request.form, request.multipart):
        if pairs:
            texts.extend(v for _, v in pairs)
    return texts


# -- revocation blocks -------------------------------------------------------------------------------------------
REVOKE_METHODS = ("GET", "POST", "DELETE", "PUT", "PATCH")
_REVOKE_KEYS = frozenset({"hosts", "request", "plugin", "revoked", "supported", "reason", "note"})


@dataclass(frozen=True, slots=True)
class RevokeSpec:
    """A rule's `revoke:` block: a declarative request made with the leaked secret itself (self-revocation), a
    plugin (`github-credential-revoke`, `aws-iam-deactivate`), or `supported: false` with the reason."""

    hosts: tuple[str, ...] = ()
    request: RequestSpec | None = None
    plugin: str | None = None
    revoked: tuple[Matcher, ...] = ()
    supported: bool = True
    reason: str = ""
    note: str = ""

    @property
    def acts(self) -> bool:
        return self.supported and (self.request is not None or self.plugin is not None)


def parse_revoke(raw: Any, *, parts: Sequence[str] = ()) -> RevokeSpec:
    """Validate a raw `revoke:` mapping, with the same request format as `verify:` (errors say `revoke.`)."""
    try:
        data = _mapping(raw, "")
        block = _block(data, _REVOKE_KEYS, REVOKE_METHODS,
                       no_api="say why the credential cannot be revoked through an API")
        if not block.supported:
            return RevokeSpec(supported=False, reason=block.reason, note=block.note)
        revoked = _matchers(data.get("revoked"), "revoked")
        if block.request is not None:
            if not revoked:
                raise _fail("revoked", "a declarative revocation needs at least one 'revoked' matcher")
            _known_placeholders(block.request, {"secret", *parts})
    except SpecError as exc:
        raise exc.of("revoke") from None
    return RevokeSpec(hosts=block.hosts, request=block.request, plugin=block.plugin, revoked=revoked,
                      note=block.note)


def revoked_by(spec: RevokeSpec, answer: Answer) -> bool:
    """True when the answer matches one of the `revoked` matchers (429 and 5xx never do: see `_matches`)."""
    document = answer.parsed() if any(m.uses_json for m in spec.revoked) else _MISSING
    return any(_matches(m, answer, document) for m in spec.revoked)


# -- rendering ----------------------------------------------------------------------------------------------------
class MissingValue(Exception):
    """A placeholder has no value (a part or a context value was not found near the secret)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@dataclass(frozen=True, slots=True)
class Rendered:
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    basic_auth: tuple[str, str] | None
    host_from_secret: bool = False  # the destination came from the finding: refuse private addresses


_UNSAFE = re.compile(r"[\r\n\x00]")


def _sub(text: str, values: Mapping[str, str], encode: Callable[[str], str] | None = None) -> str:
    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in values:
            raise MissingValue(name)
        value = values[name]
        return encode(value) if encode else value

    return _PLACEHOLDER.sub(one, text)


def _render_json(node: Any, values: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return _sub(node, values)
    if isinstance(node, list):
        return [_render_json(n, values) for n in node]
    if isinstance(node, dict):
        return {k: _render_json(v, values) for k, v in node.items()}
    return node


def _multipart(pairs: tuple[tuple[str, str], ...], values: Mapping[str, str]) -> tuple[bytes, str]:
    boundary = "nhiguard-verify-5f0c2b7e"
    chunks = []
    for name, value in pairs:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{_sub(value, values)}\r\n'
        )
    chunks.append(f"--{boundary}--\r\n")
    return "".join(chunks).encode(), f"multipart/form-data; boundary={boundary}"


def _whole_url(value: str) -> str:
    """A URL-shaped secret (a webhook): always HTTPS, whatever scheme it was written with."""
    value = value.strip()
    if value.lower().startswith("http://"):
        value = "https://" + value[7:]
    elif not value.lower().startswith("https://"):
        value = "https://" + value
    return value


def render(request: RequestSpec, values: Mapping[str, str]) -> Rendered:
    """Fill the placeholders. Values in the URL are percent-encoded (a whole-URL placeholder is taken as the URL);
    a value with CR, LF or NUL is refused rather than sent in a header."""
    for value in values.values():
        if _UNSAFE.search(value):
            raise ValueError("a value holds CR, LF or NUL; it cannot be sent safely")
    whole = _PLACEHOLDER.fullmatch(request.url.strip())
    if whole:
        url = _whole_url(_sub(request.url.strip(), values))
        from_secret = True
    else:
        url = _sub(request.url, values, lambda v: urllib.parse.quote(v, safe=":@-._~!$&'()*+,;="))
        from_secret = bool(placeholders(urllib.parse.urlsplit(request.url).netloc))
    headers = [(name, _sub(value, values)) for name, value in request.headers]
    body: bytes | None = None
    lower = {n.lower() for n, _ in headers}
    if request.body is not None:
        body = _sub(request.body, values).encode()
    elif request.form is not None:
        body = urllib.parse.urlencode([(k, _sub(v, values)) for k, v in request.form]).encode()
        if "content-type" not in lower:
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
    elif request.json_body is not None:
        body = json.dumps(_render_json(json.loads(request.json_body), values)).encode()
        if "content-type" not in lower:
            headers.append(("Content-Type", "application/json"))
    elif request.multipart is not None:
        body, content_type = _multipart(request.multipart, values)
        headers.append(("Content-Type", content_type))
    basic = None
    if request.basic_auth is not None:
        basic = (_sub(request.basic_auth[0], values), _sub(request.basic_auth[1], values))
    return Rendered(
        method=request.method, url=url, headers=tuple(headers), body=body, basic_auth=basic,
        host_from_secret=from_secret,
    )


# -- evaluation ---------------------------------------------------------------------------------------------------
_MISSING = object()


def json_values(document: Any, path: str) -> list[Any]:
    """Every value at a dotted path; `*` walks a list (or an object's values); digits index lists."""
    nodes = [document]
    for key in path.split("."):
        nxt: list[Any] = []
        for node in nodes:
            if key == "*":
                if isinstance(node, list):
                    nxt.extend(node)
                elif isinstance(node, dict):
                    nxt.extend(node.values())
            elif isinstance(node, dict) and key in node:
                nxt.append(node[key])
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                nxt.append(node[int(key)])
        nodes = nxt
    return [n for n in nodes if n is not None]


@dataclass(frozen=True, slots=True)
class Answer:
    """A provider's answer as the evaluator sees it. Header names are lower-case."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    document: Any = field(default=_MISSING)

    def parsed(self) -> Any:
        """The body as JSON, or _MISSING when it is empty or not JSON."""
        if self.document is not _MISSING:
            return self.document
        return parse_json(self.body)


def parse_json(body: bytes) -> Any:
    if not body.strip():
        return _MISSING
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return _MISSING


def _scalar_equal(actual: Any, expected: JsonScalar) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return actual is expected
    return bool(actual == expected)


def _matches(m: Matcher, answer: Answer, document: Any) -> bool:
    if m.status and answer.status not in m.status:
        return False
    if answer.status == 429 or answer.status >= 500:
        return False
    if m.uses_json:
        if document is _MISSING:
            return False
        for path, expected in m.json:
            found = json_values(document, path) if expected is not None else _raw_values(document, path)
            if not any(_scalar_equal(v, expected) for v in found):
                return False
        for path in m.json_exists:
            if not json_values(document, path):
                return False
    if m.body_contains:
        text = answer.body.decode("utf-8", "replace")
        if not all(s in text for s in m.body_contains):
            return False
    return all(name in answer.headers for name in m.header)


def _raw_values(document: Any, path: str) -> list[Any]:
    """Like json_values but keeps nulls (for `json: {field: null}`)."""
    head, _, last = path.rpartition(".")
    parents = json_values(document, head) if head else [document]
    return [p[last] for p in parents if isinstance(p, dict) and last in p]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, sort_keys=True)


def _read(sources: Sequence[Source], answer: Answer, document: Any) -> list[str]:
    out: list[str] = []
    for source in sources:
        raw: list[Any] = []
        if source.header is not None:
            if source.header in answer.headers:
                raw = [answer.headers[source.header]]
        elif source.json is not None and document is not _MISSING:
            raw = json_values(document, source.json)
        for value in raw:
            items = value if isinstance(value, list) else [value]
            for item in items:
                text = _text(item).strip()
                if source.split:
                    out.extend(p.strip() for p in text.split(source.split) if p.strip())
                elif text:
                    out.append(text)
    return out


def reveal(spec_reveal: Reveal, answer: Answer, document: Any) -> tuple[str | None, tuple[str, ...], str | None]:
    identity = _read(spec_reveal.identity, answer, document)
    scopes = _read(spec_reveal.scopes, answer, document)
    expiry = _read(spec_reveal.expiry, answer, document)
    return (
        " / ".join(dict.fromkeys(identity)) or None,
        tuple(sorted(set(scopes))),
        expiry[0] if expiry else None,
    )


def evaluate(spec: VerifySpec, answer: Answer) -> Verdict:
    """`live` matchers first (a 401 carrying a 2FA challenge can still be live), then `invalid`; anything else is
    `unknown`. A live answer of a JSON API must have a well-formed JSON body (a proxy's HTML page is not a
    provider's answer)."""
    document = answer.parsed()
    status: Status
    if answer.status == 429:
        return Verdict(status="unknown", detail="HTTP 429: rate limited by the provider")
    if answer.status >= 500:
        return Verdict(status="unknown", detail=f"HTTP {answer.status}: the provider failed")
    if any(_matches(m, answer, document) for m in spec.live):
        if spec.response == "json" and answer.body.strip() and document is _MISSING:
            return Verdict(status="unknown", detail=f"HTTP {answer.status} with a body that is not valid JSON")
        identity, scopes, expiry = reveal(spec.reveal, answer, document)
        status = "live"
        return Verdict(status=status, identity=identity, scopes=scopes, expiry=expiry,
                       detail=f"HTTP {answer.status}")
    if any(_matches(m, answer, document) for m in spec.invalid):
        return Verdict(status="invalid", detail=f"HTTP {answer.status}: the provider rejected the credential")
    return Verdict(status="unknown", detail=f"HTTP {answer.status}: the answer matched neither live nor invalid")


def case_answer(case: Case) -> Answer:
    return Answer(status=case.status, headers={k.lower(): v for k, v in case.headers}, body=case.body.encode())


def check_case(spec: VerifySpec, case: Case, verdict: Verdict) -> list[str]:
    """Differences between a verdict and what a recorded case expects (empty when it matches)."""
    problems = []
    if verdict.status != case.expect:
        problems.append(f"expected {case.expect}, got {verdict.status} ({verdict.detail})")
        return problems
    if case.identity is not None and verdict.identity != case.identity:
        problems.append(f"expected identity {case.identity!r}, got {verdict.identity!r}")
    if case.scopes is not None and tuple(sorted(verdict.scopes)) != case.scopes:
        problems.append(f"expected scopes {list(case.scopes)}, got {sorted(verdict.scopes)}")
    if case.expiry is not None and verdict.expiry != case.expiry:
        problems.append(f"expected expiry {case.expiry!r}, got {verdict.expiry!r}")
    return problems
