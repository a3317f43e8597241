"""Local stand-ins for token services and object endpoints, on 127.0.0.1 (stdlib only).

``StandIn(handler)`` runs a threaded HTTP/1.1 server whose every request is recorded (method,
path, query, headers, body) and answered by ``handler(seen) -> Reply``. ``object_reply`` is a
handler for any store's GET/HEAD of one small object, so a test can see which credentials a
store actually sent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

OBJECT_BODY = b"hello from the stand-in"


@dataclass
class Seen:
    """One request as the stand-in received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


Handler = Callable[[Seen], Reply]


class StandIn:
    """A recording HTTP server on 127.0.0.1 (a free port); use as a context manager."""

    def __init__(self, handler: Handler) -> None:
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        outer = self

        class _RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                seen = Seen(
                    self.command,
                    parts.path,
                    parse_qs(parts.query, keep_blank_values=True),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                with outer._lock:
                    outer.seen.append(seen)
                try:
                    reply = handler(seen)
                except Exception as err:  # noqa: BLE001 - reported to the client as a 500
                    reply = Reply(500, {"Content-Type": "text/plain"}, repr(err).encode())
                self.send_response(reply.status)
                headers = {"Content-Length": str(len(reply.body)), **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply.body)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _RequestHandler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def netloc(self) -> str:
        return self.url.removeprefix("http://")

    def requests_to(self, path_prefix: str = "") -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.path.startswith(path_prefix)]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> StandIn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def object_reply(seen: Seen) -> Reply:
    """Serve one small object for any GET/HEAD path (S3, GCS and Azure clients accept it)."""
    if seen.method not in ("GET", "HEAD"):
        return Reply(405)
    return Reply(
        200,
        {
            "Content-Type": "application/octet-stream",
            "ETag": '"0x8D0123456789ABC"',
            "Last-Modified": "Wed, 01 Jan 2025 00:00:00 GMT",
            "Accept-Ranges": "bytes",
            "x-ms-blob-type": "BlockBlob",
            "x-goog-generation": "1",
        },
        OBJECT_BODY,
    )
