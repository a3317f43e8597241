"""The test-server harness: stop() ends every process of a server and frees its endpoint, so a
session leaves no server running behind it."""

from __future__ import annotations

import socket
import urllib.parse
from pathlib import Path

import pytest

from .conftest import BACKENDS, STORE_KINDS

#: The server kinds behind the store kinds selected by OBSTORE_TEST_STORES.
SERVER_KINDS = sorted({BACKENDS[kind].server for kind in STORE_KINDS if BACKENDS[kind].server})


def _host_port(endpoint: str) -> tuple[str, int]:
    url = urllib.parse.urlsplit(endpoint)
    assert url.hostname is not None and url.port is not None, endpoint
    return url.hostname, url.port


@pytest.mark.parametrize("kind", SERVER_KINDS)
def test_stop_ends_the_server_and_frees_its_endpoint(kind: str, tmp_path: Path) -> None:
    import tests.servers

    server = tests.servers.start(kind, tmp_path)
    address = _host_port(server.endpoint)
    try:
        assert server.alive()
        socket.create_connection(address, timeout=5).close()
    finally:
        server.stop()
    assert not server.alive()
    assert all(process.poll() is not None for process in server._procs)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(address, timeout=5).close()
    server.stop()  # a second stop is a no-op
