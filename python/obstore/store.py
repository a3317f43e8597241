"""Object store classes with methods: ``S3Store``, ``GCSStore``, ``AzureStore``,
``HTTPStore``, ``LocalStore``, ``MemoryStore`` and ``from_url``.

Each class adds the methods of ``ObjectStoreMethods`` to the raw class of the
compiled core (``obstore._store``); the methods call the functions of
``obstore`` with the store as first argument.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import (
    TYPE_CHECKING,
    Any,
    Concatenate,
    Literal,
    ParamSpec,
    Protocol,
    TypeAlias,
    TypedDict,
    TypeVar,
    Unpack,
    cast,
    overload,
)

import obstore

from . import _store

if TYPE_CHECKING:
    from collections.abc import Coroutine, Sequence

    from arro3.core import RecordBatch, Table

    from ._obstore import ListStream
    from ._store import _AzureUrlOptions, _GCSUrlOptions, _LocalUrlOptions, _S3UrlOptions
    from ._types import ListResult, ObjectMeta
    from ._types import ObjectStore as _RawObjectStore

# The 15 configuration TypedDicts/Protocols are real classes of `obstore._config`, imported on
# first use (`__getattr__` below: making them measured 3.6 ms of a 27 ms `import obstore`), so
# one plain `__all__` serves the runtime and type checkers alike: `from obstore.store import *`
# gives all 22 names.
if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    # Called only for a name this module has not defined: of `__all__`, a configuration class.
    if name in __all__:
        from . import _config

        value = getattr(_config, name)
        globals()[name] = value  # later lookups find it without this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


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


_P = ParamSpec("_P")
_R = TypeVar("_R", covariant=True)
_ArrowR = TypeVar("_ArrowR", covariant=True)
_PlainR = TypeVar("_PlainR", covariant=True)


class _Method(Protocol[_P, _R]):
    """A function of ``obstore`` as a method: the store is its first argument."""

    @overload
    def __get__(self, instance: None, owner: type, /) -> Callable[Concatenate[Any, _P], _R]: ...
    @overload
    def __get__(self, instance: object, owner: type, /) -> Callable[_P, _R]: ...


class _Bound(Protocol[_R]):
    """A method whose type on an instance is ``_R``."""

    @overload
    def __get__(self, instance: None, owner: type, /) -> Callable[..., Any]: ...
    @overload
    def __get__(self, instance: object, owner: type, /) -> _R: ...


class _SignatureOf:
    """The end of a method's ``__wrapped__`` chain: ``inspect.signature`` (and so ``help()``)
    follows the chain to the first object with a ``__signature__`` and takes that, here the
    function's signature with the store renamed ``self``, worked out when first asked for.
    Worked out at import, the 22 signatures and ``inspect`` measured 9 ms of a 31 ms
    ``import obstore``. Calling it calls the function."""

    __slots__ = ("__wrapped__",)

    def __init__(self, function: Callable[..., Any]) -> None:
        self.__wrapped__ = function

    @property
    def __signature__(self) -> Any:
        import inspect

        signature = inspect.signature(self.__wrapped__)
        store, *parameters = signature.parameters.values()
        return signature.replace(parameters=[store.replace(name="self"), *parameters])

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.__wrapped__(*args, **kwargs)


# Defaults that the compiled functions' signatures show as `...` (PyO3 prints
# only literal defaults, and these are written as products), given here so that
# `help(store.put)` shows them (tests/test_layout.py pins them).
def _method(function: Callable[Concatenate[Any, _P], _R], name: str = "") -> _Method[_P, _R]:
    """The method ``store.<name>(...)`` that calls ``function(store, ...)``.

    It takes its signature (the store renamed ``self``) and its docstring from
    ``function``; for an ``*_async`` function it is a coroutine function.
    """
    call: Any = function

    def method(self: ObjectStoreMethods, /, *args: Any, **kwargs: Any) -> Any:
        return call(_raw(self), *args, **kwargs)

    async def method_async(self: ObjectStoreMethods, /, *args: Any, **kwargs: Any) -> Any:
        return await call(_raw(self), *args, **kwargs)

    result: Any = method_async if function.__name__.endswith("_async") else method
    result.__wrapped__ = _SignatureOf(function)
    result.__name__ = name or function.__name__
    result.__qualname__ = f"ObjectStoreMethods.{result.__name__}"
    result.__doc__ = function.__doc__
    return cast("_Method[_P, _R]", result)


class _ListOptions(TypedDict, total=False):
    """The keywords of ``obstore.list`` besides ``return_arrow``."""

    offset: str | None
    chunk_size: int


class _Listing(Protocol[_ArrowR, _PlainR]):
    """``obstore.list`` as a method: Arrow record batches with ``return_arrow=True``."""

    @overload
    def __call__(
        self,
        prefix: str | None = None,
        *,
        return_arrow: Literal[True],
        **options: Unpack[_ListOptions],
    ) -> _ArrowR: ...
    @overload
    def __call__(
        self,
        prefix: str | None = None,
        *,
        return_arrow: Literal[False] = False,
        **options: Unpack[_ListOptions],
    ) -> _PlainR: ...
    @overload
    def __call__(
        self,
        prefix: str | None = None,
        *,
        return_arrow: bool = False,
        **options: Unpack[_ListOptions],
    ) -> _ArrowR | _PlainR: ...


class _DelimitedListing(Protocol[_ArrowR, _PlainR]):
    """``obstore.list_with_delimiter`` (or its async twin) as a method."""

    @overload
    def __call__(self, prefix: str | None = None, *, return_arrow: Literal[True]) -> _ArrowR: ...
    @overload
    def __call__(
        self, prefix: str | None = None, *, return_arrow: Literal[False] = False
    ) -> _PlainR: ...
    @overload
    def __call__(
        self, prefix: str | None = None, *, return_arrow: bool = False
    ) -> _ArrowR | _PlainR: ...


class ObjectStoreMethods:
    """Methods shared by every store class of ``obstore.store``.

    Each method is the ``obstore`` function of the same name with the store as
    first argument (``store.get(path)`` is ``obstore.get(store, path)``), with
    that function's signature and docstring; ``list_async`` is ``obstore.list``.
    ``isinstance(x, ObjectStoreMethods)`` tells whether ``x`` is a store made by
    this module. Do not subclass it to write a new backend; implement the
    ``obspec`` protocols instead.
    """

    copy = _method(obstore.copy)
    """Copy an object within this store; see ``obstore.copy``."""
    copy_async = _method(obstore.copy_async)
    """Asynchronous ``copy``; see ``obstore.copy_async``."""
    delete = _method(obstore.delete)
    """Delete one or many objects; see ``obstore.delete``."""
    delete_async = _method(obstore.delete_async)
    """Asynchronous ``delete``; see ``obstore.delete_async``."""
    get = _method(obstore.get)
    """Fetch an object; see ``obstore.get``."""
    get_async = _method(obstore.get_async)
    """Asynchronous ``get``; see ``obstore.get_async``."""
    get_parallel = _method(obstore.get_parallel)
    """Download through concurrent ranged GETs; see ``obstore.get_parallel``."""
    get_parallel_async = _method(obstore.get_parallel_async)
    """Asynchronous ``get_parallel``; see ``obstore.get_parallel_async``."""
    get_range = _method(obstore.get_range)
    """Fetch one byte range; see ``obstore.get_range``."""
    get_range_async = _method(obstore.get_range_async)
    """Asynchronous ``get_range``; see ``obstore.get_range_async``."""
    get_ranges = _method(obstore.get_ranges)
    """Fetch several byte ranges; see ``obstore.get_ranges``."""
    get_ranges_async = _method(obstore.get_ranges_async)
    """Asynchronous ``get_ranges``; see ``obstore.get_ranges_async``."""
    head = _method(obstore.head)
    """Fetch an object's metadata; see ``obstore.head``."""
    head_async = _method(obstore.head_async)
    """Asynchronous ``head``; see ``obstore.head_async``."""
    put = _method(obstore.put)
    """Write an object atomically; see ``obstore.put``."""
    put_async = _method(obstore.put_async)
    """Asynchronous ``put``; see ``obstore.put_async``."""
    rename = _method(obstore.rename)
    """Move an object within this store; see ``obstore.rename``."""
    rename_async = _method(obstore.rename_async)
    """Asynchronous ``rename``; see ``obstore.rename_async``."""

    # A method typed from one signature would lose the overloads on
    # `return_arrow`, so type checkers get the listing methods as protocols.
    if TYPE_CHECKING:
        list: _Bound[_Listing[ListStream[RecordBatch], ListStream[Sequence[ObjectMeta]]]]
        """List objects below ``prefix`` lazily; see ``obstore.list``."""
        list_async: _Bound[_Listing[ListStream[RecordBatch], ListStream[Sequence[ObjectMeta]]]]
        """Same as ``list`` (not a coroutine): the returned stream supports ``async for``.
        Exists to satisfy the ``obspec`` ``ListAsync`` protocol."""
        list_with_delimiter: _Bound[
            _DelimitedListing[ListResult[Table], ListResult[Sequence[ObjectMeta]]]
        ]
        """List one level below ``prefix``; see ``obstore.list_with_delimiter``."""
        list_with_delimiter_async: _Bound[
            _DelimitedListing[
                Coroutine[Any, Any, ListResult[Table]],
                Coroutine[Any, Any, ListResult[Sequence[ObjectMeta]]],
            ]
        ]
        """Asynchronous ``list_with_delimiter``; see ``obstore.list_with_delimiter_async``."""
    else:
        list = _method(obstore.list)
        list_async = _method(obstore.list, "list_async")
        list_with_delimiter = _method(obstore.list_with_delimiter)
        list_with_delimiter_async = _method(obstore.list_with_delimiter_async)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Give a store class without a docstring the one of the raw class it extends, the
        reference text of the store (``help()``, ``__doc__``)."""
        super().__init_subclass__(**kwargs)
        raw = next((base for base in cls.__mro__ if vars(_store).get(base.__name__) is base), None)
        if cls.__doc__ is None and raw is not None:
            cls.__doc__ = raw.__doc__


# Each takes the docstring of the raw class it extends (`ObjectStoreMethods.__init_subclass__`).
class S3Store(ObjectStoreMethods, _store.S3Store): ...


class GCSStore(ObjectStoreMethods, _store.GCSStore): ...


class AzureStore(ObjectStoreMethods, _store.AzureStore): ...


class HTTPStore(ObjectStoreMethods, _store.HTTPStore): ...


class LocalStore(ObjectStoreMethods, _store.LocalStore): ...


class MemoryStore(ObjectStoreMethods, _store.MemoryStore): ...


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
