"""fsspec filesystems backed by obstore stores.

``FsspecStore`` is an ``fsspec.asyn.AsyncFileSystem``: every operation is an
``async`` method (``_cat_file``, ``_ls``, ...) and fsspec adds the blocking
wrappers (``cat_file``, ``ls``, ...). ``BufferedFile`` is the file object that
``FsspecStore.open`` returns. ``register()`` makes fsspec URLs such as
``s3://bucket/key`` resolve to this implementation, so that pandas, pyarrow,
Dask and every other fsspec user read and write through obstore.

Two ways to get a filesystem:

* by protocol, one store per bucket, built on demand:

      fs = FsspecStore("s3", region="us-east-1", skip_signature=True)
      fs.cat_file("my-bucket/path/to/object")

* from a store that already exists; paths are then keys of that store:

      fs = FsspecStore.from_store(S3Store("my-bucket", prefix="data"))
      fs.ls("2024")

Directory listings are cached as in s3fs: ``ls`` keeps each listing in ``fs.dircache`` and
answers from it later, and ``info`` (so ``exists``, ``isdir``, ``isfile``) answers from a cached
listing of the path or of its parent without a request. Every write or delete through the
filesystem forgets the listings it changes. ``use_listings_cache=False``,
``listings_expiry_time=`` and ``max_paths=`` configure the cache as for any fsspec filesystem;
``refresh=True`` (``ls``, ``info``) or ``fs.invalidate_cache()`` skips or drops it, e.g. when
another writer changed the store.

Requires the optional dependency ``fsspec`` (``pip install obstore[fsspec]``).
"""

from __future__ import annotations

import io
import os
import threading
import warnings
from abc import ABCMeta
from collections import OrderedDict
from collections.abc import Coroutine, Iterable, Sequence
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, cast

try:
    import fsspec  # type: ignore[import-untyped,unused-ignore]
    from fsspec.asyn import AsyncFileSystem, _run_coros_in_chunks  # type: ignore[import-untyped,unused-ignore]
    from fsspec.implementations.local import make_path_posix  # type: ignore[import-untyped,unused-ignore]
    from fsspec.spec import AbstractBufferedFile  # type: ignore[import-untyped,unused-ignore]
    from fsspec.utils import stringify_path  # type: ignore[import-untyped,unused-ignore]
except ImportError as _err:  # pragma: no cover - exercised only without fsspec
    raise ImportError(
        "obstore.fsspec requires the optional dependency fsspec; "
        "install it with: pip install obstore[fsspec]"
    ) from _err

import obstore
from obstore.exceptions import AlreadyExistsError, BaseError, PermissionDeniedError
from obstore.store import from_url

if TYPE_CHECKING:
    from datetime import datetime

    from obstore import Attributes, ObjectMeta
    from obstore._config import CloudConfig, CloudCredentialProvider
    from obstore._obstore import ReadableFile, WritableFile
    from obstore.store import ClientConfig, ObjectStore, RetryConfig

__all__ = ["BufferedFile", "FsspecStore", "register"]

SUPPORTED_PROTOCOLS: set[str] = {
    "abfs",
    "abfss",
    "adl",
    "az",
    "azure",
    "file",
    "gcs",
    "gs",
    "http",
    "https",
    "memory",
    "s3",
    "s3a",
}
"""Protocols ``FsspecStore`` knows how to build stores for."""

# A union of one-value Literals: the same type to a checker, and a real Union at runtime.
SUPPORTED_PROTOCOLS_T: TypeAlias = (
    Literal["abfs"]
    | Literal["abfss"]
    | Literal["adl"]
    | Literal["az"]
    | Literal["azure"]
    | Literal["file"]
    | Literal["gcs"]
    | Literal["gs"]
    | Literal["http"]
    | Literal["https"]
    | Literal["memory"]
    | Literal["s3"]
    | Literal["s3a"]
)
"""``Literal`` of the strings in ``SUPPORTED_PROTOCOLS``."""

# Protocols whose paths have no bucket: the whole path is the key.
_BUCKETLESS = ("file", "memory")
# URL scheme handed to ``from_url`` when it differs from the fsspec protocol.
_URL_SCHEME = {"gcs": "gs"}
# Keyword arguments that configure fsspec's listings cache (``DirCache``), not the store.
_LISTINGS_CACHE_OPTIONS = ("use_listings_cache", "listings_expiry_time", "max_paths")


def _translate(err: BaseException, path: str) -> BaseException:
    """The builtin exception fsspec callers expect for an obstore error, if any."""
    if isinstance(err, AlreadyExistsError):
        new: BaseException = FileExistsError(f"{path} already exists")
    elif isinstance(err, PermissionDeniedError):
        new = PermissionError(str(err))
    else:
        return err
    new.__cause__ = err
    return new


def _reraise(err: BaseException, path: str) -> None:
    """Raise the translation of ``err`` (or ``err`` itself) from inside ``except``."""
    new = _translate(err, path)
    if new is err:
        raise err
    raise new from err


def _local_kind(path: str) -> Literal["dir", "file", "missing"]:
    """What a local path is (a cheap ``stat``; fine to call from a coroutine)."""
    if os.path.isdir(path):
        return "dir"
    if os.path.isfile(path):
        return "file"
    return "missing"


def _local_size(path: str) -> int:
    return os.path.getsize(path)


def _strip(protocol: str | tuple[str, ...], fixed: bool, path: Any) -> Any:
    """``_strip_protocol`` for a given protocol: no scheme, no trailing ``/``."""
    if isinstance(path, list):
        return [_strip(protocol, fixed, p) for p in path]
    text: str = stringify_path(path)
    protos = (protocol,) if isinstance(protocol, str) else protocol
    for proto in protos:
        if text.startswith(proto + "://"):
            text = text[len(proto) + 3 :]
            break
        if text.startswith(proto + "::"):
            text = text[len(proto) + 2 :]
            break
    if fixed:
        return text.strip("/")
    if "file" in protos:
        return make_path_posix(text).rstrip("/") or "/"
    if "memory" in protos:
        return "/" + text.strip("/")
    return text.rstrip("/")


_FsspecMeta: Any = type(AsyncFileSystem)


class _StoreAwareCache(_FsspecMeta):  # type: ignore[misc]
    """fsspec caches filesystems by ``str()`` of their arguments.

    Two different store objects can print the same (``S3Store(bucket="b")``
    for two endpoints), so a filesystem wrapping a given store is never served
    from, nor put into, that cache.
    """

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("store") is not None:
            kwargs.setdefault("skip_instance_cache", True)
        return super().__call__(*args, **kwargs)


def _rebuild_registered(
    protocol: str, asynchronous: bool, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> FsspecStore:
    """Unpickle an instance of a class made by ``register``."""
    return _registered_class(protocol, asynchronous)(*args, **kwargs)


_REGISTERED: dict[tuple[str, bool], type[FsspecStore]] = {}
_REGISTERED_LOCK = threading.Lock()


def _registered_class(protocol: str, asynchronous: bool) -> type[FsspecStore]:
    with _REGISTERED_LOCK:
        cls = _REGISTERED.get((protocol, asynchronous))
        if cls is None:
            cls = type(
                f"FsspecStore_{protocol}",
                (FsspecStore,),
                {
                    "protocol": protocol,
                    "asynchronous": asynchronous,
                    "_obstore_registered": True,
                    "__module__": __name__,
                },
            )
            _REGISTERED[(protocol, asynchronous)] = cls
        return cls


class FsspecStore(AsyncFileSystem, metaclass=_StoreAwareCache):  # type: ignore[misc]
    """An fsspec ``AsyncFileSystem`` over obstore stores.

    With a ``protocol`` (``"s3"``, ``"gs"``, ``"az"``, ``"file"``, ``"memory"``,
    ...), paths are ``bucket/key`` (or ``protocol://bucket/key``) and one store
    per bucket is built with ``obstore.store.from_url`` from the given
    ``config``/``client_options``/``retry_config``/``credential_provider`` and
    keyword arguments, keeping the ``max_cache_size`` most recently used.
    ``file`` and ``memory`` paths have no bucket; ``file`` paths are absolute
    local paths.

    With ``store=`` (or ``FsspecStore.from_store(store)``), every path is a key
    of that one store.
    """

    cachable = True
    protocol: str | tuple[str, ...] = "abstract"
    asynchronous = False
    _obstore_registered = False

    def __init__(
        self,
        protocol: SUPPORTED_PROTOCOLS_T | str | None = None,
        *args: Any,
        config: CloudConfig | None = None,
        client_options: ClientConfig | None = None,
        retry_config: RetryConfig | None = None,
        credential_provider: CloudCredentialProvider | None = None,
        asynchronous: bool | None = None,
        max_cache_size: int = 10,
        loop: Any = None,
        batch_size: int | None = None,
        store: ObjectStore | None = None,
        **kwargs: Any,
    ) -> None:
        """Create a filesystem for ``protocol``, or over the given ``store``.

        ``asynchronous=True`` is for use inside a running event loop (call the
        ``_``-prefixed coroutine methods). ``use_listings_cache``,
        ``listings_expiry_time`` and ``max_paths`` configure the listings cache.
        Remaining keyword arguments are store configuration (e.g. ``region=``,
        ``account_name=``) or, for ``file``, ``automatic_cleanup``/``mkdir``.
        """
        if protocol is not None:
            self.protocol = protocol
            if protocol not in SUPPORTED_PROTOCOLS and store is None:
                warnings.warn(f"Unknown protocol: {protocol}; requests may fail.", stacklevel=2)
        if asynchronous is None:
            asynchronous = bool(type(self).asynchronous)
        listings_cache = {k: kwargs.pop(k) for k in _LISTINGS_CACHE_OPTIONS if k in kwargs}
        super().__init__(
            *args, asynchronous=asynchronous, loop=loop, batch_size=batch_size, **listings_cache
        )
        # Bumped by every invalidation: a listing that was in flight meanwhile is not cached.
        self._listings_generation = 0
        self._fixed_store = store
        self._config = config
        self._client_options = client_options
        self._retry_config = retry_config
        self._credential_provider = credential_provider
        self._store_kwargs = kwargs
        self._max_cache_size = max(1, int(max_cache_size))
        self._stores: OrderedDict[str, ObjectStore] = OrderedDict()
        self._stores_lock = threading.Lock()
        if store is not None or protocol is not None:
            # an instance-level override: fsspec calls ``self._strip_protocol``
            self.__dict__["_strip_protocol"] = partial(_strip, self.protocol, store is not None)
            if store is None and self._protocol_name in _BUCKETLESS:
                self.root_marker = "/"

    @classmethod
    def from_store(
        cls,
        store: ObjectStore,
        *,
        protocol: str | None = None,
        asynchronous: bool = False,
        loop: Any = None,
        batch_size: int | None = None,
    ) -> FsspecStore:
        """A filesystem whose paths are the keys of ``store`` (its prefix applies).

        Such a filesystem pickles iff the store does (``MemoryStore`` does not).
        """
        return cls(
            protocol,
            store=store,
            asynchronous=asynchronous,
            loop=loop,
            batch_size=batch_size,
        )

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        return _strip(cls.protocol, False, path)

    def __reduce__(self) -> tuple[Any, ...]:
        cls = type(self)
        if cls.__dict__.get("_obstore_registered"):
            return (
                _rebuild_registered,
                (cls.protocol, bool(cls.asynchronous), self.storage_args, self.storage_options),
            )
        return (fsspec.spec.make_instance, (cls, self.storage_args, self.storage_options))

    # ------------------------------------------------------------------ paths and stores
    @property
    def _protocol_name(self) -> str:
        proto = self.protocol
        return proto if isinstance(proto, str) else str(proto[0])

    def _split_path(self, path: str) -> tuple[str, str]:
        """``(bucket, key)`` of a path; the bucket is ``""`` for file/memory/store."""
        text = stringify_path(path)
        if self._fixed_store is not None:
            return "", str(self._strip_protocol(text)).strip("/")
        protocol = self._protocol_name
        if "://" in text:
            scheme, rest = text.split("://", 1)
            if scheme != protocol:
                raise ValueError(f"Expected protocol {protocol!r} in path {text!r}, got {scheme!r}")
            text = rest
        if protocol in _BUCKETLESS:
            if protocol == "file":
                text = make_path_posix(text)
            return "", text.strip("/")
        bucket, _, key = text.lstrip("/").partition("/")
        if not bucket:
            raise ValueError(f"No bucket in path {path!r}")
        return bucket, key.strip("/")

    def _name(self, bucket: str, key: str) -> str:
        """The fsspec name of a key (what ``ls``/``find``/``info`` report)."""
        key = key.strip("/")
        if self._fixed_store is not None:
            return key
        if self._protocol_name in _BUCKETLESS:
            return "/" + key
        return f"{bucket}/{key}" if key else bucket

    def _construct_store(self, bucket: str) -> ObjectStore:
        """The store for one bucket (cached, least recently used dropped)."""
        if self._fixed_store is not None:
            return self._fixed_store
        with self._stores_lock:
            store = self._stores.get(bucket)
            if store is not None:
                self._stores.move_to_end(bucket)
                return store
        protocol = self._protocol_name
        if protocol == "file":
            store = from_url("file:///", **self._store_kwargs)
        elif protocol == "memory":
            store = from_url("memory:///")
        else:
            scheme = _URL_SCHEME.get(protocol, protocol)
            store = cast("Any", from_url)(
                f"{scheme}://{bucket}",
                config=self._config,
                client_options=self._client_options,
                retry_config=self._retry_config,
                credential_provider=self._credential_provider,
                **self._store_kwargs,
            )
        with self._stores_lock:
            existing = self._stores.get(bucket)
            if existing is not None:
                return existing
            self._stores[bucket] = store
            while len(self._stores) > self._max_cache_size:
                self._stores.popitem(last=False)
        return store

    def _locate(self, path: str) -> tuple[ObjectStore, str, str]:
        bucket, key = self._split_path(path)
        return self._construct_store(bucket), bucket, key

    @cached_property
    def _local_store(self) -> FsspecStore:
        """A ``file`` filesystem (this one if it already is)."""
        if self._fixed_store is None and self._protocol_name == "file":
            return self
        return FsspecStore("file")

    def _local_dir_of(self, store: ObjectStore, key: str) -> str | None:
        """The local directory a key names, for LocalStore-backed filesystems."""
        if not isinstance(store, obstore._store.LocalStore):
            return None
        root = store.prefix
        if root is None:
            return None
        return os.path.join(os.fspath(root), *key.split("/")) if key else os.fspath(root)

    # ------------------------------------------------------------------ metadata
    def _file_info(self, bucket: str, key: str, meta: ObjectMeta) -> dict[str, Any]:
        return {
            "name": self._name(bucket, key),
            "size": meta["size"],
            "type": "file",
            "e_tag": meta["e_tag"],
            "last_modified": meta["last_modified"],
            "version": meta["version"],
        }

    def _info_from_cache(self, bucket: str, key: str) -> dict[str, Any] | None:
        """``info`` of a key from the cached listings, ``None`` if they do not tell.

        Like fsspec's ``_ls_from_cache``: a cached listing of the parent holds the entry (an
        object is preferred to a directory of the same name, as a HEAD would find the object),
        a cached listing of the key itself makes it a directory, and a cached parent without
        the entry means that nothing is there (``FileNotFoundError``).
        """
        name = self._name(bucket, key)
        try:
            siblings = self.dircache[self._name(bucket, key.rpartition("/")[0])]
        except KeyError:
            siblings = None
        if siblings is not None:
            matches = [entry for entry in siblings if entry["name"] == name]
            if matches:
                files = [entry for entry in matches if entry["type"] == "file"]
                return dict((files or matches)[0])
        if name in self.dircache:
            return {"name": name, "size": 0, "type": "directory"}
        if siblings is not None:
            raise FileNotFoundError(name)
        return None

    async def _info(self, path: str, refresh: bool = False, **kwargs: Any) -> dict[str, Any]:
        bucket, key = self._split_path(path)
        name = self._name(bucket, key)
        if not key:
            return {"name": name, "size": 0, "type": "directory"}
        if not refresh:
            try:
                cached = self._info_from_cache(bucket, key)
            except FileNotFoundError:
                raise FileNotFoundError(path) from None
            if cached is not None:
                return cached
        store = self._construct_store(bucket)
        try:
            meta = await obstore.head_async(store, key)
        except FileNotFoundError:
            pass
        else:
            return self._file_info(bucket, key, meta)
        listing = await obstore.list_with_delimiter_async(store, key)
        if listing["objects"] or listing["common_prefixes"]:
            return {"name": name, "size": 0, "type": "directory"}
        raise FileNotFoundError(path)

    async def _ls(
        self, path: str, detail: bool = False, refresh: bool = False, **kwargs: Any
    ) -> list[Any]:
        bucket, key = self._split_path(path)
        name = self._name(bucket, key)
        cached = None if refresh else self.dircache.get(name)
        if cached is not None:
            entries = [dict(entry) for entry in cached]
        else:
            generation = self._listings_generation
            store = self._construct_store(bucket)
            listing = await obstore.list_with_delimiter_async(store, key or None)
            entries = [
                {"name": self._name(bucket, prefix), "size": 0, "type": "directory"}
                for prefix in listing["common_prefixes"]
            ]
            entries.extend(
                self._file_info(bucket, meta["path"], meta) for meta in listing["objects"]
            )
            entries.sort(key=lambda e: str(e["name"]))
            if not entries and key:
                # fsspec convention: listing a file gives that file (not a listing to cache)
                try:
                    meta = await obstore.head_async(store, key)
                except FileNotFoundError:
                    raise FileNotFoundError(path) from None
                entries = [self._file_info(bucket, key, meta)]
            elif generation == self._listings_generation:
                # a write or delete that finished meanwhile may be missing from this listing
                self.dircache[name] = [dict(entry) for entry in entries]
        if detail:
            return entries
        return [e["name"] for e in entries]

    def invalidate_cache(self, path: str | None = None) -> None:
        """Forget the cached listings that a change at ``path`` makes stale (all for ``None``).

        Those are the listing of ``path``, the listings below it, and those of its ancestors,
        each of which holds ``path`` or one of its ancestors as an entry.
        """
        self._listings_generation += 1
        try:
            bucket, key = (None, "") if path is None else self._split_path(path)
        except ValueError:
            bucket, key = None, ""
        if bucket is None or not (bucket or key):
            self.dircache.clear()
        else:
            name = self._name(bucket, key)
            for cached in list(self.dircache):
                if cached == name or cached.startswith(name + "/"):
                    self.dircache.pop(cached, None)
            parts = key.split("/") if key else []
            for depth in range(len(parts)):
                self.dircache.pop(self._name(bucket, "/".join(parts[:depth])), None)
        super().invalidate_cache(path)

    async def _find(
        self,
        path: str,
        maxdepth: int | None = None,
        withdirs: bool = False,
        **kwargs: Any,
    ) -> Any:
        # One recursive listing instead of one request per directory.
        if maxdepth is not None:
            return await super()._find(path, maxdepth=maxdepth, withdirs=withdirs, **kwargs)
        detail = kwargs.pop("detail", False)
        path = self._strip_protocol(path)
        store, bucket, key = self._locate(path)
        out: dict[str, dict[str, Any]] = {}
        dirs: set[str] = set()
        stream = obstore.list(store, key or None, chunk_size=1000)
        async for chunk in stream:
            for meta in chunk:
                obj = meta["path"].strip("/")
                out[self._name(bucket, obj)] = {
                    "name": self._name(bucket, obj),
                    "size": meta["size"],
                    "type": "file",
                    "e_tag": meta["e_tag"],
                    "last_modified": meta["last_modified"],
                    "version": meta["version"],
                }
                if withdirs:
                    rel = obj[len(key) :].strip("/") if key else obj
                    parts = rel.split("/")[:-1]
                    for depth in range(1, len(parts) + 1):
                        sub = "/".join(parts[:depth])
                        dirs.add(f"{key}/{sub}" if key else sub)
        if withdirs:
            for d in dirs:
                name = self._name(bucket, d)
                out[name] = {"name": name, "size": 0, "type": "directory"}
            if out and key:
                name = self._name(bucket, key)
                out[name] = {"name": name, "size": 0, "type": "directory"}
        if not out and key:
            try:
                meta = await obstore.head_async(store, key)
            except FileNotFoundError:
                pass
            else:
                info = self._file_info(bucket, key, meta)
                out[info["name"]] = info
        names = sorted(out)
        if detail:
            return {n: out[n] for n in names}
        return names

    def modified(self, path: str) -> datetime:
        """Last modification time of a file (HEAD request)."""
        store, _, key = self._locate(path)
        return obstore.head(store, key)["last_modified"]

    # ------------------------------------------------------------------ reading
    async def _cat_file(
        self,
        path: str,
        start: int | None = None,
        end: int | None = None,
        **kwargs: Any,
    ) -> bytes:
        store, _, key = self._locate(path)
        if start is None and end is None:
            result = await obstore.get_async(store, key)
            return bytes(await result.bytes_async())
        size: int | None = None
        if (start is not None and start < 0) or (end is not None and end < 0):
            size = (await obstore.head_async(store, key))["size"]
            if start is not None and start < 0:
                start = max(0, size + start)
            if end is not None and end < 0:
                end = max(0, size + end)
        begin = start or 0
        if end is not None and end <= begin:
            return b""
        try:
            if end is None:
                result = await obstore.get_async(store, key, options={"range": {"offset": begin}})
                return bytes(await result.bytes_async())
            return bytes(await obstore.get_range_async(store, key, start=begin, end=end))
        except FileNotFoundError:
            raise
        except BaseError:
            # a range starting at or past the end: fsspec returns no bytes
            if size is None:
                size = (await obstore.head_async(store, key))["size"]
            if begin >= size:
                return b""
            raise

    async def _cat(
        self,
        path: str | list[str],
        recursive: bool = False,
        on_error: str = "raise",
        batch_size: int | None = None,
        **kwargs: Any,
    ) -> bytes | dict[str, Any]:
        paths = await self._expand_path(path, recursive=recursive)
        results = await _run_coros_in_chunks(
            [self._cat_file(p, **kwargs) for p in paths],
            batch_size=batch_size or self.batch_size,
            nofiles=True,
            return_exceptions=True,
        )
        out: dict[str, Any] = {}
        for p, res in zip(paths, results, strict=True):
            if isinstance(res, BaseException):
                # directories have no content: they are left out, not errors
                if isinstance(res, (FileNotFoundError, BaseError)) and await self._isdir(p):
                    continue
                if on_error == "raise":
                    raise res
                if on_error == "omit":
                    continue
            out[p] = res
        if not out and not (on_error == "omit" and paths):
            raise FileNotFoundError(path)
        single = (
            isinstance(path, str)
            and len(paths) == 1
            and paths[0] == self._strip_protocol(path)
            and paths[0] in out
        )
        if single:
            value = out[paths[0]]
            if isinstance(value, BaseException):
                raise value
            return cast("bytes", value)
        return out

    async def _cat_ranges(
        self,
        paths: list[str],
        starts: list[int | None] | int | None,
        ends: list[int | None] | int | None,
        max_gap: int | None = None,
        batch_size: int | None = None,
        on_error: str = "return",
        **kwargs: Any,
    ) -> list[Any]:
        n = len(paths)
        start_list: list[int | None] = (
            list(starts) if isinstance(starts, Sequence) else [starts] * n
        )
        end_list: list[int | None] = list(ends) if isinstance(ends, Sequence) else [ends] * n
        if len(start_list) != n or len(end_list) != n:
            raise ValueError("paths, starts and ends must have the same length")
        out: list[Any] = [b""] * n
        groups: dict[str, list[int]] = {}
        singles: list[int] = []
        for i, (s, e) in enumerate(zip(start_list, end_list, strict=True)):
            if s is not None and e is not None and 0 <= s < e:
                groups.setdefault(paths[i], []).append(i)
            elif s is not None and e is not None and 0 <= e <= s:
                out[i] = b""
            else:
                singles.append(i)

        async def one(i: int) -> None:
            try:
                out[i] = await self._cat_file(paths[i], start_list[i], end_list[i])
            except Exception as err:  # noqa: BLE001 - reported per range
                if on_error != "return":
                    raise
                out[i] = err

        async def group(p: str, idx: list[int]) -> None:
            store, _, key = self._locate(p)
            try:
                chunks = await obstore.get_ranges_async(
                    store,
                    key,
                    starts=[cast("int", start_list[i]) for i in idx],
                    ends=[cast("int", end_list[i]) for i in idx],
                )
            except FileNotFoundError as err:
                if on_error != "return":
                    raise
                for i in idx:
                    out[i] = err
                return
            except BaseError:
                # e.g. a range past the end: resolve range by range
                for i in idx:
                    await one(i)
                return
            for i, chunk in zip(idx, chunks, strict=True):
                out[i] = bytes(chunk)

        coros: list[Coroutine[Any, Any, None]] = [group(p, idx) for p, idx in groups.items()]
        coros.extend(one(i) for i in singles)
        results = await _run_coros_in_chunks(
            coros, batch_size=batch_size or self.batch_size, nofiles=True, return_exceptions=True
        )
        for res in results:
            if isinstance(res, BaseException):
                raise res
        return out

    async def _get_file(
        self,
        rpath: str,
        lpath: str,
        callback: Any = None,
        **kwargs: Any,
    ) -> None:
        lpath = stringify_path(lpath)
        if lpath.startswith("file://"):
            lpath = lpath[len("file://") :]
        elif "://" in lpath:
            return
        if _local_kind(lpath) == "dir":
            return
        store, _, key = self._locate(rpath)
        try:
            result = await obstore.get_async(store, key)
        except BaseError:
            if await self._isdir(rpath):
                raise FileNotFoundError(rpath) from None
            raise
        size = result.meta["size"]
        if callback is not None:
            callback.set_size(size)
        written = 0
        with open(lpath, "wb") as f:  # noqa: ASYNC230 - local writes, chunk at a time
            async for chunk in result.stream():
                f.write(chunk)
                written += len(chunk)
                if callback is not None:
                    callback.absolute_update(written)

    # ------------------------------------------------------------------ writing
    async def _pipe_file(
        self,
        path: str,
        value: Any,
        mode: Literal["create", "overwrite"] = "overwrite",
        **kwargs: Any,
    ) -> None:
        store, _, key = self._locate(path)
        try:
            await obstore.put_async(store, key, value, mode=mode, **kwargs)
        except BaseError as err:
            _reraise(err, path)
        finally:
            self.invalidate_cache(path)

    async def _put_file(
        self,
        lpath: str,
        rpath: str,
        mode: Literal["create", "overwrite"] = "overwrite",
        callback: Any = None,
        **kwargs: Any,
    ) -> None:
        lpath = stringify_path(lpath)
        kind = _local_kind(lpath)
        if kind == "dir":
            return
        if kind == "missing":
            raise FileNotFoundError(lpath)
        store, _, key = self._locate(rpath)
        size = _local_size(lpath)
        if callback is not None:
            callback.set_size(size)
        try:
            await obstore.put_async(store, key, Path(lpath), mode=mode)
        except BaseError as err:
            _reraise(err, rpath)
        finally:
            self.invalidate_cache(rpath)
        if callback is not None:
            callback.absolute_update(size)

    async def _cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        bucket1, key1 = self._split_path(path1)
        bucket2, key2 = self._split_path(path2)
        if bucket1 != bucket2:
            raise ValueError(
                f"Cannot copy between buckets {bucket1!r} and {bucket2!r} within one store"
            )
        store = self._construct_store(bucket1)
        try:
            await obstore.copy_async(store, key1, key2)
        except FileNotFoundError:
            raise
        except BaseError as err:
            # copying a directory "object" is not an error fsspec wants to see
            if await self._isdir(path1):
                raise FileNotFoundError(path1) from err
            _reraise(err, path2)
        finally:
            self.invalidate_cache(path2)

    async def _rm_file(self, path: str, **kwargs: Any) -> None:
        store, _, key = self._locate(path)
        try:
            await obstore.delete_async(store, key)
        finally:
            self.invalidate_cache(path)

    async def _rm(
        self,
        path: str | list[str],
        recursive: bool = False,
        maxdepth: int | None = None,
        batch_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        paths = await self._expand_path(path, recursive=recursive, maxdepth=maxdepth)
        dirs: list[str] = []

        async def remove(p: str) -> None:
            store, _, key = self._locate(p)
            try:
                await obstore.delete_async(store, key)
            except FileNotFoundError:
                # directories have no object; missing files were caught by _expand_path
                local = self._local_dir_of(store, key)
                if local is not None and _local_kind(local) == "dir":
                    dirs.append(local)
            except BaseError:
                local = self._local_dir_of(store, key)
                if local is not None and _local_kind(local) == "dir":
                    dirs.append(local)
                    return
                raise

        try:
            await _run_coros_in_chunks(
                [remove(p) for p in reversed(paths)],
                batch_size=batch_size or self.batch_size,
                nofiles=True,
            )
        finally:
            for p in paths:
                self.invalidate_cache(p)
        # local directories that the removal emptied (deepest first)
        for d in sorted(set(dirs), key=len, reverse=True):
            try:
                os.rmdir(d)
            except OSError:
                pass

    # ------------------------------------------------------------------ files
    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> BufferedFile:
        if mode not in ("rb", "wb", "xb"):
            raise ValueError(f"Only 'rb' and 'wb' modes supported, got: {mode}")
        kwargs.pop("cache_type", None)
        buffer_size = kwargs.pop("buffer_size", None) or block_size
        return BufferedFile(self, path, mode, buffer_size=buffer_size, **kwargs)  # type: ignore[arg-type]


class BufferedFile(AbstractBufferedFile, metaclass=ABCMeta):  # type: ignore[misc]
    """A file of an ``FsspecStore``: ``"rb"`` reads, ``"wb"`` writes.

    Reading goes through ``obstore.open_reader`` (buffered, seekable); writing
    through ``obstore.open_writer`` (the object appears on ``close``; leaving a
    ``with`` block through an exception aborts the upload). ``"xb"`` writes
    only if the object does not exist yet (checked on open and, where the
    store supports it, atomically on close).
    """

    def __init__(
        self,
        fs: FsspecStore,
        path: str,
        mode: Literal["rb", "wb", "xb"] = "rb",
        *,
        buffer_size: int | None = None,
        attributes: Attributes | None = None,
        tags: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        """Open ``path`` of ``fs``; ``buffer_size`` defaults to 1 MiB (read) / 10 MiB (write)."""
        if mode not in ("rb", "wb", "xb"):
            raise ValueError(f"Only 'rb' and 'wb' modes supported, got: {mode}")
        store, _, key = fs._locate(path)
        self._store = store
        self._key = key
        self._reader: ReadableFile | None = None
        self._writer: WritableFile | None = None
        self._exclusive: io.BytesIO | None = None
        self._attributes = attributes
        self._tags = tags
        self._writer_loc = 0
        self._forced = False
        if mode == "xb":
            try:
                obstore.head(store, key)
            except FileNotFoundError:
                pass
            else:
                raise FileExistsError(f"{path} already exists")
        size = kwargs.pop("size", None)
        for unused in ("block_size", "autocommit", "cache_options", "cache_type"):
            kwargs.pop(unused, None)
        if mode == "rb":
            if size is None:
                try:
                    size = obstore.head(store, key)["size"]
                except FileNotFoundError:
                    raise FileNotFoundError(path) from None
            super().__init__(fs, path, mode="rb", cache_type="none", size=size, **kwargs)
            self._reader = obstore.open_reader(
                store, key, buffer_size=buffer_size or 1024 * 1024, size=size
            )
        else:
            super().__init__(fs, path, mode=mode, cache_type="none", **kwargs)
            if mode == "xb":
                self._exclusive = io.BytesIO()
            else:
                self._writer = obstore.open_writer(
                    store,
                    key,
                    attributes=attributes,
                    buffer_size=buffer_size or 10 * 1024 * 1024,
                    tags=tags,
                )

    # fsspec's base class keeps a ``loc`` attribute; here it is the real position
    @property
    def loc(self) -> int:
        """Current position (same as ``tell()``)."""
        return self.tell()

    @loc.setter
    def loc(self, value: int) -> None:
        if value != 0:
            raise ValueError("Cannot set file position directly; use seek()")

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file.")

    def _check_read(self) -> ReadableFile:
        self._check_open()
        if self._reader is None:
            raise io.UnsupportedOperation("File not in read mode")
        return self._reader

    def read(self, length: int = -1) -> bytes:
        """Read ``length`` bytes, or the rest of the file if negative."""
        reader = self._check_read()
        if length is None or length < 0:
            return bytes(reader.read())
        return bytes(reader.read(length))

    def readline(self) -> bytes:
        """Read up to and including the next newline."""
        return bytes(self._check_read().readline())

    def readlines(self) -> list[bytes]:
        """All remaining lines."""
        reader = self._check_read()
        lines: list[bytes] = []
        while True:
            line = bytes(reader.readline())
            if not line:
                return lines
            lines.append(line)

    def readinto(self, b: Any) -> int:
        """Read into a writable buffer; returns the number of bytes read."""
        view = memoryview(b).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def __iter__(self) -> BufferedFile:
        return self

    def tell(self) -> int:
        """Current position."""
        self._check_open()
        if self._reader is not None:
            return self._reader.tell()
        return self._writer_loc

    def seek(self, loc: int, whence: int = 0) -> int:
        """Move to ``loc`` relative to ``whence``; read mode only."""
        self._check_open()
        if self._reader is None:
            raise io.UnsupportedOperation("Seek only available in read mode.")
        if whence not in (os.SEEK_SET, os.SEEK_CUR, os.SEEK_END):
            raise ValueError(f"invalid whence ({whence}, should be 0, 1 or 2)")
        return self._reader.seek(loc, whence)

    def write(self, data: Any) -> int:
        """Append ``data``; returns the number of bytes written."""
        self._check_open()
        if self._reader is not None or "b" not in self.mode or "r" in self.mode:
            raise io.UnsupportedOperation("File not in write mode")
        if self._forced:
            raise ValueError("This file has been force-flushed, can only close")
        if self._exclusive is not None:
            n = self._exclusive.write(data)
        else:
            assert self._writer is not None
            # The writer keeps a zero-copy view of what it is given until it uploads; callers
            # such as pyarrow reuse their buffers after write() returns, so hand it a copy of
            # anything mutable.
            n = self._writer.write(data if isinstance(data, bytes) else bytes(data))
        self._writer_loc += n
        return n

    def flush(self, force: bool = False) -> None:
        """Send buffered data onwards; ``force`` means no more writes will follow."""
        if self.closed:
            raise ValueError("Flush on closed file")
        if self._reader is not None:
            return
        if force:
            self._forced = True
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        """Finish the file; for writes, the object appears now. Idempotent."""
        if getattr(self, "closed", True):
            return
        self._closed = True
        try:
            if self._writer is not None:
                self._writer.close()
            elif self._exclusive is not None:
                data = self._exclusive.getvalue()
                self._exclusive = None
                try:
                    obstore.put(self._store, self._key, data, mode="create")
                except AlreadyExistsError as err:
                    raise FileExistsError(f"{self.path} already exists") from err
        finally:
            if self._reader is None:
                self.fs.invalidate_cache(self.path)

    def discard(self) -> None:
        """Abort a write: nothing is stored."""
        if self._writer is not None and not self.closed:
            self._writer.abort()
        self._exclusive = None
        self._closed = True

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None and self.mode != "rb" and not self.closed:
            self.discard()
            return
        self.close()

    def readable(self) -> bool:
        """True in read mode."""
        return self._reader is not None

    def writable(self) -> bool:
        """True in write mode."""
        return self._reader is None

    def seekable(self) -> bool:
        """True in read mode."""
        return self._reader is not None


def register(
    protocol: SUPPORTED_PROTOCOLS_T
    | str
    | Iterable[SUPPORTED_PROTOCOLS_T]
    | Iterable[str]
    | None = None,
    *,
    asynchronous: bool = False,
) -> None:
    """Make fsspec use ``FsspecStore`` for ``protocol`` (one, several, or all).

    ``None`` registers every protocol of ``SUPPORTED_PROTOCOLS`` except ``file``
    and ``memory`` (fsspec's own local and memory filesystems stay). Afterwards
    e.g. ``fsspec.filesystem("s3", region=...)`` or ``pandas.read_parquet(
    "s3://bucket/key", storage_options={...})`` go through obstore.
    """
    if protocol is None:
        protocols = sorted(SUPPORTED_PROTOCOLS - {"file", "memory"})
    elif isinstance(protocol, str):
        protocols = [protocol]
    else:
        protocols = list(protocol)
    for proto in protocols:
        if not isinstance(proto, str) or not proto:
            raise TypeError(f"protocol must be a non-empty string, got {proto!r}")
        fsspec.register_implementation(proto, _registered_class(proto, asynchronous), clobber=True)
