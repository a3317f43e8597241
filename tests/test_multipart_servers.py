"""Multipart uploads seen from the server: parts really uploaded, failed uploads cleaned up.

S3 (MinIO, moto): the ETag of a multipart object counts its parts, and a failed upload leaves
no in-progress upload (ListMultipartUploads). GCS: the XML-API adapter counts initiated,
uploaded, completed and aborted uploads. Azure: the committed block list has one block per
part; Azure has no way to discard uncommitted blocks (they expire after 7 days), so there the
check is that no partial object appears.
"""

from __future__ import annotations

import re
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest

from tests.servers import _http

from .conftest import BACKENDS, STORE_KINDS, _server_store

MiB = 1024 * 1024
PART = 5 * MiB  # the S3/GCS minimum part size
KINDS = [k for k in ("s3-minio", "s3-moto", "azurite", "gcs") if k in STORE_KINDS]

pytestmark = pytest.mark.skipif(not KINDS, reason="no multipart server selected")


class Failure(Exception):
    pass


def _chunks(count: int, fail: bool) -> Iterator[bytes]:
    for index in range(count):
        yield bytes([index]) * PART
    if fail:
        raise Failure("the source failed halfway")


@pytest.fixture(params=KINDS)
def server_store(request: pytest.FixtureRequest) -> tuple[str, Any, Any, str]:
    kind = request.param
    backend = BACKENDS[kind]
    server = request.getfixturevalue("servers").get(backend.server)
    prefix = f"mp-{uuid.uuid4().hex}"
    return kind, server, _server_store(backend, server, prefix), prefix


def _s3_in_progress_uploads(server: Any, prefix: str) -> list[str]:
    kwargs = server.store_kwargs
    # MinIO matches `prefix` against whole keys only, so list everything and filter here.
    query = urllib.parse.urlencode({"uploads": ""})
    url = f"{kwargs['endpoint']}/{server.bucket}?{query}"
    headers = _http.sigv4_headers(
        "GET",
        url,
        access_key=kwargs["access_key_id"],
        secret_key=kwargs["secret_access_key"],
    )
    status, _, body = _http.request("GET", url, headers=headers)
    assert status == 200, body
    keys = [
        key.text or ""
        for upload in ET.fromstring(body)
        if upload.tag.endswith("}Upload")
        for key in upload
        if key.tag.endswith("}Key")
    ]
    return [key for key in keys if key.startswith(prefix + "/")]


def _gcs_stats(server: Any) -> dict[str, int]:
    import json

    status, _, body = _http.request("GET", server.extra["stats_url"])
    assert status == 200
    return dict(json.loads(body))


def _azure_committed_blocks(server: Any, prefix: str, name: str) -> int:
    kwargs = server.store_kwargs
    query = "comp=blocklist&blocklisttype=committed"
    url = f"{kwargs['endpoint']}/{server.bucket}/{prefix}/{name}?{query}"
    headers = _http.azure_sharedkey_headers(
        "GET", url, account=kwargs["account_name"], key_b64=kwargs["account_key"]
    )
    status, _, body = _http.request("GET", url, headers=headers)
    assert status == 200, body
    return len(re.findall(rb"<Block>", body))


def test_large_put_is_uploaded_in_parts(server_store: tuple[str, Any, Any, str]) -> None:
    kind, server, store, prefix = server_store
    before = _gcs_stats(server) if kind == "gcs" else {}
    result = store.put("big", _chunks(3, fail=False), chunk_size=PART)
    assert bytes(store.get("big").bytes()) == b"".join(_chunks(3, fail=False))
    if kind.startswith("s3"):
        assert result["e_tag"].strip('"').endswith("-3")
    elif kind == "gcs":
        after = _gcs_stats(server)
        assert after.get("multipart_completed", 0) == before.get("multipart_completed", 0) + 1
        assert after.get("multipart_parts", 0) == before.get("multipart_parts", 0) + 3
    else:
        assert _azure_committed_blocks(server, prefix, "big") == 3


def test_failed_upload_leaves_nothing_behind(server_store: tuple[str, Any, Any, str]) -> None:
    kind, server, store, prefix = server_store
    before = _gcs_stats(server) if kind == "gcs" else {}
    with pytest.raises(Failure):
        store.put("partial", _chunks(2, fail=True), chunk_size=PART)
    with pytest.raises(FileNotFoundError):
        store.head("partial")
    if kind.startswith("s3"):
        assert _s3_in_progress_uploads(server, prefix) == []
    elif kind == "gcs":
        after = _gcs_stats(server)
        assert after.get("multipart_aborted", 0) == before.get("multipart_aborted", 0) + 1


def test_aborted_writer_leaves_nothing_behind(server_store: tuple[str, Any, Any, str]) -> None:
    import obstore

    kind, server, store, prefix = server_store
    with pytest.raises(Failure), obstore.open_writer(store, "w", buffer_size=PART) as writer:
        for chunk in _chunks(2, fail=False):
            writer.write(chunk)
        raise Failure("the caller failed while writing")
    with pytest.raises(FileNotFoundError):
        store.head("w")
    if kind.startswith("s3"):
        assert _s3_in_progress_uploads(server, prefix) == []


def _eventually(check: Any, seconds: float = 10.0) -> bool:
    """Whether `check()` becomes true within `seconds` (the abort of a dropped upload runs in the
    background)."""
    import time

    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.parametrize("source", ["iterator", "file_path"])
def test_cancelled_put_async_leaves_no_upload_behind(
    server_store: tuple[str, Any, Any, str], source: str, tmp_path: Any
) -> None:
    import asyncio
    import time

    import obstore

    kind, server, store, prefix = server_store
    if kind == "azurite":
        pytest.skip("Azure keeps uncommitted blocks for 7 days; nothing to abort")
    before = _gcs_stats(server) if kind == "gcs" else {}

    # Cancelled at the first progress report before the end (100 ms in): parts are up by then,
    # and the upload, one part at a time, is far from its completion.
    def slow_chunks() -> Iterator[bytes]:
        for index in range(40):
            time.sleep(0.02)
            yield bytes([index]) * PART

    if source == "file_path":
        path = tmp_path / "big"
        with path.open("wb") as file:
            for chunk in _chunks(40, fail=False):
                file.write(chunk)
        upload: Any = path
    else:
        upload = slow_chunks()

    async def cancel_midway() -> None:
        loop = asyncio.get_running_loop()
        under_way = asyncio.Event()

        def on_progress(progress: Any) -> None:
            if not progress.done and progress.bytes_done > 0:
                loop.call_soon_threadsafe(under_way.set)

        task = asyncio.ensure_future(
            obstore.put_async(
                store,
                "cancelled",
                upload,
                chunk_size=PART,
                max_concurrency=1,
                progress=on_progress,
            )
        )
        waiting = asyncio.ensure_future(under_way.wait())
        await asyncio.wait([task, waiting], return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        assert not task.done(), "the upload ended before it could be cancelled"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_midway())
    with pytest.raises(FileNotFoundError):
        store.head("cancelled")
    if kind.startswith("s3"):
        assert _eventually(lambda: _s3_in_progress_uploads(server, prefix) == []), (
            _s3_in_progress_uploads(server, prefix)
        )
    else:
        aborted = before.get("multipart_aborted", 0) + 1
        assert _eventually(lambda: _gcs_stats(server).get("multipart_aborted", 0) == aborted)


def _most_at_once(intervals: list[tuple[float, float]]) -> int:
    """The largest number of the intervals (start, end) that overlap at one moment."""
    # An end sorts before a start at the same moment: a part that begins as another ends
    # takes its place.
    moments = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    peak = current = 0
    for _, step in moments:
        current += step
        peak = max(peak, current)
    return peak


@pytest.mark.parametrize("api", ["sync", "async"])
def test_buffer_put_keeps_at_most_max_concurrency_parts_in_flight(
    server_store: tuple[str, Any, Any, str], api: str
) -> None:
    import asyncio

    import obstore

    kind, server, store, prefix = server_store
    data = b"".join(_chunks(8, fail=False))
    events: list[Any] = []

    def hook(event: Any) -> None:
        # The parts: PUTs of one part's size to this object (GCS quotes the "/" of the key).
        url = urllib.parse.unquote(event.url)
        if f"/{prefix}/bounded" in url and event.method == "PUT" and event.bytes_sent == PART:
            events.append(event)

    with obstore.add_request_hook(hook):
        if api == "sync":
            obstore.put(store, "bounded", data, chunk_size=PART, max_concurrency=2)
        else:

            async def upload() -> None:
                await obstore.put_async(store, "bounded", data, chunk_size=PART, max_concurrency=2)

            asyncio.run(upload())
        assert obstore.flush_request_hooks(10.0)
    assert bytes(store.get("bounded").bytes()) == data
    assert len(events) == 8, [(e.method, e.url) for e in events]
    # A part starts only once another has ended; the clocks of start and duration differ by
    # microseconds, so each interval is trimmed by a tenth of a millisecond.
    parts = [(e.start_time, e.start_time + e.duration - 1e-4) for e in events]
    assert _most_at_once(parts) <= 2, sorted(parts)
