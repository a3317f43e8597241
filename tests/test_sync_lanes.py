"""Sync network calls that finish their requests within the call (head, get_range, put, ...) run
on the calling thread with connections of their own ("lanes"). These tests check what that must
not break: a connection the server closed while idle, and connections released with their store.
Correctness under many threads is covered on every backend by test_concurrency_runtime.py."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

import obstore as obs
from obstore.store import HTTPStore, RetryConfig

from .local_http import LocalHTTPServer

BODY = bytes(range(256)) * 4
NO_RETRIES: RetryConfig = {"max_retries": 0, "retry_timeout": timedelta(seconds=1)}


class KeepAliveServer:
    """An HTTP/1.1 server that counts connections. With `close_after_response`, it closes each
    connection right after answering, without announcing it (no `Connection: close`): the
    client finds out only from the socket, as with a server's idle keep-alive timeout."""

    def __init__(self, close_after_response: bool) -> None:
        self.lock = threading.Lock()
        self.opened = 0
        self.open_now = 0
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 1 << 16  # one write per response (flushed after each request)

            def log_message(self, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                with outer.lock:
                    outer.opened += 1
                    outer.open_now += 1

            def finish(self) -> None:
                with outer.lock:
                    outer.open_now -= 1
                super().finish()

            def _headers(self, status: int, length: int, content_range: str = "") -> None:
                with outer.lock:
                    outer.requests += 1
                self.send_response(status)
                if content_range:
                    self.send_header("Content-Range", content_range)
                self.send_header("Content-Length", str(length))
                self.send_header("Last-Modified", "Wed, 25 Nov 2026 00:00:00 GMT")
                self.send_header("ETag", '"v1"')
                self.end_headers()
                self.close_connection = close_after_response

            def do_HEAD(self) -> None:
                self._headers(200, len(BODY))

            def do_GET(self) -> None:
                spec = self.headers.get("Range", "")
                if spec.startswith("bytes="):
                    first, last = (int(x) for x in spec[len("bytes=") :].split("-"))
                    part = BODY[first : last + 1]
                    self._headers(206, len(part), f"bytes {first}-{last}/{len(BODY)}")
                    self.wfile.write(part)
                else:
                    self._headers(200, len(BODY))
                    self.wfile.write(BODY)

        self._server = LocalHTTPServer(Handler)
        self.url = self._server.url

    def close(self) -> None:
        self._server.close()


@pytest.fixture
def closing_server() -> Iterator[KeepAliveServer]:
    server = KeepAliveServer(close_after_response=True)
    yield server
    server.close()


@pytest.fixture
def keepalive_server() -> Iterator[KeepAliveServer]:
    server = KeepAliveServer(close_after_response=False)
    yield server
    server.close()


def test_connection_closed_by_server_between_calls(closing_server: KeepAliveServer) -> None:
    # The server closes each connection after answering; the pause lets the close reach the
    # client's socket before the next call, as an idle timeout would. (A close racing a request
    # that is being sent is another matter: any client needs a retry for that.) Without
    # retries, a request sent on the closed connection would fail.
    store = HTTPStore(
        closing_server.url, client_options={"allow_http": True}, retry_config=NO_RETRIES
    )
    pause = threading.Event()
    for i in range(20):
        assert obs.head(store, "file")["size"] == len(BODY)
        pause.wait(0.02)
        assert obs.get_range(store, "file", start=i, length=100) == BODY[i : i + 100]
        pause.wait(0.02)
    assert closing_server.requests == 40
    assert closing_server.opened == 40


def test_sequential_calls_reuse_one_connection(keepalive_server: KeepAliveServer) -> None:
    store = HTTPStore(keepalive_server.url, client_options={"allow_http": True})
    for i in range(50):
        assert obs.get_range(store, "file", start=i, length=10) == BODY[i : i + 10]
    assert keepalive_server.requests == 50
    assert keepalive_server.opened == 1


def test_connections_released_with_their_store(keepalive_server: KeepAliveServer) -> None:
    for i in range(30):
        store = HTTPStore(keepalive_server.url, client_options={"allow_http": True})
        assert obs.get_range(store, "file", start=i, length=10) == BODY[i : i + 10]
        del store
        gc.collect()
    assert keepalive_server.opened == 30
    # Connections of dropped stores are closed once the calling thread's lane is next used by
    # another store; a few may linger until then, never one per store.
    deadline_checks = 100
    while keepalive_server.open_now > 3 and deadline_checks:
        threading.Event().wait(0.05)
        deadline_checks -= 1
    assert keepalive_server.open_now <= 3


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Runs `code` in a fresh interpreter with environment `env`."""
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OBSTORE_SYNC_LANES", "many"),
        ("OBSTORE_SYNC_LANES", "-1"),
        ("OBSTORE_WORKER_THREADS", "0"),
        ("OBSTORE_WORKER_THREADS", "2.5"),
    ],
)
def test_bad_tuning_variable_fails_the_import(name: str, value: str) -> None:
    result = run_python("import obstore", {**os.environ, name: value})
    assert result.returncode != 0
    assert "ValueError" in result.stderr
    assert f"{name} must be a whole number" in result.stderr
    assert f'got "{value}"' in result.stderr


def test_good_tuning_variables_import_and_work() -> None:
    # OBSTORE_SYNC_LANES=0 turns the lanes off: sync calls still work (as runtime tasks).
    code = textwrap.dedent(
        """
        import obstore
        from obstore.store import MemoryStore
        store = MemoryStore()
        obstore.put(store, "a", b"x")
        print(bytes(obstore.get(store, "a").bytes()).decode())
        """
    )
    env = {**os.environ, "OBSTORE_SYNC_LANES": "0", "OBSTORE_WORKER_THREADS": " 1 "}
    result = run_python(code, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "x"


WORKER_COUNT = textwrap.dedent(
    """
    import asyncio, os
    from datetime import timedelta
    import obstore
    from obstore.store import HTTPStore
    store = HTTPStore.from_url(
        "http://127.0.0.1:9/",
        client_options={"allow_http": True},
        retry_config={"max_retries": 0, "retry_timeout": timedelta(seconds=1)},
    )
    async def main():
        await obstore.head_async(store, "x")  # any async network call starts the runtime
    try:
        asyncio.run(main())
    except obstore.exceptions.GenericError:
        pass  # nothing listens on port 9
    import time
    def workers():
        names = []
        for t in os.listdir("/proc/self/task"):
            try:
                names.append(open(f"/proc/self/task/{t}/comm").read().strip())
            except OSError:
                pass  # a thread that ended meanwhile
        return names.count("obstore-worker")
    # A worker names itself once it runs, which may come after the call returns: take the
    # largest count seen over half a second (there are never more workers than configured).
    seen = 0
    for _ in range(10):
        seen = max(seen, workers())
        time.sleep(0.05)
    print(seen)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts threads in /proc")
@pytest.mark.parametrize("setting", [None, "3"])
def test_runtime_worker_threads(setting: str | None) -> None:
    # Default: one fewer than the cores, at least one (the Python thread keeps a core).
    env = {k: v for k, v in os.environ.items() if k != "OBSTORE_WORKER_THREADS"}
    if setting is not None:
        env["OBSTORE_WORKER_THREADS"] = setting
    result = run_python(WORKER_COUNT, env)
    assert result.returncode == 0, result.stderr
    cores = len(os.sched_getaffinity(0))
    expected = int(setting) if setting is not None else max(1, cores - 1)
    assert int(result.stdout) == expected
