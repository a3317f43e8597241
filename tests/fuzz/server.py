"""The fuzz worker's local server: answers any request on 127.0.0.1 and ::1 plausibly, at once.

It speaks just enough S3, GCS, Azure and WebDAV for a request to get a well-formed answer (a
1 KiB object honouring ``Range``, empty listings, an ETag on uploads), or the answer profile the
case asks for. It never waits: a request that is not HTTP/1 is dropped after a second.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OBJECT = bytes(range(256)) * 4
ETAG = '"0123456789abcdef"'
LAST_MODIFIED = formatdate(0, usegmt=True)

#: The answer profiles a case can ask for (`Case.respond`).
PROFILES = (
    "plausible",
    "not_found",
    "precondition",
    "not_modified",
    "forbidden",
    "garbage",
    "empty",
    "server_error",
    "throttled",
)
_STATUS = {
    "not_found": 404,
    "precondition": 412,
    "not_modified": 304,
    "forbidden": 403,
    "server_error": 503,
    "throttled": 429,
}


class Answers:
    """The profile the next requests are answered with (set by the worker before each case)."""

    profile = "plausible"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 1.0  # TLS or HTTP/2 from the client: give up rather than wait for a request line

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(min(length, 1 << 24))
        profile = Answers.profile
        if profile in _STATUS:
            self._send(_STATUS[profile], b"<Error><Code>Fuzz</Code></Error>", "application/xml")
        elif profile == "garbage":
            self._send(
                200,
                b"\x00\xff not what you asked for",
                "application/xml",
                {"Last-Modified": "yesterday", "ETag": "no quotes", "Content-Range": "bytes x-y/z"},
                defaults=False,
            )
        elif profile == "empty":
            self._send(200, b"", None, defaults=False)
        else:
            self._plausible()

    def _plausible(self) -> None:
        method, path = self.command, self.path
        query = path.partition("?")[2]
        if method in ("PUT", "POST", "DELETE", "MKCOL", "COPY", "MOVE"):
            status = 204 if method == "DELETE" else 200
            if method == "POST" and "delete" in query:
                self._send(200, b"<DeleteResult/>", "application/xml")
            elif method == "POST" and "uploads" in query:
                body = b"<InitiateMultipartUploadResult><UploadId>u</UploadId>"
                self._send(200, body + b"</InitiateMultipartUploadResult>", "application/xml")
            else:
                self._send(status, b"", None)
        elif method == "PROPFIND":
            body = b'<?xml version="1.0"?><D:multistatus xmlns:D="DAV:"></D:multistatus>'
            self._send(207, body, "application/xml")
        elif "list-type=2" in query:
            body = b"<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>"
            self._send(200, body, "application/xml")
        elif "comp=list" in query or "restype=container" in query:
            body = b"<EnumerationResults><Blobs></Blobs><NextMarker/></EnumerationResults>"
            self._send(200, body, "application/xml")
        elif "/o?" in path or path.endswith("/o"):
            self._send(200, b'{"kind": "storage#objects"}', "application/json")
        else:
            self._object()

    def _object(self) -> None:
        first, last = 0, len(OBJECT) - 1
        status = 200
        extra = {}
        wanted = self.headers.get("Range", "")
        if wanted.startswith("bytes="):
            start, _, end = wanted[6:].partition("-")
            try:
                if start == "":
                    first = max(0, len(OBJECT) - int(end))
                else:
                    first = int(start)
                    last = min(last, int(end)) if end else last
            except ValueError:
                first, last = 0, len(OBJECT) - 1
            if first > last or first >= len(OBJECT):
                self._send(416, b"", None, {"Content-Range": f"bytes */{len(OBJECT)}"})
                return
            status = 206
            extra["Content-Range"] = f"bytes {first}-{last}/{len(OBJECT)}"
        self._send(status, OBJECT[first : last + 1], "application/octet-stream", extra)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str | None,
        headers: dict[str, str] | None = None,
        defaults: bool = True,
    ) -> None:
        self.send_response(status)
        merged = {"ETag": ETAG, "Last-Modified": LAST_MODIFIED} if defaults else {}
        merged.update(headers or {})
        if content_type:
            merged["Content-Type"] = content_type
        merged["Content-Length"] = str(len(body))
        for name, value in merged.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(body)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _answer
    do_PROPFIND = do_MKCOL = do_COPY = do_MOVE = do_OPTIONS = do_PATCH = _answer

    def do_CONNECT(self) -> None:
        self._send(405, b"", None)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks its address up in DNS (socket.getfqdn): a query off the
        # machine for ::1 wherever /etc/hosts does not name it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)


class _Server6(_Server):
    address_family = socket.AF_INET6


def serve(port: int) -> None:
    """Serves on 127.0.0.1:`port` (and [::1]:`port` when IPv6 is there) from daemon threads."""
    servers: list[ThreadingHTTPServer] = [_Server(("127.0.0.1", port), _Handler)]
    try:
        servers.append(_Server6(("::1", port), _Handler))
    except OSError:
        pass
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
