"""copy in every direction: file -> object, object -> file, object -> object (one store and
across stores), prefix -> prefix, directory -> prefix and back; byte-exact by hash."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

import obstore
from obstore.store import LocalStore, MemoryStore
from obstore.transfer import Action, copy, copy_async, du, move, sync
from obstore.transfer._plan import datetime_ns

from .conftest import (
    MIB,
    TREE,
    StoreFactory,
    hashes,
    local_tree,
    sha,
    store_tree,
    write_tree,
)


def test_directory_to_prefix_and_back(remote: Any, tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", TREE)
    actions: list[Action] = []
    report = copy(source, (remote, "tree/"), on_action=actions.append)
    assert report and report.transferred == len(TREE) and not report.errors
    assert report.bytes == sum(len(data) for data in TREE.values())
    assert store_tree(remote, "tree") == hashes(TREE)
    kind = "copy" if isinstance(remote, LocalStore) else "upload"
    assert {action.kind for action in actions} == {kind}
    assert du((remote, "tree/")) == {"objects": len(TREE), "bytes": report.bytes}

    back = tmp_path / "back"
    report = copy((remote, "tree/"), back)
    assert report.transferred == len(TREE) and report.failed == 0
    assert local_tree(back) == hashes(TREE)
    # downloads keep the object's modification time (local copies the file's)
    for rel in TREE:
        if isinstance(remote, LocalStore):
            expected = (source / rel).stat().st_mtime_ns
        else:
            expected = datetime_ns(obstore.head(remote, f"tree/{rel}")["last_modified"])
        assert (back / rel).stat().st_mtime_ns == expected
    # no temporary file is left behind
    assert not [p for p in back.rglob("*") if p.name.endswith(".obstore-tmp")]


def test_single_file_and_object(remote: Any, tmp_path: Path) -> None:
    data = os.urandom(5000)
    (tmp_path / "f.bin").write_bytes(data)
    # file -> object under an exact key, and into a "directory" under its own name
    assert copy(tmp_path / "f.bin", (remote, "x/exact.bin")).transferred == 1
    assert copy(str(tmp_path / "f.bin"), (remote, "dir/")).transferred == 1
    assert store_tree(remote) == {"x/exact.bin": sha(data), "dir/f.bin": sha(data)}
    # object -> file, and into an existing directory
    assert copy((remote, "x/exact.bin"), tmp_path / "out.bin").transferred == 1
    (tmp_path / "into").mkdir()
    assert copy((remote, "x/exact.bin"), tmp_path / "into").transferred == 1
    assert (tmp_path / "out.bin").read_bytes() == data
    assert (tmp_path / "into" / "exact.bin").read_bytes() == data
    # object -> object in the same store
    assert copy((remote, "x/exact.bin"), (remote, "y/copied.bin")).transferred == 1
    assert bytes(obstore.get(remote, "y/copied.bin").bytes()) == data


def test_prefix_to_prefix_in_one_store(remote: Any, tmp_path: Path) -> None:
    copy(write_tree(tmp_path / "src", TREE), (remote, "one/"))
    report = copy((remote, "one/"), (remote, "two/"), max_concurrency=3)
    assert report.transferred == len(TREE)
    assert store_tree(remote, "two") == hashes(TREE)
    assert store_tree(remote, "one") == hashes(TREE)


def test_server_side_copy_within_one_store(
    remote: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if isinstance(remote, LocalStore):
        pytest.skip("a LocalStore location is a local directory: copied as files")
    copy(write_tree(tmp_path / "src", TREE), (remote, "one/"))
    calls: list[tuple[str, str]] = []
    real_copy = obstore.copy_async

    async def spy(store: Any, from_: str, to: str, **kwargs: Any) -> None:
        calls.append((from_, to))
        await real_copy(store, from_, to, **kwargs)

    monkeypatch.setattr(obstore, "copy_async", spy)
    assert copy((remote, "one/"), (remote, "two/")).transferred == len(TREE)
    assert len(calls) == len(TREE)
    assert store_tree(remote, "two") == hashes(TREE)


def test_object_to_object_across_stores(remote: Any, tmp_path: Path) -> None:
    # A memory store on one side: the bodies stream from one store into the other, the large
    # one (12 MiB, parts of 5 MiB) through a multipart upload.
    other = MemoryStore()
    big = os.urandom(12 * MIB)
    files = {**TREE, "big.bin": big}
    for rel, data in files.items():
        obstore.put(other, f"src/{rel}", data)
    report = copy((other, "src/"), (remote, "dst/"), part_size=5 * MIB)
    assert report.transferred == len(files) and report.failed == 0
    assert store_tree(remote, "dst") == hashes(files)
    e_tag = obstore.head(remote, "dst/big.bin")["e_tag"] or ""
    if type(remote).__name__ == "S3Store":
        assert e_tag.strip('"').endswith("-3")  # three parts

    back = MemoryStore()
    report = copy((remote, "dst/"), (back, "again/"), part_size=5 * MIB)
    assert report.transferred == len(files)
    assert store_tree(back, "again") == hashes(files)


def test_move(remote: Any, tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", TREE)
    report = move(source, (remote, "moved/"))
    assert report.transferred == len(TREE) and report.failed == 0
    assert local_tree(source) == {}
    assert store_tree(remote, "moved") == hashes(TREE)
    report = move((remote, "moved/"), (remote, "again/"))
    assert report.transferred == len(TREE)
    assert store_tree(remote, "moved") == {}
    assert store_tree(remote, "again") == hashes(TREE)


def test_async_twin(remote: Any, tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", TREE)

    async def main() -> Any:
        return await copy_async(source, (remote, "async/"))

    assert asyncio.run(main()).transferred == len(TREE)
    assert store_tree(remote, "async") == hashes(TREE)


def test_sync_call_inside_a_running_loop(tmp_path: Path) -> None:
    store = MemoryStore()
    source = write_tree(tmp_path / "src", TREE)

    async def main() -> Any:
        return copy(source, (store, "p/"))  # runs on a private thread with its own loop

    assert asyncio.run(main()).transferred == len(TREE)
    assert store_tree(store, "p") == hashes(TREE)


@pytest.mark.parametrize(
    ("src_kind", "dst_kind"),
    [
        ("local", "azurite"),
        ("s3-minio", "gcs"),
        ("azurite", "s3-minio"),
        ("gcs", "local"),
        ("s3-moto", "webdav"),
        ("webdav", "memory"),
    ],
)
def test_cross_backends(
    src_kind: str, dst_kind: str, make_store: StoreFactory, tmp_path: Path
) -> None:
    source, target = make_store(src_kind), make_store(dst_kind)
    big = os.urandom(11 * MIB)
    files = {**TREE, "big.bin": big}
    copy(write_tree(tmp_path / "src", files), (source, "p/"), part_size=5 * MIB)
    report = copy((source, "p/"), (target, "q/"), part_size=5 * MIB)
    assert report.transferred == len(files) and report.failed == 0, report.errors
    assert store_tree(target, "q") == hashes(files)
    down = tmp_path / "down"
    assert copy((target, "q/"), down, part_size=4 * MIB).transferred == len(files)
    assert local_tree(down) == hashes(files)


def test_missing_source_is_reported(remote: Any, tmp_path: Path) -> None:
    report = copy((remote, "no/such/object"), tmp_path / "x")
    assert report.failed == 1 and not report
    ((where, error),) = report.errors
    assert where.endswith("no/such/object") and isinstance(error, FileNotFoundError)
    assert not (tmp_path / "x").exists()
    with pytest.raises(FileNotFoundError):
        copy((remote, "no/such/object"), tmp_path / "x", fail_fast=True)
    report = copy(tmp_path / "missing-dir/", (remote, "p/"))
    assert report.failed == 1 and isinstance(report.errors[0][1], FileNotFoundError)


def test_failed_objects_do_not_stop_the_others(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", TREE)
    (tmp_path / "blocker").write_bytes(b"")
    target = tmp_path / "blocker" / "sub"  # below a file: every write fails
    report = copy(source, target)
    assert report.failed == len(TREE) and report.transferred == 0
    with pytest.raises(OSError):
        copy(source, target, fail_fast=True)
    ok = copy(source, tmp_path / "fine")
    assert ok.transferred == len(TREE)


def test_copy_into_a_subdirectory_of_itself(remote: Any) -> None:
    for rel, data in TREE.items():
        obstore.put(remote, f"t/{rel}", data)
    report = copy((remote, "t/"), (remote, "t/backup/"))
    assert report.transferred == len(TREE)  # its own copies are not copied again
    report = sync((remote, "t/"), (remote, "t/backup/"))
    assert report.transferred == 0 and report.skipped == len(TREE)
    assert store_tree(remote, "t/backup") == hashes(TREE)
    assert len(store_tree(remote, "t")) == 2 * len(TREE)
