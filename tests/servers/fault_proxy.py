"""A fault-injecting HTTP/1.1 reverse proxy on 127.0.0.1 for the fault tests (stdlib asyncio only).

The proxy sits between a store and one test server: point the store's ``endpoint`` at
``proxy.url`` instead of the server's, and every request goes through it unchanged (the Host
header too, so S3 signatures still verify). Each test scripts the faults with rules::

    with FaultProxy(server.endpoint) as proxy:
        proxy.add(Rule(Respond(503), method="GET", times=2))  # the first two GETs get a 503
        proxy.add(Rule(Truncate(1000), method="GET", path=r"/big$"))  # every GET of big: cut
        ...
        proxy.seen  # every request handled: method, target and the fault applied

The first rule that matches a request and has uses left decides its fault; a request no rule
matches passes through. Rules are matched on the method, regular expressions searched in the
path, the query string and header values, and may let the first ``skip`` matches pass.

Faults (``Action``), where "body" counts the bytes after the response head as they are on the
wire (the test servers answer reads with ``Content-Length`` bodies):

=================  ================================================================================
``Respond(s)``     answer status ``s`` (e.g. 503, 429) without asking the server
``Reset(n)``       reset the connection (TCP RST) after ``n`` body bytes; ``n=None``: before any
                   response byte
``Truncate(n)``    send the head unchanged and ``n`` body bytes, then close cleanly (FIN): fewer
                   bytes than ``Content-Length``
``Shorten(n)``     send the head with ``Content-Length: n`` (``Content-Range`` unchanged) and ``n``
                   body bytes: a well-framed message with less than its ``Content-Range``
``Stall(n)``       send nothing (``n=None``), or the head and ``n`` body bytes, then go silent
                   while keeping the connection open
``Drip(c, d)``     send the head, then the body ``c`` bytes at a time, ``d`` seconds apart
``Flip(at)``       invert every bit of the body byte at offset ``at`` of the response (a download
                   corrupted in transit), or of the request with ``request=True`` (an upload),
                   framing unchanged; ``at`` beyond the body: nothing is flipped
=================  ================================================================================

The proxy runs its own event loop in a daemon thread; ``add``, ``clear`` and ``seen`` are safe to
use from the test's thread. Each request is sent upstream over a connection of its own, once its
body has arrived whole (as nginx buffers request bodies by default): a request the client
abandons after sending its body still reaches the server.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import struct
import threading
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

__all__ = [
    "Action",
    "Drip",
    "FaultProxy",
    "Flip",
    "Request",
    "Reset",
    "Respond",
    "Rule",
    "Seen",
    "Shorten",
    "Stall",
    "Truncate",
]

_MAX_HEAD = 64 * 1024
_PIECE = 64 * 1024


@dataclass(frozen=True)
class Respond:
    """Answer with ``status`` (and a small body) instead of forwarding the request."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Reset:
    """Reset the client connection after ``after`` body bytes (``None``: before any response)."""

    after: int | None = None


@dataclass(frozen=True)
class Truncate:
    """Send the head unchanged and ``after`` body bytes, then close the connection cleanly."""

    after: int


@dataclass(frozen=True)
class Shorten:
    """Rewrite ``Content-Length`` to ``after`` and send that many body bytes, then close: the
    message is well framed but holds less than its ``Content-Range`` says."""

    after: int


@dataclass(frozen=True)
class Stall:
    """Go silent, keeping the connection open: before the head (``None``) or after ``after`` body
    bytes."""

    after: int | None = None


@dataclass(frozen=True)
class Drip:
    """Send the body ``chunk`` bytes at a time, ``delay`` seconds apart."""

    chunk: int
    delay: float


@dataclass(frozen=True)
class Flip:
    """Invert the body byte at offset ``at`` of the response, or of the request (``request``);
    the message stays well framed. Offsets count decoded bytes of a chunked body."""

    at: int = 0
    request: bool = False


Action = Respond | Reset | Truncate | Shorten | Stall | Drip | Flip


@dataclass(frozen=True)
class Request:
    """One parsed request head."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]

    @property
    def path(self) -> str:
        return urllib.parse.urlsplit(self.target).path

    @property
    def query(self) -> str:
        return urllib.parse.urlsplit(self.target).query

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


@dataclass
class Rule:
    """Apply ``action`` to matching requests, after letting ``skip`` of them pass, ``times`` times
    (``None``: forever)."""

    action: Action
    method: str | None = None
    path: str | None = None
    query: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int | None = None
    skip: int = 0
    #: requests this rule matched so far (the skipped ones included)
    matched: int = 0
    #: requests this rule applied its action to so far
    applied: int = 0

    def matches(self, request: Request) -> bool:
        if self.method is not None and request.method != self.method:
            return False
        if self.path is not None and not re.search(self.path, request.path):
            return False
        if self.query is not None and not re.search(self.query, request.query):
            return False
        for name, pattern in self.headers.items():
            value = request.header(name)
            if value is None or not re.search(pattern, value):
                return False
        return True


@dataclass(frozen=True)
class Seen:
    """A request the proxy handled and the fault it applied (``None``: passed through)."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    action: Action | None


class _Closed(Exception):
    """The peer closed the connection between requests."""


class FaultProxy:
    """A reverse proxy to ``upstream`` (``http://127.0.0.1:PORT[/...]``) applying scripted faults.

    ``url`` is ``http://127.0.0.1:PORT`` of the proxy, or ``https://`` when ``tls`` (a server-side
    ``ssl`` context) is given: the proxy then takes requests over TLS and still sends them upstream
    over plain http. Use as a context manager or call ``close``.
    """

    def __init__(self, upstream: str, *, tls: ssl.SSLContext | None = None) -> None:
        parts = urllib.parse.urlsplit(upstream)
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"upstream needs a host and a port: {upstream!r}")
        self._upstream = (parts.hostname, parts.port)
        self._tls = tls
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._seen: list[Seen] = []
        self._loop = asyncio.new_event_loop()
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._stopping = asyncio.Event()
        started = threading.Event()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(
            target=self._run, args=(started,), name="fault-proxy", daemon=True
        )
        self._thread.start()
        if not started.wait(timeout=10) or self._server is None:
            raise RuntimeError("the fault proxy did not start")
        port = self._server.sockets[0].getsockname()[1]
        self.url: str = f"{'https' if tls else 'http'}://127.0.0.1:{port}"

    # ------------------------------------------------------------------ control (any thread)
    def add(self, rule: Rule) -> Rule:
        """Append ``rule`` (after the existing ones) and return it, to read its counters later."""
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        """Drop every rule: requests pass through from now on."""
        with self._lock:
            self._rules.clear()

    @property
    def seen(self) -> list[Seen]:
        """Every request handled so far, in arrival order."""
        with self._lock:
            return list(self._seen)

    def close(self) -> None:
        """Stop listening and drop every open connection (stalled ones included). Idempotent."""
        if self._loop.is_closed() or not self._thread.is_alive():
            return
        self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(timeout=10)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ event loop thread
    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve(started))
        finally:
            self._loop.close()

    async def _serve(self, started: threading.Event) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0, ssl=self._tls)
        started.set()
        await self._stopping.wait()
        self._server.close()
        for writer in list(self._writers):
            _abort(writer)  # wakes every connection task: its reads end, its writes fail
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=5)
            for task in pending:
                task.cancel()

    def _choose(self, request: Request) -> Action | None:
        with self._lock:
            action: Action | None = None
            for rule in self._rules:
                if rule.times is not None and rule.applied >= rule.times:
                    continue
                if not rule.matches(request):
                    continue
                rule.matched += 1
                if rule.matched <= rule.skip:
                    continue
                rule.applied += 1
                action = rule.action
                break
            self._seen.append(Seen(request.method, request.target, request.headers, action))
            return action

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        if self._tls is None:
            # drain() waits until the kernel has it all; over TLS (3.11's SSL transport) a zero
            # limit leaves drain() waiting forever once a response body is written.
            writer.transport.set_write_buffer_limits(0)
        try:
            while True:
                try:
                    head, request = await _read_request_head(reader)
                except _Closed:
                    break
                body = [piece async for piece in _read_body(reader, request.headers, False)]
                raw = head + b"".join(body)
                if not await self._answer(reader, writer, raw, request, self._choose(request)):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        except asyncio.CancelledError:
            # only at close; ending normally spares asyncio's stream callback (3.11) a traceback
            pass
        finally:
            self._writers.discard(writer)
            if not writer.is_closing():
                writer.close()
            self._tasks.discard(task)

    async def _answer(
        self,
        client_reader: asyncio.StreamReader,
        client: asyncio.StreamWriter,
        raw: bytes,
        request: Request,
        action: Action | None,
    ) -> bool:
        """Answer one request; return whether the client connection stays usable."""
        if isinstance(action, Respond):
            fields = (("Content-Length", str(len(action.body))), *action.headers)
            lines = [f"HTTP/1.1 {action.status} Fault\r\n"]
            lines += [f"{name}: {value}\r\n" for name, value in fields]
            client.write("".join(lines).encode("latin-1") + b"\r\n" + action.body)
            await client.drain()
            return True
        if isinstance(action, Reset) and action.after is None:
            await _reset(client)
            return False
        if isinstance(action, Stall) and action.after is None:
            await self._stall(client_reader)
            return False

        if isinstance(action, Flip) and action.request:
            raw = _flip_request(raw, request, action.at)
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        try:
            up_writer.write(raw)
            await up_writer.drain()
            status_head, headers, status = await _read_response_head(up_reader)
            no_body = request.method == "HEAD" or status in (204, 304) or 100 <= status < 200
            if isinstance(action, Shorten) and _framing(headers) == "length":
                length = int(_header(headers, "content-length") or "0")
                status_head = _with_content_length(status_head, min(action.after, length))
            client.write(status_head)
            await client.drain()
            sent = 0
            limit = None if action is None or isinstance(action, Drip | Flip) else action.after
            flip = action.at if isinstance(action, Flip) and not action.request else None
            chunked = _framing(headers) == "chunked"
            if not no_body:
                body = _read_body(up_reader, headers, True)
                if flip is not None:
                    body = _flipped(body, flip, chunked)
                async for piece in body:
                    if limit is not None and sent + len(piece) >= limit:
                        piece = piece[: limit - sent]
                    if isinstance(action, Drip):
                        await _drip(client, piece, sent, action)
                    else:
                        client.write(piece)
                        await client.drain()
                    sent += len(piece)
                    if limit is not None and sent >= limit:
                        break
        finally:
            _abort(up_writer)
        if isinstance(action, Reset):
            await _reset(client)
            return False
        if isinstance(action, Truncate | Shorten):
            client.close()
            await client.wait_closed()
            return False
        if isinstance(action, Stall):
            await self._stall(client_reader)
            return False
        if _header(headers, "connection") == "close":
            return False
        return no_body or _framing(headers) != "close"

    async def _stall(self, client_reader: asyncio.StreamReader) -> None:
        """Keep the connection open and silent until the client closes it (the proxy's close
        cancels this)."""
        while await client_reader.read(_PIECE):
            pass


# ---------------------------------------------------------------------- HTTP/1.1 framing
async def _read_head(reader: asyncio.StreamReader) -> bytes:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if not e.partial:
            raise _Closed from e
        raise
    if len(head) > _MAX_HEAD:
        raise ValueError("request head too large")
    return head


def _parse_headers(lines: list[str]) -> tuple[tuple[str, str], ...]:
    headers = []
    for line in lines:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return tuple(headers)


async def _read_request_head(reader: asyncio.StreamReader) -> tuple[bytes, Request]:
    head = await _read_head(reader)
    lines = head.decode("latin-1").split("\r\n")[:-2]
    method, target, _version = lines[0].split(" ", 2)
    return head, Request(method, target, _parse_headers(lines[1:]))


async def _read_response_head(
    reader: asyncio.StreamReader,
) -> tuple[bytes, tuple[tuple[str, str], ...], int]:
    while True:
        head = await _read_head(reader)
        lines = head.decode("latin-1").split("\r\n")[:-2]
        status = int(lines[0].split(" ", 2)[1])
        if status != 100:  # the client never sees an interim 100 Continue it did not ask for
            return head, _parse_headers(lines[1:]), status


def _header(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.lower()
    return None


def _with_content_length(head: bytes, length: int) -> bytes:
    pattern = re.compile(rb"^content-length:[^\r\n]*", re.IGNORECASE | re.MULTILINE)
    return pattern.sub(f"Content-Length: {length}".encode(), head, count=1)


def _framing(headers: tuple[tuple[str, str], ...]) -> str:
    if "chunked" in (_header(headers, "transfer-encoding") or ""):
        return "chunked"
    if _header(headers, "content-length") is not None:
        return "length"
    return "close"


async def _read_body(
    reader: asyncio.StreamReader, headers: tuple[tuple[str, str], ...], response: bool
) -> AsyncIterator[bytes]:
    """The raw body bytes as they are on the wire (chunk framing included)."""
    framing = _framing(headers)
    if framing == "length":
        remaining = int(_header(headers, "content-length") or "0")
        while remaining:
            piece = await reader.read(min(remaining, _PIECE))
            if not piece:
                raise asyncio.IncompleteReadError(b"", remaining)
            remaining -= len(piece)
            yield piece
    elif framing == "chunked":
        while True:
            size_line = await reader.readuntil(b"\r\n")
            yield size_line
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                while True:  # trailers, up to the empty line
                    line = await reader.readuntil(b"\r\n")
                    yield line
                    if line == b"\r\n":
                        return
            remaining = size + 2  # the data and its CRLF
            while remaining:
                piece = await reader.read(min(remaining, _PIECE))
                if not piece:
                    raise asyncio.IncompleteReadError(b"", remaining)
                remaining -= len(piece)
                yield piece
    elif response:  # a request without length has no body; a response runs until close
        while piece := await reader.read(_PIECE):
            yield piece


def _flip_request(raw: bytes, request: Request, at: int) -> bytes:
    """``raw`` (head and whole body) with body byte ``at`` inverted (offset within the decoded
    data of a chunked body)."""
    start = raw.index(b"\r\n\r\n") + 4
    if _framing(request.headers) != "chunked":
        offset = start + at
    else:
        offset, remaining = start, at
        while True:
            line_end = raw.index(b"\r\n", offset)
            size = int(raw[offset:line_end].split(b";")[0].strip(), 16)
            if size == 0:
                return raw
            if remaining < size:
                offset = line_end + 2 + remaining
                break
            remaining -= size
            offset = line_end + 2 + size + 2
    if offset >= len(raw):
        return raw
    return raw[:offset] + bytes([raw[offset] ^ 0xFF]) + raw[offset + 1 :]


async def _flipped(body: AsyncIterator[bytes], at: int, chunked: bool) -> AsyncIterator[bytes]:
    """``body`` (raw wire pieces, see ``_read_body``) with data byte ``at`` inverted: of a chunked
    body only the chunks' data counts, not the size lines, CRLFs and trailers."""
    seen = 0
    left = 0  # bytes of the current chunk (data and CRLF) still to come
    data_left = 0  # of which data
    trailers = False
    async for piece in body:
        if chunked and (trailers or left == 0):
            if not trailers:  # a size line
                size = int(piece.split(b";")[0].strip(), 16)
                trailers = size == 0
                left, data_left = size + 2, size
            yield piece
            continue
        data = min(len(piece), data_left) if chunked else len(piece)
        if seen <= at < seen + data:
            i = at - seen
            piece = piece[:i] + bytes([piece[i] ^ 0xFF]) + piece[i + 1 :]
        seen += data
        data_left -= data
        left -= len(piece)
        yield piece


async def _drip(client: asyncio.StreamWriter, piece: bytes, sent: int, drip: Drip) -> None:
    """Send ``piece``, which follows ``sent`` body bytes, pausing after each whole chunk."""
    while piece:
        take = drip.chunk - sent % drip.chunk
        client.write(piece[:take])
        await client.drain()
        sent += len(piece[:take])
        piece = piece[take:]
        if sent % drip.chunk == 0:
            await asyncio.sleep(drip.delay)


# ---------------------------------------------------------------------- closing
async def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST: SO_LINGER on, timeout 0."""
    await writer.drain()
    # Loopback hands written bytes to the peer at once, but give the peer's reader a moment so
    # that the RST does not discard them from its receive queue before they were read.
    await asyncio.sleep(0.05)
    if writer.transport.is_closing():  # the client hung up meanwhile
        return
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _abort(writer: asyncio.StreamWriter) -> None:
    if not writer.transport.is_closing():
        writer.transport.abort()
