"""delete_prefix (bulk, several batches, include/exclude, local directories) and du."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import obstore
from obstore.transfer import delete_prefix, delete_prefix_async, du

from .conftest import TREE, local_tree, store_tree, write_tree

N_OBJECTS = 1200  # more than one bulk request of 1,000


def _fill(store: Any, prefix: str, count: int) -> None:
    import asyncio

    async def main() -> None:
        await asyncio.gather(
            *(obstore.put_async(store, f"{prefix}/o{i:05}", b"x" * (i % 7)) for i in range(count))
        )

    asyncio.run(main())


def test_delete_prefix_in_batches(remote: Any) -> None:
    _fill(remote, "many", N_OBJECTS)
    obstore.put(remote, "other/kept", b"k")
    expected_bytes = sum(i % 7 for i in range(N_OBJECTS))
    assert du(remote, "many") == {"objects": N_OBJECTS, "bytes": expected_bytes}
    assert du((remote, "many/")) == du(remote, "many/")
    deleted: list[str] = []
    report = delete_prefix(remote, "many", on_action=lambda a: deleted.append(a.dst or ""))
    assert (report.deleted, report.failed) == (N_OBJECTS, 0)
    assert len(set(deleted)) == N_OBJECTS
    assert du(remote, "many") == {"objects": 0, "bytes": 0}
    assert store_tree(remote) == {"other/kept": store_tree(remote)["other/kept"]}


def test_delete_prefix_filters_and_local(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "tree", TREE)
    report = delete_prefix(root, exclude=["a/**"])
    assert report.deleted == 3
    assert set(local_tree(root)) == {"a/one.bin", "a/b/two.bin", "a/b/with space.txt"}
    assert not (root / "c").exists() and root.is_dir()  # emptied directories go, not the root
    assert du(root) == {"objects": 3, "bytes": 1000 + len(TREE["a/b/two.bin"]) + 15}
    assert du(root, include=["*.txt"]) == {"objects": 1, "bytes": 15}
    report = delete_prefix(root, "a/b")
    assert report.deleted == 2 and set(local_tree(root)) == {"a/one.bin"}


def test_delete_prefix_async(remote: Any) -> None:
    import asyncio

    _fill(remote, "p", 10)
    report = asyncio.run(_delete(remote))
    assert report.deleted == 10 and du(remote) == {"objects": 0, "bytes": 0}


async def _delete(store: Any) -> Any:
    return await delete_prefix_async((store, "p/"))


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="unexpected keyword"):
        delete_prefix(tmp_path, nonsense=True)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="max_concurrency"):
        delete_prefix(tmp_path, max_concurrency=0)
    with pytest.raises(TypeError, match="location"):
        du(42)
