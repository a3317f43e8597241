"""Locations: URLs (s3://, file://, memory://), local paths, (store, prefix) pairs; two URLs of
one bucket share a store and copy server-side; bad locations and options are refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import obstore
from obstore.store import LocalStore, MemoryStore, S3Store
from obstore.transfer import copy, du, sync
from obstore.transfer._location import resolve

from .conftest import TREE, hashes, local_tree, store_tree, write_tree


def test_local_forms(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", TREE)
    url = f"file://{source}/"
    assert resolve(url).path == source and resolve(url).looks_like_directory()
    assert resolve((LocalStore(tmp_path), "src/")).path == source
    assert copy(url, tmp_path / "a").transferred == len(TREE)
    assert copy((LocalStore(tmp_path), "src"), f"file://{tmp_path}/b/").transferred == len(TREE)
    assert local_tree(tmp_path / "a") == local_tree(tmp_path / "b") == hashes(TREE)
    # local -> local keeps modification times
    for rel in TREE:
        assert (tmp_path / "a" / rel).stat().st_mtime_ns == (source / rel).stat().st_mtime_ns


def test_memory_urls_of_one_call_share_a_store(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", TREE)
    assert copy(source, "memory:///x/").transferred == len(TREE)  # gone with the call
    store = MemoryStore()
    assert resolve((store, "a/b/")).key == "a/b" and resolve((store, "")).looks_like_directory()
    assert du(store) == {"objects": 0, "bytes": 0}


def test_s3_urls_of_one_bucket_copy_server_side(
    minio: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kwargs = minio.store_kwargs
    monkeypatch.setenv("AWS_ENDPOINT", kwargs["endpoint"])
    monkeypatch.setenv("AWS_ALLOW_HTTP", "true")
    monkeypatch.setenv("AWS_REGION", kwargs["region"])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", kwargs["access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", kwargs["secret_access_key"])
    bucket = f"s3://{minio.bucket}"
    prefix = f"transfer-urls-{tmp_path.name}"
    source = write_tree(tmp_path / "src", TREE)
    assert sync(source, f"{bucket}/{prefix}/one/").transferred == len(TREE)

    copies: list[str] = []
    real = obstore.copy_async

    async def spy(store: Any, from_: str, to: str, **options: Any) -> None:
        copies.append(to)
        await real(store, from_, to, **options)

    monkeypatch.setattr(obstore, "copy_async", spy)
    report = copy(f"{bucket}/{prefix}/one/", f"{bucket}/{prefix}/two/")
    assert report.transferred == len(TREE) and len(copies) == len(TREE)
    # a store with a prefix and a URL of the same bucket and settings are one store too
    store = S3Store.from_url(f"{bucket}/{prefix}")
    copies.clear()
    assert copy((store, "two/"), f"{bucket}/{prefix}/three/").transferred == len(TREE)
    assert len(copies) == len(TREE)
    assert store_tree(store, "three") == hashes(TREE)
    # one object, to a key and below a prefix
    copy(f"{bucket}/{prefix}/one/top.txt", f"{bucket}/{prefix}/single/")
    assert store_tree(store, "single") == hashes({"top.txt": TREE["top.txt"]})


def test_bad_locations_and_options(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="location"):
        copy(3.5, tmp_path)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="store"):
        copy(("not a store", "p/"), tmp_path)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="key"):
        copy((MemoryStore(), 3), tmp_path)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="compare"):
        sync(tmp_path, (MemoryStore(), ""), compare="mtime")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="part_size"):
        copy(tmp_path, (MemoryStore(), ""), part_size=0)
