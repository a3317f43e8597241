"""``progress=`` of the single-object operations (put, get, get_parallel, open_writer).

Every operation ends with exactly one call with ``done=True`` whose ``bytes_done`` is the size of
the object; ``bytes_done`` never goes back; calls come at most 10 times per second; an exception
raised by the callable ends the operation, reaches the caller and leaves no upload behind.
"""

from __future__ import annotations

import io
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

import obstore
from obstore.progress import Progress
from obstore.store import MemoryStore

from .conftest import BACKENDS, STORE_KINDS, Backend, _server_store, run

MiB = 1024 * 1024
SIZE = 12 * MiB
PART = 5 * MiB  # the S3/GCS minimum part size


class Recorder:
    """A progress callable that keeps every call and the threads it was called from."""

    def __init__(self) -> None:
        self.calls: list[Progress] = []
        self.lock = threading.Lock()

    def __call__(self, progress: Progress) -> None:
        assert isinstance(progress, Progress)
        with self.lock:
            self.calls.append(progress)

    def assert_complete(self, path: str, size: int, total: int | None = None) -> None:
        """One final call, last, with the whole size; counts that never go back."""
        calls = self.calls
        assert calls, "no progress call"
        assert [c.done for c in calls] == [False] * (len(calls) - 1) + [True], calls
        final = calls[-1]
        assert final.bytes_done == size, calls
        assert final.bytes_total == (size if total is None else total), calls
        assert (final.objects_done, final.objects_total) == (1, 1)
        assert all((c.objects_done, c.objects_total) == (0, 1) for c in calls[:-1]), calls
        assert all(c.path == path for c in calls), calls
        done = [c.bytes_done for c in calls]
        assert done == sorted(done), f"bytes_done went back: {done}"


class Boom(Exception):
    pass


def _data(size: int = SIZE) -> bytes:
    return bytes(range(256)) * (size // 256)


def _chunks(data: bytes, size: int = MiB) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _multipart(backend: Backend) -> bool | None:
    """`use_multipart` for an iterable: WebDAV has no multipart upload."""
    return None if backend.multipart else False


# --------------------------------------------------------------------------------------------------
# put: every kind of source, on every store


@pytest.mark.parametrize("source", ["bytes", "file_path", "file_object", "iterable"])
def test_put_reports_the_whole_object_once_done(
    store: Any, backend: Backend, source: str, tmp_path: Path
) -> None:
    data = _data()
    file_path = tmp_path / "source.bin"
    file_path.write_bytes(data)
    inputs: dict[str, Any] = {
        "bytes": data,
        "file_path": file_path,
        "file_object": io.BytesIO(data),
        "iterable": _chunks(data),
    }
    recorder = Recorder()
    obstore.put(
        store,
        "object",
        inputs[source],
        chunk_size=PART,
        use_multipart=_multipart(backend),
        progress=recorder,
    )
    recorder.assert_complete("object", SIZE)
    assert bytes(obstore.get(store, "object").bytes()) == data


def test_put_async_reports_the_whole_object_from_an_async_iterable(
    store: Any, backend: Backend
) -> None:
    data = _data()

    async def chunks() -> AsyncIterator[bytes]:
        for chunk in _chunks(data):
            yield chunk

    recorder = Recorder()
    run(
        lambda: obstore.put_async(
            store,
            "object",
            chunks(),
            chunk_size=PART,
            use_multipart=_multipart(backend),
            progress=recorder,
        )
    )
    recorder.assert_complete("object", SIZE)
    assert bytes(obstore.get(store, "object").bytes()) == data


def test_put_async_reports_the_whole_buffer(store: Any, backend: Backend) -> None:
    recorder = Recorder()
    run(
        lambda: obstore.put_async(
            store, "object", _data(), use_multipart=_multipart(backend), progress=recorder
        )
    )
    recorder.assert_complete("object", SIZE)


def test_put_of_a_slow_source_reports_at_most_ten_times_a_second() -> None:
    store = MemoryStore()

    def slow() -> Iterator[bytes]:
        for _ in range(20):  # about one second
            time.sleep(0.05)
            yield b"x" * 64 * 1024

    recorder = Recorder()
    started = time.monotonic()
    obstore.put(store, "object", slow(), progress=recorder)
    elapsed = time.monotonic() - started
    recorder.assert_complete("object", 20 * 64 * 1024)
    # One call per 100 ms at most, plus the final one; and calls while it runs, not only at the end.
    assert 2 <= len(recorder.calls) <= elapsed * 10 + 2, (elapsed, recorder.calls)
    assert recorder.calls[0].bytes_total is None  # an iterable's size is known only at the end


# --------------------------------------------------------------------------------------------------
# get: bytes, streaming, get_parallel


def _stored(store: Any) -> bytes:
    data = _data()
    obstore.put(store, "object", data, use_multipart=False)
    return data


def test_get_bytes_reports_the_whole_body(store: Any) -> None:
    data = _stored(store)
    recorder = Recorder()
    result = obstore.get(store, "object", progress=recorder)
    assert bytes(result.bytes()) == data
    recorder.assert_complete("object", SIZE)


def test_get_bytes_async_reports_the_whole_body(store: Any) -> None:
    data = _stored(store)
    recorder = Recorder()

    async def main() -> bytes:
        result = await obstore.get_async(store, "object", progress=recorder)
        return bytes(await result.bytes_async())

    assert run(main) == data
    recorder.assert_complete("object", SIZE)


def test_get_stream_reports_as_chunks_are_read(store: Any) -> None:
    data = _stored(store)
    recorder = Recorder()
    chunks = []
    for chunk in obstore.get(store, "object", progress=recorder).stream(min_chunk_size=MiB):
        chunks.append(chunk)
        time.sleep(0.02)  # a slow reader: reports come while the body is read
        assert not recorder.calls or not recorder.calls[-1].done
    assert b"".join(chunks) == data
    recorder.assert_complete("object", SIZE)
    assert len(recorder.calls) >= 2


def test_get_async_stream_reports_the_whole_body(store: Any) -> None:
    data = _stored(store)
    recorder = Recorder()

    async def main() -> bytes:
        result = await obstore.get_async(store, "object", progress=recorder)
        return b"".join([chunk async for chunk in result.stream(min_chunk_size=64 * 1024)])

    assert run(main) == data
    recorder.assert_complete("object", SIZE)


def test_get_of_a_range_reports_the_range_size(store: Any) -> None:
    _stored(store)
    recorder = Recorder()
    result = obstore.get(store, "object", options={"range": (MiB, 3 * MiB)}, progress=recorder)
    assert len(result.bytes()) == 2 * MiB
    recorder.assert_complete("object", 2 * MiB)


def test_get_of_a_missing_object_makes_the_final_call(store: Any) -> None:
    recorder = Recorder()
    with pytest.raises(FileNotFoundError):
        obstore.get(store, "missing", progress=recorder)
    assert [(c.done, c.bytes_done) for c in recorder.calls] == [(True, 0)]


def test_a_get_result_dropped_unread_makes_the_final_call() -> None:
    store = MemoryStore()
    _stored(store)
    recorder = Recorder()
    result = obstore.get(store, "object", progress=recorder)
    del result
    assert [(c.done, c.bytes_done, c.bytes_total) for c in recorder.calls] == [(True, 0, SIZE)]


def test_a_stream_left_early_makes_the_final_call_while_its_result_lives() -> None:
    store = MemoryStore()
    _stored(store)
    recorder = Recorder()
    result = obstore.get(store, "object", progress=recorder)
    stream = result.stream(min_chunk_size=MiB)
    next(stream)
    del stream
    assert [c.done for c in recorder.calls].count(True) == 1
    assert (recorder.calls[-1].done, recorder.calls[-1].bytes_done) == (True, MiB)
    assert result.range == (0, SIZE)


def test_get_parallel_reports_every_part(store: Any) -> None:
    data = _stored(store)
    recorder = Recorder()
    result = obstore.get_parallel(
        store, "object", chunk_size=MiB, max_concurrency=4, progress=recorder
    )
    assert bytes(result) == data
    recorder.assert_complete("object", SIZE)


def test_get_parallel_async_reports_every_part(store: Any) -> None:
    data = _stored(store)
    recorder = Recorder()
    result = run(
        lambda: obstore.get_parallel_async(
            store, "object", chunk_size=MiB, max_concurrency=4, progress=recorder
        )
    )
    assert bytes(result) == data
    recorder.assert_complete("object", SIZE)


# --------------------------------------------------------------------------------------------------
# open_writer


def test_open_writer_reports_the_bytes_written(store: Any, backend: Backend) -> None:
    data = _data()
    recorder = Recorder()
    # WebDAV has no multipart upload: a buffer larger than the object keeps it to one request.
    buffer_size = PART if backend.multipart else 2 * SIZE
    with obstore.open_writer(store, "object", buffer_size=buffer_size, progress=recorder) as w:
        for chunk in _chunks(data):
            w.write(chunk)
            assert all(c.bytes_total is None for c in recorder.calls)
    recorder.assert_complete("object", SIZE)
    assert bytes(obstore.get(store, "object").bytes()) == data


def test_open_writer_async_reports_the_bytes_written(store: Any) -> None:
    data = _data(MiB)
    recorder = Recorder()

    async def main() -> None:
        async with obstore.open_writer_async(store, "object", progress=recorder) as writer:
            for chunk in _chunks(data, 64 * 1024):
                await writer.write(chunk)

    run(main)
    recorder.assert_complete("object", MiB)


def test_an_aborted_writer_makes_the_final_call() -> None:
    recorder = Recorder()
    with (
        pytest.raises(Boom),
        obstore.open_writer(MemoryStore(), "object", progress=recorder) as writer,
    ):
        writer.write(b"abc")
        raise Boom
    assert [(c.done, c.bytes_done, c.bytes_total) for c in recorder.calls] == [(True, 3, None)]


# --------------------------------------------------------------------------------------------------
# A raising callable; a bad argument


def _raise_while_running(progress: Progress) -> None:
    if not progress.done:
        raise Boom(f"stop at {progress.bytes_done}")


def _slow_chunks(count: int = 4, size: int = PART) -> Iterator[bytes]:
    for index in range(count):
        time.sleep(0.15)
        yield bytes([index]) * size


def test_an_exception_in_the_callable_stops_put_and_reaches_the_caller(
    store: Any, backend: Backend
) -> None:
    calls: list[Progress] = []

    def callback(progress: Progress) -> None:
        calls.append(progress)
        _raise_while_running(progress)

    with pytest.raises(Boom):
        obstore.put(
            store,
            "object",
            _slow_chunks(),
            chunk_size=PART,
            use_multipart=_multipart(backend),
            progress=callback,
        )
    with pytest.raises(FileNotFoundError):
        obstore.head(store, "object")
    # The raising call, then the final one.
    assert [c.done for c in calls] == [False, True]


def test_an_exception_in_the_final_call_reaches_the_caller(store: Any) -> None:
    def callback(progress: Progress) -> None:
        if progress.done:
            raise Boom("at the end")

    with pytest.raises(Boom):
        obstore.put(store, "object", b"data", progress=callback)


def test_an_exception_in_the_callable_stops_a_stream(store: Any) -> None:
    _stored(store)
    stream = obstore.get(store, "object", progress=_raise_while_running).stream(MiB)
    with pytest.raises(Boom):
        for _ in stream:
            time.sleep(0.03)


def test_an_exception_in_the_callable_stops_put_async() -> None:
    with pytest.raises(Boom):
        run(
            lambda: obstore.put_async(
                MemoryStore(), "object", _slow_chunks(3, MiB), progress=_raise_while_running
            )
        )


def test_an_exception_in_the_callable_stops_a_writer() -> None:
    store = MemoryStore()
    writer = obstore.open_writer(store, "object", progress=_raise_while_running)
    with pytest.raises(Boom):  # noqa: PT012 - the writes run until the callable raises
        for _ in range(20):
            time.sleep(0.02)
            writer.write(b"x" * 1024)
    assert writer.closed()
    with pytest.raises(FileNotFoundError):
        obstore.head(store, "object")


CALLS = {
    "put": lambda p: obstore.put(MemoryStore(), "a", b"x", progress=p),
    "put_async": lambda p: run(lambda: obstore.put_async(MemoryStore(), "a", b"x", progress=p)),
    "get": lambda p: obstore.get(MemoryStore(), "a", progress=p),
    "get_async": lambda p: run(lambda: obstore.get_async(MemoryStore(), "a", progress=p)),
    "get_parallel": lambda p: obstore.get_parallel(MemoryStore(), "a", progress=p),
    "get_parallel_async": lambda p: run(
        lambda: obstore.get_parallel_async(MemoryStore(), "a", progress=p)
    ),
    "open_writer": lambda p: obstore.open_writer(MemoryStore(), "a", progress=p),
    "open_writer_async": lambda p: obstore.open_writer_async(MemoryStore(), "a", progress=p),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_progress_that_is_not_callable_raises_type_error(name: str) -> None:
    with pytest.raises(TypeError, match="progress"):
        CALLS[name]("not callable")


def test_store_methods_take_progress() -> None:
    store = MemoryStore()
    recorder = Recorder()
    store.put("object", b"abc", progress=recorder)
    assert bytes(store.get("object", progress=recorder).bytes()) == b"abc"
    assert bytes(store.get_parallel("object", progress=recorder)) == b"abc"
    assert [(c.done, c.bytes_done) for c in recorder.calls] == [(True, 3)] * 3


# --------------------------------------------------------------------------------------------------
# Servers: a callable that raises during a multipart upload leaves no upload behind


SERVER_KINDS = [k for k in ("s3-minio", "s3-moto", "gcs") if k in STORE_KINDS]


@pytest.mark.skipif(not SERVER_KINDS, reason="no multipart server selected")
@pytest.mark.parametrize("kind", SERVER_KINDS)
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_a_raising_callable_aborts_the_multipart_upload(
    kind: str, is_async: bool, request: pytest.FixtureRequest
) -> None:
    from .test_multipart_servers import _gcs_stats, _s3_in_progress_uploads

    backend = BACKENDS[kind]
    server = request.getfixturevalue("servers").get(backend.server)
    prefix = f"progress-{uuid.uuid4().hex}"
    store = _server_store(backend, server, prefix)
    before = _gcs_stats(server) if kind == "gcs" else {}
    with pytest.raises(Boom):
        if is_async:
            run(
                lambda: obstore.put_async(
                    store, "object", _slow_chunks(), chunk_size=PART, progress=_raise_while_running
                )
            )
        else:
            obstore.put(
                store, "object", _slow_chunks(), chunk_size=PART, progress=_raise_while_running
            )
    with pytest.raises(FileNotFoundError):
        obstore.head(store, "object")
    if kind == "gcs":
        after = _gcs_stats(server)
        assert after.get("multipart_aborted", 0) == before.get("multipart_aborted", 0) + 1
    else:
        assert _s3_in_progress_uploads(server, prefix) == []
