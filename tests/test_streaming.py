"""Streaming uploads and downloads around the multipart threshold: put of every input kind and
BytesStream reads in chunks of the requested size.

Every put input kind is uploaded at sizes around ``chunk_size`` (0 B, 1 B, exactly one chunk, one
chunk + 1 byte, several chunks) and checked by the SHA-256 of what ``get`` returns. Failed uploads
(a non-buffer item, an iterator raising halfway, a text-mode file) must surface the error and
leave nothing behind.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import obstore
from obstore import Bytes

from .conftest import Backend, run

KiB = 1024
MiB = 1024 * KiB

#: Stores whose multipart parts (all but the last) must be at least 5 MiB, as on real S3/GCS.
MIN_PART_SIZE = {"s3-minio": 5 * MiB, "s3-moto": 5 * MiB, "gcs": 5 * MiB}


@pytest.fixture
def chunk_size(backend: Backend) -> int:
    """A small multipart threshold/part size (256 KiB) unless the server needs bigger parts."""
    return MIN_PART_SIZE.get(backend.kind, 256 * KiB)


#: Sizes around the multipart threshold, as functions of the chunk size.
SIZES: dict[str, Callable[[int], int]] = {
    "0B": lambda chunk: 0,
    "1B": lambda chunk: 1,
    "chunk": lambda chunk: chunk,
    "chunk+1": lambda chunk: chunk + 1,
    "3chunks+17": lambda chunk: 3 * chunk + 17,
}


def _data(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def _pieces(data: bytes, seed: int = 0) -> list[bytes]:
    """Split `data` into irregular pieces (some empty, some larger than a part) for iterators."""
    rng = random.Random(seed)
    pieces, offset = [b""], 0
    while offset < len(data):
        length = rng.choice([0, 1, 4096, 65_537, 100_000, 300_000, 6 * MiB])
        pieces.append(data[offset : offset + length])
        offset += length
    return pieces


def _sha(data: Any) -> str:
    return hashlib.sha256(memoryview(data)).hexdigest()


def _assert_stored(store: Any, path: str, data: bytes) -> None:
    stored = store.get(path).bytes()
    assert len(stored) == len(data)
    assert _sha(stored) == _sha(data)
    assert store.head(path)["size"] == len(data)


def _assert_absent(store: Any, path: str) -> None:
    with pytest.raises(FileNotFoundError):
        store.head(path)


def _assert_s3_part_count(backend: Backend, result: dict[str, Any], parts: int) -> None:
    """On S3 servers, a multipart ETag ends with ``-<parts>``; a single PUT's ETag has no dash.

    The only wire-level evidence of how many requests an upload took; other stores have none.
    """
    if backend.store_class != "S3Store":
        return
    e_tag = result["e_tag"].strip('"')
    if parts == 0:
        assert "-" not in e_tag, e_tag
    else:
        assert e_tag.endswith(f"-{parts}"), e_tag


class _Iterable:
    """Has ``__iter__`` only; each iteration yields the pieces as mixed buffer types."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    def __iter__(self) -> Iterator[Any]:
        kinds: list[Callable[[bytes], Any]] = [bytes, bytearray, memoryview, Bytes]
        return (kinds[i % len(kinds)](piece) for i, piece in enumerate(self.pieces))


class _Iterator:
    """A hand-written iterator (``__next__`` and ``__iter__``), not a generator."""

    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = iter(pieces)

    def __iter__(self) -> _Iterator:
        return self

    def __next__(self) -> bytes:
        return next(self._pieces)


class _AsyncIterable:
    """Has ``__aiter__`` only."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    async def __aiter_impl(self) -> AsyncIterator[Any]:
        for piece in self.pieces:
            await asyncio.sleep(0)
            yield memoryview(piece)

    def __aiter__(self) -> AsyncIterator[Any]:
        return self.__aiter_impl()


class _AsyncIterator:
    """A hand-written async iterator (``__anext__`` and ``__aiter__``)."""

    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = iter(pieces)

    def __aiter__(self) -> _AsyncIterator:
        return self

    async def __anext__(self) -> bytearray:
        try:
            return bytearray(next(self._pieces))
        except StopIteration:
            raise StopAsyncIteration from None


def _numpy_array(data: bytes, tmp_path: Path) -> Any:
    np = pytest.importorskip("numpy")
    return np.frombuffer(data, dtype=np.uint8)


def _file(data: bytes, tmp_path: Path) -> Path:
    path = tmp_path / "source.bin"
    path.write_bytes(data)
    return path


#: Inputs put() and put_async() both take. Sized ones have a length known before the upload.
SYNC_INPUTS: dict[str, Callable[[bytes, Path], Any]] = {
    "bytes": lambda data, tmp: data,
    "bytearray": lambda data, tmp: bytearray(data),
    "memoryview": lambda data, tmp: memoryview(data),
    "numpy-uint8": _numpy_array,
    "pathlib.Path": _file,
    "str-path": lambda data, tmp: str(_file(data, tmp)),
    "binary-file": lambda data, tmp: _file(data, tmp).open("rb"),
    "generator": lambda data, tmp: iter(_pieces(data)),
    "iterator": lambda data, tmp: _Iterator(_pieces(data)),
    "iterable": lambda data, tmp: _Iterable(_pieces(data)),
}
SIZED_INPUTS = {"bytes", "bytearray", "memoryview", "numpy-uint8", "pathlib.Path", "str-path"}
SIZED_INPUTS |= {"binary-file"}
ITERABLE_INPUTS = set(SYNC_INPUTS) - SIZED_INPUTS

ASYNC_INPUTS: dict[str, Callable[[bytes], Any]] = {
    "async-iterator": lambda data: _AsyncIterator(_pieces(data)),
    "async-iterable": lambda data: _AsyncIterable(_pieces(data)),
}


def _close(source: Any) -> None:
    if hasattr(source, "close") and not isinstance(source, memoryview):
        source.close()


def _put(store: Any, via: str, path: str, source: Any, **kwargs: Any) -> Any:
    if via == "put":
        return obstore.put(store, path, source, **kwargs)
    return run(lambda: obstore.put_async(store, path, source, **kwargs))  # type: ignore[no-any-return]


# --------------------------------------------------------------------------------------------------
# Round trips


@pytest.mark.parametrize("via", ["put", "put_async"])
@pytest.mark.parametrize("size_name", list(SIZES))
@pytest.mark.parametrize("input_kind", list(SYNC_INPUTS))
def test_put_round_trip(
    store: Any,
    backend: Backend,
    chunk_size: int,
    tmp_path: Path,
    input_kind: str,
    size_name: str,
    via: str,
) -> None:
    data = _data(SIZES[size_name](chunk_size))
    source = SYNC_INPUTS[input_kind](data, tmp_path)
    try:
        # An iterable starts its multipart upload with its first chunk: an empty one is one PUT.
        multipart = (input_kind in ITERABLE_INPUTS and len(data) > 0) or len(data) > chunk_size
        if multipart and not backend.multipart:
            with pytest.raises(NotImplementedError):
                _put(store, via, "obj", source, chunk_size=chunk_size)
            _assert_absent(store, "obj")
            return
        result = _put(store, via, "obj", source, chunk_size=chunk_size, max_concurrency=4)
    finally:
        _close(source)
    assert list(result) == ["e_tag", "version"]
    _assert_stored(store, "obj", data)
    if input_kind in SIZED_INPUTS:
        _assert_s3_part_count(backend, result, -(-len(data) // chunk_size) if multipart else 0)


@pytest.mark.parametrize("size_name", list(SIZES))
@pytest.mark.parametrize("input_kind", list(ASYNC_INPUTS))
def test_put_async_round_trip_async_input(
    store: Any, backend: Backend, chunk_size: int, input_kind: str, size_name: str
) -> None:
    data = _data(SIZES[size_name](chunk_size))
    source = ASYNC_INPUTS[input_kind](data)
    if data and not backend.multipart:
        with pytest.raises(NotImplementedError):
            run(lambda: obstore.put_async(store, "obj", source, chunk_size=chunk_size))
        _assert_absent(store, "obj")
        return
    result = run(lambda: store.put_async("obj", source, chunk_size=chunk_size))
    assert list(result) == ["e_tag", "version"]
    _assert_stored(store, "obj", data)


@pytest.mark.parametrize("size_name", list(SIZES))
def test_get_result_streams_into_put_async(
    store: Any, backend: Backend, chunk_size: int, size_name: str
) -> None:
    data = _data(SIZES[size_name](chunk_size))
    store.put("source", data, use_multipart=False)

    async def main() -> None:
        result = await obstore.get_async(store, "source")
        await obstore.put_async(store, "copy", result, chunk_size=chunk_size)

    if data and not backend.multipart:
        with pytest.raises(NotImplementedError):
            run(main)
        _assert_absent(store, "copy")
        return
    run(main)
    _assert_stored(store, "copy", data)


@pytest.mark.parametrize("input_kind", list(SYNC_INPUTS))
def test_use_multipart_false_is_one_request(
    store: Any, backend: Backend, chunk_size: int, tmp_path: Path, input_kind: str
) -> None:
    # Even iterables and data of several chunks go up in one PUT, on every backend.
    data = _data(SIZES["3chunks+17"](chunk_size))
    source = SYNC_INPUTS[input_kind](data, tmp_path)
    try:
        result = store.put("obj", source, chunk_size=chunk_size, use_multipart=False)
    finally:
        _close(source)
    _assert_stored(store, "obj", data)
    _assert_s3_part_count(backend, result, 0)


@pytest.mark.parametrize("size_name", ["1B", "chunk+1"])
def test_use_multipart_true_on_small_data(
    store: Any, backend: Backend, chunk_size: int, size_name: str
) -> None:
    data = _data(SIZES[size_name](chunk_size))
    if not backend.multipart:
        with pytest.raises(NotImplementedError):
            store.put("obj", data, chunk_size=chunk_size, use_multipart=True)
        return
    result = store.put("obj", data, chunk_size=chunk_size, use_multipart=True)
    _assert_stored(store, "obj", data)
    _assert_s3_part_count(backend, result, -(-len(data) // chunk_size))


@pytest.mark.parametrize("max_concurrency", [1, 2, 16])
@pytest.mark.parametrize("input_kind", ["bytes", "binary-file", "generator"])
def test_put_max_concurrency(
    store: Any,
    backend: Backend,
    chunk_size: int,
    tmp_path: Path,
    input_kind: str,
    max_concurrency: int,
) -> None:
    if not backend.multipart:
        pytest.skip("needs multipart uploads")
    data = _data(5 * chunk_size + 3)
    source = SYNC_INPUTS[input_kind](data, tmp_path)
    try:
        result = store.put("obj", source, chunk_size=chunk_size, max_concurrency=max_concurrency)
    finally:
        _close(source)
    _assert_stored(store, "obj", data)
    if input_kind in SIZED_INPUTS:
        _assert_s3_part_count(backend, result, 6)


def test_concurrent_streamed_uploads(store: Any, backend: Backend, chunk_size: int) -> None:
    # Several multipart uploads interleaved on one event loop must not mix their parts.
    if not backend.multipart:
        pytest.skip("needs multipart uploads")
    payloads = {f"obj-{i}": _data(2 * chunk_size + i) for i in range(4)}

    async def main() -> None:
        await asyncio.gather(
            *(
                obstore.put_async(
                    store, path, _AsyncIterator(_pieces(data, seed=i)), chunk_size=chunk_size
                )
                for i, (path, data) in enumerate(payloads.items())
            )
        )

    run(main)
    for path, data in payloads.items():
        _assert_stored(store, path, data)


# --------------------------------------------------------------------------------------------------
# Failed uploads leave nothing behind


class Halfway(Exception):
    """Raised by a source in the middle of an upload."""


def _multipart_options(backend: Backend, use_multipart: bool | None) -> dict[str, Any]:
    if use_multipart is None and not backend.multipart:
        pytest.skip("iterables need multipart uploads on this backend")
    return {} if use_multipart is None else {"use_multipart": use_multipart}


def _failing_pieces(data: bytes, failure: Any) -> Iterator[Any]:
    """Yield `data` in pieces, then either yield `failure` (a non-buffer) or raise it."""
    yield from _pieces(data)
    if isinstance(failure, BaseException):
        raise failure
    yield failure
    yield b"never reached"


async def _failing_pieces_async(data: bytes, failure: Any) -> AsyncIterator[Any]:
    for piece in _failing_pieces(data, failure):
        await asyncio.sleep(0)
        yield piece


#: What goes wrong halfway: a non-buffer item (TypeError) or an exception of the source itself.
FAILURES: dict[str, tuple[Callable[[], Any], type[BaseException]]] = {
    "yields-str": (lambda: "not bytes", TypeError),
    "yields-int": (lambda: 42, TypeError),
    "yields-None": (lambda: None, TypeError),
    "raises": (lambda: Halfway("source failed"), Halfway),
}


@pytest.mark.parametrize("preexisting", [False, True], ids=["new", "overwrite"])
@pytest.mark.parametrize("use_multipart", [None, False])
@pytest.mark.parametrize("source_kind", ["sync-via-put", "sync-via-put_async", "async"])
@pytest.mark.parametrize("failure", list(FAILURES))
def test_failing_source_leaves_nothing(
    store: Any,
    backend: Backend,
    chunk_size: int,
    failure: str,
    source_kind: str,
    use_multipart: bool | None,
    preexisting: bool,
    tmp_path: Path,
) -> None:
    options = _multipart_options(backend, use_multipart)
    make_failure, expected = FAILURES[failure]
    if preexisting:
        store.put("obj", b"old content")
    # Fail after more than two chunks, so with multipart some parts are already uploaded.
    data = _data(2 * chunk_size + 5)
    failure_value = make_failure()
    with pytest.raises(expected) as raised:
        if source_kind == "async":
            source: Any = _failing_pieces_async(data, failure_value)
            run(lambda: obstore.put_async(store, "obj", source, chunk_size=chunk_size, **options))
        else:
            via = source_kind.removeprefix("sync-via-")
            _put(
                store,
                via,
                "obj",
                _failing_pieces(data, failure_value),
                chunk_size=chunk_size,
                **options,
            )
    if expected is Halfway:
        assert raised.value is failure_value  # the original exception, not a wrapper
    if preexisting:
        assert bytes(store.get("obj").bytes()) == b"old content"
    else:
        _assert_absent(store, "obj")
    assert [meta["path"] for meta in store.list().collect()] == (["obj"] if preexisting else [])
    _assert_no_stray_files(backend, tmp_path, ["obj"] if preexisting else [])


def _assert_no_stray_files(backend: Backend, tmp_path: Path, expected: list[str]) -> None:
    """On LocalStore, no staging file of an aborted upload may stay on disk (not even hidden)."""
    if backend.kind == "local":
        root = tmp_path / "store"  # where the `store` fixture roots its LocalStore
        assert sorted(str(p.relative_to(root)) for p in root.rglob("*")) == expected


@pytest.mark.parametrize("size_name", ["1B", "chunk+1"])
def test_text_mode_file_is_rejected(
    store: Any, backend: Backend, chunk_size: int, tmp_path: Path, size_name: str
) -> None:
    text = "x" * SIZES[size_name](chunk_size)
    path = tmp_path / "text.txt"
    path.write_text(text)
    options = {} if backend.multipart else {"use_multipart": False}
    with path.open("r") as text_file, pytest.raises(TypeError):
        store.put("obj", text_file, chunk_size=chunk_size, **options)
    _assert_absent(store, "obj")


def test_put_rejects_non_buffer_object(store: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        store.put("obj", 12345)
    _assert_absent(store, "obj")


# --------------------------------------------------------------------------------------------------
# Streaming downloads


@pytest.fixture
def streamed(store: Any) -> bytes:
    """A 3 MiB + 5 B object at "big", uploaded in one request."""
    data = _data(3 * MiB + 5)
    store.put("big", data, use_multipart=False)
    return data


MIN_CHUNK_SIZES = [1, 1000, 64 * KiB, 1 * MiB, 3 * MiB + 5, 8 * MiB]


def _assert_chunking(chunks: list[Any], data: bytes, min_chunk_size: int) -> None:
    assert all(type(chunk) is bytes for chunk in chunks)
    assert all(len(chunk) > 0 for chunk in chunks), [len(chunk) for chunk in chunks]
    assert all(len(chunk) >= min_chunk_size for chunk in chunks[:-1]), [len(c) for c in chunks]
    assert _sha(b"".join(chunks)) == _sha(data)


@pytest.mark.parametrize("min_chunk_size", MIN_CHUNK_SIZES)
def test_stream_min_chunk_size(store: Any, streamed: bytes, min_chunk_size: int) -> None:
    chunks = list(store.get("big").stream(min_chunk_size=min_chunk_size))
    _assert_chunking(chunks, streamed, min_chunk_size)


def test_stream_chunk_cancelled_while_filling(store: Any, streamed: bytes) -> None:
    """Chunks are Python bytes filled in place; a cancelled __anext__ drops its unfinished one."""

    async def main() -> bytes:
        result = await obstore.get_async(store, "big")
        stream = result.stream(min_chunk_size=MiB)
        first: bytes = await stream.__anext__()
        pending = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0)
        pending.cancel()
        try:
            await pending
        except asyncio.CancelledError:
            pass
        return first

    first = run(main)
    assert len(first) == MiB
    assert first == streamed[:MiB]
    assert _sha(bytes(store.get("big").bytes())) == _sha(streamed)


@pytest.mark.parametrize("min_chunk_size", MIN_CHUNK_SIZES)
def test_stream_min_chunk_size_async(store: Any, streamed: bytes, min_chunk_size: int) -> None:
    async def main() -> list[bytes]:
        result = await obstore.get_async(store, "big")
        return [chunk async for chunk in result.stream(min_chunk_size=min_chunk_size)]

    _assert_chunking(run(main), streamed, min_chunk_size)


def test_stream_default_iteration(store: Any, streamed: bytes) -> None:
    # iter(GetResult) streams with the default 10 MiB minimum: this object fits in one chunk.
    chunks = list(store.get("big"))
    _assert_chunking(chunks, streamed, 10 * MiB)
    assert len(chunks) == 1


@pytest.mark.parametrize("size_name", list(SIZES))
def test_stream_sizes_around_chunk(store: Any, size_name: str) -> None:
    data = _data(SIZES[size_name](64 * KiB))
    store.put("obj", data, use_multipart=False)
    _assert_chunking(list(store.get("obj").stream(min_chunk_size=64 * KiB)), data, 64 * KiB)


def test_stream_of_multipart_object(store: Any, backend: Backend, chunk_size: int) -> None:
    if not backend.multipart:
        pytest.skip("needs multipart uploads")
    data = _data(3 * chunk_size + 17)
    store.put("obj", iter(_pieces(data)), chunk_size=chunk_size)
    _assert_chunking(list(store.get("obj").stream(min_chunk_size=100_000)), data, 100_000)


def test_large_object_bytes(store: Any, backend: Backend, big_data: bytes) -> None:
    store.put("large", big_data, use_multipart=backend.multipart)
    assert _sha(store.get("large").bytes()) == _sha(big_data)

    async def main() -> Any:
        return await (await store.get_async("large")).bytes_async()

    assert _sha(run(main)) == _sha(big_data)


# --------------------------------------------------------------------------------------------------
# Buffers reused by the caller


def test_put_iterator_that_refills_one_bytearray(store: Any, backend: Backend) -> None:
    # A generator that refills one bytearray (readinto-style) must not corrupt the upload: items
    # are held until a part is full, so mutable buffers are copied when they are taken.
    buffer = bytearray(1000)
    expected = b"".join(bytes([i]) * 1000 for i in range(5))

    def refill() -> Any:
        for i in range(5):
            buffer[:] = bytes([i]) * 1000
            yield buffer

    if not backend.multipart:
        with pytest.raises(NotImplementedError):
            store.put("obj", refill())
        return
    store.put("obj", refill())
    assert bytes(store.get("obj").bytes()) == expected


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_writer_does_not_keep_views_of_mutable_buffers(store: Any, mode: str) -> None:
    buffer = bytearray(b"aaaa")

    def write_sync() -> None:
        with obstore.open_writer(store, "obj") as writer:
            writer.write(buffer)
            buffer[:] = b"bbbb"  # the caller reuses its buffer, as pyarrow's streams do
            writer.write(buffer)

    async def write_async() -> None:
        async with obstore.open_writer_async(store, "obj") as writer:
            await writer.write(buffer)
            buffer[:] = b"bbbb"
            await writer.write(buffer)

    write_sync() if mode == "sync" else run(write_async)
    assert bytes(store.get("obj").bytes()) == b"aaaabbbb"
