"""Stubs for ``obstore._obstore``, the compiled core of obstore.

Every function takes the store as its first argument. The ``*_async`` functions
must be called while an event loop is running; they return awaitables.
"""

import builtins
import sys
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import (
    IO,
    Any,
    ClassVar,
    Generic,
    Literal,
    Self,
    SupportsIndex,
    TypeVar,
    overload,
    type_check_only,
)

from arro3.core import RecordBatch, Table
from typing_extensions import disjoint_base

from . import _store as _store
from . import exceptions as exceptions
from ._types import (
    HTTP_METHOD,
    Attributes,
    ChecksumAlgorithm,
    GetOptions,
    ListChunkType,
    ListResult,
    ObjectMeta,
    ObjectStore,
    PutMode,
    PutResult,
    SignCapableStore,
)
from .progress import ProgressCallback

if sys.version_info >= (3, 12):
    from collections.abc import Buffer
else:
    from typing_extensions import Buffer

__all__ = [
    "__version__",
    "_object_store_version",
    "_object_store_source",
    "_store",
    "exceptions",
    "Bytes",
    "open_reader",
    "open_reader_async",
    "open_writer",
    "open_writer_async",
    "copy_async",
    "copy",
    "delete_async",
    "delete",
    "get_async",
    "get_parallel",
    "get_parallel_async",
    "get_range_async",
    "get_range",
    "get_ranges_async",
    "get_ranges",
    "get",
    "head_async",
    "head",
    "list_with_delimiter_async",
    "list_with_delimiter",
    "list",
    "put_async",
    "put",
    "rename_async",
    "rename",
    "parse_scheme",
    "sign_async",
    "sign",
]

__version__: str
"""Version of the obstore package."""
_object_store_version: str
"""Version of the Rust ``object_store`` crate obstore was built with."""
_object_store_source: str
"""Where the Rust ``object_store`` crate came from (a cargo source id)."""

# --- Buffers -------------------------------------------------------------------

@disjoint_base
class Bytes(Buffer):
    """An immutable byte buffer owned by the Rust core, shared without copying.

    Supports the buffer protocol (``memoryview(b)``, ``bytes(b)``), indexing,
    slicing, ``in``, ``+``, ``*`` and ``==`` with any bytes-like object.
    A result too large to represent raises ``OverflowError``, one that cannot
    be allocated ``MemoryError``.
    """

    def __new__(cls, buf: Buffer = b"") -> Self:
        """Wrap a bytes-like object: ``bytes``, ``Bytes`` and memoryviews of them
        without copying; a mutable buffer (``bytearray``, a writable array, a
        memoryview of one) is copied, so the result never changes."""

    # CPython exposes `__buffer__` on native types from 3.12 only; declared
    # unconditionally so that `Bytes` is a `Buffer` to type checkers on 3.11.
    def __buffer__(self, flags: int, /) -> memoryview[int]:
        """Expose the contents as a read-only buffer."""

    def __add__(self, other: Buffer, /) -> Bytes:
        """Concatenate with another bytes-like object."""

    def __contains__(self, other: Buffer, /) -> bool:
        """Whether ``other`` occurs as a contiguous subsequence."""

    def __eq__(self, other: object, /) -> bool:
        """Equal to any bytes-like object with the same contents."""
    __hash__: ClassVar[None]  # type: ignore[assignment]

    @overload
    def __getitem__(self, key: int, /) -> int:
        """One byte as an ``int``, or a slice as ``Bytes``."""
    @overload
    def __getitem__(self, key: slice, /) -> Bytes: ...
    def __len__(self) -> int:
        """Number of bytes."""

    def __getnewargs_ex__(self) -> tuple[tuple[bytes], dict[str, object]]:
        """Pickle support: the bytes are copied into the pickle."""
    def __mul__(self, other: SupportsIndex, /) -> Bytes:
        """Repeat the contents ``other`` times (empty for ``other <= 0``)."""

    def __rmul__(self, other: SupportsIndex, /) -> Bytes:
        """Repeat the contents ``other`` times, as ``self * other`` does."""

    def removeprefix(self, prefix: Buffer, /) -> Bytes:
        """Drop ``prefix`` from the start if present, like ``bytes.removeprefix``."""

    def removesuffix(self, suffix: Buffer, /) -> Bytes:
        """Drop ``suffix`` from the end if present, like ``bytes.removesuffix``."""

    def isalnum(self) -> bool:
        """Whether non-empty and all bytes are ASCII letters or digits."""

    def isalpha(self) -> bool:
        """Whether non-empty and all bytes are ASCII letters."""

    def isascii(self) -> bool:
        """Whether all bytes are ASCII (true when empty)."""

    def isdigit(self) -> bool:
        """Whether non-empty and all bytes are ASCII digits."""

    def islower(self) -> bool:
        """Whether there is a lower-case ASCII letter and no upper-case one."""

    def isspace(self) -> bool:
        """Whether non-empty and all bytes are ASCII whitespace."""

    def isupper(self) -> bool:
        """Whether there is an upper-case ASCII letter and no lower-case one."""

    def lower(self) -> Bytes:
        """A copy with ASCII letters lower-cased."""

    def upper(self) -> Bytes:
        """A copy with ASCII letters upper-cased."""

    def to_bytes(self) -> builtins.bytes:
        """Copy the contents into a Python ``bytes``."""

# --- Streams of chunks ---------------------------------------------------------

_ChunkT_co = TypeVar("_ChunkT_co", covariant=True)

@type_check_only
class _Chunks(Generic[_ChunkT_co]):
    """A stream of chunks, for ``for`` and ``async for``."""

    def __aiter__(self) -> Self:
        """Return the stream itself, for ``async for``."""

    def __iter__(self) -> Self:
        """Return the stream itself, for ``for``."""

    async def __anext__(self) -> _ChunkT_co:
        """The next chunk; ``StopAsyncIteration`` at the end."""

    def __next__(self) -> _ChunkT_co:
        """The next chunk; ``StopIteration`` at the end."""

# --- Results of get ------------------------------------------------------------

@type_check_only
class BytesStream(_Chunks[builtins.bytes]):
    """Chunks of an object's body, for ``for`` and ``async for``.

    Each chunk is a Python ``bytes``.
    """

@type_check_only
class GetResult:
    """The answer to ``get``: metadata now, the body on demand.

    The body can be consumed only once, by ``bytes``, ``buffer``, ``stream`` or
    iteration; a second attempt raises ``ValueError``. ``meta``, ``range`` and
    ``attributes`` stay available.
    """

    @property
    def attributes(self) -> Attributes:
        """Attributes and user metadata of the object."""

    @property
    def meta(self) -> ObjectMeta:
        """Metadata of the object."""

    @property
    def range(self) -> tuple[int, int]:
        """``(start, end)`` of the returned bytes, ``end`` exclusive."""

    def bytes(self) -> Bytes:
        """Read the whole body."""

    async def bytes_async(self) -> Bytes:
        """Read the whole body, asynchronously."""

    def buffer(self) -> Bytes:
        """Same as ``bytes()``."""

    async def buffer_async(self) -> Bytes:
        """Same as ``bytes_async()``."""

    def stream(self, min_chunk_size: int = 10 * 1024 * 1024) -> BytesStream:
        """Iterate over the body in chunks of at least ``min_chunk_size`` bytes
        (except the last one)."""

    def __aiter__(self) -> BytesStream:
        """Same as ``stream()`` with the default chunk size, for ``async for``."""

    def __iter__(self) -> BytesStream:
        """Same as ``stream()`` with the default chunk size, for ``for``."""

# --- Listing -------------------------------------------------------------------

@type_check_only
class ListStream(_Chunks[ListChunkType]):
    """A lazily fetched listing, yielding chunks of objects.

    Works with ``for`` and ``async for``. Chunks are ``list[ObjectMeta]``, or
    Arrow ``RecordBatch`` objects with ``return_arrow=True``.
    """

    def collect(self) -> ListChunkType:
        """All remaining objects as one chunk."""

    async def collect_async(self) -> ListChunkType:
        """All remaining objects as one chunk, asynchronously."""

# --- File-like objects ---------------------------------------------------------

@type_check_only
class _File:
    """The ``with`` block of ``ReadableFile`` and ``WritableFile``."""

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the file, or abort a writer's upload if an exception is propagating."""

    def __enter__(self) -> Self:
        """Return the file itself; ``ValueError`` once closed."""

@type_check_only
class _AsyncFile:
    """The ``async with`` block of ``AsyncReadableFile`` and ``AsyncWritableFile``."""

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the file, or abort a writer's upload if an exception is propagating."""

    async def __aenter__(self) -> Self:
        """Return the file itself; ``ValueError`` once closed."""

@type_check_only
class ReadableFile(_File):
    """A buffered, seekable reader over one object (from ``open_reader``).

    Reading past the end of an object shorter than the reader's ``size``
    raises ``OSError``. Once closed, every method but ``close`` raises
    ``ValueError``, as Python's ``io`` files do. A ``with`` block closes it.
    """

    def __iter__(self) -> Self:
        """Iterate over the lines of the object."""

    def __next__(self) -> Bytes:
        """The next line, including its ``\\n``."""

    def close(self) -> None:
        """Close the reader; closing again does nothing."""

    @property
    def closed(self) -> bool:
        """Whether the reader was closed."""

    def read(self, size: int | None = None, /) -> Bytes:
        """Read up to ``size`` bytes, or to the end when ``size`` is ``None``."""

    def readall(self) -> Bytes:
        """Read to the end of the object."""

    def readline(self) -> Bytes:
        r"""Read up to and including the next ``\n``."""

    def readlines(self, hint: int = -1, /) -> builtins.list[Bytes]:
        """Read the remaining lines; stop once ``hint`` bytes are read if positive."""

    def seek(self, offset: int, whence: int = 0, /) -> int:
        """Move to ``offset`` relative to ``whence`` (``os.SEEK_SET``, ``SEEK_CUR``
        or ``SEEK_END``) and return the new absolute position."""

    def seekable(self) -> bool:
        """Always ``True``."""

    @property
    def size(self) -> int:
        """Size of the object in bytes."""

    def tell(self) -> int:
        """Current position."""

@type_check_only
class AsyncReadableFile(_AsyncFile):
    """The reader of ``open_reader_async``: ``ReadableFile`` with coroutines.

    ``read``, ``readall``, ``readline``, ``readlines``, ``seek`` and ``tell`` are
    awaited; the rest, and the rules on closing and short objects, are those of
    ``ReadableFile``; ``async with`` closes it.
    """

    def close(self) -> None:
        """As ``ReadableFile.close``."""

    @property
    def closed(self) -> bool:
        """As ``ReadableFile.closed``."""

    async def read(self, size: int | None = None, /) -> Bytes:
        """Asynchronous ``ReadableFile.read``."""

    async def readall(self) -> Bytes:
        """Asynchronous ``ReadableFile.readall``."""

    async def readline(self) -> Bytes:
        """Asynchronous ``ReadableFile.readline``."""

    async def readlines(self, hint: int = -1, /) -> builtins.list[Bytes]:
        """Asynchronous ``ReadableFile.readlines``."""

    async def seek(self, offset: int, whence: int = 0, /) -> int:
        """Asynchronous ``ReadableFile.seek``."""

    def seekable(self) -> bool:
        """As ``ReadableFile.seekable``."""

    @property
    def size(self) -> int:
        """As ``ReadableFile.size``."""

    async def tell(self) -> int:
        """Asynchronous ``ReadableFile.tell``."""

@type_check_only
class WritableFile(_File):
    """A buffered writer creating one object (from ``open_writer``).

    The object appears only when the writer is closed. Leaving a ``with`` block
    through an exception aborts the upload instead. Once closed or aborted,
    ``write``, ``flush`` and ``with`` raise ``ValueError``, as Python's ``io``
    files do.
    """

    def abort(self) -> None:
        """Cancel the upload: nothing is written and uploaded parts are removed.
        Does nothing once closed."""

    def close(self) -> None:
        """Complete the upload: the object appears now. Closing again does nothing."""

    def closed(self) -> bool:
        """Whether the writer is closed (a method, not a property)."""

    def flush(self) -> None:
        """Send buffered data onwards."""

    def write(self, buffer: bytes | Buffer, /) -> int:
        """Append ``buffer`` and return its length; each full buffer is uploaded
        as one part in the background."""

@type_check_only
class AsyncWritableFile(_AsyncFile):
    """The writer of ``open_writer_async``: ``WritableFile`` with coroutines.

    Every method is awaited, and ``async with`` takes the place of ``with``;
    the object appears, or the upload is aborted, as with ``WritableFile``.
    """

    async def abort(self) -> None:
        """Asynchronous ``WritableFile.abort``."""

    async def close(self) -> None:
        """Asynchronous ``WritableFile.close``."""

    async def closed(self) -> bool:
        """Asynchronous ``WritableFile.closed``."""

    async def flush(self) -> None:
        """Asynchronous ``WritableFile.flush``."""

    async def write(self, buffer: bytes | Buffer, /) -> int:
        """Asynchronous ``WritableFile.write``."""

# --- Functions -----------------------------------------------------------------

def copy(store: ObjectStore, from_: str, to: str, *, overwrite: bool = True) -> None:
    """Copy an object within one store.

    With ``overwrite=False`` an existing destination raises
    ``AlreadyExistsError`` (atomically where the backend supports it). Copying
    an object onto itself leaves it as it is.
    """

async def copy_async(store: ObjectStore, from_: str, to: str, *, overwrite: bool = True) -> None:
    """Asynchronous ``copy``."""

def delete(store: ObjectStore, paths: str | Sequence[str]) -> None:
    """Delete one object, or many at once (in bulk where the backend can).

    ``paths`` is one path or a sequence of paths. A path that does not exist
    raises ``FileNotFoundError`` on the local, Azure, GCS and HTTP stores; S3
    and the memory store ignore it.

    Example:

        obstore.delete(store, ["logs/a.txt", "logs/b.txt"])
    """

async def delete_async(store: ObjectStore, paths: str | Sequence[str]) -> None:
    """Asynchronous ``delete``."""

def get(
    store: ObjectStore,
    path: str,
    *,
    options: GetOptions | None = None,
    verify_checksum: bool = True,
    progress: ProgressCallback | None = None,
) -> GetResult:
    """Fetch an object; the body is streamed on demand from the result.

    Raises ``FileNotFoundError`` if it does not exist. A body read whole
    (``bytes()``, or streamed to its end) is checked against the checksum the
    server announced for the object (S3 ``x-amz-checksum-*``, GCS
    ``x-goog-hash``, ``Content-MD5``), and a mismatch raises
    ``ChecksumMismatchError`` at the end of the body; ranged reads and servers
    that announce no checksum are not checked. ``verify_checksum=False`` (or
    the store setting ``verify_checksum=False``) turns the check off.

    With ``progress``, the body is counted as it is read (``bytes``, ``bytes_async``,
    ``stream`` or iteration); ``bytes_total`` is the size of the object or range. The
    final call comes when the body has been read, when reading it fails, when the get
    itself fails, or when the result is dropped unread.

    ``progress``: a callable taking an ``obstore.progress.Progress``, called at most 10
    times per second while the bytes move and once more with ``done=True`` when the
    operation ends, successfully or not (``objects_done``/``objects_total`` go from
    0/1 to 1/1; ``path`` is the object path). It is called from the thread that moves
    the bytes: the calling thread, or one of the runtime's worker threads (also for
    the ``_async`` functions: not the event loop's thread), so it should be quick and
    thread-safe. An exception it raises stops the operation (a multipart upload is
    aborted) and is raised to the caller. Anything not callable raises ``TypeError``.

    Example:

        result = obstore.get(store, "data.bin")
        print(result.meta["size"], result.bytes())
    """

async def get_async(
    store: ObjectStore,
    path: str,
    *,
    options: GetOptions | None = None,
    verify_checksum: bool = True,
    progress: ProgressCallback | None = None,
) -> GetResult:
    """Asynchronous ``get``."""

def get_parallel(
    store: ObjectStore,
    path: str,
    *,
    options: GetOptions | None = None,
    chunk_size: int = 16 * 1024 * 1024,
    max_concurrency: int = 12,
    progress: ProgressCallback | None = None,
) -> Bytes:
    """Download an object (or the range in ``options``) into one ``Bytes``, fast.

    The same bytes as ``get(store, path, options=options).bytes()``, fetched through up
    to ``max_concurrency`` concurrent ranged GETs of ``chunk_size`` bytes, each written
    straight into its place in one buffer (no join, no second copy). The first request
    carries ``options`` (conditions, version, range) and tells the size; every other
    part is pinned to the ETag and version it returned (``If-Match``), so the result is
    one version of the object or the call raises ``PreconditionError`` (the object
    changed during the download). Objects of one chunk or less, and ``MemoryStore`` /
    ``LocalStore``, take a single read.

    Raises ``ValueError`` for ``options["head"]`` or a ``chunk_size`` or
    ``max_concurrency`` below 1.

    With ``progress``, the bytes are counted as the parts arrive; ``bytes_total`` is
    known from the first response on.

    ``progress`` is called as for ``get`` (see there).
    """

async def get_parallel_async(
    store: ObjectStore,
    path: str,
    *,
    options: GetOptions | None = None,
    chunk_size: int = 16 * 1024 * 1024,
    max_concurrency: int = 12,
    progress: ProgressCallback | None = None,
) -> Bytes:
    """Asynchronous ``get_parallel``."""

def get_range(
    store: ObjectStore,
    path: str,
    *,
    start: int,
    end: int | None = None,
    length: int | None = None,
) -> Bytes:
    """Fetch the bytes ``[start, end)`` or ``[start, start + length)``.

    Exactly one of ``end`` and ``length`` must be given. An end past the object
    is clamped to its size.
    """

async def get_range_async(
    store: ObjectStore,
    path: str,
    *,
    start: int,
    end: int | None = None,
    length: int | None = None,
) -> Bytes:
    """Asynchronous ``get_range``."""

def get_ranges(
    store: ObjectStore,
    path: str,
    *,
    starts: Sequence[int],
    ends: Sequence[int] | None = None,
    lengths: Sequence[int] | None = None,
    coalesce: int = 1024 * 1024,
) -> builtins.list[Bytes]:
    """Fetch several byte ranges of one object, in the order given.

    Exactly one of ``ends`` and ``lengths`` must be given, as long as
    ``starts`` (``ValueError`` otherwise). Ranges less than ``coalesce`` bytes
    apart are fetched with one request.
    """

async def get_ranges_async(
    store: ObjectStore,
    path: str,
    *,
    starts: Sequence[int],
    ends: Sequence[int] | None = None,
    lengths: Sequence[int] | None = None,
    coalesce: int = 1024 * 1024,
) -> builtins.list[Bytes]:
    """Asynchronous ``get_ranges``."""

def head(store: ObjectStore, path: str) -> ObjectMeta:
    """Fetch an object's metadata only (one HEAD request, no body).

    Returns an ``ObjectMeta`` dict: ``path``, ``last_modified``, ``size``,
    ``e_tag``, ``version`` and the ``checksums`` the server announced. Raises
    ``FileNotFoundError`` if the object does not exist.
    """

async def head_async(store: ObjectStore, path: str) -> ObjectMeta:
    """Asynchronous ``head``."""

@overload
def list(
    store: ObjectStore,
    prefix: str | None = None,
    *,
    offset: str | None = None,
    chunk_size: int = 50,
    return_arrow: Literal[True],
) -> ListStream[RecordBatch]:
    """List all objects below ``prefix``, recursively and lazily.

    ``prefix`` matches whole path segments. With ``offset``, only paths sorting
    after it are listed. The order is not guaranteed. The stream yields chunks of
    ``chunk_size`` objects and works with ``for`` and ``async for``.
    ``return_arrow=True`` yields Arrow record batches (needs ``arro3-core``).

    Example:

        for chunk in obstore.list(store, "logs"):
            for meta in chunk:
                print(meta["path"], meta["size"])
    """

@overload
def list(
    store: ObjectStore,
    prefix: str | None = None,
    *,
    offset: str | None = None,
    chunk_size: int = 50,
    return_arrow: Literal[False] = False,
) -> ListStream[Sequence[ObjectMeta]]: ...
@overload
def list(
    store: ObjectStore,
    prefix: str | None = None,
    *,
    offset: str | None = None,
    chunk_size: int = 50,
    return_arrow: bool = False,
) -> ListStream[RecordBatch] | ListStream[Sequence[ObjectMeta]]: ...
@overload
def list_with_delimiter(
    store: ObjectStore,
    prefix: str | None = None,
    *,
    return_arrow: Literal[True],
) -> ListResult[Table]:
    """List one level below ``prefix``: its objects and its sub-"directories".

    Returns a ``ListResult`` dict: ``objects`` (a list of ``ObjectMeta``, or an
    Arrow table with ``return_arrow=True``, which needs ``arro3-core``) and
    ``common_prefixes`` (the full paths of the "directories" directly below
    ``prefix``). The whole level is fetched before the call returns.
    """

@overload
def list_with_delimiter(
    store: ObjectStore,
    prefix: str | None = None,
    *,
    return_arrow: Literal[False] = False,
) -> ListResult[Sequence[ObjectMeta]]: ...
@overload
def list_with_delimiter(
    store: ObjectStore,
    prefix: str | None = None,
    *,
    return_arrow: bool = False,
) -> ListResult[Table] | ListResult[Sequence[ObjectMeta]]: ...
@overload
async def list_with_delimiter_async(
    store: ObjectStore,
    prefix: str | None = None,
    *,
    return_arrow: Literal[True],
) -> ListResult[Table]:
    """Asynchronous ``list_with_delimiter``."""

@overload
async def list_with_delimiter_async(
    store: ObjectStore,
    prefix: str | None = None,
    *,
    return_arrow: Literal[False] = False,
) -> ListResult[Sequence[ObjectMeta]]: ...
@overload
async def list_with_delimiter_async(
    store: ObjectStore,
    prefix: str | None = None,
    *,
    return_arrow: bool = False,
) -> ListResult[Table] | ListResult[Sequence[ObjectMeta]]: ...
def open_reader(
    store: ObjectStore,
    path: str,
    *,
    buffer_size: int = 1024 * 1024,
    size: int | None = None,
) -> ReadableFile:
    """Open an object for buffered random-access reading.

    Issues a HEAD request unless ``size`` is given (which is then trusted:
    reading past the end of an object shorter than ``size`` raises ``OSError``).
    """

async def open_reader_async(
    store: ObjectStore,
    path: str,
    *,
    buffer_size: int = 1024 * 1024,
    size: int | None = None,
) -> AsyncReadableFile:
    """Asynchronous ``open_reader``."""

def open_writer(
    store: ObjectStore,
    path: str,
    *,
    attributes: Attributes | None = None,
    buffer_size: int = 10 * 1024 * 1024,
    tags: dict[str, str] | None = None,
    max_concurrency: int = 12,
    progress: ProgressCallback | None = None,
    checksum: ChecksumAlgorithm | Literal["default"] | None = "default",
) -> WritableFile:
    """Open a buffered writer for a new object.

    Once more than ``buffer_size`` bytes are written, the data is uploaded in
    parts of that size. The object appears when the writer is closed.

    With ``progress``, ``bytes_done`` counts the bytes written so far and
    ``bytes_total`` is ``None`` until the final call, made on close (with the total
    written), on abort, or when a write fails.

    ``progress`` is called as for ``get`` (see there).

    ``checksum`` is the checksum every upload request carries, its parts
    included, as for ``put`` (see there).
    """

def open_writer_async(
    store: ObjectStore,
    path: str,
    *,
    attributes: Attributes | None = None,
    buffer_size: int = 10 * 1024 * 1024,
    tags: dict[str, str] | None = None,
    max_concurrency: int = 12,
    progress: ProgressCallback | None = None,
    checksum: ChecksumAlgorithm | Literal["default"] | None = "default",
) -> AsyncWritableFile:
    """Open an asynchronous writer; this call itself is synchronous."""

def _allocator_settings() -> dict[str, int | bool]:
    """The allocator settings in effect (private; for tests and bug reports):
    ``purge_delay_ms`` and ``allow_thp``."""

# Request observation (private; used by ``obstore._hooks``).
def _observe_configure(refresh: Callable[[], object]) -> None:
    """Register the function that tells the core what listens."""

def _observe_set(global_hooks: int, log_level: int) -> None:
    """Set the number of global hooks and the logger's level (0 off, 1 warning, 2 debug)."""

def _observe_take(timeout: float) -> builtins.list[tuple[Any, ...]]:
    """The queued request events, waiting up to ``timeout`` seconds for the first."""

def _observe_status() -> tuple[int, int, int, bool]:
    """``(produced, dropped, store_hooks, active)`` of the request event queue: events
    queued or dropped since the start, events dropped, live stores with a hook, and
    whether anything listens."""

def parse_scheme(
    url: str,
) -> Literal["s3", "gcs", "http", "local", "memory", "azure"]:
    """Tell which kind of store a URL points to.

    Raises ``GenericError`` for an unrecognised URL and ``ValueError`` for a
    string that is not a URL.

    Example:

        assert obstore.parse_scheme("s3://bucket/key") == "s3"
    """

def put(
    store: ObjectStore,
    path: str,
    file: IO[bytes] | Path | bytes | Buffer | Iterator[Buffer] | Iterable[Buffer],
    *,
    attributes: Attributes | None = None,
    tags: dict[str, str] | None = None,
    mode: PutMode | None = None,
    use_multipart: bool | None = None,
    chunk_size: int = 5 * 1024 * 1024,
    max_concurrency: int = 12,
    progress: ProgressCallback | None = None,
    checksum: ChecksumAlgorithm | Literal["default"] | None = "default",
) -> PutResult:
    """Write an object atomically.

    ``file`` may be a path (a ``str`` is a local file path too), a bytes-like
    object, a binary file object, or an iterable of bytes-like chunks. Sized
    inputs larger than ``chunk_size`` and all iterables are uploaded in parts,
    ``max_concurrency`` at a time, unless ``use_multipart`` says otherwise. Parts are
    ``chunk_size`` bytes, at least 5 MiB on a cloud store, and larger (whole MiB) for a
    sized input that would otherwise take more than 10,000 parts, the limit of S3 and GCS.

    With ``progress``, ``bytes_done`` counts the bytes read from ``file`` and handed
    to the upload (at most ``max_concurrency`` parts ahead of the server; a buffer
    sent in one request counts when the request completes). ``bytes_total`` is the
    size of ``file``, or ``None`` for an iterable until the final call.

    ``progress`` is called as for ``get`` (see there).

    ``checksum`` is the checksum this upload's requests carry for the server to
    check, a multipart upload's parts included: ``"default"`` uses the store's
    ``checksum_algorithm`` setting, ``None`` sends none, and an algorithm sends
    that one (S3 takes ``"crc32c"``, ``"crc64nvme"`` and ``"sha256"``, GCS ``"crc32c"`` and
    ``"md5"``, Azure ``"md5"``; anything else raises ``ValueError``). A server
    that refuses the bytes for their checksum raises ``ChecksumMismatchError``
    and stores nothing. ``HTTPStore`` sends no upload checksum (an algorithm
    raises ``ValueError``); ``MemoryStore`` and ``LocalStore`` move no bytes over
    a network: they accept the option and send nothing.

    Returns a ``PutResult`` dict (``e_tag``, ``version``).

    Example:

        obstore.put(store, "data.bin", b"hello")
        obstore.put(store, "big.bin", (b"chunk" for _ in range(3)))
        obstore.put(store, "checked.bin", b"hello", checksum=None)
    """

async def put_async(
    store: ObjectStore,
    path: str,
    file: IO[bytes]
    | Path
    | bytes
    | Buffer
    | AsyncIterator[Buffer]
    | AsyncIterable[Buffer]
    | Iterator[Buffer]
    | Iterable[Buffer],
    *,
    attributes: Attributes | None = None,
    tags: dict[str, str] | None = None,
    mode: PutMode | None = None,
    use_multipart: bool | None = None,
    chunk_size: int = 5 * 1024 * 1024,
    max_concurrency: int = 12,
    progress: ProgressCallback | None = None,
    checksum: ChecksumAlgorithm | Literal["default"] | None = "default",
) -> PutResult:
    """Asynchronous ``put``; also accepts async iterables of chunks."""

def rename(store: ObjectStore, from_: str, to: str, *, overwrite: bool = True) -> None:
    """Move an object within one store (copy, then delete the source).

    With ``overwrite=False`` an existing destination raises
    ``AlreadyExistsError``. Renaming an object onto itself leaves it as it is.
    """

async def rename_async(store: ObjectStore, from_: str, to: str, *, overwrite: bool = True) -> None:
    """Asynchronous ``rename``."""

@overload
def sign(store: SignCapableStore, method: HTTP_METHOD, paths: str, expires_in: timedelta) -> str:
    """Create presigned URLs valid for ``expires_in``.

    ``method`` is the HTTP method the URL allows (``"GET"``, ``"PUT"``, ...).
    One path gives one URL; a sequence of paths gives a list, in the same
    order. Only S3, GCS and Azure stores can sign.

    Example:

        url = obstore.sign(store, "GET", "report.pdf", timedelta(hours=1))
    """

@overload
def sign(
    store: SignCapableStore,
    method: HTTP_METHOD,
    paths: Sequence[str],
    expires_in: timedelta,
) -> Sequence[str]: ...
@overload
async def sign_async(
    store: SignCapableStore, method: HTTP_METHOD, paths: str, expires_in: timedelta
) -> str:
    """Asynchronous ``sign``."""

@overload
async def sign_async(
    store: SignCapableStore,
    method: HTTP_METHOD,
    paths: Sequence[str],
    expires_in: timedelta,
) -> Sequence[str]: ...
