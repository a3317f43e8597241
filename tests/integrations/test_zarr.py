"""Zarr 3: ``zarr.storage.ObjectStore`` over our stores (MinIO S3 and the local filesystem).

Creates a group with arrays, writes, reads back through a fresh read-only store, lists keys, on
both Zarr's synchronous API and its asynchronous one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

zarr = pytest.importorskip("zarr")
np = pytest.importorskip("numpy")

import obstore  # noqa: E402
from obstore.store import LocalStore, S3Store  # noqa: E402


def _listing(store: Any) -> set[str]:
    return {meta["path"] for chunk in obstore.list(store) for meta in chunk}


@pytest.fixture(params=["s3", "local"])
def obstore_store(request: pytest.FixtureRequest, tmp_path: Path, unique: str) -> Any:
    if request.param == "local":
        return LocalStore(tmp_path / "zarr-root", mkdir=True)
    minio = request.getfixturevalue("minio")
    return S3Store(prefix=unique, **minio.store_kwargs)


def test_zarr_sync_roundtrip(obstore_store: Any) -> None:
    from zarr.storage import ObjectStore

    zstore = ObjectStore(obstore_store)
    root = zarr.open_group(store=zstore, mode="w", attributes={"title": "obstore"})
    temps = root.create_array("temperature", shape=(40, 30), chunks=(10, 10), dtype="float64")
    counts = root.create_group("nested").create_array(
        "counts", shape=(1000,), chunks=(128,), dtype="int32"
    )
    expected_t = np.arange(40 * 30, dtype="float64").reshape(40, 30) / 7.0
    expected_c = np.arange(1000, dtype="int32") * 3
    temps[:] = expected_t
    counts[:] = expected_c
    counts[5:9] = -1
    expected_c[5:9] = -1

    reopened = zarr.open_group(store=ObjectStore(obstore_store, read_only=True), mode="r")
    assert reopened.attrs["title"] == "obstore"
    np.testing.assert_array_equal(reopened["temperature"][:], expected_t)
    np.testing.assert_array_equal(reopened["nested/counts"][:], expected_c)
    np.testing.assert_array_equal(reopened["temperature"][3:17, 5], expected_t[3:17, 5])
    assert sorted(reopened.array_keys()) == ["temperature"]
    assert sorted(reopened.group_keys()) == ["nested"]

    keys = _listing(obstore_store)
    assert {"zarr.json", "temperature/zarr.json", "nested/counts/zarr.json"} <= keys
    # 4 x 3 chunks of temperature, 8 of counts
    assert len([k for k in keys if k.startswith("temperature/c/")]) == 12
    assert len([k for k in keys if k.startswith("nested/counts/c/")]) == 8

    with pytest.raises(Exception):  # noqa: B017 - zarr's exception class varies by version
        reopened["temperature"][0, 0] = 1.0


async def test_zarr_async_roundtrip(obstore_store: Any) -> None:
    import zarr.api.asynchronous as zasync
    from zarr.storage import ObjectStore

    zstore = ObjectStore(obstore_store)
    group = await zasync.open_group(store=zstore, mode="w")
    arr = await group.create_array("data", shape=(64, 64), chunks=(16, 16), dtype="uint16")
    expected = (np.arange(64 * 64, dtype="uint16").reshape(64, 64) * 11) % 997
    await arr.setitem(slice(None), expected)

    again = await zasync.open_group(store=ObjectStore(obstore_store, read_only=True), mode="r")
    data: Any = await again.getitem("data")
    np.testing.assert_array_equal(await data.getitem(slice(None)), expected)
    np.testing.assert_array_equal(await data.getitem((slice(8, 40), 3)), expected[8:40, 3])
    names = [name async for name in again.keys()]
    assert names == ["data"]
    listed = sorted([key async for key in zstore.list_prefix("data/c/")])
    assert len(listed) == 16
    assert await zstore.exists("data/zarr.json")
    await zstore.delete("data/c/0/0")
    assert not await zstore.exists("data/c/0/0")
