"""A pytest plugin that keeps the test run on this machine: a Python socket may connect, or send a
datagram, only to 127.0.0.0/8 or ::1; anything else is refused before the real call and fails the
test that tried it, naming the address.

``tests/conftest.py`` loads it for the whole run (``-p tests.network_guard`` loads it alone).
Sockets opened by the Rust core or by subprocesses do not go through Python's socket class, so
they are not seen here.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import threading
from collections.abc import Callable, Generator
from typing import Any

import pytest

__all__ = ["OffMachineConnectionError", "install", "refusal", "take_refused", "uninstall"]


class OffMachineConnectionError(PermissionError):
    """Raised instead of a connect or send to an address outside loopback.

    A ``PermissionError``, as from a firewall that forbids the connection, so callers that handle
    a failed connection handle this one too; the test fails all the same.
    """


def _is_loopback(ip: str) -> bool:
    address = ipaddress.ip_address(ip.split("%", 1)[0])  # without an IPv6 zone ("fe80::1%eth0")
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def refusal(family: int, address: Any) -> str | None:
    """What is outside loopback in `address` for a socket of `family` (a description to report),
    or None when the connection stays on this machine.

    A host name is resolved here and refused if any of its addresses is outside loopback, since the
    real connect may pick any of them. Addresses the real call rejects anyway (wrong shape, a name
    that does not resolve) pass through to it, which raises as usual without connecting.
    """
    if family not in (socket.AF_INET, socket.AF_INET6):
        return None  # only the IP families reach other machines (AF_UNIX, AF_NETLINK are local)
    try:
        host, port = address[0], address[1]
        if isinstance(host, bytes | bytearray):
            host = bytes(host).decode("ascii")
        if not isinstance(host, str):
            return None
    except (TypeError, IndexError, UnicodeDecodeError):
        return None
    try:
        return None if _is_loopback(host) else f"{host} port {port}"
    except ValueError:
        pass  # a host name
    try:
        resolved = {info[4][0] for info in socket.getaddrinfo(host, port, family)}
    except (OSError, UnicodeError):
        return None
    outside = sorted(ip for ip in resolved if isinstance(ip, str) and not _is_loopback(ip))
    return f"{host} ({', '.join(outside)}) port {port}" if outside else None


# --------------------------------------------------------------------------------------------------
# The wrapped socket methods

_refused: list[str] = []
_refused_lock = threading.Lock()
_originals: dict[str, Callable[..., Any]] = {}


def _refuse(what: str, outside: str) -> OffMachineConnectionError:
    description = f"{what} to {outside} (thread {threading.current_thread().name})"
    with _refused_lock:
        _refused.append(description)
    return OffMachineConnectionError(
        errno.EACCES, f"the test network guard refused a {description}: tests stay on loopback"
    )


def _connect(self: socket.socket, address: Any) -> None:
    outside = refusal(self.family, address)
    if outside is not None:
        raise _refuse("connect", outside)
    _originals["connect"](self, address)


def _connect_ex(self: socket.socket, address: Any) -> int:
    outside = refusal(self.family, address)
    if outside is not None:
        # connect_ex reports a failed connection as an error number, not an exception.
        return _refuse("connect", outside).errno or errno.EACCES
    return int(_originals["connect_ex"](self, address))


def _sendto(self: socket.socket, data: Any, *args: Any) -> int:
    # sendto(data, address) or sendto(data, flags, address)
    outside = refusal(self.family, args[-1]) if args else None
    if outside is not None:
        raise _refuse("datagram", outside)
    return int(_originals["sendto"](self, data, *args))


_GUARDS: dict[str, Callable[..., Any]] = {
    "connect": _connect,
    "connect_ex": _connect_ex,
    "sendto": _sendto,
}


def install() -> None:
    """Wraps the socket methods; idempotent.

    ``socket.create_connection``, ``ssl.SSLSocket`` and asyncio's ``sock_connect`` (so every
    asyncio and aiohttp connection) all end in ``socket.socket.connect``, so wrapping the socket
    class covers them.
    """
    if _originals:
        return
    for name, guard in _GUARDS.items():
        _originals[name] = getattr(socket.socket, name)
        setattr(socket.socket, name, guard)


def uninstall() -> None:
    """Restores the socket methods."""
    for name, original in _originals.items():
        setattr(socket.socket, name, original)
    _originals.clear()


def take_refused() -> list[str]:
    """The refusals since the last call, oldest first."""
    with _refused_lock:
        taken = list(_refused)
        _refused.clear()
    return taken


def _message(refused: list[str]) -> str:
    lines = "\n".join(f"  - {description}" for description in refused)
    return (
        "the test tried to reach beyond this machine (only 127.0.0.0/8 and ::1 are allowed; "
        f"give the code under test explicit credentials or a local endpoint):\n{lines}"
    )


# --------------------------------------------------------------------------------------------------
# pytest hooks


def pytest_configure(config: pytest.Config) -> None:
    install()


def pytest_unconfigure(config: pytest.Config) -> None:
    uninstall()


# tryfirst: the outermost wrapper, so the failure stands after the xfail handling has run.
@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Fails the setup, call or teardown in which a connection was refused, even when the code
    under test caught the error or the test is expected to fail."""
    report = yield
    refused = take_refused()
    if refused:
        message = _message(refused)
        # The test's own failure (an expected one included) stays in the report, below.
        if report.longrepr is not None and (report.failed or hasattr(report, "wasxfail")):
            message += f"\n\n{report.longrepr}"
        if hasattr(report, "wasxfail"):
            del report.wasxfail
        report.outcome = "failed"
        report.longrepr = message
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fails the run for refusals outside any test (collection, session teardown)."""
    refused = take_refused()
    if refused:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(_message(refused), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
