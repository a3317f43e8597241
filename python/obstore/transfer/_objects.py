"""Moving one object: upload, download, server-side or streamed copy, local copy, delete.

Every writer of a local file writes a temporary file beside the destination and renames it
into place once complete, so a failed or cancelled transfer leaves no partial file under the
destination's name. Uploads in parts abort their multipart upload on failure or cancellation.
Downloads are the core's (``_download_into_async``): it fetches, writes, sets the
modification time and puts the file in place, with no Python per chunk or file operation.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import secrets
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import obstore
from obstore import _store
from obstore._obstore import _ByteCounter, _download_into_async  # type: ignore[attr-defined]

from ._large import STREAM_CHUNK, FileParts, OnBytes, pwrite_all, upload_part_size
from ._plan import TEMP_SUFFIX

if TYPE_CHECKING:
    from obstore._types import ChecksumAlgorithm, ObjectStore

#: Local copies move this much per system call, checking for cancellation in between.
_LOCAL_COPY_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class PartOptions:
    """How objects go up and large objects move: part size (``None`` = automatic), parts
    in flight, and the checksum every upload request carries (``checksum=`` of ``put``)."""

    part_size: int
    part_size_given: int | None
    part_concurrency: int
    checksum: ChecksumAlgorithm | Literal["default"] | None = "default"

    @property
    def download_threshold(self) -> int:
        """Objects above this size download through parallel ranged GETs."""
        return 2 * self.part_size


def _multipart_capable(store: ObjectStore) -> bool:
    # HTTPStore (WebDAV) has no multipart upload: its objects go in one request.
    return not isinstance(store, _store.HTTPStore)


#: Progress of a download is read from the core's byte counter this often.
_PROGRESS_INTERVAL = 0.1


class _TempNames:
    """Unique temporary names without a system call each: a random token of the process
    (drawn again in a forked child) and a counter."""

    def __init__(self) -> None:
        self.reset()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self.token = secrets.token_hex(4)
        self.counter = itertools.count()

    def beside(self, destination: Path) -> Path:
        name = destination.name[:200]
        unique = f"{self.token}{next(self.counter):x}"
        return destination.with_name(f".{name}.{unique}{TEMP_SUFFIX}")


_temp_names = _TempNames()


def _temp_path(destination: Path) -> Path:
    return _temp_names.beside(destination)


class TempFile:
    """A new temporary file beside ``destination``, open for writing: ``commit`` gives it a
    modification time and renames it onto ``destination``; ``discard`` removes it."""

    def __init__(self, destination: Path) -> None:
        destination.parent.mkdir(parents=True, exist_ok=True)
        self.destination = destination
        self.path = _temp_path(destination)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        self.fd = os.open(self.path, flags, 0o666)

    def commit(self, mtime_ns: int, atime_ns: int | None = None) -> None:
        os.utime(self.fd, ns=(mtime_ns if atime_ns is None else atime_ns, mtime_ns))
        os.close(self.fd)
        self.fd = -1
        os.replace(self.path, self.destination)

    def discard(self) -> None:
        if self.fd >= 0:
            with suppress(OSError):
                os.close(self.fd)
            self.fd = -1
        with suppress(OSError):
            os.unlink(self.path)


async def download(
    store: ObjectStore,
    key: str,
    destination: Path,
    size: int | None,
    parts: PartOptions,
    on_bytes: OnBytes,
) -> int:
    """``key`` into the file ``destination``, with the object's modification time; the
    number of bytes written. Objects above ``parts.download_threshold`` come in parallel
    ranged GETs, others in one GET.

    One call into the core does it all off the event loop: the GET, the file (anonymous
    until complete where the filesystem allows, else under the temporary name), the writes,
    the modification time and the link or rename into place; nothing is left on failure or
    cancellation. Objects of more than one stream chunk report their bytes as they land.
    """
    target, temp = str(destination), str(_temp_path(destination))
    if size is not None and size <= STREAM_CHUNK:
        _, written = await _download_into_async(store, key, target, temp=temp)
        on_bytes(written)
        return int(written)
    ranged = size is not None and size > parts.download_threshold
    counter = _ByteCounter()
    call = asyncio.ensure_future(
        _download_into_async(
            store,
            key,
            target,
            temp=temp,
            part_size=parts.part_size if ranged else None,
            max_concurrency=parts.part_concurrency,
            counter=counter,
        )
    )
    try:
        while True:
            done, _ = await asyncio.wait({call}, timeout=_PROGRESS_INTERVAL)
            if count := counter.take():
                on_bytes(count)
            if done:
                _, written = call.result()
                return int(written)
    finally:
        call.cancel()


async def upload(
    source: Path,
    store: ObjectStore,
    key: str,
    size: int,
    parts: PartOptions,
    on_bytes: OnBytes,
) -> None:
    """The file ``source`` into ``key``; in parts of a size that keeps within 10,000 parts
    when larger than one part.

    Files of one part go through ``put`` with the file path (read by the core; ``on_bytes``
    hears of them once the upload has finished). Larger files are read here in parts and fed
    to ``put_async``, which aborts the multipart upload on failure or cancellation (the core's
    own file upload leaves the upload open when its task is cancelled) and reports each part.
    """
    part_size = upload_part_size(size, parts.part_size_given)
    if size <= part_size or not _multipart_capable(store):
        await obstore.put_async(
            store,
            key,
            source,
            use_multipart=None if _multipart_capable(store) else False,
            chunk_size=part_size,
            max_concurrency=parts.part_concurrency,
            checksum=parts.checksum,
        )
        on_bytes(size)
        return
    chunks = FileParts(source, part_size, on_bytes)
    try:
        await obstore.put_async(
            store,
            key,
            chunks,
            chunk_size=part_size,
            max_concurrency=parts.part_concurrency,
            checksum=parts.checksum,
        )
    finally:
        chunks.close()


async def _counted(chunks: AsyncIterator[bytes], on_bytes: OnBytes) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        yield chunk
        on_bytes(len(chunk))


async def copy_streamed(
    source: ObjectStore,
    source_key: str,
    destination: ObjectStore,
    key: str,
    parts: PartOptions,
    on_bytes: OnBytes,
) -> int:
    """An object from one store into another without holding more than the parts in flight:
    the GET body streams into a multipart upload. Objects of one part go in one request."""
    result = await obstore.get_async(source, source_key)
    size = result.meta["size"]
    part_size = upload_part_size(size, parts.part_size_given)
    multipart = _multipart_capable(destination)
    if size <= part_size:
        data = await result.bytes_async()
        await obstore.put_async(
            destination, key, data, use_multipart=False, checksum=parts.checksum
        )
        on_bytes(size)
        return size
    stream = result.stream(min_chunk_size=part_size if multipart else STREAM_CHUNK)
    await obstore.put_async(
        destination,
        key,
        _counted(stream.__aiter__(), on_bytes),
        use_multipart=None if multipart else False,
        chunk_size=part_size,
        max_concurrency=parts.part_concurrency,
        checksum=parts.checksum,
    )
    return size


def _copy_file_blocking(
    source: Path, destination: Path, stop: threading.Event, report: OnBytes
) -> int:
    """Copy ``source`` to a temporary file renamed to ``destination``, keeping the mtime.

    Runs on a thread; checks ``stop`` between chunks and then removes its temporary file.
    """
    temp = TempFile(destination)
    copied = 0
    try:
        with open(source, "rb") as src:
            info = os.fstat(src.fileno())
            while True:
                if stop.is_set():
                    raise asyncio.CancelledError
                chunk = os.read(src.fileno(), _LOCAL_COPY_CHUNK)
                if not chunk:
                    break
                pwrite_all(temp.fd, chunk, copied)
                copied += len(chunk)
                report(len(chunk))
        temp.commit(info.st_mtime_ns, info.st_atime_ns)
    except BaseException:
        temp.discard()
        raise
    return copied


async def copy_local(source: Path, destination: Path, on_bytes: OnBytes) -> int:
    """A local file to another local path (temporary name, then rename; mtime kept)."""
    loop = asyncio.get_running_loop()
    stop = threading.Event()

    def report(count: int) -> None:
        loop.call_soon_threadsafe(on_bytes, count)

    future = loop.run_in_executor(None, _copy_file_blocking, source, destination, stop, report)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        # The thread stops within one chunk and removes its temporary file; wait for that.
        stop.set()
        with suppress(BaseException):
            await future
        raise


def _md5_blocking(path: Path) -> str:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "md5").hexdigest()


async def local_md5(path: Path) -> str:
    """MD5 (hex) of a local file, computed on a thread."""
    return await asyncio.to_thread(_md5_blocking, path)


async def delete_objects(store: ObjectStore, keys: Sequence[str]) -> None:
    """Delete ``keys`` in one bulk request where the backend has one (S3: up to 1,000)."""
    await obstore.delete_async(store, list(keys))


def _delete_files_blocking(paths: Sequence[Path], root: Path) -> list[BaseException | None]:
    results: list[BaseException | None] = []
    parents: set[Path] = set()
    for path in paths:
        try:
            os.remove(path)
            results.append(None)
        except FileNotFoundError:
            results.append(None)
        except OSError as error:
            results.append(error)
        parents.add(path.parent)
    # Directories left empty go too, up to (not including) the root of the location.
    for parent in sorted(parents, key=lambda p: len(p.parts), reverse=True):
        current = parent
        while current != root and root in current.parents:
            try:
                os.rmdir(current)
            except OSError:
                break
            current = current.parent
    return results


async def delete_files(paths: Sequence[Path], root: Path) -> list[BaseException | None]:
    """Remove local files (a missing one counts as removed); one result per path."""
    return await asyncio.to_thread(_delete_files_blocking, paths, root)


def delete_one_local(path: Path) -> None:
    with suppress(FileNotFoundError):
        os.remove(path)
