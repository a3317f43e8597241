"""Large objects: part sizes within the part-count limit, multipart uploads and parallel ranged
downloads (byte-exact, pinned to one version), and what failures and cancellation leave behind:
no partial local file, no open multipart upload."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from pathlib import Path
from typing import Any

import pytest

import obstore
from obstore.exceptions import PreconditionError
from obstore.progress import Progress
from obstore.store import MemoryStore, S3Store
from obstore.transfer import copy, copy_async
from obstore.transfer._large import MAX_PARTS, MIN_UPLOAD_PART, upload_part_size
from tests.servers.fault_proxy import FaultProxy, Respond, Rule

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


class GetSpy:
    """Counts the GETs of ``obstore.get_async`` and the most in flight at once."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.real = obstore.get_async
        self.calls: list[dict[str, Any]] = []
        self.in_flight = 0
        self.most = 0
        monkeypatch.setattr(obstore, "get_async", self)

    async def __call__(self, store: Any, path: str, *, options: Any = None) -> Any:
        self.calls.append(dict(options or {}))
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            result = await self.real(store, path, options=options)
            await asyncio.sleep(0.01)  # let the other parts start
            return result
        finally:
            self.in_flight -= 1


def test_large_upload_and_download(
    remote: Any, big_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = copy(big_file, (remote, "big.bin"), part_size=PART, part_concurrency=4)
    assert report.transferred == 1 and report.bytes == SIZE
    if isinstance(remote, S3Store):
        e_tag = obstore.head(remote, "big.bin")["e_tag"] or ""
        assert e_tag.strip('"').endswith(f"-{SIZE // PART}")
    spy = GetSpy(monkeypatch)
    report = copy((remote, "big.bin"), tmp_path / "down.bin", part_size=PART, part_concurrency=4)
    assert report.transferred == 1 and report.failed == 0, report.errors
    assert sha((tmp_path / "down.bin").read_bytes()) == sha(big_file.read_bytes())
    if isinstance(remote, S3Store):
        assert len(spy.calls) == SIZE // PART and 2 <= spy.most <= 4
        current = obstore.head(remote, "big.bin")["e_tag"]
        assert all(call.get("if_match") == current for call in spy.calls[1:])


def test_download_of_a_changing_object_fails_cleanly(
    minio_store: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    obstore.put(minio_store, "big.bin", os.urandom(4 * PART))
    real = obstore.get_async
    replaced = False

    async def replace_after_first(store: Any, path: str, *, options: Any = None) -> Any:
        nonlocal replaced
        result = await real(store, path, options=options)
        if not replaced:
            replaced = True
            await obstore.put_async(minio_store, "big.bin", os.urandom(4 * PART))
        return result

    monkeypatch.setattr(obstore, "get_async", replace_after_first)
    target = tmp_path / "out"
    report = copy((minio_store, "big.bin"), target / "big.bin", part_size=PART)
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


def _only_complete_files(target: Path, data: bytes, store: Any) -> None:
    """Nothing in ``target``; but a memory store answers without ever suspending, so its
    whole download may end before the cancellation is seen: then only the complete file."""
    found = list(target.iterdir())
    if isinstance(store, MemoryStore) and found:
        assert found == [target / "big.bin"] and sha(found[0].read_bytes()) == sha(data)
    else:
        assert found == []


def test_cancelled_download_leaves_no_file(remote: Any, tmp_path: Path) -> None:
    data = os.urandom(SIZE)
    obstore.put(remote, "big.bin", data)
    target = tmp_path / "target"
    target.mkdir()

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        await copy_async(
            (remote, "big.bin"),
            target / "big.bin",
            part_size=PART,
            part_concurrency=2,
            progress=_cancel_on_first_bytes(task),
        )

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(main())
    _only_complete_files(target, data, remote)


def test_ctrl_c_in_a_sync_call_leaves_no_file(remote: Any, tmp_path: Path) -> None:
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT has a handler of its own here")
    data = os.urandom(SIZE)
    obstore.put(remote, "big.bin", data)
    target = tmp_path / "target"
    target.mkdir()

    def interrupt(update: Progress) -> None:
        if update.bytes_done > 0 and not update.done:
            signal.raise_signal(signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        copy((remote, "big.bin"), target / "big.bin", part_size=PART, progress=interrupt)
    _only_complete_files(target, data, remote)
