"""Dask distributed: worker processes read and write many objects through pickled stores.

A ``LocalCluster`` with two single-threaded worker *processes*; every task receives a store (or
an ``FsspecStore``) pickled by the scheduler, talks to MinIO itself, and the results are checked
byte for byte against what the test process wrote or reads back. The task functions live in
``_dask_tasks`` so that workers import nothing of the test suite.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

import obstore  # noqa: E402
from obstore.fsspec import FsspecStore  # noqa: E402
from obstore.store import S3Store  # noqa: E402

from . import _dask_tasks as tasks  # noqa: E402
from ._helpers import split_store_kwargs  # noqa: E402

N_OBJECTS = 120
TIMEOUT = 60  # seconds for any batch of tasks: a broken worker must fail the test, not hang it


def _gather(client: Any, futures: list[Any]) -> list[Any]:
    distributed.wait(futures, timeout=TIMEOUT)
    return list(client.gather(futures))


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        Client(cluster, timeout=TIMEOUT) as c,
    ):
        c.wait_for_workers(2, timeout=TIMEOUT)
        yield c


def test_workers_write_and_read_with_pickled_stores(client: Any, minio: Any, unique: str) -> None:
    store = S3Store(prefix=unique, **minio.store_kwargs)
    indices = list(range(N_OBJECTS))

    written = _gather(
        client, client.map(tasks.write_object, [store] * N_OBJECTS, indices, pure=False)
    )
    assert len(written) == N_OBJECTS
    assert len({pid for _, _, pid in written}) == 2  # both worker processes did some

    # what workers wrote, read here, byte for byte
    for i, (path, digest, _) in zip(indices, written, strict=True):
        data = bytes(obstore.get(store, path).bytes())
        assert data == tasks.payload(i)
        assert hashlib.sha256(data).hexdigest() == digest

    # what workers read, compared here, byte for byte
    paths = [path for path, _, _ in written]
    read_back = _gather(
        client, client.map(tasks.read_object, [store] * N_OBJECTS, paths, pure=False)
    )
    assert read_back == [tasks.payload(i) for i in indices]

    listed = {m["path"] for chunk in obstore.list(store, "objs") for m in chunk}
    assert listed == set(paths)


def test_workers_use_pickled_fsspec_filesystems(
    client: Any, minio: Any, unique: str, registered: None
) -> None:
    import fsspec  # type: ignore[import-untyped]

    _, options = split_store_kwargs(minio)
    filesystems = [FsspecStore("s3", **options), fsspec.filesystem("s3", **options)]
    assert type(filesystems[1]).__name__ == "FsspecStore_s3"
    jobs = []
    for n, fs in enumerate(filesystems):
        for i in range(16):
            path = f"{minio.bucket}/{unique}/fs{n}/{i:02d}"
            jobs.append((fs, path, tasks.payload(1000 + i)))
    results = _gather(client, [client.submit(tasks.fsspec_roundtrip, *j, pure=False) for j in jobs])
    for (fs, path, data), (_, digest, tail) in zip(jobs, results, strict=True):
        assert digest == hashlib.sha256(data).hexdigest()
        assert tail == len(data) - len(data) // 2
        assert fs.cat_file(path) == data
    assert len({pid for pid, _, _ in results}) == 2


def test_dask_bag_over_store(client: Any, minio: Any, unique: str) -> None:
    import dask.bag as db

    store = S3Store(prefix=unique, **minio.store_kwargs)
    for i in range(40):
        obstore.put(store, f"bag/{i:02d}", str(i * i).encode())
    paths = sorted(m["path"] for chunk in obstore.list(store, "bag") for m in chunk)
    bag = db.from_sequence(paths, npartitions=4).map(partial(tasks.read_int, store))
    future = client.compute(bag.sum())
    distributed.wait([future], timeout=TIMEOUT)
    assert future.result() == sum(i * i for i in range(40))
