"""A real HTTPS server on 127.0.0.1 that plays the providers' side of verification.

Certificates come from a throwaway CA (`trustme`); clients reach the server only through nhiguard's explicit
endpoint override (`RULE=https://127.0.0.1:PORT/RULE`), so the first path segment says which rule is calling.
Each segment has a scenario: a recorded reply (a rule's `verify.cases`), a failure (timeout, reset, 500, 429,
malformed JSON), or a contract handler that checks the request the way the provider would (GitHub's token header
and X-OAuth-Scopes, Slack's auth.test, AWS SigV4, a GCP signed JWT, Azure SharedKey).

The server counts requests in flight and open connections, so tests can assert nhiguard's per-host bounds.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import ssl
import struct
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0


@dataclass(frozen=True)
class Reset:
    """Close the connection with a TCP RST right after reading the request."""


@dataclass(frozen=True)
class Hang:
    """Answer only after `seconds` (longer than the client's read timeout)."""

    seconds: float = 2.0


@dataclass(frozen=True)
class Drip:
    """Answer one byte every `interval` seconds, each well within any read timeout, for up to `seconds`: in the
    status line and headers (`headers=True`) or, after whole headers, in a long body."""

    interval: float = 0.5
    seconds: float = 60.0
    headers: bool = False


@dataclass(frozen=True)
class Seen:
    key: str
    method: str
    path: str  # without the /<key> prefix, with the query
    headers: Mapping[str, str]
    body: bytes

    def text(self) -> str:
        """Everything a secret could travel in: path and query (decoded), header values, basic auth, body."""
        pieces = [urllib.parse.unquote(self.path), self.body.decode("utf-8", "replace")]
        pieces.append(urllib.parse.unquote_plus(self.body.decode("utf-8", "replace")))
        for name, value in self.headers.items():
            pieces.append(value)
            if name.lower() == "authorization" and value.lower().startswith("basic "):
                with contextlib.suppress(ValueError):
                    pieces.append(base64.b64decode(value[6:]).decode("utf-8", "replace"))
        return "\n".join(pieces)


Handler = Callable[[Seen], "Reply | Reset | Hang"]
Scenario = Reply | Reset | Hang | Drip | Handler


@dataclass
class Contract:
    """What a request must look like; a request that breaks it gets a 418 (which no rule maps to live)."""

    method: str | None = None
    path: str | None = None
    must_contain: tuple[str, ...] = ()

    def problems(self, seen: Seen) -> list[str]:
        out = []
        if self.method and seen.method != self.method:
            out.append(f"method {seen.method} != {self.method}")
        if self.path is not None and seen.path != self.path:
            out.append(f"path {seen.path!r} != {self.path!r}")
        text = seen.text()
        out.extend(f"request lacks {needle[:6]}…" for needle in self.must_contain if needle not in text)
        return out


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, owner: ProviderServer, context: ssl.SSLContext) -> None:
        self.owner = owner
        self.tls = context
        super().__init__(("127.0.0.1", 0), _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        owner = self.owner
        with owner.lock:
            owner.connections += 1
            owner.peak_connections = max(owner.peak_connections, owner.connections)
            owner.total_connections += 1
        try:
            try:
                request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms delayed-ACK stalls
                tls = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
            owner.handshakes += 1
            try:
                self.RequestHandlerClass(tls, client_address, self)
            finally:
                with contextlib.suppress(OSError):
                    tls.close()
        finally:
            with owner.lock:
                owner.connections -= 1


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _serve(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        raw_path = self.path
        key, _, rest = raw_path.lstrip("/").partition("/")
        seen = Seen(key=key, method=self.command, path="/" + rest, headers=dict(self.headers.items()), body=body)
        with owner.lock:
            owner.seen.append(seen)
            owner.active += 1
            owner.peak_active = max(owner.peak_active, owner.active)
        try:
            reply = owner.reply_for(seen)
            if isinstance(reply, Reset):
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()
                return
            if isinstance(reply, Drip):
                self.close_connection = True
                head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
                if not reply.headers:
                    self.wfile.write(head)
                    self.wfile.flush()
                drip = (head if reply.headers else b"") + b" " * 100_000
                stop = time.monotonic() + reply.seconds
                for i in range(len(drip)):
                    if time.monotonic() > stop:
                        break
                    self.wfile.write(drip[i : i + 1])
                    self.wfile.flush()
                    time.sleep(reply.interval)
                return
            if isinstance(reply, Hang):
                time.sleep(reply.seconds)
                reply = Reply(200, {"Content-Type": "application/json"}, b"{}")
            if reply.delay:
                time.sleep(reply.delay)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
        finally:
            with owner.lock:
                owner.active -= 1

    do_GET = do_POST = do_HEAD = do_PUT = do_PATCH = do_DELETE = _serve


class ProviderServer:
    def __init__(self, tmp: Path, *, latency: float = 0.0) -> None:
        self.ca = trustme.CA()
        cert = self.ca.issue_cert("127.0.0.1", "localhost")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        tmp.mkdir(parents=True, exist_ok=True)
        self.ca_path = tmp / "test-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_path))
        self.latency = latency
        self.lock = threading.Lock()
        self.scenarios: dict[str, Scenario] = {}
        self.contracts: dict[str, Contract] = {}
        self.seen: list[Seen] = []
        self.active = self.peak_active = 0
        self.connections = self.peak_connections = self.total_connections = 0
        self.handshakes = 0
        self._server = _Server(self, context)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def endpoint(self, key: str) -> str:
        return f"{self.url}/{key}"

    def reply_for(self, seen: Seen) -> Reply | Reset | Hang | Drip:
        scenario = self.scenarios.get(seen.key)
        if scenario is None:
            return Reply(404, {"Content-Type": "application/json"}, b'{"message": "no scenario"}')
        contract = self.contracts.get(seen.key)
        if contract is not None:
            problems = contract.problems(seen)
            if problems:
                return Reply(418, {"Content-Type": "text/plain"}, "; ".join(problems).encode())
        result = scenario(seen) if callable(scenario) else scenario
        if isinstance(result, Reply) and self.latency and not result.delay:
            return Reply(result.status, result.headers, result.body, self.latency)
        return result

    def requests_for(self, key: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.key == key]

    def reset_counters(self) -> None:
        with self.lock:
            self.seen.clear()
            self.peak_active = self.active
            self.peak_connections = self.connections
            self.total_connections = 0

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def json_reply(status: int, document: Any, headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(document).encode())
