"""Object store classes with methods: ``S3Store``, ``GCSStore``, ``AzureStore``,
``HTTPStore``, ``LocalStore``, ``MemoryStore`` and ``from_url``.

Each class adds the methods of ``ObjectStoreMethods`` to the raw class of the
compiled core (``obstore._store``); the methods call the functions of
``obstore`` with the store as first argument.
"""

from __future__ import annotations

import builtins
import sys
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, cast, overload

import obstore

from . import _store
from ._config import (
    AzureAccessKey,
    AzureBearerToken,
    AzureConfig,
    AzureCredential,
    AzureCredentialProvider,
    AzureSASToken,
    BackoffConfig,
    ClientConfig,
    GCSConfig,
    GCSCredential,
    GCSCredentialProvider,
    RetryConfig,
    S3Config,
    S3Credential,
    S3CredentialProvider,
)

if TYPE_CHECKING:
    from collections.abc import (
        AsyncIterable,
        AsyncIterator,
        Iterable,
        Iterator,
        Sequence,
    )
    from pathlib import Path
    from typing import IO, Unpack

    from arro3.core import RecordBatch, Table

    from ._obstore import Bytes, GetResult, ListStream
    from ._store import _AzureUrlOptions, _GCSUrlOptions, _LocalUrlOptions, _S3UrlOptions
    from ._types import (
        Attributes,
        GetOptions,
        ListResult,
        ObjectMeta,
        PutMode,
        PutResult,
    )
    from ._types import ObjectStore as _RawObjectStore
    from .progress import ProgressCallback

    if sys.version_info >= (3, 12):
        from collections.abc import Buffer
    else:
        from typing_extensions import Buffer

# The 15 configuration TypedDicts/Protocols are real (zero-cost) classes in
# `obstore._config`, imported above, so one plain `__all__` serves the runtime
# and type checkers alike: `from obstore.store import *` gives all 22 names.
__all__ = [
    "AzureAccessKey",
    "AzureBearerToken",
    "AzureConfig",
    "AzureCredential",
    "AzureCredentialProvider",
    "AzureSASToken",
    "AzureStore",
    "BackoffConfig",
    "ClientConfig",
    "GCSConfig",
    "GCSCredential",
    "GCSCredentialProvider",
    "GCSStore",
    "HTTPStore",
    "LocalStore",
    "MemoryStore",
    "RetryConfig",
    "S3Config",
    "S3Credential",
    "S3CredentialProvider",
    "S3Store",
    "from_url",
]


def _raw(store: ObjectStoreMethods) -> _RawObjectStore:
    # The mixin is only ever combined with a raw store class (below), so this
    # cast just tells the type checker what the functions will receive.
    return cast("_RawObjectStore", store)


class ObjectStoreMethods:
    """Methods shared by every store class of ``obstore.store``.

    Each method calls the ``obstore`` function of the same name with the store
    as first argument. ``isinstance(x, ObjectStoreMethods)`` tells whether ``x``
    is a store made by this module. Do not subclass it to write a new backend;
    implement the ``obspec`` protocols instead.
    """

    def copy(self, from_: str, to: str, *, overwrite: bool = True) -> None:
        """Copy an object within this store; see ``obstore.copy``."""
        return obstore.copy(_raw(self), from_, to, overwrite=overwrite)

    async def copy_async(self, from_: str, to: str, *, overwrite: bool = True) -> None:
        """Asynchronous ``copy``; see ``obstore.copy_async``."""
        return await obstore.copy_async(_raw(self), from_, to, overwrite=overwrite)

    def delete(self, paths: str | Sequence[str]) -> None:
        """Delete one or many objects; see ``obstore.delete``."""
        return obstore.delete(_raw(self), paths)

    async def delete_async(self, paths: str | Sequence[str]) -> None:
        """Asynchronous ``delete``; see ``obstore.delete_async``."""
        return await obstore.delete_async(_raw(self), paths)

    def get(
        self,
        path: str,
        *,
        options: GetOptions | None = None,
        verify_checksum: bool = True,
        progress: ProgressCallback | None = None,
    ) -> GetResult:
        """Fetch an object; see ``obstore.get``."""
        return obstore.get(
            _raw(self), path, options=options, verify_checksum=verify_checksum, progress=progress
        )

    async def get_async(
        self,
        path: str,
        *,
        options: GetOptions | None = None,
        verify_checksum: bool = True,
        progress: ProgressCallback | None = None,
    ) -> GetResult:
        """Asynchronous ``get``; see ``obstore.get_async``."""
        return await obstore.get_async(
            _raw(self), path, options=options, verify_checksum=verify_checksum, progress=progress
        )

    def get_parallel(
        self,
        path: str,
        *,
        options: GetOptions | None = None,
        chunk_size: int = 16 * 1024 * 1024,
        max_concurrency: int = 12,
        progress: ProgressCallback | None = None,
    ) -> Bytes:
        """Download through concurrent ranged GETs; see ``obstore.get_parallel``."""
        return obstore.get_parallel(
            _raw(self),
            path,
            options=options,
            chunk_size=chunk_size,
            max_concurrency=max_concurrency,
            progress=progress,
        )

    async def get_parallel_async(
        self,
        path: str,
        *,
        options: GetOptions | None = None,
        chunk_size: int = 16 * 1024 * 1024,
        max_concurrency: int = 12,
        progress: ProgressCallback | None = None,
    ) -> Bytes:
        """Asynchronous ``get_parallel``; see ``obstore.get_parallel_async``."""
        return await obstore.get_parallel_async(
            _raw(self),
            path,
            options=options,
            chunk_size=chunk_size,
            max_concurrency=max_concurrency,
            progress=progress,
        )

    def get_range(
        self,
        path: str,
        *,
        start: int,
        end: int | None = None,
        length: int | None = None,
    ) -> Bytes:
        """Fetch one byte range; see ``obstore.get_range``."""
        return obstore.get_range(_raw(self), path, start=start, end=end, length=length)

    async def get_range_async(
        self,
        path: str,
        *,
        start: int,
        end: int | None = None,
        length: int | None = None,
    ) -> Bytes:
        """Asynchronous ``get_range``; see ``obstore.get_range_async``."""
        return await obstore.get_range_async(_raw(self), path, start=start, end=end, length=length)

    def get_ranges(
        self,
        path: str,
        *,
        starts: Sequence[int],
        ends: Sequence[int] | None = None,
        lengths: Sequence[int] | None = None,
        coalesce: int = 1024 * 1024,
    ) -> builtins.list[Bytes]:
        """Fetch several byte ranges; see ``obstore.get_ranges``."""
        return obstore.get_ranges(
            _raw(self),
            path,
            starts=starts,
            ends=ends,
            lengths=lengths,
            coalesce=coalesce,
        )

    async def get_ranges_async(
        self,
        path: str,
        *,
        starts: Sequence[int],
        ends: Sequence[int] | None = None,
        lengths: Sequence[int] | None = None,
        coalesce: int = 1024 * 1024,
    ) -> builtins.list[Bytes]:
        """Asynchronous ``get_ranges``; see ``obstore.get_ranges_async``."""
        return await obstore.get_ranges_async(
            _raw(self),
            path,
            starts=starts,
            ends=ends,
            lengths=lengths,
            coalesce=coalesce,
        )

    def head(self, path: str) -> ObjectMeta:
        """Fetch an object's metadata; see ``obstore.head``."""
        return obstore.head(_raw(self), path)

    async def head_async(self, path: str) -> ObjectMeta:
        """Asynchronous ``head``; see ``obstore.head_async``."""
        return await obstore.head_async(_raw(self), path)

    @overload
    def list(
        self,
        prefix: str | None = None,
        *,
        offset: str | None = None,
        chunk_size: int = 50,
        return_arrow: Literal[True],
    ) -> ListStream[RecordBatch]: ...
    @overload
    def list(
        self,
        prefix: str | None = None,
        *,
        offset: str | None = None,
        chunk_size: int = 50,
        return_arrow: Literal[False] = False,
    ) -> ListStream[Sequence[ObjectMeta]]: ...
    @overload
    def list(
        self,
        prefix: str | None = None,
        *,
        offset: str | None = None,
        chunk_size: int = 50,
        return_arrow: bool = False,
    ) -> ListStream[RecordBatch] | ListStream[Sequence[ObjectMeta]]: ...
    def list(
        self,
        prefix: str | None = None,
        *,
        offset: str | None = None,
        chunk_size: int = 50,
        return_arrow: bool = False,
    ) -> ListStream[RecordBatch] | ListStream[Sequence[ObjectMeta]]:
        """List objects below ``prefix`` lazily; see ``obstore.list``."""
        return obstore.list(
            _raw(self),
            prefix,
            offset=offset,
            chunk_size=chunk_size,
            return_arrow=return_arrow,
        )

    @overload
    def list_async(
        self,
        prefix: str | None = None,
        *,
        offset: str | None = None,
        chunk_size: int = 50,
        return_arrow: Literal[True],
    ) -> ListStream[RecordBatch]: ...
    @overload
    def list_async(
        self,
        prefix: str | None = None,
        *,
        offset: str | None = None,
        chunk_size: int = 50,
        return_arrow: Literal[False] = False,
    ) -> ListStream[Sequence[ObjectMeta]]: ...
    @overload
    def list_async(
        self,
        prefix: str | None = None,
        *,
        offset: str | None = None,
        chunk_size: int = 50,
        return_arrow: bool = False,
    ) -> ListStream[RecordBatch] | ListStream[Sequence[ObjectMeta]]: ...
    def list_async(
        self,
        prefix: str | None = None,
        *,
        offset: str | None = None,
        chunk_size: int = 50,
        return_arrow: bool = False,
    ) -> ListStream[RecordBatch] | ListStream[Sequence[ObjectMeta]]:
        """Same as ``list`` (not a coroutine): the returned stream supports
        ``async for``. Exists to satisfy the ``obspec`` ``ListAsync`` protocol."""
        return obstore.list(
            _raw(self),
            prefix,
            offset=offset,
            chunk_size=chunk_size,
            return_arrow=return_arrow,
        )

    @overload
    def list_with_delimiter(
        self,
        prefix: str | None = None,
        *,
        return_arrow: Literal[True],
    ) -> ListResult[Table]: ...
    @overload
    def list_with_delimiter(
        self,
        prefix: str | None = None,
        *,
        return_arrow: Literal[False] = False,
    ) -> ListResult[Sequence[ObjectMeta]]: ...
    @overload
    def list_with_delimiter(
        self,
        prefix: str | None = None,
        *,
        return_arrow: bool = False,
    ) -> ListResult[Table] | ListResult[Sequence[ObjectMeta]]: ...
    def list_with_delimiter(
        self,
        prefix: str | None = None,
        *,
        return_arrow: bool = False,
    ) -> ListResult[Table] | ListResult[Sequence[ObjectMeta]]:
        """List one level below ``prefix``; see ``obstore.list_with_delimiter``."""
        return obstore.list_with_delimiter(_raw(self), prefix, return_arrow=return_arrow)

    @overload
    async def list_with_delimiter_async(
        self,
        prefix: str | None = None,
        *,
        return_arrow: Literal[True],
    ) -> ListResult[Table]: ...
    @overload
    async def list_with_delimiter_async(
        self,
        prefix: str | None = None,
        *,
        return_arrow: Literal[False] = False,
    ) -> ListResult[Sequence[ObjectMeta]]: ...
    @overload
    async def list_with_delimiter_async(
        self,
        prefix: str | None = None,
        *,
        return_arrow: bool = False,
    ) -> ListResult[Table] | ListResult[Sequence[ObjectMeta]]: ...
    async def list_with_delimiter_async(
        self,
        prefix: str | None = None,
        *,
        return_arrow: bool = False,
    ) -> ListResult[Table] | ListResult[Sequence[ObjectMeta]]:
        """Asynchronous ``list_with_delimiter``; see
        ``obstore.list_with_delimiter_async``."""
        return await obstore.list_with_delimiter_async(
            _raw(self), prefix, return_arrow=return_arrow
        )

    def put(
        self,
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
    ) -> PutResult:
        """Write an object atomically; see ``obstore.put``."""
        return obstore.put(
            _raw(self),
            path,
            file,
            attributes=attributes,
            tags=tags,
            mode=mode,
            use_multipart=use_multipart,
            chunk_size=chunk_size,
            max_concurrency=max_concurrency,
            progress=progress,
        )

    async def put_async(
        self,
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
    ) -> PutResult:
        """Asynchronous ``put``; see ``obstore.put_async``."""
        return await obstore.put_async(
            _raw(self),
            path,
            file,
            attributes=attributes,
            tags=tags,
            mode=mode,
            use_multipart=use_multipart,
            chunk_size=chunk_size,
            max_concurrency=max_concurrency,
            progress=progress,
        )

    def rename(self, from_: str, to: str, *, overwrite: bool = True) -> None:
        """Move an object within this store; see ``obstore.rename``."""
        return obstore.rename(_raw(self), from_, to, overwrite=overwrite)

    async def rename_async(self, from_: str, to: str, *, overwrite: bool = True) -> None:
        """Asynchronous ``rename``; see ``obstore.rename_async``."""
        return await obstore.rename_async(_raw(self), from_, to, overwrite=overwrite)


class S3Store(ObjectStoreMethods, _store.S3Store):
    """An Amazon S3 (or S3-compatible) store.

    Construct it with a bucket name, or with ``from_url``. Settings come from
    ``AWS_*`` environment variables, then from ``config`` and keyword arguments
    (``S3Config`` keys).
    """


class GCSStore(ObjectStoreMethods, _store.GCSStore):
    """A Google Cloud Storage store.

    Construct it with a bucket name, or with ``from_url``. Settings come from
    ``GOOGLE_*`` environment variables, then from ``config`` and keyword
    arguments (``GCSConfig`` keys).
    """


class AzureStore(ObjectStoreMethods, _store.AzureStore):
    """An Azure Blob Storage / ADLS Gen2 store.

    Construct it with a container name, or with ``from_url``. Settings come from
    ``AZURE_*`` environment variables, then from ``config`` and keyword
    arguments (``AzureConfig`` keys).
    """


class HTTPStore(ObjectStoreMethods, _store.HTTPStore):
    """A store over plain HTTP(S) (WebDAV for listing, copying and deleting)."""


class LocalStore(ObjectStoreMethods, _store.LocalStore):
    """A store over a directory of the local file system."""


class MemoryStore(ObjectStoreMethods, _store.MemoryStore):
    """A store kept in process memory, private to the instance."""


ObjectStore: TypeAlias = AzureStore | GCSStore | HTTPStore | S3Store | LocalStore | MemoryStore
"""Any store class of this module."""

# The classes `from_url` builds, in the order the compiled core expects.
_STORE_CLASSES = (S3Store, GCSStore, AzureStore, HTTPStore, LocalStore, MemoryStore)


@overload
def from_url(url: str, **kwargs: Unpack[_S3UrlOptions]) -> ObjectStore: ...
@overload
def from_url(url: str, **kwargs: Unpack[_GCSUrlOptions]) -> ObjectStore: ...
@overload
def from_url(url: str, **kwargs: Unpack[_AzureUrlOptions]) -> ObjectStore: ...
@overload
def from_url(url: str, **kwargs: Unpack[_LocalUrlOptions]) -> ObjectStore: ...
def from_url(url: str, **kwargs: Any) -> ObjectStore:
    """Create the store a URL points to.

    The kind of store is chosen by ``obstore.parse_scheme``:

    - ``s3://``, ``s3a://`` and S3/R2 ``https://`` URLs → ``S3Store``
    - ``gs://`` → ``GCSStore``
    - ``az://``, ``adl://``, ``azure://``, ``abfs[s]://`` and Azure ``https://``
      URLs → ``AzureStore``
    - other ``http(s)://`` URLs → ``HTTPStore`` (no ``config``, keyword
      settings or credential provider allowed)
    - ``file:///path`` → ``LocalStore`` (keywords ``automatic_cleanup``,
      ``mkdir`` and ``allow_symlinks_outside``; no credential provider)
    - ``memory:///`` → ``MemoryStore`` (no ``config`` or keyword settings)

    For the cloud stores the URL's path becomes the store prefix and
    ``config``/keyword settings are passed on. Refused settings raise
    ``obstore.exceptions.BaseError``. ``request_hook`` is accepted for every
    URL (see ``obstore.add_request_hook``); memory and local stores send no
    HTTP request, so it is never called for them.
    """
    # The compiled core holds the one URL dispatch; it builds this module's classes.
    # It takes these four by position and every other keyword in one dict.
    pop = kwargs.pop
    config, client_options = pop("config", None), pop("client_options", None)
    retry_config, credential_provider = pop("retry_config", None), pop("credential_provider", None)
    if "request_hook" in kwargs and kwargs["request_hook"] is None:
        del kwargs["request_hook"]  # the default, which a store of any kind takes
    store = _store._from_url_as(
        _STORE_CLASSES, url, config, client_options, retry_config, credential_provider, kwargs
    )
    return cast("ObjectStore", store)
