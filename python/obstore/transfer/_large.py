"""Large objects: part sizing for multipart uploads and a file read in parts for an upload.
(Downloads in parallel ranged GETs are the core's: ``_objects.download``.)"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable

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
