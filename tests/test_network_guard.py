"""The test network guard (``tests/network_guard.py``): a Python socket of the test run that would
connect or send beyond loopback is refused before the real call, and the test that tried it fails
naming the address, even when the code under test swallows the error. And the instance-metadata
endpoints of the run (set in ``tests/conftest.py``) point at loopback.

Every refusal below is taken back with ``take_refused()`` by the test that provokes it, so only an
unexpected one would fail these tests. The addresses outside loopback (10.255.255.1, TEST-NET and
documentation prefixes) would not answer anyway; with the guard in place they are never tried.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import subprocess
import sys
import textwrap
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.network_guard import OffMachineConnectionError, refusal, take_refused

REPO_ROOT = Path(__file__).resolve().parents[1]
OUTSIDE = ("10.255.255.1", 9)
UNBOUND = ("0.0.0.0", 0)


@pytest.fixture
def listener() -> Iterator[tuple[str, int]]:
    """A TCP socket listening on 127.0.0.1 (connections queue in its backlog, never accepted)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()


def _ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


# --------------------------------------------------------------------------------------------------
# Which addresses stay on the machine


@pytest.mark.parametrize(
    ("family", "address"),
    [
        (socket.AF_INET, ("127.0.0.1", 80)),
        (socket.AF_INET, ("127.255.0.9", 80)),
        (socket.AF_INET, ("localhost", 80)),
        (socket.AF_INET6, ("::1", 80, 0, 0)),
        (socket.AF_INET6, ("::ffff:127.0.0.1", 80, 0, 0)),
        (socket.AF_UNIX, "/tmp/some.sock"),
    ],
)
def test_loopback_and_local_sockets_are_allowed(family: int, address: Any) -> None:
    assert refusal(family, address) is None


@pytest.mark.parametrize(
    ("family", "address", "named"),
    [
        (socket.AF_INET, OUTSIDE, "10.255.255.1 port 9"),
        (socket.AF_INET, ("169.254.169.254", 80), "169.254.169.254 port 80"),
        (socket.AF_INET, ("0.0.0.0", 80), "0.0.0.0 port 80"),
        (socket.AF_INET, (b"192.0.2.1", 443), "192.0.2.1 port 443"),
        (socket.AF_INET6, ("2001:db8::1", 80, 0, 0), "2001:db8::1 port 80"),
        (socket.AF_INET6, ("::ffff:10.0.0.1", 80, 0, 0), "::ffff:10.0.0.1 port 80"),
    ],
)
def test_addresses_outside_loopback_are_refused(family: int, address: Any, named: str) -> None:
    assert refusal(family, address) == named


def test_a_name_resolving_outside_loopback_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def resolve(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        assert host == "far.example"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.255.255.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    assert refusal(socket.AF_INET, ("far.example", 443)) == "far.example (10.255.255.1) port 443"


# --------------------------------------------------------------------------------------------------
# Refused before the real call


def _thread() -> str:
    return threading.current_thread().name


def test_connect_outside_is_refused_before_the_socket_is_used() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        with pytest.raises(OffMachineConnectionError, match="10.255.255.1 port 9"):
            sock.connect(OUTSIDE)
        # A real connect attempt binds an ephemeral local port before it sends anything.
        assert sock.getsockname() == UNBOUND
    assert take_refused() == [f"connect to 10.255.255.1 port 9 (thread {_thread()})"]


def test_refusal_is_a_permission_error() -> None:
    with pytest.raises(PermissionError) as caught:
        socket.create_connection(OUTSIDE, timeout=2)
    assert caught.value.errno == errno.EACCES
    assert len(take_refused()) == 1


def test_connect_ex_outside_returns_an_error_number() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        assert sock.connect_ex(OUTSIDE) == errno.EACCES
        assert sock.getsockname() == UNBOUND
    assert len(take_refused()) == 1


def test_datagram_outside_is_refused() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        with pytest.raises(OffMachineConnectionError, match="datagram to 10.255.255.1 port 9"):
            sock.sendto(b"x", OUTSIDE)
        with pytest.raises(OffMachineConnectionError):
            sock.sendto(b"x", 0, OUTSIDE)
        assert sock.getsockname() == UNBOUND
    assert len(take_refused()) == 2


def test_asyncio_connection_outside_is_refused() -> None:
    async def main() -> None:
        await asyncio.wait_for(asyncio.open_connection(*OUTSIDE), timeout=2)

    with pytest.raises(OffMachineConnectionError):
        asyncio.run(main())
    assert len(take_refused()) == 1


def test_refusal_in_another_thread_is_recorded() -> None:
    errors: list[BaseException] = []

    def connect() -> None:
        try:
            socket.create_connection(OUTSIDE, timeout=2)
        except OSError as error:
            errors.append(error)

    thread = threading.Thread(target=connect, name="far-away")
    thread.start()
    thread.join()
    assert [type(error) for error in errors] == [OffMachineConnectionError]
    assert take_refused() == ["connect to 10.255.255.1 port 9 (thread far-away)"]


# --------------------------------------------------------------------------------------------------
# Loopback connections work as usual


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_connections_work(listener: tuple[str, int], host: str) -> None:
    with socket.create_connection((host, listener[1]), timeout=5) as sock:
        assert sock.getpeername()[0] in ("127.0.0.1", "::1")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        assert sock.connect_ex(listener) == 0


def test_loopback_asyncio_connection_works(listener: tuple[str, int]) -> None:
    async def main() -> None:
        _, writer = await asyncio.open_connection(*listener)
        writer.close()
        await writer.wait_closed()

    asyncio.run(main())


@pytest.mark.skipif(not _ipv6_available(), reason="no IPv6 loopback on this machine")
def test_ipv6_loopback_connection_works() -> None:
    with socket.create_server(("::1", 0), family=socket.AF_INET6) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("::1", port), timeout=5):
            pass


def test_unix_sockets_work(tmp_path: Path) -> None:
    path = str(tmp_path / "s")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(path)


# --------------------------------------------------------------------------------------------------
# The verdict on a test: run a test file of its own under the guard, in a pytest of its own


INNER_TESTS = """
import socket

import pytest

OUTSIDE = ("10.255.255.1", 9)


def _try_outside():
    try:
        socket.create_connection(OUTSIDE, timeout=2)
    except OSError:
        pass  # the code under test swallows the error


def test_swallows_the_refusal():
    _try_outside()


@pytest.mark.xfail(reason="expected to fail for another reason")
def test_expected_to_fail():
    _try_outside()
    raise AssertionError("the expected failure")


@pytest.fixture
def reaches_outside():
    _try_outside()
    yield


def test_fixture_reaches_outside(reaches_outside):
    pass


def test_stays_on_loopback():
    with socket.create_server(("127.0.0.1", 0)) as server:
        socket.create_connection(server.getsockname(), timeout=5).close()
"""


def test_a_test_that_reaches_outside_fails_naming_the_address(tmp_path: Path) -> None:
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(INNER_TESTS))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), *sys.path]))
    plugins = ["-p", "tests.network_guard", "-p", "no:cacheprovider", "-p", "no:asyncio"]
    process = subprocess.run(
        [sys.executable, "-m", "pytest", *plugins, "-q", "-rfE", "--rootdir", str(tmp_path)]
        + [str(tmp_path / "test_inner.py")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    output = process.stdout + process.stderr
    assert process.returncode == pytest.ExitCode.TESTS_FAILED, output
    summary = [line for line in output.splitlines() if line.startswith(("FAILED", "ERROR"))]
    assert sorted(" ".join(line.split(" ")[:2]) for line in summary) == [
        "ERROR test_inner.py::test_fixture_reaches_outside",
        "FAILED test_inner.py::test_expected_to_fail",
        "FAILED test_inner.py::test_swallows_the_refusal",
    ], output
    assert "connect to 10.255.255.1 port 9" in output
    assert "the expected failure" in output  # the test's own failure is still shown
    assert "1 passed" in output, output


# --------------------------------------------------------------------------------------------------
# The instance-metadata fallbacks stay on loopback


@pytest.mark.parametrize(
    "name", ["AWS_METADATA_ENDPOINT", "AZURE_MSI_ENDPOINT", "GCE_METADATA_HOST", "GCE_METADATA_IP"]
)
def test_metadata_endpoints_point_at_loopback(name: str) -> None:
    value = os.environ[name]
    url = urllib.parse.urlsplit(value if "://" in value else f"http://{value}")
    assert url.hostname is not None and url.port is not None, value
    assert refusal(socket.AF_INET, (url.hostname, url.port)) is None, value


def test_botocore_instance_metadata_is_off() -> None:
    assert os.environ["AWS_EC2_METADATA_DISABLED"] == "true"
