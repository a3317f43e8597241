"""No silent data loss or aliasing: a store keeps exactly the bytes it was given, and a read
returns exactly the object's bytes, or raises.

- copying or renaming an object onto itself leaves it intact, on every store;
- the data of a put is fixed when the call returns: changing the caller's buffer afterwards
  (bytearray, NumPy array, memoryview over either) changes nothing stored, on every input path;
- a response body shorter or longer than the byte range it announces raises on every read path
  (a scripted HTTP server tells the lie; the fault-proxy tests do the same in front of MinIO and
  Azurite);
- a reader opened with a size larger than the object raises ``OSError`` past the real end;
- ``get_ranges`` refuses ``starts`` / ``ends`` / ``lengths`` of different lengths;
- a closed reader or writer raises ``ValueError`` on every use, as Python's ``io`` does;
- ``Bytes`` operations whose size overflows or cannot be allocated raise ``OverflowError`` /
  ``MemoryError`` instead of aborting the process (checked in a child process).
"""

from __future__ import annotations

import asyncio
import random
import re
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import numpy
import pytest

import obstore
from obstore import Bytes
from obstore.exceptions import AlreadyExistsError
from obstore.store import HTTPStore

from .conftest import Api, Backend, run
from .local_http import LocalHTTPServer

KiB = 1024

# --------------------------------------------------------------------------------------------------
# Copy and rename onto itself


@pytest.mark.parametrize("operation", ["copy", "rename"])
@pytest.mark.parametrize("path", ["obj", "dir/obj"])
def test_onto_itself_keeps_the_object(store: Any, api: Api, operation: str, path: str) -> None:
    store.put(path, b"precious")
    assert api.call(operation, store, path, path) is None
    assert api.call(operation, store, path, path, overwrite=True) is None
    assert bytes(store.get(path).bytes()) == b"precious"
    assert [meta["path"] for meta in store.list().collect()] == [path]


@pytest.mark.parametrize("operation", ["copy", "rename"])
def test_onto_itself_without_overwrite_raises_already_exists(
    store: Any, api: Api, operation: str
) -> None:
    store.put("obj", b"precious")
    with pytest.raises(AlreadyExistsError, match="obj"):
        api.call(operation, store, "obj", "obj", overwrite=False)
    assert bytes(store.get("obj").bytes()) == b"precious"


@pytest.mark.parametrize("overwrite", [True, False])
@pytest.mark.parametrize("operation", ["copy", "rename"])
def test_onto_itself_of_a_missing_object_raises_not_found(
    store: Any, api: Api, operation: str, overwrite: bool
) -> None:
    with pytest.raises(FileNotFoundError):
        api.call(operation, store, "missing", "missing", overwrite=overwrite)
    with pytest.raises(FileNotFoundError):
        store.head("missing")


# --------------------------------------------------------------------------------------------------
# Stored data is fixed when put returns

DATA = random.Random(2).randbytes(64 * KiB)


def _array() -> Any:
    """A writable NumPy array holding DATA."""
    return numpy.frombuffer(DATA, dtype=numpy.uint8).copy()


#: Mutable buffers a caller may hand to put, each holding DATA.
MUTABLE_SOURCES: dict[str, Callable[[], Any]] = {
    "bytearray": lambda: bytearray(DATA),
    "numpy": _array,
    "memoryview-bytearray": lambda: memoryview(bytearray(DATA)),
    "memoryview-numpy": lambda: memoryview(_array()),
}


def overwrite(source: Any) -> None:
    """Change every byte of ``source`` in place, the way a caller reusing its buffer does."""
    view = memoryview(source).cast("B")
    view[:] = b"\xee" * len(view)


def _put(store: Any, backend: Backend, source: Any) -> None:
    store.put("obj", source)
    overwrite(source)


def _put_multipart(store: Any, backend: Backend, source: Any) -> None:
    obstore.put(store, "obj", source, use_multipart=backend.multipart, chunk_size=16 * KiB)
    overwrite(source)


def _put_async(store: Any, backend: Backend, source: Any) -> None:
    async def main() -> None:
        pending = obstore.put_async(store, "obj", source)
        overwrite(source)  # after the call returned, before the upload is awaited
        await pending

    asyncio.run(main())


def _iterator_multipart(backend: Backend) -> bool | None:
    """Iterators go up in parts by default; one request where the store has no multipart."""
    return None if backend.multipart else False


def _put_iterator(store: Any, backend: Backend, source: Any) -> None:
    def chunks() -> Iterator[Any]:
        yield source
        overwrite(source)  # the next item is asked for after this one was taken

    store.put("obj", chunks(), use_multipart=_iterator_multipart(backend))


def _put_async_iterator(store: Any, backend: Backend, source: Any) -> None:
    async def chunks() -> AsyncIterator[Any]:
        yield source
        overwrite(source)

    run(lambda: store.put_async("obj", chunks(), use_multipart=_iterator_multipart(backend)))


def _open_writer(store: Any, backend: Backend, source: Any) -> None:
    with obstore.open_writer(store, "obj") as writer:
        writer.write(source)
        overwrite(source)


def _open_writer_async(store: Any, backend: Backend, source: Any) -> None:
    async def main() -> None:
        async with obstore.open_writer_async(store, "obj") as writer:
            await writer.write(source)
            overwrite(source)

    asyncio.run(main())


def _bytes_wrapper(store: Any, backend: Backend, source: Any) -> None:
    wrapped = Bytes(source)
    overwrite(source)
    store.put("obj", wrapped)


PUT_PATHS: dict[str, Callable[[Any, Backend, Any], None]] = {
    "put": _put,
    "put-multipart": _put_multipart,
    "put_async": _put_async,
    "put-iterator": _put_iterator,
    "put_async-async-iterator": _put_async_iterator,
    "open_writer": _open_writer,
    "open_writer_async": _open_writer_async,
    "Bytes": _bytes_wrapper,
}


@pytest.mark.parametrize("source_kind", sorted(MUTABLE_SOURCES))
@pytest.mark.parametrize("put_path", sorted(PUT_PATHS))
def test_changing_the_buffer_after_put_changes_nothing_stored(
    store: Any, backend: Backend, put_path: str, source_kind: str
) -> None:
    source = MUTABLE_SOURCES[source_kind]()
    PUT_PATHS[put_path](store, backend, source)
    assert bytes(memoryview(source).cast("B")) != DATA  # the caller's buffer did change
    assert bytes(store.get("obj").bytes()) == DATA


def test_a_refilled_buffer_yields_distinct_chunks(store: Any, backend: Backend) -> None:
    # A generator that reuses one bytearray for every chunk, as file-reading loops do.
    def chunks() -> Iterator[bytearray]:
        buffer = bytearray(4 * KiB)
        for value in range(3):
            buffer[:] = bytes([value]) * len(buffer)
            yield buffer

    store.put("obj", chunks(), use_multipart=_iterator_multipart(backend))
    assert bytes(store.get("obj").bytes()) == b"".join(bytes([v]) * 4 * KiB for v in range(3))


def test_bytes_of_a_mutable_buffer_never_changes() -> None:
    source = bytearray(b"hello")
    value = Bytes(source)
    source[0] = ord("j")
    assert value == b"hello"
    assert bytes(memoryview(value)) == b"hello"


# --------------------------------------------------------------------------------------------------
# Bodies that do not match their announced range raise, on every read path

SIZE = 256 * KiB
BODY = random.Random(3).randbytes(SIZE)
CUT = 10_000


class LyingServer:
    """Serves one object, ``obj``. Full GETs are honest; a ranged GET answers 206 with the
    ``Content-Range`` asked for, and in mode "short" a well-framed body of only CUT bytes
    (``Content-Length: CUT``), in mode "long" 100 bytes more than the range."""

    def __init__(self) -> None:
        self.mode = "honest"
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _head(self, status: int, length: int, extra: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(length))
                self.send_header("Last-Modified", "Wed, 25 Nov 2026 00:00:00 GMT")
                self.send_header("ETag", '"v1"')
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()

            def do_HEAD(self) -> None:
                self._head(200, SIZE, {})

            def do_GET(self) -> None:
                match = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
                if match is None:
                    self._head(200, SIZE, {})
                    self.wfile.write(BODY)
                    return
                first, last = match.groups()
                if not first:
                    start, end = max(0, SIZE - int(last)), SIZE
                else:
                    start, end = int(first), min(SIZE, int(last) + 1 if last else SIZE)
                body = BODY[start:end]
                if outer.mode == "short":
                    body = body[:CUT]
                elif outer.mode == "long":
                    body += b"+" * 100
                self._head(206, len(body), {"Content-Range": f"bytes {start}-{end - 1}/{SIZE}"})
                self.wfile.write(body)

        self._server = LocalHTTPServer(Handler)
        self.url = self._server.url

    def close(self) -> None:
        self._server.close()


@pytest.fixture(scope="module")
def lying_server() -> Iterator[LyingServer]:
    server = LyingServer()
    yield server
    server.close()


async def _collect(stream: Any) -> bytes:
    return b"".join([chunk async for chunk in stream])


async def _get_bytes_async(store: Any, options: Any) -> bytes:
    result = await obstore.get_async(store, "obj", options=options)
    return bytes(await result.bytes_async())


async def _stream_async(store: Any, options: Any) -> bytes:
    result = await obstore.get_async(store, "obj", options=options)
    return await _collect(result.stream(min_chunk_size=64 * KiB))


async def _reader_async(store: Any) -> bytes:
    reader = await obstore.open_reader_async(store, "obj", buffer_size=64 * KiB)
    return bytes(await reader.read())


WHOLE: Any = {"range": (0, SIZE)}

#: Every read path, each asking for bytes with a Range header (get_parallel: its parts).
RANGED_READS: dict[str, Callable[[Any], bytes]] = {
    "get_range": lambda s: bytes(obstore.get_range(s, "obj", start=0, end=SIZE)),
    "get_range_async": lambda s: bytes(
        run(lambda: obstore.get_range_async(s, "obj", start=0, end=SIZE))
    ),
    "get_ranges": lambda s: b"".join(
        obstore.get_ranges(s, "obj", starts=[0, SIZE // 2], ends=[SIZE // 2, SIZE], coalesce=0)
    ),
    "get_ranges_async": lambda s: b"".join(
        run(lambda: obstore.get_ranges_async(s, "obj", starts=[0], lengths=[SIZE]))
    ),
    "get-bytes": lambda s: bytes(obstore.get(s, "obj", options=WHOLE).bytes()),
    "get-bytes-offset": lambda s: bytes(
        obstore.get(s, "obj", options={"range": {"offset": 0}}).bytes()
    ),
    "get-bytes-suffix": lambda s: bytes(
        obstore.get(s, "obj", options={"range": {"suffix": SIZE}}).bytes()
    ),
    "get_async-bytes_async": lambda s: asyncio.run(_get_bytes_async(s, WHOLE)),
    "get-stream": lambda s: b"".join(obstore.get(s, "obj", options=WHOLE).stream(64 * KiB)),
    "get-stream-in-place": lambda s: b"".join(
        obstore.get(s, "obj", options=WHOLE).stream(1024 * KiB)
    ),
    "get-iter": lambda s: b"".join(obstore.get(s, "obj", options=WHOLE)),
    "get_async-stream": lambda s: asyncio.run(_stream_async(s, WHOLE)),
    "open_reader": lambda s: bytes(obstore.open_reader(s, "obj", buffer_size=64 * KiB).read()),
    "open_reader_async": lambda s: asyncio.run(_reader_async(s)),
    "get_parallel": lambda s: bytes(obstore.get_parallel(s, "obj", chunk_size=64 * KiB)),
    "get_parallel_async": lambda s: bytes(
        run(lambda: obstore.get_parallel_async(s, "obj", chunk_size=64 * KiB))
    ),
}


@pytest.fixture(params=sorted(RANGED_READS))
def ranged_read(request: pytest.FixtureRequest) -> Callable[[Any], bytes]:
    return RANGED_READS[request.param]


def _http_store(server: LyingServer) -> Any:
    return HTTPStore(server.url, client_options={"allow_http": True})


def test_honest_ranged_reads_are_exact(
    lying_server: LyingServer, ranged_read: Callable[[Any], bytes]
) -> None:
    lying_server.mode = "honest"
    assert ranged_read(_http_store(lying_server)) == BODY


def test_head_get_has_no_body_to_check(lying_server: LyingServer) -> None:
    # A HEAD answer announces the object's size but carries no body: nothing is missing.
    lying_server.mode = "honest"
    result = obstore.get(_http_store(lying_server), "obj", options={"head": True})
    assert result.meta["size"] == SIZE
    assert bytes(result.bytes()) == b""


@pytest.mark.parametrize("mode", ["short", "long"])
def test_body_not_matching_its_content_range_raises(
    lying_server: LyingServer, ranged_read: Callable[[Any], bytes], mode: str
) -> None:
    lying_server.mode = mode
    try:
        with pytest.raises(OSError, match=r"obj.* bytes received, \d+ expected") as raised:
            ranged_read(_http_store(lying_server))
    finally:
        lying_server.mode = "honest"
    assert not isinstance(raised.value, FileNotFoundError)


# --------------------------------------------------------------------------------------------------
# A reader whose size is larger than the object

OBJECT = b"0123456789"


def _short_object_reader(store: Any, size: int = 20) -> Any:
    store.put("obj", OBJECT)
    return obstore.open_reader(store, "obj", size=size, buffer_size=4)


READS_PAST_THE_END: dict[str, Callable[[Any], Any]] = {
    "read": lambda reader: reader.read(),
    "read-crossing-the-end": lambda reader: (reader.seek(8), reader.read(4)),
    "read-after-the-end": lambda reader: (reader.seek(15), reader.read(2)),
    "readall": lambda reader: reader.readall(),
    "readline": lambda reader: reader.readline(),
    "readlines": lambda reader: reader.readlines(),
    "iteration": lambda reader: list(reader),
}


@pytest.mark.parametrize("name", sorted(READS_PAST_THE_END))
def test_reader_past_the_real_end_raises(store: Any, name: str) -> None:
    reader = _short_object_reader(store)
    with pytest.raises(
        OSError, match=r"the object has 10 bytes, fewer than the reader's size of 20"
    ):
        READS_PAST_THE_END[name](reader)


def test_reader_past_the_real_end_raises_async(store: Any) -> None:
    store.put("obj", OBJECT)

    async def main() -> None:
        reader = await obstore.open_reader_async(store, "obj", size=20, buffer_size=4)
        assert bytes(await reader.read(4)) == b"0123"
        with pytest.raises(OSError, match="10 bytes"):
            await reader.read()

    asyncio.run(main())


def test_reader_within_the_real_end_reads(store: Any) -> None:
    reader = _short_object_reader(store)
    assert bytes(reader.read(4)) == b"0123"
    reader.seek(6)
    assert bytes(reader.read(4)) == b"6789"


def test_reader_of_an_object_that_shrank_raises(store: Any) -> None:
    store.put("obj", OBJECT * 2)
    reader = obstore.open_reader(store, "obj", buffer_size=4)
    assert reader.size == 20
    store.put("obj", OBJECT)
    with pytest.raises(OSError, match="the object has 10 bytes"):
        reader.read()


# --------------------------------------------------------------------------------------------------
# get_ranges arguments


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"starts": [0, 2, 4], "ends": [1, 3]}, "starts has 3, ends has 2"),
        ({"starts": [0], "ends": [1, 3]}, "starts has 1, ends has 2"),
        ({"starts": [0, 2], "lengths": [1]}, "starts has 2, lengths has 1"),
        ({"starts": [], "lengths": [1]}, "starts has 0, lengths has 1"),
    ],
)
def test_get_ranges_of_different_lengths_raise(
    store: Any, api: Api, kwargs: dict[str, Any], message: str
) -> None:
    store.put("obj", OBJECT)
    with pytest.raises(ValueError, match=message):
        api.get_ranges(store, "obj", **kwargs)


# --------------------------------------------------------------------------------------------------
# Closed readers and writers

CLOSED = "I/O operation on closed file"

READER_CALLS: dict[str, Callable[[Any], Any]] = {
    "read": lambda r: r.read(),
    "read-size": lambda r: r.read(1),
    "readall": lambda r: r.readall(),
    "readline": lambda r: r.readline(),
    "readlines": lambda r: r.readlines(),
    "seek": lambda r: r.seek(0),
    "tell": lambda r: r.tell(),
    "seekable": lambda r: r.seekable(),
    "size": lambda r: r.size,
}


@pytest.mark.parametrize("call", sorted([*READER_CALLS, "iter", "next"]))
def test_closed_reader_raises(store: Any, call: str) -> None:
    store.put("obj", b"line\n")
    reader = obstore.open_reader(store, "obj")
    assert reader.closed is False
    reader.close()
    reader.close()  # harmless, like io
    assert reader.closed is True
    with pytest.raises(ValueError, match=CLOSED):
        if call == "iter":
            iter(reader)
        elif call == "next":
            next(reader)
        else:
            READER_CALLS[call](reader)


@pytest.mark.parametrize("call", sorted(READER_CALLS))
def test_closed_async_reader_raises(store: Any, call: str) -> None:
    store.put("obj", b"line\n")

    async def main() -> None:
        reader = await obstore.open_reader_async(store, "obj")
        reader.close()
        reader.close()
        assert reader.closed is True
        with pytest.raises(ValueError, match=CLOSED):
            result = READER_CALLS[call](reader)
            if asyncio.iscoroutine(result) or asyncio.isfuture(result):
                await result

    asyncio.run(main())


WRITER_CALLS: dict[str, Callable[[Any], Any]] = {
    "write": lambda w: w.write(b"more"),
    "write-bytearray": lambda w: w.write(bytearray(b"more")),
    "flush": lambda w: w.flush(),
    "enter": lambda w: w.__enter__(),
}


@pytest.mark.parametrize("closing", ["close", "abort", "with"])
@pytest.mark.parametrize("call", sorted(WRITER_CALLS))
def test_closed_writer_raises(store: Any, call: str, closing: str) -> None:
    if closing == "with":
        with obstore.open_writer(store, "obj") as writer:
            writer.write(b"data")
    else:
        writer = obstore.open_writer(store, "obj")
        writer.write(b"data")
        getattr(writer, closing)()
    writer.close()  # harmless, like io
    writer.abort()  # nothing left to abort
    assert writer.closed() is True
    with pytest.raises(ValueError, match=CLOSED):
        WRITER_CALLS[call](writer)
    if closing == "abort":
        with pytest.raises(FileNotFoundError):
            store.head("obj")
    else:
        assert bytes(store.get("obj").bytes()) == b"data"


ASYNC_WRITER_CALLS: dict[str, Callable[[Any], Any]] = {
    "write": lambda w: w.write(b"more"),
    "flush": lambda w: w.flush(),
    "aenter": lambda w: w.__aenter__(),
}


@pytest.mark.parametrize("closing", ["close", "abort", "async-with"])
@pytest.mark.parametrize("call", sorted(ASYNC_WRITER_CALLS))
def test_closed_async_writer_raises(store: Any, call: str, closing: str) -> None:
    async def main() -> None:
        if closing == "async-with":
            async with obstore.open_writer_async(store, "obj") as writer:
                await writer.write(b"data")
        else:
            writer = obstore.open_writer_async(store, "obj")
            await writer.write(b"data")
            await getattr(writer, closing)()
        await writer.close()
        await writer.abort()
        assert await writer.closed() is True
        with pytest.raises(ValueError, match=CLOSED):
            await ASYNC_WRITER_CALLS[call](writer)

    asyncio.run(main())
    if closing == "abort":
        with pytest.raises(FileNotFoundError):
            store.head("obj")
    else:
        assert bytes(store.get("obj").bytes()) == b"data"


# --------------------------------------------------------------------------------------------------
# Bytes sizes: checked in a child process, where an abort fails the test instead of pytest

#: expression -> the exception it raises, or the value it equals
BYTES_CASES: dict[str, str] = {
    "Bytes(b'x') * 2**62": "MemoryError",
    "2**62 * Bytes(b'x')": "MemoryError",
    "Bytes(b'xy') * 2**62": "OverflowError",
    "Bytes(b'x') * sys.maxsize": "MemoryError",
    "Bytes(b'xy') * sys.maxsize": "OverflowError",
    "Bytes(b'x') * 2**100": "OverflowError",
    "Bytes(b'x') * -(2**100)": "OverflowError",
    "Bytes(b'x') * 'a'": "TypeError",
    "Bytes(b'x') * 1.5": "TypeError",
    "Bytes(b'') * 2**62 == b''": "True",
    "Bytes(b'ab') * -3 == b''": "True",
    "Bytes(b'ab') * 3 == b'ababab'": "True",
    "3 * Bytes(b'ab') == b'ababab'": "True",
    "Bytes(b'ab') * True == b'ab'": "True",
    "Bytes(b'abc') * numpy.int64(2) == b'abcabc'": "True",
    "Bytes(b'abc')[2**100]": "IndexError",
    "Bytes(b'abc')[-(2**100)]": "IndexError",
    "Bytes(b'abcde')[4::sys.maxsize] == b'e'": "True",
    "Bytes(b'abcde')[::-sys.maxsize] == b'e'": "True",
    "Bytes(b'abcde')[::2**100] == b'a'": "True",
    "Bytes(b'')[::-1] == b''": "True",
    "Bytes(b'abcde')[-2**100:2**100:3] == b'ad'": "True",
    "Bytes(b'abcde')[2**100:-2**100:-2] == b'eca'": "True",
    "Bytes(b'ab') + bytearray(b'cd') == b'abcd'": "True",
    "repr(Bytes(b'a\\x00\"\\n')) == 'Bytes(b\"a\\\\x00\\\\\"\\\\n\")'": "True",
}

CHILD = textwrap.dedent(
    """
    import sys
    import numpy
    from obstore import Bytes
    try:
        print(repr(eval(sys.argv[1])))
    except Exception as error:
        print(type(error).__name__)
    """
)


@pytest.mark.parametrize("expression", sorted(BYTES_CASES))
def test_bytes_sizes_raise_instead_of_aborting(expression: str) -> None:
    child = subprocess.run(
        [sys.executable, "-c", CHILD, expression], capture_output=True, text=True, timeout=60
    )
    assert child.returncode == 0, f"the process died ({child.returncode}): {child.stderr[-2000:]}"
    assert child.stdout.strip() == BYTES_CASES[expression], child.stderr[-2000:]


@pytest.mark.parametrize(
    "index",
    [
        slice(None, None, step)
        for step in (1, 2, 3, -1, -2, 7, -7, 2**31, -(2**31), sys.maxsize, -sys.maxsize)
    ]
    + [
        slice(start, stop, step)
        for start in (-7, 0, 3, 9)
        for stop in (-9, 1, 5, None)
        for step in (1, -1, 2, -3)
    ],
    ids=repr,
)
def test_bytes_slices_match_bytes(index: slice) -> None:
    data = b"abcdefgh"
    assert bytes(Bytes(data)[index]) == data[index]


@pytest.mark.parametrize("key", ["if_match", "if_none_match"])
def test_get_option_that_cannot_be_a_header_raises_value_error(store: Any, key: str) -> None:
    # object_store panics building a request with such a header; the value is refused first.
    obstore.put(store, "a", b"x")
    with pytest.raises(ValueError, match=key):
        obstore.get(store, "a", options={key: "bad\nvalue"}).bytes()  # type: ignore[arg-type]


def test_put_mode_e_tag_that_cannot_be_a_header_raises_value_error(store: Any) -> None:
    with pytest.raises(ValueError, match="e_tag"):
        obstore.put(store, "a", b"x", mode={"e_tag": "bad\r\nvalue"})
