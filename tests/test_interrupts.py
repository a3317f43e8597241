"""Ctrl-C stops a blocked sync call; cancelling an asyncio call stops the request in Rust."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

import obstore as obs
from obstore.store import HTTPStore

from .conftest import sigint_as_in_a_terminal
from .local_http import LocalHTTPServer


class SlowServer:
    """Answers GET (ranged or not) with a body that trickles out one byte per 50 ms."""

    def __init__(self) -> None:
        self.disconnected = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.headers.get("Range"):  # any range: the whole body, as a 206
                    self.send_response(206)
                    self.send_header("Content-Range", "bytes 0-999/1000")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", "1000")
                self.send_header("Last-Modified", "Wed, 25 Nov 2026 00:00:00 GMT")
                self.send_header("ETag", '"x"')
                self.end_headers()
                try:
                    for _ in range(1000):  # bounded: 50 s at most
                        self.wfile.write(b"x")
                        self.wfile.flush()
                        time.sleep(0.05)
                except (BrokenPipeError, ConnectionResetError):
                    outer.disconnected.set()

        self._server = LocalHTTPServer(Handler)
        self.url = self._server.url

    def close(self) -> None:
        self._server.close()


@pytest.fixture
def slow_server() -> Any:
    server = SlowServer()
    yield server
    server.close()


def test_cancelled_async_call_closes_the_request(slow_server: SlowServer) -> None:
    store = HTTPStore(slow_server.url, client_options={"allow_http": True})

    async def read_whole_body() -> bytes:
        result = await obs.get_async(store, "slow")
        return bytes(await result.bytes_async())

    async def main() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(read_whole_body(), timeout=0.5)

    asyncio.run(main())
    # The aborted Rust task drops the connection, which the server notices on its next write.
    assert slow_server.disconnected.wait(timeout=10)


@pytest.mark.parametrize("cancel_after", [0.001, 0.5], ids=["at-once", "mid-body"])
def test_cancelled_async_ranged_read_closes_the_request(
    slow_server: SlowServer, cancel_after: float
) -> None:
    store = HTTPStore(slow_server.url, client_options={"allow_http": True})

    async def main() -> None:
        with pytest.raises(TimeoutError):
            read = obs.get_range_async(store, "slow", start=0, length=1000)
            await asyncio.wait_for(read, timeout=cancel_after)

    asyncio.run(main())
    assert slow_server.disconnected.wait(timeout=10)


CHILD = textwrap.dedent(
    """
    import sys
    import obstore as obs
    from obstore.store import HTTPStore
    store = HTTPStore(sys.argv[1], client_options={"allow_http": True})
    print("ready", flush=True)
    if sys.argv[2] == "get":  # the body is read after the call, on the runtime
        obs.get(store, "slow").bytes()
    else:  # get_range reads the whole body inside the call, on the calling thread (a lane)
        obs.get_range(store, "slow", start=0, length=1000)
    print("finished without interruption", flush=True)
    """
)


@pytest.mark.parametrize("call", ["get", "get_range"])
def test_ctrl_c_interrupts_a_blocked_sync_call(slow_server: SlowServer, call: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, slow_server.url, call],
        preexec_fn=sigint_as_in_a_terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.5)  # let the call start and block on the trickling body
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=20)  # a hang guard, not a timing assertion
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert "KeyboardInterrupt" in stderr
    assert child.returncode != 0
