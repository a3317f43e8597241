"""The bench's libcurl floor row (sync_get_*): it returns the bytes of the range asked for, on one
kept-alive connection per thread, and fails loudly on anything else, so its figure is that of
real requests."""

from __future__ import annotations

import ctypes.util
import importlib
import re
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from tests.local_http import LocalHTTPServer

WORKERS = Path(__file__).resolve().parent.parent / "bench" / "workers"
OBJECT = bytes(range(256)) * 64  # 16 KiB, every offset distinct
pytestmark = pytest.mark.skipif(
    ctypes.util.find_library("curl") is None, reason="libcurl is not installed"
)


class _Ranges(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as nginx serves the bench
    connections: set[int] = set()
    oversize = False

    def do_GET(self) -> None:
        _Ranges.connections.add(self.client_address[1])
        m = re.fullmatch(r"bytes=(\d+)-(\d+)", self.headers.get("Range", ""))
        if self.path != "/bucket/obj" or m is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start, end = int(m[1]), int(m[2])
        body = OBJECT[start : end + 1] + (b"x" * 100 if _Ranges.oversize else b"")
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{end}/{len(OBJECT)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def get_range() -> Iterator[Any]:
    sys.path.insert(0, str(WORKERS))
    try:
        net = importlib.import_module("net")
    finally:
        sys.path.remove(str(WORKERS))
    _Ranges.connections.clear()
    _Ranges.oversize = False
    server = LocalHTTPServer(_Ranges)
    spec = {"endpoint": server.url.rstrip("/"), "bucket": "bucket", "range_size": 1024}
    try:
        yield net.libcurl_get_range(spec)
    finally:
        server.close()


def test_the_libcurl_floor_returns_each_range_on_one_connection(get_range: Any) -> None:
    for off in (0, 5 * 1024, 3 * 1024, 15 * 1024):
        assert get_range("obj", off) == OBJECT[off : off + 1024]
    assert len(_Ranges.connections) == 1


def test_the_libcurl_floor_fails_on_a_missing_object(get_range: Any) -> None:
    with pytest.raises(RuntimeError, match="HTTP 404"):
        get_range("missing", 0)
    assert get_range("obj", 1024) == OBJECT[1024:2048]  # the handle is still usable


def test_the_libcurl_floor_fails_on_a_body_longer_than_the_range(get_range: Any) -> None:
    _Ranges.oversize = True
    with pytest.raises(RuntimeError, match="CURLcode 23"):  # CURLE_WRITE_ERROR
        get_range("obj", 0)
