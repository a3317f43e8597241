"""File-like access: open_reader(_async) reads like ``io.BufferedReader`` and open_writer(_async)
commits on close and leaves nothing behind on error.

Readers are checked against Python's own ``io.BufferedReader(io.BytesIO(data))`` on the same bytes,
replaying a seeded random sequence of reads, seeks and line reads with tiny buffers so the reader
refills all the time. Where obstore 0.12 had quirks (e.g. a trailing empty element from
``readlines``), the io semantics are the expected ones.
"""

from __future__ import annotations

import asyncio
import io
import random
from collections.abc import Callable
from typing import Any

import pytest

import obstore
from obstore import Bytes

from .conftest import Backend, run

KiB = 1024
MiB = 1024 * KiB

#: Stores whose multipart parts (all but the last) must be at least 5 MiB, as on real S3/GCS.
MIN_PART_SIZE = {"s3-minio": 5 * MiB, "s3-moto": 5 * MiB, "gcs": 5 * MiB}


def _lines(rng: random.Random, count: int, longest: int) -> bytes:
    return b"".join(
        rng.randbytes(rng.randint(0, longest)).replace(b"\n", b"") + b"\n" for _ in range(count)
    )


#: Reader contents: text and binary (not UTF-8) lines, lines longer than the buffer, no newline.
CONTENTS: dict[str, bytes] = {
    "empty": b"",
    "one-byte": b"x",
    "newlines-only": b"\n" * 7,
    "text-lines": b"".join(b"line %d %s\n" % (i, b"-" * (i * 7 % 23)) for i in range(40)),
    "binary-lines": _lines(random.Random(1), 60, 40) + b"\xff\xfe no final newline \x80",
    "long-lines": _lines(random.Random(2), 6, 700),
    "no-newline": random.Random(3).randbytes(1500).replace(b"\n", b"."),
}

BUFFER_SIZES = [1, 3, 16, 1024]


def _normalize(value: Any) -> Any:
    """Bytes and bytes compare equal here; lists of lines too."""
    if isinstance(value, (bytes, Bytes)):
        return ("bytes", bytes(value))
    if isinstance(value, list):
        return ("lines", [bytes(line) for line in value])
    return value


def _choose_operation(rng: random.Random, position: int, size: int, buffer: int) -> tuple[Any, ...]:
    """One operation to replay on both readers, chosen from where the io reader stands."""
    kind = rng.choices(
        ["read", "read-all", "readline", "readlines", "seek", "tell", "next", "size", "readall"],
        weights=[30, 2, 15, 4, 18, 5, 8, 2, 1],
    )[0]
    if kind == "read":
        sizes = [0, 1, 2, 7, buffer - 1, buffer, buffer + 1, 2 * buffer + 3, 100, size, size + 10]
        return ("read", rng.choice([n for n in sizes if n >= 0]))
    if kind == "read-all":
        return ("read", rng.choice([None, -1]))
    if kind == "readlines":
        return ("readlines", rng.choice([-1, 0, 1, 5, 50, 400]))
    if kind == "seek":
        whence = rng.choice([0, 1, 2])
        if whence == 0:
            return ("seek", rng.choice([rng.randint(0, size + 5), size, size + 100]), 0)
        if whence == 1:
            return ("seek", rng.randint(-position, max(size - position, 0) + 5), 1)
        return ("seek", rng.randint(-size, 5), 2)
    return (kind,)


def _expected(reference: io.BufferedReader[Any], size: int, operation: tuple[Any, ...]) -> Any:
    name, *args = operation
    if name == "size":
        return size
    if name == "readall":
        return _normalize(reference.read())
    if name == "next":
        return _normalize(next(reference, "StopIteration"))
    return _normalize(getattr(reference, name)(*args))


def _actual_sync(reader: Any, operation: tuple[Any, ...]) -> Any:
    name, *args = operation
    if name == "size":
        return reader.size
    if name == "next":
        return _normalize(next(reader, "StopIteration"))
    return _normalize(getattr(reader, name)(*args))


async def _actual_async(reader: Any, operation: tuple[Any, ...]) -> Any:
    name, *args = operation
    if name == "size":
        return reader.size
    if name == "next":  # the async reader has no async iteration: next line = readline
        line = await reader.readline()
        return _normalize(line) if line else "StopIteration"
    return _normalize(await getattr(reader, name)(*args))


OPERATIONS_PER_RUN = 60


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("buffer_size", BUFFER_SIZES)
@pytest.mark.parametrize("content", list(CONTENTS))
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_reader_matches_io(
    store: Any, backend: Backend, mode: str, content: str, buffer_size: int, seed: int
) -> None:
    if buffer_size == 1 and backend.server:
        pytest.skip("a request per byte read: in-process stores only")
    data = CONTENTS[content]
    store.put("obj", data)
    reference = io.BufferedReader(io.BytesIO(data), buffer_size=max(buffer_size, 1))
    rng = random.Random(f"{content}-{buffer_size}-{seed}")
    history: list[tuple[Any, ...]] = []

    def check(operation: tuple[Any, ...], actual: Any, expected: Any) -> None:
        history.append(operation)
        assert actual == expected, f"after {history}"

    if mode == "sync":
        reader = obstore.open_reader(store, "obj", buffer_size=buffer_size)
        for _ in range(OPERATIONS_PER_RUN):
            operation = _choose_operation(rng, reference.tell(), len(data), buffer_size)
            expected = _expected(reference, len(data), operation)
            check(operation, _actual_sync(reader, operation), expected)
            check(("tell",), reader.tell(), reference.tell())
        return

    async def main() -> None:
        reader = await obstore.open_reader_async(store, "obj", buffer_size=buffer_size)
        for _ in range(OPERATIONS_PER_RUN):
            operation = _choose_operation(rng, reference.tell(), len(data), buffer_size)
            expected = _expected(reference, len(data), operation)
            check(operation, await _actual_async(reader, operation), expected)
            check(("tell",), await reader.tell(), reference.tell())

    run(main)


@pytest.mark.parametrize("content", ["text-lines", "binary-lines", "newlines-only", "empty"])
def test_reader_iteration_and_readlines(store: Any, content: str) -> None:
    data = CONTENTS[content]
    store.put("obj", data)
    expected = io.BufferedReader(io.BytesIO(data)).readlines()
    assert [bytes(line) for line in obstore.open_reader(store, "obj", buffer_size=5)] == expected
    reader = obstore.open_reader(store, "obj", buffer_size=5)
    lines = reader.readlines()
    assert [bytes(line) for line in lines] == expected  # no trailing empty element
    assert all(type(line) is Bytes for line in lines)
    assert reader.readlines() == []

    async def main() -> list[Any]:
        reader = await obstore.open_reader_async(store, "obj", buffer_size=5)
        return await reader.readlines()  # type: ignore[no-any-return]

    assert [bytes(line) for line in run(main)] == expected


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_reader_readlines_hint(store: Any, mode: str) -> None:
    data = b"aa\nbb\ncc\ndd\n"
    store.put("obj", data)
    for hint in [1, 2, 3, 4, 5, 6, 7, 11, 12, 13]:
        expected = io.BufferedReader(io.BytesIO(data)).readlines(hint)
        if mode == "sync":
            lines = obstore.open_reader(store, "obj", buffer_size=4).readlines(hint)
        else:

            async def main(hint: int = hint) -> Any:
                reader = await obstore.open_reader_async(store, "obj", buffer_size=4)
                return await reader.readlines(hint)

            lines = run(main)
        assert [bytes(line) for line in lines] == expected, hint


def test_reader_returns_bytes(store: Any) -> None:
    store.put("obj", b"abc\ndef")
    reader = obstore.open_reader(store, "obj")
    assert type(reader.read(1)) is Bytes
    assert type(reader.readline()) is Bytes
    assert type(reader.read()) is Bytes
    assert type(reader.readall()) is Bytes
    assert reader.seekable() is True
    assert reader.size == 7


def test_reader_seek_errors(store: Any) -> None:
    store.put("obj", b"0123456789")
    reader = obstore.open_reader(store, "obj", buffer_size=4)
    reader.read(3)
    with pytest.raises(ValueError):  # like io: negative absolute position
        reader.seek(-1)
    assert reader.tell() == 3
    for whence in (3, -1):
        with pytest.raises((OSError, ValueError)):
            reader.seek(0, whence)
    assert bytes(reader.read(2)) == b"34"


def test_reader_given_size_skips_head(store: Any) -> None:
    store.put("obj", b"0123456789")
    reader = obstore.open_reader(store, "obj", size=4)
    assert reader.size == 4
    assert bytes(reader.read()) == b"0123"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_reader_missing_object(store: Any, mode: str) -> None:
    with pytest.raises(FileNotFoundError):
        if mode == "sync":
            obstore.open_reader(store, "missing")
        else:
            run(lambda: obstore.open_reader_async(store, "missing"))


def test_reader_with_block_closes_it(store: Any) -> None:
    obstore.put(store, "f.txt", b"hello")
    with obstore.open_reader(store, "f.txt") as reader:
        assert reader.read() == b"hello"
    assert reader.closed
    with pytest.raises(ValueError, match="closed file"), reader:
        pass
    with pytest.raises(KeyError), obstore.open_reader(store, "f.txt") as reader:
        raise KeyError("propagates")
    assert reader.closed


def test_async_reader_async_with_block_closes_it(store: Any) -> None:
    obstore.put(store, "f.txt", b"hello")

    async def main() -> None:
        async with await obstore.open_reader_async(store, "f.txt") as reader:
            assert await reader.read() == b"hello"
        assert reader.closed
        with pytest.raises(KeyError):
            async with await obstore.open_reader_async(store, "f.txt") as reader:
                raise KeyError("propagates")
        assert reader.closed

    run(main)


def test_reader_over_multipart_object(store: Any, backend: Backend) -> None:
    part = MIN_PART_SIZE.get(backend.kind, 256 * KiB)
    data = random.Random(5).randbytes(2 * part + 77)
    store.put("obj", data, chunk_size=part, use_multipart=backend.multipart)
    reader = obstore.open_reader(store, "obj", buffer_size=100_000)
    reader.seek(part - 3)
    assert bytes(reader.read(10)) == data[part - 3 : part + 7]
    reader.seek(-5, 2)
    assert bytes(reader.read(100)) == data[-5:]
    reader.seek(0)
    assert bytes(reader.read()) == data


# --------------------------------------------------------------------------------------------------
# Writers


@pytest.fixture
def part_size(backend: Backend) -> int:
    """A small writer buffer (64 KiB), or the smallest part size the server accepts."""
    return MIN_PART_SIZE.get(backend.kind, 64 * KiB)


WRITE_SIZES: dict[str, Callable[[int], int]] = {
    "0B": lambda part: 0,
    "100B": lambda part: 100,
    "buffer": lambda part: part,
    "buffer+1": lambda part: part + 1,
    "3buffers+5": lambda part: 3 * part + 5,
}


def _pieces(data: bytes) -> list[Any]:
    """`data` as writes of irregular length and mixed buffer types."""
    rng = random.Random(len(data))
    kinds: list[Callable[[bytes], Any]] = [bytes, bytearray, memoryview, Bytes]
    pieces, offset = [], 0
    while offset < len(data):
        length = rng.choice([1, 10, 4096, 40_000, 200_000, 3 * MiB])
        pieces.append(rng.choice(kinds)(data[offset : offset + length]))
        offset += length
    return pieces


def _assert_absent(store: Any, path: str) -> None:
    with pytest.raises(FileNotFoundError):
        store.head(path)
    assert [meta["path"] for meta in store.list().collect() if meta["path"] == path] == []


def _needs_multipart(backend: Backend, size: int, part: int) -> bool:
    return size > part and not backend.multipart


@pytest.mark.parametrize("size_name", list(WRITE_SIZES))
def test_writer_round_trip(store: Any, backend: Backend, part_size: int, size_name: str) -> None:
    data = random.Random(size_name).randbytes(WRITE_SIZES[size_name](part_size))
    writer = obstore.open_writer(store, "obj", buffer_size=part_size, max_concurrency=3)
    assert repr(writer) == "WritableFile"
    assert writer.closed() is False
    if _needs_multipart(backend, len(data), part_size):
        with pytest.raises(NotImplementedError):
            for piece in _pieces(data):
                writer.write(piece)
            writer.close()
        _assert_absent(store, "obj")
        return
    for piece in _pieces(data):
        assert writer.write(piece) == len(memoryview(piece))
        _assert_absent(store, "obj")  # not visible before close, even with parts uploaded
    writer.flush()
    _assert_absent(store, "obj")
    writer.close()
    assert writer.closed() is True
    assert bytes(store.get("obj").bytes()) == data


@pytest.mark.parametrize("size_name", list(WRITE_SIZES))
def test_writer_round_trip_async(
    store: Any, backend: Backend, part_size: int, size_name: str
) -> None:
    data = random.Random(size_name).randbytes(WRITE_SIZES[size_name](part_size))
    if _needs_multipart(backend, len(data), part_size):
        pytest.skip("needs multipart uploads")

    async def main() -> None:
        writer = obstore.open_writer_async(store, "obj", buffer_size=part_size)  # not awaited
        assert repr(writer) == "AsyncWritableFile"
        assert await writer.closed() is False
        for piece in _pieces(data):
            assert await writer.write(piece) == len(memoryview(piece))
            _assert_absent(store, "obj")
        await writer.flush()
        _assert_absent(store, "obj")
        await writer.close()
        assert await writer.closed() is True

    run(main)
    assert bytes(store.get("obj").bytes()) == data


def test_writer_context_manager_commits(store: Any, part_size: int) -> None:
    with obstore.open_writer(store, "obj", buffer_size=part_size) as writer:
        assert writer.write(b"hello ") == 6
        writer.write(memoryview(b"world"))
        _assert_absent(store, "obj")
    assert writer.closed() is True
    assert bytes(store.get("obj").bytes()) == b"hello world"

    async def main() -> None:
        async with obstore.open_writer_async(store, "obj2", buffer_size=part_size) as writer:
            await writer.write(b"async")
            _assert_absent(store, "obj2")
        assert await writer.closed() is True

    run(main)
    assert bytes(store.get("obj2").bytes()) == b"async"


class Boom(Exception):
    """Raised inside a writer's `with` block."""


@pytest.mark.parametrize("preexisting", [False, True], ids=["new", "overwrite"])
@pytest.mark.parametrize("written", ["nothing", "small", "several-parts"])
def test_writer_context_manager_aborts_on_exception(
    store: Any, backend: Backend, part_size: int, written: str, preexisting: bool
) -> None:
    data = {"nothing": b"", "small": b"abc", "several-parts": b"x" * (2 * part_size + 1)}[written]
    if _needs_multipart(backend, len(data), part_size):
        pytest.skip("needs multipart uploads")
    if preexisting:
        store.put("obj", b"old")
    boom = Boom("inside with")
    with pytest.raises(Boom) as raised:
        with obstore.open_writer(store, "obj", buffer_size=part_size) as writer:
            for piece in _pieces(data):
                writer.write(piece)
            raise boom
    assert raised.value is boom
    assert writer.closed() is True
    with pytest.raises(ValueError, match="I/O operation on closed file"):
        writer.write(b"more")
    if preexisting:
        assert bytes(store.get("obj").bytes()) == b"old"
    else:
        _assert_absent(store, "obj")


@pytest.mark.parametrize("preexisting", [False, True], ids=["new", "overwrite"])
@pytest.mark.parametrize("written", ["nothing", "small", "several-parts"])
def test_writer_async_context_manager_aborts_on_exception(
    store: Any, backend: Backend, part_size: int, written: str, preexisting: bool
) -> None:
    data = {"nothing": b"", "small": b"abc", "several-parts": b"x" * (2 * part_size + 1)}[written]
    if _needs_multipart(backend, len(data), part_size):
        pytest.skip("needs multipart uploads")
    if preexisting:
        store.put("obj", b"old")
    boom = Boom("inside async with")

    async def main() -> None:
        writer = obstore.open_writer_async(store, "obj", buffer_size=part_size)
        try:
            async with writer:
                for piece in _pieces(data):
                    await writer.write(piece)
                raise boom
        finally:
            assert await writer.closed() is True

    with pytest.raises(Boom) as raised:
        run(main)
    assert raised.value is boom
    if preexisting:
        assert bytes(store.get("obj").bytes()) == b"old"
    else:
        _assert_absent(store, "obj")


def test_writer_after_close(store: Any) -> None:
    writer = obstore.open_writer(store, "obj")
    writer.write(b"data")
    writer.close()
    writer.close()  # harmless, like io
    assert writer.closed() is True
    with pytest.raises(ValueError, match="I/O operation on closed file"):
        writer.write(b"more")
    with pytest.raises(ValueError, match="I/O operation on closed file"):
        writer.flush()
    assert bytes(store.get("obj").bytes()) == b"data"


def test_writer_after_close_async(store: Any) -> None:
    async def main() -> None:
        writer = obstore.open_writer_async(store, "obj")
        await writer.write(b"data")
        await writer.close()
        await writer.close()
        assert await writer.closed() is True
        with pytest.raises(ValueError, match="I/O operation on closed file"):
            await writer.write(b"more")
        with pytest.raises(ValueError, match="I/O operation on closed file"):
            await writer.flush()

    run(main)
    assert bytes(store.get("obj").bytes()) == b"data"


def test_writer_closed_is_a_method(store: Any) -> None:
    writer = obstore.open_writer(store, "obj")
    assert callable(writer.closed)
    assert writer.closed() is False
    writer.close()
    assert writer.closed() is True


def test_writer_rejects_str(store: Any) -> None:
    with obstore.open_writer(store, "obj") as writer:
        with pytest.raises(TypeError):
            writer.write("text")  # type: ignore[arg-type]
        writer.write(b"bytes")
    assert bytes(store.get("obj").bytes()) == b"bytes"


def test_writer_empty_object(store: Any) -> None:
    obstore.open_writer(store, "obj").close()
    assert bytes(store.get("obj").bytes()) == b""


# Metadata names must be identifiers on Azure (no hyphens).
ATTRIBUTES = {"Content-Type": "text/csv", "Cache-Control": "max-age=60", "userkey": "value"}


@pytest.mark.parametrize("size", ["small", "multipart"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_writer_attributes_and_tags(
    store: Any,
    backend: Backend,
    part_size: int,
    mode: str,
    size: str,
) -> None:
    data = b"a,b\n1,2\n" * ((2 * part_size // 8 + 1) if size == "multipart" else 1)
    if _needs_multipart(backend, len(data), part_size):
        pytest.skip("needs multipart uploads")
    options: dict[str, Any] = {"attributes": ATTRIBUTES, "tags": {"team": "data"}}

    def write_sync() -> None:
        with obstore.open_writer(store, "obj", buffer_size=part_size, **options) as writer:
            for piece in _pieces(data):
                writer.write(piece)

    async def write_async() -> None:
        async with obstore.open_writer_async(store, "obj", buffer_size=part_size, **options) as w:
            for piece in _pieces(data):
                await w.write(piece)

    def write() -> None:
        write_sync() if mode == "sync" else run(write_async)

    if backend.attributes == "raises":
        with pytest.raises(NotImplementedError):
            write()
        _assert_absent(store, "obj")
        return
    write()
    result = store.get("obj")
    if backend.attributes == "stored":
        assert result.attributes == ATTRIBUTES
    assert bytes(result.bytes()) == data


def test_writer_tags_without_attributes(store: Any) -> None:
    # Tags are accepted by every store; stores without tagging ignore them.
    with obstore.open_writer(store, "obj", tags={"a": "b"}) as writer:
        writer.write(b"tagged")
    assert bytes(store.get("obj").bytes()) == b"tagged"


def test_writers_do_not_interfere(store: Any, backend: Backend, part_size: int) -> None:
    if not backend.multipart:
        pytest.skip("needs multipart uploads")
    payloads = {f"obj-{i}": random.Random(i).randbytes(2 * part_size + i) for i in range(3)}

    async def write(path: str, data: bytes) -> None:
        async with obstore.open_writer_async(store, path, buffer_size=part_size) as writer:
            for piece in _pieces(data):
                await writer.write(piece)
                await asyncio.sleep(0)

    async def main() -> None:
        await asyncio.gather(*(write(path, data) for path, data in payloads.items()))

    run(main)
    for path, data in payloads.items():
        assert bytes(store.get(path).bytes()) == data
