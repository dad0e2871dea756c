"""Verifying findings: which are live, who they are, what they reach. Orchestration (L4).

`Verification` runs one batch: findings are checked concurrently (a thread pool; `nhiguard.http` bounds the
requests in flight and their rate per host), each verdict is cached by fingerprint for the run, and every call is
appended to the audit log (JSON Lines: time, rule, host, fingerprint, verdict; never the secret).

Safety decisions made here rather than in the verifiers:
- a rule's `verify:` block is trusted only when the rule is built in or was given on the command line (`--rules`):
  a repository's own `.nhiguard.yml` rules cannot choose where secrets are sent (a repository rule that replaces a
  built-in keeps the built-in's check);
- intrusive checks (ones that post or upload) run only with `intrusive=True`;
- the endpoint override (`--verify-endpoint`, `NHIGUARD_VERIFY_ENDPOINT`) is the only way to send a rule's requests
  anywhere but its pinned hosts; the CLI announces it on stderr.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from nhiguard import escape, redact, ruleset
from nhiguard import fingerprint as fingerprints
from nhiguard._paths import data_dir
from nhiguard.config import ArchiveLimits
from nhiguard.engine import Engine
from nhiguard.engine.matcher import compile_pattern, finditer
from nhiguard.errors import ConfigError
from nhiguard.http import Blocked, HttpClient, HttpError, HttpSettings, Policy, Request, Response
from nhiguard.model import Chunk, Finding, Location, Match, Origin, Rule, Verdict
from nhiguard.safeio import REPORT_MAX_BYTES, read_capped
from nhiguard.sources import archives, gitinfo
from nhiguard.verify.plugins import NotChecked, Registry, Target, verifier_name
from nhiguard.verify.spec import VerifySpec

AUDIT_FILE = "audit.jsonl"
DEFAULT_DEADLINE = 300.0
CONTEXT_MAX_BYTES = 4 << 20


def default_audit_log() -> Path:
    return data_dir() / AUDIT_FILE


# -- endpoint overrides -------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Override:
    """`selector=https://host[:port][/prefix]`: requests of rules whose id or provider is `selector` (or every
    rule for `*`) go to that origin instead, with the original path appended to the prefix."""

    selector: str
    scheme: str
    netloc: str
    prefix: str

    @property
    def host_pattern(self) -> str:
        parts = urllib.parse.urlsplit(f"{self.scheme}://{self.netloc}")
        host = (parts.hostname or "").lower()
        return f"{host}:{parts.port}" if parts.port else host

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.netloc}{self.prefix}"

    def apply(self, url: str) -> str:
        if url.startswith("/"):
            path, query = url.split("?", 1) if "?" in url else (url, "")
        else:
            parts = urllib.parse.urlsplit(url)
            path, query = parts.path or "/", parts.query
        return urllib.parse.urlunsplit((self.scheme, self.netloc, self.prefix + path, query, ""))


def parse_override(text: str) -> Override:
    selector, sep, url = text.partition("=")
    selector, url = selector.strip(), url.strip()
    if not sep or not selector or not url:
        raise ConfigError(f"--verify-endpoint: expected RULE_OR_PROVIDER=https://HOST[:PORT], got {text!r}")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(f"--verify-endpoint: {url!r} must be an https:// URL (verification never uses plain HTTP)")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigError(f"--verify-endpoint: {url!r} must be a bare origin with an optional path prefix")
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise ConfigError(f"--verify-endpoint: {url!r} has an invalid port") from None
    return Override(selector=selector, scheme="https", netloc=parts.netloc, prefix=parts.path.rstrip("/"))


def parse_overrides(items: Iterable[str]) -> tuple[Override, ...]:
    out = []
    for item in items:
        for piece in item.replace(",", " ").split():
            out.append(parse_override(piece))
    return tuple(out)


def find_override(overrides: Sequence[Override], *names: str) -> Override | None:
    """The first override whose selector is one of `names` (most specific first), else the `*` one."""
    for wanted in (*names, "*"):
        for override in overrides:
            if override.selector == wanted:
                return override
    return None


def rule_names(rule: Rule) -> tuple[str, ...]:
    """What an override may select a rule by, most specific first."""
    return (rule.id, *rule.aliases, rule.provider)


def route(url: str, hosts: tuple[str, ...], override: Override | None, ca: str | None, *,
          from_secret: bool) -> tuple[str, Policy] | None:
    """Where a request of a rule (or a plugin) may go: an explicit override's host (with its extra trust anchors
    only), else the URL as written within the pinned hosts (public addresses only when the host came from the
    secret itself). None for a path without a host (a self-hosted server) when nothing overrides it."""
    if override is not None:
        return override.apply(url), Policy(hosts=(override.host_pattern,), public_only=False, ca_bundle=ca)
    if url.startswith("/"):
        return None
    return url, Policy(hosts=hosts, public_only=from_secret)


# -- options ------------------------------------------------------------------------------------------------------
ContextReader = Callable[[Location], str | None]


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    overrides: tuple[Override, ...] = ()
    ca_bundle: str | None = None  # trust anchors for overridden endpoints only
    intrusive: bool = False
    audit_log: Path | None = None  # None: the default under the user's data folder
    workers: int = 8
    http: HttpSettings = field(default_factory=HttpSettings)
    trusted_rule_sources: tuple[Path, ...] = ()  # rule files/folders given on the command line
    base: Path | None = None  # where relative finding paths live (context values are read there)
    deadline: float | None = DEFAULT_DEADLINE  # seconds for the whole run; findings not checked by then: unknown


@dataclass(slots=True)
class VerifyStats:
    verified: int = 0
    calls: int = 0
    cached: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    peak_per_host: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


# -- the audit log -------------------------------------------------------------------------------------------------
class AuditLog:
    """Append-only JSON Lines; opened before the first call so that no call goes unrecorded."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise ConfigError(f"audit log {path}: cannot open for appending: {exc.strerror or exc}") from None
        self._file = os.fdopen(fd, "a", encoding="utf-8")

    def write(self, record: Mapping[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True, ensure_ascii=True)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()


# -- one rule's transport -----------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Call:
    host: str
    status: int | None
    error: str | None
    attempts: int
    overridden: bool


class _RuleTransport:
    def __init__(self, client: HttpClient, spec: VerifySpec, override: Override | None, ca: str | None) -> None:
        self._client = client
        self._spec = spec
        self._override = override
        self._ca = ca
        self.calls: list[_Call] = []

    def send(self, request: Request, *, from_secret: bool = False) -> Response:
        where = route(request.url, self._spec.hosts, self._override, self._ca, from_secret=from_secret)
        if where is None:
            raise NotChecked("needs the address of your own server: pass --verify-endpoint RULE=https://HOST:PORT")
        url, policy = where
        host = (urllib.parse.urlsplit(url).hostname or "?").lower()
        try:
            response = self._client.send(replace(request, url=url), policy)
        except HttpError as exc:
            self.calls.append(_Call(host, None, str(exc), 0, self._override is not None))
            raise
        self.calls.append(_Call(host, response.status, None, response.attempts, self._override is not None))
        return response


# -- context values --------------------------------------------------------------------------------------------------
def on_disk(shown: str, base: Path) -> Path:
    """The file a reported path names: relative paths under `base`; a name shown with `\\xNN` escapes (not
    UTF-8) is looked up by its real bytes when no file has the shown name itself."""
    path = Path(shown)
    full = path if path.is_absolute() else base / path
    if not os.path.lexists(full):
        real = Path(escape.fs_path(shown))
        if str(real) != shown:
            return real if real.is_absolute() else base / real
    return full


def file_reader(base: Path | None) -> ContextReader:
    """Reads a finding's file from the working tree (relative paths under `base`)."""
    root = base or Path(".")

    def read(location: Location) -> str | None:
        path = on_disk(location.path, root)
        try:
            if not path.is_file() or path.stat().st_size > CONTEXT_MAX_BYTES:
                return None
            return path.read_bytes().decode("utf-8", "replace")
        except OSError:
            return None

    return read


def context_values(spec: VerifySpec, finding: Finding, reader: ContextReader | None) -> dict[str, str]:
    """Each `context` value: the first match of its pattern within N lines of a line holding the secret, in the
    finding's files as they are now (a file that no longer holds the secret gives nothing), else its default."""
    values: dict[str, str] = {}
    if not spec.context:
        return values
    texts: list[str] = []
    if reader is not None:
        seen: set[str] = set()
        for location in finding.locations[:20]:
            if location.path in seen:
                continue
            seen.add(location.path)
            text = reader(location)
            if text and finding.secret in text:
                texts.append(text)
    for item in spec.context:
        found = _search_near(item.pattern, item.within_lines, finding.secret, texts)
        if found is None:
            found = item.default
        if found is not None:
            values[item.name] = found
    return values


def _search_near(pattern: str, within: int, secret: str, texts: list[str]) -> str | None:
    compiled = compile_pattern(pattern)
    first = secret.splitlines()[0] if secret else secret
    for text in texts:
        lines = text.splitlines()
        hits = [i for i, line in enumerate(lines) if first and first in line]
        for i in hits:
            window = "\n".join(lines[max(0, i - within): i + within + 1])
            try:
                for m in finditer(compiled, window, 1.0):
                    value = m.group("value")
                    if value and value not in secret:
                        return str(value)
            except TimeoutError:
                continue
    return None


# -- the run ----------------------------------------------------------------------------------------------------
def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class Verification:
    """One verification run: an HTTP client, a verdict cache by fingerprint, and the audit log."""

    def __init__(self, options: VerifyOptions, *, registry: Registry | None = None,
                 client: HttpClient | None = None) -> None:
        self.options = options
        self.registry = registry or Registry()
        self.client = client or HttpClient(options.http)
        self._own_client = client is None
        self._cache: dict[str, Verdict] = {}
        self._lock = threading.Lock()
        self._inflight: dict[str, threading.Event] = {}
        self.audit = AuditLog(options.audit_log or default_audit_log())
        self.stats = VerifyStats()
        self._deadline: float | None = None
        self._trusted = tuple(p.resolve() for p in options.trusted_rule_sources)

    def close(self) -> None:
        self.audit.close()
        if self._own_client:
            self.client.close()

    def __enter__(self) -> Verification:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # which verify block applies
    def spec_for(self, rule: Rule) -> tuple[VerifySpec | None, str]:
        """The spec to use and, when none, why (`ruleset.trusted_rule`: a rule from a repository's configuration
        gets the built-in check of the same id, or none)."""
        chosen = ruleset.trusted_rule(rule, self._trusted)
        if chosen is not None:
            return ruleset.verify_spec(chosen), ""
        if rule.verify is not None:
            return None, ("the verify block of a rule from the repository's configuration is not trusted; "
                          "pass its file with --rules to use it")
        return None, ""

    # verification
    def verify(self, findings: Sequence[Finding], reader: ContextReader | None = None) -> VerifyStats:
        started = time.monotonic()
        todo = list(findings)
        limit = self.options.deadline
        self._deadline = started + limit if limit is not None else None
        # every exchange of this run ends by the deadline, however slowly a server answers (http.HttpClient)
        before, self.client.deadline = self.client.deadline, self._deadline
        try:
            if todo:
                with ThreadPoolExecutor(max_workers=max(1, self.options.workers),
                                        thread_name_prefix="verify") as pool:
                    verdicts = list(pool.map(lambda f: self._verify_cached(f, reader), todo))
                for finding, verdict in zip(todo, verdicts, strict=True):
                    finding.verdict = verdict
        finally:
            self.client.deadline = before
        self.stats.peak_per_host = self.client.peaks()
        self.stats.seconds += time.monotonic() - started
        return self.stats

    def _verify_cached(self, finding: Finding, reader: ContextReader | None) -> Verdict:
        key = finding.fingerprint
        while True:
            with self._lock:
                if key in self._cache:
                    self.stats.cached += 1
                    return self._cache[key]
                waiting = self._inflight.get(key)
                if waiting is None:
                    self._inflight[key] = threading.Event()
                    break
            waiting.wait()
        try:
            verdict = self._verify_one(finding, reader)
        except Exception as exc:  # a verifier bug never crashes the run
            verdict = Verdict(status="unknown", detail=f"verifier failed: {type(exc).__name__}", checked_at=_now())
        with self._lock:
            self._cache[key] = verdict
            self.stats.verified += 1
            self.stats.by_status[verdict.status] = self.stats.by_status.get(verdict.status, 0) + 1
            self._inflight.pop(key).set()
        return verdict

    def _verify_one(self, finding: Finding, reader: ContextReader | None) -> Verdict:
        rule = finding.rule
        if self._deadline is not None and time.monotonic() >= self._deadline:
            return Verdict(status="unknown", checked_at=_now(),
                           detail=f"not checked: the verification deadline ({self.options.deadline:g} s) passed")
        spec, why = self.spec_for(rule)
        if spec is None:
            verdict = Verdict(status="not_checked", detail=why)
            if why:
                self._audit(finding, None, verdict, "-")
            return verdict
        name = verifier_name(spec)
        if not spec.supported:
            return Verdict(status="not_checked", detail=f"no safe live check: {spec.reason}")
        if spec.intrusive and not self.options.intrusive:
            return Verdict(status="not_checked",
                           detail="this check has side effects at the provider; opt in with --verify-intrusive")
        verifier = self.registry.get(name)
        if verifier is None:
            verdict = Verdict(status="not_checked", detail=f"no verifier named {name!r} is installed")
            self._audit(finding, None, verdict, name)
            return verdict
        override = find_override(self.options.overrides, *rule_names(rule))
        transport = _RuleTransport(self.client, spec, override, self.options.ca_bundle)
        parts = {**context_values(spec, finding, reader), **dict(finding.parts)}  # the finding's own parts win
        target = Target(rule_id=rule.id, provider=rule.provider, secret=finding.secret, spec=spec, parts=parts)
        try:
            verdict = verifier(target, transport)
        except NotChecked as exc:
            verdict = Verdict(status="not_checked", detail=str(exc))
        except Blocked as exc:
            verdict = Verdict(status="not_checked", detail=str(exc))
        except HttpError as exc:
            verdict = Verdict(status="unknown", detail=str(exc))
        except Exception as exc:
            verdict = Verdict(status="unknown", detail=f"verifier {name} failed: {type(exc).__name__}")
        secrets = [finding.secret, *parts.values()]
        verdict = replace(
            verdict,
            checked_at=_now(),
            detail=redact.scrub(verdict.detail, [s for s in secrets if len(s) >= 6]),
        )
        if transport.calls:
            for call in transport.calls:
                self._audit(finding, call, verdict, name)
        else:
            self._audit(finding, None, verdict, name)
        return verdict

    def _audit(self, finding: Finding, call: _Call | None, verdict: Verdict, verifier: str) -> None:
        with self._lock:
            self.stats.calls += 1 if call is not None else 0
        record: dict[str, Any] = {
            "time": _now(),
            "event": "verify",
            "rule_id": finding.rule.id,
            "provider": finding.rule.provider,
            "fingerprint": finding.fingerprint,
            "verifier": verifier,
            "host": call.host if call else None,
            "http_status": call.status if call else None,
            "attempts": call.attempts if call else 0,
            "error": call.error if call else None,
            "endpoint_override": call.overridden if call else False,
            "verdict": verdict.status,
            "identity": redact.scrub(verdict.identity, [finding.secret]) if verdict.identity else None,
            "detail": verdict.detail,
        }
        self.audit.write(record)


def verify_findings(findings: Sequence[Finding], options: VerifyOptions, *,
                    reader: ContextReader | None = None, registry: Registry | None = None) -> VerifyStats:
    """Check every finding and set its verdict. `reader` gives a finding's file text for context values
    (default: the working tree under `options.base`)."""
    with Verification(options, registry=registry) as run:
        return run.verify(findings, reader if reader is not None else file_reader(options.base))


def only_live(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.verdict.status == "live"]


# -- re-verifying a saved report ---------------------------------------------------------------------------------
@dataclass(slots=True)
class Recovered:
    findings: list[Finding]  # every saved finding, in order; the ones not found again carry a "location gone" verdict
    found: list[Finding]  # the ones whose secret was found again: these can be verified
    gone: list[str]  # human-readable notes: which saved findings could not be found again


def saved_locations(raw: Any) -> list[Location]:
    """The locations of a saved finding. A saved report is a file anyone may have edited: a location whose fields
    are not of their kind (a line that is no number, a commit that is no text) is left out, as one with no path."""
    out = []
    for loc in raw if isinstance(raw, list) else []:
        if not isinstance(loc, Mapping) or not isinstance(loc.get("path"), str):
            continue
        line, column = _position(loc.get("line")), _position(loc.get("column"))
        texts = [loc.get(key) for key in ("commit", "author", "email", "date")]
        decoded = loc.get("decoded") or []
        if line is None or column is None or not all(t is None or isinstance(t, str) for t in texts) \
                or not isinstance(decoded, list) or not all(isinstance(d, str) for d in decoded):
            continue
        commit, author, email, date = texts
        out.append(Location(path=loc["path"], line=line, column=column, commit=commit, author=author, email=email,
                            date=date, decoded=tuple(decoded), kind=str(loc.get("kind") or "file")))
    return out


def _position(value: Any) -> int | None:
    """A saved line or column: a whole number from 1 up (absent: 1); None when it is anything else."""
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1 << 40:
        return None
    return value


def load_saved_report(path: Path) -> tuple[str, list[Mapping[str, Any]]]:
    raw = read_capped(path, limit=REPORT_MAX_BYTES, what="report", error=ConfigError)
    try:
        document = json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        raise ConfigError(f"{path}: not a JSON report: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not a JSON report: nested too deeply") from None
    if not isinstance(document, Mapping) or not isinstance(document.get("findings"), list):
        raise ConfigError(f"{path}: not an nhiguard JSON report (no 'findings' list)")
    if document.get("version") != 1:
        raise ConfigError(f"{path}: unsupported report version {document.get('version')!r} (expected 1)")
    return str(document.get("target") or ""), [f for f in document["findings"] if isinstance(f, Mapping)]


def _read_saved(location: Location, base: Path, cache: Mapping[str, Any]) -> tuple[str, bytes | None]:
    """A saved location's bytes: from its commit when it has one (a history or range finding: the working tree
    may have changed since), else from the working tree under `base`."""
    if location.commit:
        key = f"{location.commit}:{location.path}"
        if key in cache:
            return key, None
        return key, gitinfo.read_at(base, location.commit, escape.fs_path(location.path))
    full = on_disk(location.path, base)
    key = str(full)
    if key in cache:
        return key, None
    try:
        return key, full.read_bytes() if full.is_file() else None
    except OSError:
        return key, None


def _scan_member(location: Location, base: Path, engine: Engine) -> list[Match] | None:
    """A location inside an archive (`dist/app.jar!conf/app.yml`): the archive read again (from its commit, or the
    working tree), that member scanned."""
    outer = location.path.split("!", 1)[0]
    _, data = _read_saved(replace(location, path=outer), base, {})
    if data is None or archives.kind(data) is None:
        return None
    for chunk in archives.expand(data, Origin(path=outer), ArchiveLimits(), 64 << 20):
        if isinstance(chunk, Chunk) and chunk.origin.path == location.path:
            return engine.scan(chunk)
    return None


def recover(saved: Sequence[Mapping[str, Any]], rules: Mapping[str, Rule], base: Path, engine: Engine) -> Recovered:
    """Find each saved finding's secret again by re-scanning the files it was reported in and matching its
    fingerprint (saved reports hold no secrets). Files are read from the working tree under `base`."""
    findings: list[Finding] = []
    recovered: list[Finding] = []
    gone: list[str] = []
    cache: dict[str, list[Match] | None] = {}
    for item in saved:
        rule_id = str(item.get("rule_id", ""))
        fp = str(item.get("fingerprint", ""))
        locations = saved_locations(item.get("locations"))
        rule = rules.get(rule_id)
        where = ", ".join(f"{loc.path}:{loc.line}" for loc in locations[:3]) or "no location"
        if rule is None:
            gone.append(f"{where}: rule {rule_id} is not loaded; finding {fp[:17]} not verified")
            continue
        found: Match | None = None
        reasons = []
        for location in locations:
            key, data = _read_saved(location, base, cache)
            if key not in cache:
                if data is None and "!" in location.path:
                    cache[key] = _scan_member(location, base, engine)
                else:
                    cache[key] = engine.scan(Chunk(data, Origin(path=location.path))) if data is not None else None
            matches = cache[key]
            if matches is None:
                where_gone = f"commit {location.commit[:12]}" if location.commit else "the working tree"
                reasons.append(f"{location.path}:{location.line}: the file is gone from {where_gone}")
                continue
            found = next((m for m in matches if m.rule_id == rule_id and fingerprints.matches(rule, m.secret, fp)),
                         None)
            if found is not None:
                break
            reasons.append(f"{location.path}:{location.line}: the secret is no longer there")
        if found is None:
            gone.append(f"location gone for {rule_id} {fp[:17]}: " + "; ".join(reasons or [where]))
            finding = Finding(rule=rule, fingerprint=fp, secret=str(item.get("secret", "")), locations=locations)
            finding.verdict = Verdict(status="not_checked",
                                      detail="location gone: " + ("; ".join(reasons) or "no location"))
            findings.append(finding)
            continue
        finding = Finding(rule=rule, fingerprint=fp, secret=found.secret, parts=found.parts, locations=locations,
                          entropy=found.entropy)
        findings.append(finding)
        recovered.append(finding)
    return Recovered(findings=findings, found=recovered, gone=gone)
