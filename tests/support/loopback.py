"""A quiet HTTP server on 127.0.0.1 for tests that play a remote service (a forge, a registry)."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def serve_get(handle: Callable[[BaseHTTPRequestHandler], None],
              tls: ssl.SSLContext | None = None) -> ThreadingHTTPServer:
    """A started server that hands every GET to `handle`; shut it down with `server.shutdown()`."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            handle(self)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server
