"""Large objects: part sizes within the part-count limit, multipart uploads and parallel ranged
downloads (byte-exact, pinned to one version), and what failures and cancellation leave behind:
no partial local file, no open multipart upload."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import obstore
from obstore.exceptions import PreconditionError
from obstore.progress import Progress
from obstore.store import LocalStore, MemoryStore, S3Store
from obstore.transfer import copy, copy_async
from obstore.transfer._large import MAX_PARTS, MIN_UPLOAD_PART, upload_part_size
from tests.servers.fault_proxy import Drip, FaultProxy, Respond, Rule

from .conftest import MIB, multipart_uploads, sha

SIZE = 40 * MIB
PART = 5 * MIB


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("large") / "big.bin"
    path.write_bytes(os.urandom(SIZE))
    return path


def test_upload_part_size_fits_the_part_limit() -> None:
    assert upload_part_size(1000, None) == 16 * MIB
    assert upload_part_size(1000, 1) == MIN_UPLOAD_PART  # never below the S3 minimum
    assert upload_part_size(SIZE, PART) == PART
    for size in (49 * 1024**3, 5 * 1024**4):  # beyond 5 MiB x 10,000, and S3's largest object
        part = upload_part_size(size, PART)
        assert part % MIB == 0 and -(-size // part) <= MAX_PARTS


def test_large_upload_and_download(remote: Any, big_file: Path, tmp_path: Path) -> None:
    report = copy(big_file, (remote, "big.bin"), part_size=PART, part_concurrency=4)
    assert report.transferred == 1 and report.bytes == SIZE
    if isinstance(remote, S3Store):
        e_tag = obstore.head(remote, "big.bin")["e_tag"] or ""
        assert e_tag.strip('"').endswith(f"-{SIZE // PART}")
    # (the parts' pinning and bound: tests/transfer/test_download_into.py)
    report = copy((remote, "big.bin"), tmp_path / "down.bin", part_size=PART, part_concurrency=4)
    assert report.transferred == 1 and report.failed == 0, report.errors
    assert sha((tmp_path / "down.bin").read_bytes()) == sha(big_file.read_bytes())


def test_download_of_a_changing_object_fails_cleanly(
    minio: Any, minio_store: Any, tmp_path: Path
) -> None:
    obstore.put(minio_store, "big.bin", os.urandom(4 * PART))
    target = tmp_path / "out"
    with FaultProxy(minio.endpoint) as proxy:
        # the first part comes slowly (about 1.6 s); the object is replaced meanwhile
        first_part = {"range": "^bytes=0-"}
        proxy.add(Rule(Drip(64 * 1024, 0.02), method="GET", headers=first_part, times=1))
        store = S3Store(**{**minio.store_kwargs, "endpoint": proxy.url}, prefix=minio_store.prefix)

        async def main() -> Any:
            task = asyncio.ensure_future(
                copy_async(
                    (store, "big.bin"), target / "big.bin", part_size=PART, part_concurrency=1
                )
            )
            await asyncio.sleep(0.3)
            await obstore.put_async(minio_store, "big.bin", os.urandom(4 * PART))
            return await task

        report = asyncio.run(main())
    assert report.failed == 1
    assert isinstance(report.errors[0][1], PreconditionError)
    assert list(target.iterdir()) == []  # no partial file, no temporary file


def test_failed_upload_leaves_no_multipart_upload(minio: Any, big_file: Path) -> None:
    prefix = f"transfer-{uuid.uuid4().hex}"
    with FaultProxy(minio.endpoint) as proxy:
        # the third part upload is refused (403 is not retried)
        proxy.add(Rule(Respond(403), method="PUT", query="partNumber", skip=2))
        store = S3Store(**{**minio.store_kwargs, "endpoint": proxy.url}, prefix=prefix)
        report = copy(big_file, (store, "big.bin"), part_size=PART, part_concurrency=1)
    assert report.failed == 1 and report.transferred == 0
    assert multipart_uploads(minio, prefix) == []
    direct = S3Store(**minio.store_kwargs, prefix=prefix)
    assert obstore.list(direct).collect() == []


def _cancel_on_first_bytes(task: asyncio.Task[Any]) -> Any:
    def progress(update: Progress) -> None:
        if update.bytes_done > 0 and not update.done:
            task.cancel()

    return progress


def test_cancelled_upload_leaves_no_multipart_upload(minio: Any, big_file: Path) -> None:
    prefix = f"transfer-{uuid.uuid4().hex}"
    store = S3Store(**minio.store_kwargs, prefix=prefix)

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        await copy_async(
            big_file,
            (store, "big.bin"),
            part_size=PART,
            part_concurrency=1,
            progress=_cancel_on_first_bytes(task),
        )

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(main())
    assert multipart_uploads(minio, prefix) == []
    assert obstore.list(store).collect() == []


@contextlib.contextmanager
def _slowly(store: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """``store``; a MinIO one through a proxy that drips its ranged GETs (about 0.2 s per
    5 MiB part), so that a cancellation on the first progress report comes mid-way."""
    if not isinstance(store, S3Store):
        yield store
        return
    minio = request.getfixturevalue("minio")
    with FaultProxy(minio.endpoint) as proxy:
        proxy.add(Rule(Drip(256 * 1024, 0.01), method="GET", headers={"range": "^bytes="}))
        yield S3Store(**{**minio.store_kwargs, "endpoint": proxy.url}, prefix=store.prefix)


def _only_complete_files(target: Path, data: bytes, store: Any) -> None:
    """Nothing in ``target`` (a temporary file is removed just after the cancellation); but
    an in-process store (memory, local) may end its whole download before the cancellation
    is seen: then only the complete file."""
    deadline = time.monotonic() + 2
    while any(path.name.endswith(".obstore-tmp") for path in target.iterdir()):
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    found = list(target.iterdir())
    if isinstance(store, MemoryStore | LocalStore) and found:
        assert found == [target / "big.bin"] and sha(found[0].read_bytes()) == sha(data)
    else:
        assert found == []


def test_cancelled_download_leaves_no_file(
    remote: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    data = os.urandom(SIZE)
    obstore.put(remote, "big.bin", data)
    target = tmp_path / "target"
    target.mkdir()

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        with _slowly(remote, request) as store:
            await copy_async(
                (store, "big.bin"),
                target / "big.bin",
                part_size=PART,
                part_concurrency=2,
                progress=_cancel_on_first_bytes(task),
            )

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(main())
    _only_complete_files(target, data, remote)


@pytest.mark.usefixtures("default_sigint")
def test_ctrl_c_in_a_sync_call_leaves_no_file(
    remote: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    data = os.urandom(SIZE)
    obstore.put(remote, "big.bin", data)
    target = tmp_path / "target"
    target.mkdir()

    def interrupt(update: Progress) -> None:
        if update.bytes_done > 0 and not update.done:
            signal.raise_signal(signal.SIGINT)

    with _slowly(remote, request) as store, pytest.raises(KeyboardInterrupt):
        copy((store, "big.bin"), target / "big.bin", part_size=PART, progress=interrupt)
    _only_complete_files(target, data, remote)
