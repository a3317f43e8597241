"""Resolving a location (URL, local path or ``(store, prefix)``) to a store and key, or a path.

Local files are handled as files (temporary name then rename, modification times, positional
writes), so a ``file://`` URL and a ``LocalStore`` resolve to a local path, not to a store.
Cloud stores resolve to a store at the bucket root plus a key: two locations in one bucket then
share one store and copy server-side.
"""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import obstore
from obstore import _store
from obstore._types import ObjectStore

LocationLike: TypeAlias = str | os.PathLike[str] | tuple[ObjectStore, str]
"""A URL (``s3://b/p/``, ``gs://``, ``az://``, ``abfs://``, ``https://``, ``file:///``,
``memory:///``), a local path, or a ``(store, key or prefix)`` pair."""

_STORE_TYPES = (
    _store.S3Store,
    _store.GCSStore,
    _store.AzureStore,
    _store.HTTPStore,
    _store.LocalStore,
    _store.MemoryStore,
)


@dataclass(frozen=True)
class Location:
    """A resolved location: a local ``path``, or a ``store`` and a ``key`` in it.

    ``key`` has no leading or trailing ``/`` ("" is the whole store). ``trailing_slash`` says
    whether the location was spelled as a directory or prefix.
    """

    store: ObjectStore | None
    path: Path | None
    key: str
    trailing_slash: bool
    base: str
    """Display form of the store root (``s3://bucket``); "" for local paths."""

    @property
    def is_local(self) -> bool:
        return self.path is not None

    def local(self, rel: str = "") -> Path:
        """The local path of ``rel`` below this (local) location."""
        assert self.path is not None
        return self.path.joinpath(*rel.split("/")) if rel else self.path

    def object_key(self, rel: str = "") -> str:
        """The store key of ``rel`` below this (store) location."""
        if not rel:
            return self.key
        return f"{self.key}/{rel}" if self.key else rel

    def display(self, rel: str = "") -> str:
        """``rel`` below this location as a URL or a local path."""
        if self.path is not None:
            return str(self.local(rel))
        key = self.object_key(rel)
        return f"{self.base}/{key}"

    def child(self, rel: str) -> Location:
        """The location of ``rel`` below this one."""
        if self.path is not None:
            return Location(None, self.local(rel), "", False, "")
        return Location(self.store, None, self.object_key(rel), False, self.base)

    def looks_like_directory(self) -> bool:
        """Spelled with a trailing ``/``, the root of a store, or an existing local directory."""
        if self.trailing_slash:
            return True
        if self.path is not None:
            return self.path.is_dir()
        return self.key == ""

    def same_store(self, other: Location) -> bool:
        """Whether both are in one store, so that a server-side copy can join them."""
        if self.store is None or other.store is None:
            return False
        return self.store is other.store or bool(self.store == other.store)


def is_store(value: object) -> bool:
    """Whether ``value`` is a store of ``obstore.store`` or ``obstore._store``."""
    return isinstance(value, _STORE_TYPES)


def _store_root(store: ObjectStore) -> tuple[ObjectStore, str]:
    """The same store at its bucket root, and the prefix it had."""
    prefix = getattr(store, "prefix", None)
    if not isinstance(store, _store.S3Store | _store.GCSStore | _store.AzureStore) or not prefix:
        return store, ""
    args, kwargs = store.__getnewargs_ex__()
    root = type(store)(*args, **{**kwargs, "prefix": None})
    return root, str(prefix).strip("/")


def _store_base(store: ObjectStore) -> str:
    """A URL naming the root of ``store``, for messages and reports."""
    if isinstance(store, _store.S3Store):
        return f"s3://{store.config.get('bucket', '')}"
    if isinstance(store, _store.GCSStore):
        return f"gs://{store.config.get('bucket', '')}"
    if isinstance(store, _store.AzureStore):
        return f"az://{store.config.get('container_name', '')}"
    if isinstance(store, _store.HTTPStore):
        return store.url.rstrip("/")
    return "memory://"


def _join(*parts: str) -> str:
    return "/".join(part.strip("/") for part in parts if part.strip("/"))


def _from_store(store: Any, key: str, trailing: bool) -> Location:
    if not is_store(store):
        raise TypeError(f"expected an obstore store as the first item of the pair, got {store!r}")
    if isinstance(store, _store.LocalStore):
        root = Path(store.prefix) if store.prefix is not None else Path("/")
        path = root.joinpath(*[part for part in key.split("/") if part])
        return Location(None, path, "", trailing, "")
    root_store, prefix = _store_root(store)
    return Location(root_store, None, _join(prefix, key), trailing, _store_base(root_store))


def _local(path: str | os.PathLike[str]) -> Location:
    text = os.fspath(path)
    trailing = text.endswith(("/", os.sep))
    return Location(None, Path(os.path.abspath(text)), "", trailing, "")


def _from_url(url: str, memory: dict[str, Any]) -> Location:
    scheme = url.split("://", 1)[0].lower()
    trailing = url.endswith("/")
    if scheme == "file":
        return _local(urllib.parse.unquote(urllib.parse.urlsplit(url).path) or "/")
    if scheme == "memory":
        # One MemoryStore per call: memory:// locations of one call share it.
        if "memory" not in memory:
            memory["memory"] = obstore.store.MemoryStore()
        store = memory["memory"]
        key = urllib.parse.unquote(urllib.parse.urlsplit(url).path).strip("/")
        return Location(store, None, key, trailing or key == "", "memory://")
    if obstore.parse_scheme(url) == "http":
        parts = urllib.parse.urlsplit(url)
        http_store = obstore.store.HTTPStore(f"{parts.scheme}://{parts.netloc}")
        key = urllib.parse.unquote(parts.path).strip("/")
        return Location(http_store, None, key, trailing, http_store.url.rstrip("/"))
    built = obstore.store.from_url(url)
    # The URL's path is the store's prefix: the location is a directory when it has none.
    return _from_store(built, "", trailing or not getattr(built, "prefix", None))


def resolve(location: Any, memory: dict[str, Any] | None = None) -> Location:
    """Resolve a location given by the user; ``memory`` shares ``memory://`` stores in a call."""
    if isinstance(location, Location):
        return location
    if isinstance(location, tuple):
        if len(location) != 2:
            raise TypeError(f"expected a (store, prefix) pair, got a tuple of {len(location)}")
        key = location[1]
        if not isinstance(key, str):
            raise TypeError(f"expected a str key or prefix as the second item, got {key!r}")
        return _from_store(location[0], key, not key or key.endswith("/"))
    if is_store(location):
        return _from_store(location, "", True)
    if isinstance(location, str) and "://" in location:
        return _from_url(location, memory if memory is not None else {})
    if isinstance(location, str | os.PathLike):
        return _local(location)
    raise TypeError(
        "expected a URL, a local path or a (store, prefix) pair as a location, "
        f"got {type(location).__name__}"
    )
