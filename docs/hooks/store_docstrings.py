"""Griffe extension: the store classes of ``obstore.store`` show their compiled base's docstring.

``obstore.store.S3Store`` and its siblings take ``__doc__`` from the compiled class at run time
(``__doc__ = _store.S3Store.__doc__``), whose text comes from ``_store.pyi``; static analysis
cannot evaluate that assignment, so this copies the stub's docstring across for the site.
"""

from __future__ import annotations

from typing import Any

import griffe

STORES = ("S3Store", "GCSStore", "AzureStore", "HTTPStore", "LocalStore", "MemoryStore")


class StoreDocstrings(griffe.Extension):
    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        if pkg.name != "obstore":
            return
        store, compiled = pkg["store"], pkg["_store"]
        for name in STORES:
            source = compiled[name].docstring
            if source is None:
                raise ValueError(f"obstore._store.{name} has no docstring in _store.pyi")
            store[name].docstring = griffe.Docstring(source.value, parent=store[name])
