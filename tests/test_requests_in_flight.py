"""The limit of requests in flight per store (client option ``max_concurrent_requests``):
excess calls wait for a place instead of failing, each request holds its place until its body
is read, so a process never opens more sockets than the limit plus a few; and when the OS does
refuse a socket, the error says so."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
from typing import Any

import pytest

import obstore
from obstore.store import S3Store

from .conftest import BACKENDS, STORE_KINDS

pytestmark = pytest.mark.skipif("s3-minio" not in STORE_KINDS, reason="needs the MinIO server")


@pytest.fixture
def minio(servers: Any) -> Any:
    return servers.get(BACKENDS["s3-minio"].server)


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


class _PeakDescriptors:
    """Samples the process's open descriptors on a thread while the block runs."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _open_descriptors())
            self._stop.wait(0.002)

    def __enter__(self) -> _PeakDescriptors:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def _read_all(store: Any, paths: list[str]) -> list[bytes]:
    async def one(path: str) -> bytes:
        result = await obstore.get_async(store, path)
        return bytes(await result.bytes_async())

    return await asyncio.gather(*(one(p) for p in paths))


@pytest.mark.parametrize("limit", [None, 64])
def test_ten_thousand_concurrent_gets_succeed_within_the_descriptor_bound(
    minio: Any, limit: int | None
) -> None:
    kwargs = dict(minio.store_kwargs)
    if limit is not None:
        kwargs["client_options"] = {
            **kwargs.get("client_options", {}),
            "max_concurrent_requests": limit,
        }
    store = S3Store(prefix="in-flight", **kwargs)
    objects = {f"obj-{i}": f"payload {i}".encode() * 8 for i in range(100)}
    for path, data in objects.items():
        obstore.put(store, path, data)
    paths = [f"obj-{i % 100}" for i in range(10_000)]
    baseline = _open_descriptors()
    with _PeakDescriptors() as peak:
        results = asyncio.run(_read_all(store, paths))
    assert results == [objects[p] for p in paths]
    bound = 512 if limit is None else limit
    # Besides the sockets of the requests in flight, a few descriptors come and go (the event
    # loop's, the runtime's), and the connection pool opens one now and then while another is
    # on its way back (it keeps both): 512 in flight measured peaks of 520-569 descriptors.
    assert peak.peak - baseline <= bound + bound // 8 + 32, (peak.peak, baseline)


def test_unread_bodies_hold_their_places_until_read(minio: Any) -> None:
    kwargs = dict(minio.store_kwargs)
    kwargs["client_options"] = {**kwargs.get("client_options", {}), "max_concurrent_requests": 2}
    store = S3Store(prefix="in-flight-held", **kwargs)
    obstore.put(store, "a", b"a" * 1000)

    async def run() -> bytes:
        first = await obstore.get_async(store, "a")
        second = await obstore.get_async(store, "a")
        third = asyncio.ensure_future(obstore.get_async(store, "a"))
        await asyncio.sleep(0.3)
        assert not third.done(), "a third request went out while two bodies were unread"
        assert bytes(await first.bytes_async()) == b"a" * 1000
        result = await asyncio.wait_for(third, 10)
        assert bytes(await second.bytes_async()) == b"a" * 1000
        return bytes(await result.bytes_async())

    assert asyncio.run(run()) == b"a" * 1000


@pytest.mark.parametrize("value", [0, -1, "many", 1.5, True])
def test_max_concurrent_requests_must_be_a_positive_whole_number(value: Any) -> None:
    with pytest.raises(ValueError, match="max_concurrent_requests"):
        S3Store(
            "bucket",
            region="us-east-1",
            skip_signature=True,
            client_options={"max_concurrent_requests": value},
        )


def test_max_concurrent_requests_round_trips_through_client_options_and_pickle() -> None:
    import pickle

    store = S3Store(
        "bucket",
        region="us-east-1",
        skip_signature=True,
        client_options={"max_concurrent_requests": 8},
    )
    assert store.client_options == {"max_concurrent_requests": "8"}
    assert pickle.loads(pickle.dumps(store)) == store


def test_running_out_of_descriptors_says_too_many_open_files(minio: Any) -> None:
    import pickle

    kwargs = dict(minio.store_kwargs)
    kwargs["client_options"] = {**kwargs.get("client_options", {}), "max_concurrent_requests": 4096}
    kwargs["retry_config"] = {"max_retries": 0}
    store = S3Store(prefix="in-flight-emfile", **kwargs)
    obstore.put(store, "a", b"x" * 100)
    # A child process with 64 descriptors, 500 requests at once: the OS refuses sockets.
    script = textwrap.dedent(
        """
        import asyncio, json, pickle, resource, sys
        import obstore

        store = pickle.loads(bytes.fromhex(sys.argv[1]))
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

        async def run():
            calls = [obstore.get_async(store, "a") for _ in range(500)]
            return await asyncio.gather(*calls, return_exceptions=True)

        errors = [r for r in asyncio.run(run()) if isinstance(r, BaseException)]
        print(json.dumps([str(e) for e in errors[:3]] + [len(errors)]))
        """
    )
    import json

    out = subprocess.run(
        [sys.executable, "-c", script, pickle.dumps(store).hex()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    *messages, count = json.loads(out.stdout.strip().splitlines()[-1])
    assert count > 0, "no request failed with 64 descriptors for 500 concurrent requests"
    assert all("too many open files" in m.lower() for m in messages), messages
