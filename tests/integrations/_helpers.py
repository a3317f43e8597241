"""Helpers shared by the integration tests (importable by Dask workers: no test-suite imports)."""

from __future__ import annotations

from typing import Any


def split_store_kwargs(server: Any) -> tuple[str, dict[str, Any]]:
    """``(bucket, FsspecStore keyword arguments)`` for a server (the bucket goes in paths)."""
    kwargs = dict(server.store_kwargs)
    bucket = kwargs.pop("bucket", None) or kwargs.pop("container_name")
    return bucket, kwargs
