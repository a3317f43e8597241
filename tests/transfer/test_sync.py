"""sync: only what differs moves (size_mtime, size, checksum), a second run moves nothing,
delete=True, include/exclude, dry_run, and a re-run after an interrupted one."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest

import obstore
from obstore.store import LocalStore, MemoryStore
from obstore.transfer import Action, copy, delete_prefix, sync, sync_async

from .conftest import TREE, hashes, local_tree, sha, store_tree, write_tree


def test_sync_is_idempotent_both_ways(remote: Any, tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", TREE)
    first = sync(source, (remote, "s/"))
    assert first.transferred == len(TREE) and first.skipped == 0
    again = sync(source, (remote, "s/"))
    assert (again.transferred, again.skipped, again.failed) == (0, len(TREE), 0)

    down = tmp_path / "down"
    assert sync((remote, "s/"), down).transferred == len(TREE)
    again = sync((remote, "s/"), down)
    assert (again.transferred, again.skipped) == (0, len(TREE))
    assert local_tree(down) == hashes(TREE)
    # and from the downloaded copy (mtimes of the objects) back up: nothing to do either
    assert sync(down, (remote, "s/")).transferred == 0


def test_sync_transfers_what_changed(remote: Any, tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", TREE)
    sync(source, (remote, "s/"))
    (source / "top.txt").write_bytes(b"a different size")
    (source / "new.txt").write_bytes(b"new")
    same_size = source / "a" / "one.bin"
    same_size.write_bytes(bytes(1000))  # same size as before...
    future = time.time() + 3600
    os.utime(same_size, (future, future))  # ...but newer than the object
    assert sync(source, (remote, "s/"), compare="size").transferred == 2
    report = sync(source, (remote, "s/"))
    assert report.transferred == 1 and report.skipped == len(TREE)  # the newer one
    expected = {**TREE, "top.txt": b"a different size", "new.txt": b"new", "a/one.bin": bytes(1000)}
    assert store_tree(remote, "s") == hashes(expected)


def test_sync_delete(remote: Any, tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", TREE)
    sync(source, (remote, "s/"))
    obstore.put(remote, "s/stale.txt", b"not in the source")
    obstore.put(remote, "s/a/keep.log", b"excluded, so kept")
    obstore.put(remote, "outside.txt", b"not below the prefix")
    actions: list[Action] = []
    report = sync(source, (remote, "s/"), delete=True, exclude=["*.log"], on_action=actions.append)
    assert (report.transferred, report.deleted, report.failed) == (0, 1, 0)
    (deletion,) = [a for a in actions if a.kind == "delete"]
    assert deletion.dst is not None and deletion.dst.endswith("s/stale.txt")
    assert store_tree(remote, "s") == {**hashes(TREE), "a/keep.log": sha(b"excluded, so kept")}
    assert "outside.txt" in store_tree(remote)

    # downloads: files the source lacks go, and so do the directories they leave empty
    down = tmp_path / "down"
    sync((remote, "s/"), down)
    write_tree(down, {"extra/deep/x.bin": b"x"})
    report = sync((remote, "s/"), down, delete=True)
    assert report.deleted == 1 and not (down / "extra").exists()
    assert local_tree(down) == {**hashes(TREE), "a/keep.log": sha(b"excluded, so kept")}


def test_sync_checksum(remote: Any, tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", TREE)
    sync(source, (remote, "s/"))
    changed = source / "a" / "one.bin"
    changed.write_bytes(bytes(1000))  # same size, and made older than the object
    os.utime(changed, (1_000_000_000, 1_000_000_000))
    assert sync(source, (remote, "s/")).transferred == 0  # size_mtime cannot see it
    report = sync(source, (remote, "s/"), compare="checksum")
    if type(remote).__name__ == "S3Store" or isinstance(remote, LocalStore):
        # MinIO's ETags are MD5s; a LocalStore location is local files: MD5s on both sides
        assert report.transferred == 1 and report.skipped == len(TREE) - 1
        assert store_tree(remote, "s") == hashes({**TREE, "a/one.bin": bytes(1000)})
    else:
        # a memory store has no MD5: equal sizes count as equal
        assert report.transferred == 0 and report.skipped == len(TREE)
    assert sync(source, (remote, "s/"), compare="checksum").transferred == 0


def test_sync_include_exclude(remote: Any, tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", TREE)
    report = sync(source, (remote, "s/"), include=["a/*"], exclude=["*.txt"])
    assert report.transferred == 2
    assert set(store_tree(remote, "s")) == {"a/one.bin", "a/b/two.bin"}
    report = copy(source, (remote, "c/"), exclude=["a/**", "empty.*"])
    assert set(store_tree(remote, "c")) == {"top.txt", "c/three.dat"}
    with pytest.raises(TypeError):
        sync(source, (remote, "s/"), include="a/*")  # type: ignore[typeddict-item]


def test_dry_run_changes_nothing(remote: Any, tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", TREE)
    sync(source, (remote, "s/"), exclude=["top.txt"])
    obstore.put(remote, "s/stale.txt", b"x")
    before = store_tree(remote)
    actions: list[Action] = []
    report = sync(source, (remote, "s/"), delete=True, dry_run=True, on_action=actions.append)
    assert report.dry_run
    assert (report.transferred, report.deleted, report.skipped) == (1, 1, len(TREE) - 1)
    assert sorted(a.kind for a in actions if a.kind != "skip") == sorted(
        ["delete", "copy" if isinstance(remote, LocalStore) else "upload"]
    )
    assert store_tree(remote) == before
    down = tmp_path / "down"
    report = copy((remote, "s/"), down, dry_run=True)
    assert report.transferred == len(TREE) and not down.exists()
    report = delete_prefix(remote, "s", dry_run=True)
    assert report.deleted == len(TREE) and store_tree(remote) == before


def test_rerun_after_interruption_transfers_only_the_rest(tmp_path: Path) -> None:
    files = {f"f{i:03}.bin": os.urandom(2000) for i in range(60)}
    source = write_tree(tmp_path / "src", files)
    store = MemoryStore()
    done: list[Action] = []

    async def interrupted() -> None:
        task = asyncio.current_task()
        assert task is not None

        def on_action(action: Action) -> None:
            done.append(action)
            if len(done) == 20:
                task.cancel()

        await sync_async(source, (store, "s/"), max_concurrency=4, on_action=on_action)

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(interrupted())
    present = store_tree(store, "s")
    assert 20 <= len(present) < len(files)
    report = sync(source, (store, "s/"))
    assert report.transferred == len(files) - len(present)
    assert report.skipped == len(present)
    assert store_tree(store, "s") == hashes(files)
