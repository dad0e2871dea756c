"""Outbound HTTPS for verifiers: the only module that imports `requests`.

Every request a verifier makes goes through `HttpClient.send`, which enforces, before any connection:
- HTTPS only, with certificate and host-name checks (TLS 1.2+), never a redirect, connect and read timeouts;
- host pinning: the URL's host must match the caller's allowed patterns, else `Blocked` is raised;
- for destinations chosen by the secret itself (webhook URLs, a host built from parts), `public_only`: every
  address the name resolves to, and the peer actually connected to, must be public (not private, loopback,
  link-local, multicast or reserved); only the explicit endpoint override lifts this, for tests;
and around the exchange: a per-host concurrency limit and request rate, bounded retries with exponential
backoff on 429, 5xx and connection failures (honouring Retry-After up to a cap), a bounded response body, and
deadlines: each exchange as a whole (`total_timeout`, retries included) and, when the caller sets one, a phase
deadline (`HttpClient.deadline`: the end of a verification run). Socket timeouts bound each read only, so a
server that drips one byte every few seconds is cut off by a watchdog that shuts the connection's socket down.

Error texts never quote the URL (a Telegram token travels in the path) or the request.

The registry client (`sources/registry.py`) and the forge listings (`sources/forges.py`) use it too: for them a
policy may allow plain HTTP (a loopback server, or a registry the operator calls insecure), and a body may be
streamed to a file (`send(…, sink=…)`) up to the request's own `max_body`.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import ipaddress
import json
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import IO, Any

import requests
import requests.adapters
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from nhiguard import __version__
from nhiguard.verify.spec import host_allowed

USER_AGENT = f"nhiguard/{__version__} (leaked-credential verification)"


@dataclass(frozen=True, slots=True)
class HttpSettings:
    connect_timeout: float = 5.0
    read_timeout: float = 10.0  # per read: a server that drips a byte at a time never trips it alone, so
    total_timeout: float = 30.0  # the whole exchange (retries, headers, body) has a deadline too
    retries: int = 2  # extra attempts after the first, on 429 / 5xx / connection failures
    backoff: float = 0.5  # seconds before the first retry, doubled for each further one
    retry_after_cap: float = 10.0  # a longer Retry-After gives up instead of waiting
    per_host: int = 4  # requests in flight to one host at once
    rate_per_host: float = 10.0  # request starts per second to one host (0: no limit)
    max_body: int = 1 << 20
    user_agent: str = USER_AGENT


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    basic_auth: tuple[str, str] | None = None
    # False for a request that makes something each time it lands (a ticket, a comment): after a lost answer or
    # a 5xx it may have landed, so it is retried only when it surely did not (429, no connection made)
    repeatable: bool = True
    max_body: int | None = None  # None: the client's setting


@dataclass(frozen=True, slots=True)
class Policy:
    """Where a request may go. `hosts` are patterns (`api.github.com`, `*.myshopify.com`, `127.0.0.1:8443`)."""

    hosts: tuple[str, ...]
    public_only: bool = False
    ca_bundle: str | None = None  # extra trust anchors: only ever set for an explicit endpoint override
    allow_http: bool = False  # plain HTTP: only for a loopback registry or one the operator calls insecure


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    attempts: int = 1
    host: str = ""

    def json(self) -> Any:
        """The body as JSON, or None when it is empty or not JSON (each caller says what it expected)."""
        try:
            return json.loads(self.body.decode("utf-8")) if self.body.strip() else None
        except (UnicodeDecodeError, ValueError):
            return None


class HttpError(Exception):
    """The exchange failed (timeout, connection failure, TLS failure). The message never holds the URL."""


class Blocked(HttpError):
    """Refused before any connection: a host outside the allowed list, plain HTTP, or a non-public address."""


# -- addresses ----------------------------------------------------------------------------------------------------
def is_public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
        or ip.is_unspecified or not ip.is_global
    )


def is_loopback_host(host: str) -> bool:
    """`localhost` or a loopback address: the only place plain HTTP test servers may live."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


Resolver = Callable[[str, int], list[str]]


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise HttpError(f"cannot resolve the host ({exc.strerror or type(exc).__name__})") from None
    return [str(info[4][0]) for info in infos]


# -- deadlines ----------------------------------------------------------------------------------------------------
# The sockets used by the exchange running on this thread, for the watchdog that cuts it off at its deadline.
_exchange = threading.local()


def _watch(sock: Any) -> None:
    socks = getattr(_exchange, "socks", None)
    if socks is not None and sock is not None:
        socks.append(sock)


class _WatchedConnection(HTTPSConnection):
    """Registers its socket with the exchange in progress on this thread (new and reused connections alike)."""

    def connect(self) -> None:
        super().connect()
        _watch(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self.sock)
        super().request(*args, **kwargs)


class _Deadline:
    """Shuts down every socket of one exchange when its time is up: a blocked read then returns at once."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._socks: list[Any] = []
        self._timer = threading.Timer(max(0.0, seconds), self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        _exchange.socks = self._socks
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        _exchange.socks = None

    def _expire(self) -> None:
        self.expired = True
        for sock in list(self._socks):
            with contextlib.suppress(OSError, TypeError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's: TLS state is left alone


class _WatchedPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedConnection


class _PublicOnlyConnection(_WatchedConnection):
    """Checks the address actually connected to (a DNS answer can change between the check and the connect)."""

    def connect(self) -> None:
        super().connect()
        sock = self.sock
        peer = sock.getpeername()[0] if sock is not None else ""
        if not is_public(str(peer)):
            self.close()
            raise Blocked("refused: the destination resolved to a private, loopback or link-local address")


class _PublicOnlyPool(HTTPSConnectionPool):
    ConnectionCls = _PublicOnlyConnection


class _Adapter(requests.adapters.HTTPAdapter):
    def __init__(self, context: ssl.SSLContext, pool_size: int, public_only: bool) -> None:
        self._context = context
        self._public_only = public_only
        super().__init__(pool_connections=64, pool_maxsize=pool_size, pool_block=True, max_retries=0)

    def cert_verify(self, conn: Any, url: str, verify: bool | str, cert: Any) -> None:
        """Certificates are always checked, against the trust anchors already loaded in our SSL context: requests
        would otherwise point each new connection at the CA bundle file and re-read it (tens of ms each)."""
        conn.cert_reqs = "CERT_REQUIRED"
        conn.ca_certs = None
        conn.ca_cert_dir = None

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **kwargs: Any) -> None:
        super().init_poolmanager(connections, maxsize, block=block, ssl_context=self._context, **kwargs)
        https = _PublicOnlyPool if self._public_only else _WatchedPool
        self.poolmanager.pool_classes_by_scheme = {"http": HTTPConnectionPool, "https": https}


def _ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    import certifi

    context = ssl.create_default_context(cafile=certifi.where())
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


# -- per-host limits ----------------------------------------------------------------------------------------------
@dataclass(slots=True)
class _HostGate:
    slots: threading.BoundedSemaphore
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_start: float = 0.0
    in_flight: int = 0
    peak: int = 0
    requests: int = 0


class HttpClient:
    """Thread-safe; share one per run. `close()` releases the connection pools."""

    def __init__(self, settings: HttpSettings | None = None, *, resolver: Resolver | None = None) -> None:
        self.settings = settings or HttpSettings()
        self._resolve = resolver or _resolve
        self._lock = threading.Lock()
        self._gates: dict[str, _HostGate] = {}
        self._sessions: dict[tuple[str | None, bool], requests.Session] = {}
        self.deadline: float | None = None  # time.monotonic() after which no exchange starts or continues

    # sessions: one per (trust anchors, public-only) so that the adapters' pools are shared between threads
    def _session(self, ca_bundle: str | None, public_only: bool) -> requests.Session:
        key = (ca_bundle, public_only)
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                session = requests.Session()
                session.trust_env = False  # no .netrc credentials, no proxy or CA bundle taken from the environment
                session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
                session.headers.clear()
                adapter = _Adapter(_ssl_context(ca_bundle), self.settings.per_host, public_only)
                session.mount("https://", adapter)
                self._sessions[key] = session
            return session

    def _gate(self, host: str) -> _HostGate:
        with self._lock:
            gate = self._gates.get(host)
            if gate is None:
                gate = _HostGate(threading.BoundedSemaphore(max(1, self.settings.per_host)))
                self._gates[host] = gate
            return gate

    def peaks(self) -> dict[str, int]:
        """Most requests ever in flight at once, per host[:port]."""
        with self._lock:
            return {host: gate.peak for host, gate in self._gates.items()}

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {host: gate.requests for host, gate in self._gates.items()}

    def close(self) -> None:
        with self._lock:
            for session in self._sessions.values():
                session.close()
            self._sessions.clear()

    # checks made before anything leaves the machine
    def check(self, request: Request, policy: Policy) -> tuple[str, int]:
        parts = urllib.parse.urlsplit(request.url)
        if parts.scheme.lower() != "https" and not (policy.allow_http and parts.scheme.lower() == "http"):
            raise Blocked("refused: only HTTPS is used for verification")
        if parts.username is not None or parts.password is not None:
            raise Blocked("refused: credentials inside the URL")
        host = (parts.hostname or "").lower()
        try:
            port = parts.port
        except ValueError:
            raise Blocked("refused: the URL has an invalid port") from None
        if not host or not host_allowed(host, port, policy.hosts):
            raise Blocked(f"refused: host {host or '?'} is not among the rule's hosts")
        if policy.public_only:
            addresses = self._resolve(host, port or 443)
            if not addresses or not all(is_public(a) for a in addresses):
                raise Blocked("refused: the destination resolves to a private, loopback or link-local address")
        return host, port or 443

    def send(self, request: Request, policy: Policy, sink: IO[bytes] | None = None) -> Response:
        """One exchange with retries. Returns the last response (possibly a 429 or 5xx once retries are spent);
        raises Blocked before connecting, or HttpError when no answer came (in time). With a `sink`, a 2xx body is
        written there (up to `request.max_body`) instead of being returned."""
        host, port = self.check(request, policy)
        key = host if port == 443 else f"{host}:{port}"
        gate = self._gate(key)
        session = self._session(policy.ca_bundle, policy.public_only)
        settings = self.settings
        own = time.monotonic() + settings.total_timeout
        deadline = own if self.deadline is None else min(own, self.deadline)
        attempt = 0
        while True:
            attempt += 1
            if time.monotonic() >= deadline:
                raise HttpError(self._late(own, deadline))
            watchdog = _Deadline(deadline - time.monotonic())
            try:
                if sink is not None:
                    sink.seek(0)
                    sink.truncate()
                with watchdog:
                    response = self._once(session, gate, request, deadline, sink)
            except Blocked:
                raise
            except requests.exceptions.RequestException as exc:
                if watchdog.expired:
                    raise HttpError(self._late(own, deadline)) from None
                if isinstance(exc, requests.exceptions.SSLError):
                    raise HttpError("TLS handshake or certificate check failed") from None
                if isinstance(exc, requests.exceptions.ReadTimeout):
                    raise HttpError(f"no answer within {settings.read_timeout:g} s") from None
                if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError,
                                    requests.exceptions.ContentDecodingError)):
                    unsent = isinstance(exc, requests.exceptions.ConnectTimeout)
                    pause = settings.backoff * 2 ** (attempt - 1)
                    if attempt <= settings.retries and (request.repeatable or unsent) and \
                            time.monotonic() + pause < deadline:
                        time.sleep(pause)
                        continue
                    raise HttpError(f"connection failed after {attempt} attempt(s) ({_kind(exc)})") from None
                raise HttpError(f"request failed ({type(exc).__name__})") from None
            if watchdog.expired:  # cut off: a body read to the shutdown's end-of-file is not the whole answer
                raise HttpError(self._late(own, deadline))
            if (response.status == 429 or (response.status >= 500 and request.repeatable)) and \
                    attempt <= settings.retries:
                delay = _retry_after(response.headers.get("retry-after"))
                if delay is None:
                    delay = settings.backoff * 2 ** (attempt - 1)
                if delay > settings.retry_after_cap or time.monotonic() + delay >= deadline:
                    return _with(response, attempt, key)
                time.sleep(delay)
                continue
            return _with(response, attempt, key)

    def _late(self, own: float, deadline: float) -> str:
        if deadline < own:
            return "the verification deadline passed before an answer came"
        return f"no complete answer within {self.settings.total_timeout:g} s"

    def _once(self, session: requests.Session, gate: _HostGate, request: Request, deadline: float,
              sink: IO[bytes] | None = None) -> Response:
        settings = self.settings
        with gate.slots:
            with gate.lock:
                now = time.monotonic()
                wait = gate.next_start - now
                interval = 1.0 / settings.rate_per_host if settings.rate_per_host > 0 else 0.0
                gate.next_start = max(now, gate.next_start) + interval
                gate.in_flight += 1
                gate.requests += 1
                gate.peak = max(gate.peak, gate.in_flight)
            try:
                if wait > 0:
                    time.sleep(wait)
                headers = {"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"}
                headers.update(dict(request.headers))
                with session.request(
                    request.method,
                    request.url,
                    headers=headers,
                    data=request.body,
                    auth=request.basic_auth,
                    timeout=(max(0.01, min(settings.connect_timeout, deadline - time.monotonic())),
                             max(0.01, min(settings.read_timeout, deadline - time.monotonic()))),
                    allow_redirects=False,
                    stream=True,
                    verify=True,
                ) as raw:
                    limit = request.max_body or settings.max_body
                    if sink is not None and 200 <= raw.status_code < 300:
                        _copy_body(raw, sink, limit)
                        return Response(status=raw.status_code, headers=_lower(raw.headers), body=b"")
                    body = _read_body(raw, limit)
                    return Response(status=raw.status_code, headers=_lower(raw.headers), body=body)
            finally:
                with gate.lock:
                    gate.in_flight -= 1


def _read_body(raw: requests.Response, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in raw.iter_content(chunk_size=65536):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(chunks)[:limit]


def _copy_body(raw: requests.Response, sink: IO[bytes], limit: int) -> None:
    size = 0
    for chunk in raw.iter_content(chunk_size=1 << 20):
        size += len(chunk)
        if size > limit:
            raise HttpError(f"answer larger than {limit:,} bytes")
        sink.write(chunk)


def _lower(headers: CaseInsensitiveDict[str]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


def _with(response: Response, attempts: int, host: str) -> Response:
    return Response(status=response.status, headers=response.headers, body=response.body, attempts=attempts,
                    host=host)


def _kind(exc: Exception) -> str:
    text = str(exc).lower()
    if "reset" in text:
        return "connection reset"
    if "refused" in text:
        return "connection refused"
    if "timed out" in text or isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connect timeout"
    if "aborted" in text or "remote end closed" in text or "disconnected" in text:
        return "connection closed by the server"
    return type(exc).__name__


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
