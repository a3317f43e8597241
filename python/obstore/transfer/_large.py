"""Large objects: part sizing for multipart uploads, a file read in parts for an upload, and
parallel ranged downloads written in place into a local file."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import obstore

if TYPE_CHECKING:
    from obstore import GetResult
    from obstore._types import GetOptions, ObjectMeta, ObjectStore

MIB = 1024 * 1024
#: Part size when none is given: large enough for throughput, small enough to bound memory.
DEFAULT_PART_SIZE = 16 * MIB
#: The smallest part S3 and GCS accept (but for the last one).
MIN_UPLOAD_PART = 5 * MIB
#: Parts per multipart upload: S3's and GCS's limit (Azure allows 50,000 blocks).
MAX_PARTS = 10_000
#: Chunk of a streamed body: chunks of 1 MiB or more arrive as bytes filled in place.
STREAM_CHUNK = MIB

OnBytes = Callable[[int], None]
T = TypeVar("T")


def part_size_or_default(part_size: int | None) -> int:
    if part_size is None:
        return DEFAULT_PART_SIZE
    if part_size < 1:
        raise ValueError(f"part_size must be at least 1 byte, got {part_size}")
    return part_size


def upload_part_size(size: int, part_size: int | None) -> int:
    """The part size for uploading ``size`` bytes: ``part_size`` (default 16 MiB, at least
    5 MiB), grown to whole MiB so that the upload takes at most 10,000 parts."""
    chosen = max(part_size_or_default(part_size), MIN_UPLOAD_PART)
    needed = -(-size // MAX_PARTS)
    if needed > chosen:
        chosen = -(-needed // MIB) * MIB
    return chosen


async def run_bounded(jobs: Iterable[Callable[[], Awaitable[None]]], limit: int) -> None:
    """Run the jobs, at most ``limit`` at a time; the first failure cancels the others and is
    raised once they have ended."""
    pending = iter(jobs)
    running: set[asyncio.Future[None]] = set()
    try:
        while True:
            while len(running) < limit:
                job = next(pending, None)
                if job is None:
                    break
                running.add(asyncio.ensure_future(job()))
            if not running:
                return
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            errors = [task.exception() for task in done if not task.cancelled()]
            first = next((error for error in errors if error is not None), None)
            if first is not None:
                raise first
    finally:
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)


class FileParts:
    """A local file as an async iterator of ``part_size`` bytes objects, read on a thread.

    ``close()`` waits for a read in flight, so the descriptor is never closed under it.
    ``on_bytes`` hears of each part once the consumer asks for the next one (so once the
    upload has accepted it).
    """

    def __init__(self, path: os.PathLike[str] | str, part_size: int, on_bytes: OnBytes) -> None:
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        self._lock = threading.Lock()
        self._part_size = part_size
        self._offset = 0
        self._handed_out = 0
        self._on_bytes = on_bytes

    def __aiter__(self) -> FileParts:
        return self

    def _read(self) -> bytes:
        with self._lock:
            if self._fd < 0:
                return b""
            return os.pread(self._fd, self._part_size, self._offset)

    async def __anext__(self) -> bytes:
        if self._handed_out:
            self._on_bytes(self._handed_out)
            self._handed_out = 0
        data = await asyncio.to_thread(self._read)
        if not data:
            raise StopAsyncIteration
        self._offset += len(data)
        self._handed_out = len(data)
        return data

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


def pwrite_all(fd: int, data: bytes | memoryview, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


async def in_thread(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` on the default executor's threads, off the event loop.

    When the caller is cancelled, it waits for the call to end before raising: a descriptor
    the call writes to is never closed under it (nor its number reused elsewhere meanwhile).
    """
    future = asyncio.get_running_loop().run_in_executor(None, function, *args)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        with contextlib.suppress(BaseException):
            await future
        raise


async def write_body(result: GetResult, fd: int, offset: int, on_bytes: OnBytes) -> int:
    """Stream a GET body into ``fd`` from ``offset``; the number of bytes written.

    Each chunk is written on a thread: a write into the page cache costs about as much CPU
    as receiving the bytes, and on the event loop's thread it would hold every other
    transfer back (a download of many large parts would then use one core).
    """
    written = 0
    async for chunk in result.stream(min_chunk_size=STREAM_CHUNK):
        await in_thread(pwrite_all, fd, chunk, offset + written)
        written += len(chunk)
        on_bytes(len(chunk))
    return written


async def download_ranged(
    store: ObjectStore,
    key: str,
    fd: int,
    *,
    part_size: int,
    part_concurrency: int,
    on_bytes: OnBytes,
) -> ObjectMeta:
    """Download ``key`` into ``fd`` through up to ``part_concurrency`` ranged GETs at once.

    The first response gives the size, ETag and version; every other part is pinned to them
    (``If-Match``, version), so a change of the object during the download fails with
    ``PreconditionError`` instead of mixing two versions. Memory stays near
    ``part_concurrency`` stream chunks: each part is written as it arrives.
    """
    first = await obstore.get_async(store, key, options={"range": (0, part_size)})
    meta = first.meta
    size = meta["size"]
    pin: GetOptions = {}
    if meta["e_tag"]:
        pin["if_match"] = meta["e_tag"]
    if meta["version"]:
        pin["version"] = meta["version"]
    os.ftruncate(fd, size)

    async def head_part() -> None:
        await write_body(first, fd, 0, on_bytes)

    def part(start: int) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            options: GetOptions = {**pin, "range": (start, min(start + part_size, size))}
            result = await obstore.get_async(store, key, options=options)
            await write_body(result, fd, start, on_bytes)

        return run

    jobs = [head_part, *(part(start) for start in range(part_size, size, part_size))]
    await run_bounded(jobs, part_concurrency)
    return meta
