"""The command line's URLs and local paths as stores and keys, built as ``from_url`` builds them,
with the ``--config`` settings that each store accepts."""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import obstore
from obstore._types import ObjectStore
from obstore.exceptions import UnknownConfigurationKeyError
from obstore.store import ClientConfig, HTTPStore, LocalStore, MemoryStore, from_url
from obstore.transfer._location import LocationLike, resolve

#: The settings an ``HTTPStore`` takes: its client options (it has no other configuration).
CLIENT_KEYS = frozenset(ClientConfig.__optional_keys__)


class TargetError(ValueError):
    """A URL or a ``--config`` setting that no store can be built from (a usage error)."""


@dataclass(frozen=True)
class Target:
    """One location of the command line: a ``store`` (at its root), a ``key`` in it, and how
    it was spelled.

    Local paths (and ``file://`` URLs) are keys of a ``LocalStore`` at ``/`` for the single
    object operations (``cat``, ``stat``, ``ls``), and stay paths for ``obstore.transfer``.
    """

    text: str
    store: ObjectStore
    key: str
    """Below the store root, without leading or trailing ``/`` ("": the whole store)."""
    trailing: bool
    """Spelled as a prefix or directory (a trailing ``/``)."""
    path: Path | None
    """The absolute local path, for local paths and ``file://`` URLs."""
    base: str
    """The store root as a URL (``s3://bucket``); "" for local paths."""

    @property
    def is_local(self) -> bool:
        return self.path is not None

    def display(self, key: str | None = None) -> str:
        """``key`` (default: this target's key) as a URL, or a local path."""
        key = self.key if key is None else key
        return f"/{key}" if self.path is not None else f"{self.base}/{key}"

    def relative(self, key: str) -> str:
        """``key`` relative to this target's key (``key`` lies below it)."""
        return key[len(self.key) + 1 :] if self.key else key

    def is_prefix(self) -> bool:
        """Spelled with a trailing ``/``, the root of a store, or an existing local directory."""
        if self.trailing or not self.key:
            return True
        return self.path is not None and self.path.is_dir()

    def location(self) -> LocationLike:
        """This target as an ``obstore.transfer`` location."""
        if self.path is not None:
            text = str(self.path)
            return text + "/" if self.trailing and text != "/" else text
        return (self.store, f"{self.key}/" if self.trailing and self.key else self.key)


class Targets:
    """Builds the targets of one command: ``memory://`` URLs share one ``MemoryStore``, and
    each ``--config`` setting goes to the stores that know it."""

    def __init__(self, config: Mapping[str, str]) -> None:
        self.config = dict(config)
        self.used: set[str] = set()
        self._memory: MemoryStore | None = None
        self._local_root: LocalStore | None = None

    def build(self, text: str) -> Target:
        """The target a URL or local path names; ``TargetError`` when none can be built."""
        if not text:
            raise TargetError("an empty URL or path")
        if "://" not in text:
            return self._local(text)
        try:
            scheme = obstore.parse_scheme(text)
        except Exception as error:
            raise TargetError(f"{text}: {_message(error)}") from None
        if scheme == "local":
            path = urllib.parse.unquote(urllib.parse.urlsplit(text).path) or "/"
            return self._local(text, path)
        if scheme == "memory":
            if self._memory is None:
                self._memory = MemoryStore()
            key = urllib.parse.unquote(urllib.parse.urlsplit(text).path).strip("/")
            return Target(text, self._memory, key, text.endswith("/"), None, "memory://")
        if scheme == "http":
            return self._http(text)
        return self._cloud(text)

    def unused(self) -> list[str]:
        """The ``--config`` keys that no store of the command took."""
        return sorted(set(self.config) - self.used)

    def _local(self, text: str, local_path: str | None = None) -> Target:
        if self._local_root is None:
            self._local_root = LocalStore("/")
        path = Path(os.path.abspath(local_path or text))
        trailing = text.endswith(("/", os.sep))
        key = path.as_posix().strip("/")
        return Target(text, self._local_root, key, trailing, path, "")

    def _http(self, text: str) -> Target:
        parts = urllib.parse.urlsplit(text)
        options = {key: value for key, value in self.config.items() if key.lower() in CLIENT_KEYS}
        self.used.update(options)
        try:
            store = HTTPStore(
                f"{parts.scheme}://{parts.netloc}",
                client_options=options or None,  # type: ignore[arg-type]
            )
        except Exception as error:
            raise TargetError(f"{text}: {_message(error)}") from None
        key = urllib.parse.unquote(parts.path).strip("/")
        return Target(text, store, key, text.endswith("/"), None, store.url.rstrip("/"))

    def _accepts(self, text: str, key: str, value: str) -> bool:
        """Whether the store of ``text`` knows the setting ``key`` (its value may be wrong:
        building the store with every accepted setting says so)."""
        try:
            settings: Any = {key: value}  # any key: the store says which it knows
            from_url(text, config=settings)
        except UnknownConfigurationKeyError:
            return False
        except Exception:
            return True
        return True

    def _cloud(self, text: str) -> Target:
        config: Any = {k: v for k, v in self.config.items() if self._accepts(text, k, v)}
        self.used.update(config)
        try:
            store = from_url(text, config=config or None)
        except Exception as error:
            raise TargetError(f"{text}: {_message(error)}") from None
        # At the bucket root, the URL's path as the key: two URLs of one bucket share a store
        # (server-side copies), and an object key is not mistaken for a prefix.
        location = resolve((store, ""))
        assert location.store is not None
        return Target(text, location.store, location.key, text.endswith("/"), None, location.base)


def _message(error: BaseException) -> str:
    """The first line of an error's message (its class name when it has none)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
