"""executor=: batches of the listing run on a process pool or a Dask cluster (stores travel by
pickle), reports are merged; stores that cannot travel are refused before any transfer."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import obstore
from obstore.store import MemoryStore
from obstore.transfer import Action, copy, sync
from obstore.transfer import _engine as engine

from .conftest import MIB, dask_cluster, hashes, local_tree, store_tree, write_tree

FILES = {f"d{i % 3}/f{i:03}.bin": os.urandom(1000 + i) for i in range(40)}
FILES["big.bin"] = os.urandom(11 * MIB)


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "BATCH_OBJECTS", 8)  # several batches for a few objects


@pytest.mark.usefixtures("small_batches")
def test_process_pool_sync_to_minio(minio_store: Any, tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", FILES)
    actions: list[Action] = []
    with ProcessPoolExecutor(2) as pool:
        report = sync(
            source, (minio_store, "t/"), executor=pool, part_size=5 * MIB, on_action=actions.append
        )
        assert report.transferred == len(FILES) and report.failed == 0, report.errors
        assert report.bytes == sum(len(data) for data in FILES.values())
        assert len(actions) == len(FILES)
        assert store_tree(minio_store, "t") == hashes(FILES)
        # the way back, and a second run that finds nothing to do
        down = tmp_path / "down"
        assert copy((minio_store, "t/"), down, executor=pool).transferred == len(FILES)
        assert local_tree(down) == hashes(FILES)
        again = sync(source, (minio_store, "t/"), executor=pool)
        assert (again.transferred, again.skipped) == (0, len(FILES))
        # failures come back in the report, picklable
        missing = copy(tmp_path / "none", (minio_store, "u/"), executor=pool)
        assert missing.failed == 1


def test_memory_store_is_refused_before_any_transfer(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", FILES)
    store = MemoryStore()
    with ProcessPoolExecutor(1) as pool, pytest.raises(ValueError, match="MemoryStore"):
        sync(source, (store, "t/"), executor=pool)
    assert store_tree(store) == {}
    with pytest.raises(TypeError, match="executor"):
        sync(source, (store, "t/"), executor=object())


@pytest.mark.usefixtures("small_batches")
def test_thread_pool_shares_memory_stores(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", FILES)
    store = MemoryStore()
    with ThreadPoolExecutor(2) as pool:
        report = sync(source, (store, "t/"), executor=pool)
    assert report.transferred == len(FILES)
    assert store_tree(store, "t") == hashes(FILES)


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    with dask_cluster() as client:
        yield client


@pytest.mark.usefixtures("small_batches")
def test_dask_cluster_syncs_a_tree_to_minio(
    minio_store: Any, dask_client: Any, tmp_path: Path
) -> None:
    source = write_tree(tmp_path / "src", FILES)
    report = sync(source, (minio_store, "t/"), executor=dask_client, part_size=5 * MIB)
    assert report.transferred == len(FILES) and report.failed == 0, report.errors
    assert store_tree(minio_store, "t") == hashes(FILES)
    obstore.put(minio_store, "t/stale", b"x")
    again = sync(source, (minio_store, "t/"), executor=dask_client, delete=True)
    assert (again.transferred, again.skipped, again.deleted) == (0, len(FILES), 1)
    with pytest.raises(ValueError, match="MemoryStore"):
        sync(source, (MemoryStore(), "t/"), executor=dask_client)
