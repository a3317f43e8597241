"""``--dask SCHEDULER_ADDRESS``: the transfers of a command run on the workers of a Dask cluster
(two worker processes here), and the tree arrives on MinIO byte-exact."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import obstore
from tests.transfer.conftest import MIB, dask_cluster, hashes, store_tree, write_tree

from .conftest import lines, minio_prefix, ok

FILES = {f"d{i % 3}/f{i:03}.bin": bytes([i]) * (1000 + i) for i in range(30)}
FILES["big.bin"] = bytes(range(256)) * (11 * MIB // 256)  # in parts of 5 MiB


@pytest.fixture(scope="module")
def scheduler_address() -> Iterator[str]:
    with dask_cluster() as client:
        yield client.scheduler.address


def test_sync_on_a_dask_cluster_to_minio(
    minio: Any, scheduler_address: str, tmp_path: Path
) -> None:
    remote, store = minio_prefix(minio)
    source = write_tree(tmp_path / "src", FILES)
    dask = ("--dask", scheduler_address)
    result = ok(remote.run("sync", *dask, "--json", "--part-size", "5MiB", str(source), remote.url))
    *actions, summary = [json.loads(line) for line in lines(result.stdout)]
    assert summary == {
        "transferred": len(FILES),
        "skipped": 0,
        "deleted": 0,
        "failed": 0,
        "bytes": sum(len(data) for data in FILES.values()),
    }
    assert sorted(action["dst"] for action in actions) == sorted(remote / rel for rel in FILES)
    assert store_tree(store) == hashes(FILES)

    # again with a stale object there: nothing moves, the stale one is deleted
    obstore.put(store, "stale.bin", b"x")
    again = ok(remote.run("sync", *dask, "--delete", "--json", str(source), remote.url))
    assert json.loads(lines(again.stdout)[-1])["deleted"] == 1
    assert json.loads(lines(again.stdout)[-1])["skipped"] == len(FILES)
    assert store_tree(store) == hashes(FILES)
