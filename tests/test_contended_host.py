"""A host whose cores other processes take: beside as many busy loops as there are cores,
batches of 512 async ranged GETs against MinIO each return the right bytes, the sockets stay
within the store's limit of requests in flight, and a worker count set by
``OBSTORE_WORKER_THREADS`` works there too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import BACKENDS, STORE_KINDS

pytestmark = [
    pytest.mark.skipif("s3-minio" not in STORE_KINDS, reason="needs the MinIO server"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts /proc/self/fd"),
]

OBJECTS = 64

# Runs batches of async ranged GETs until the deadline, checking every response; prints what it
# saw as JSON.
WORKLOAD = textwrap.dedent(
    """
    import asyncio, json, os, sys, threading, time
    from datetime import timedelta
    import obstore
    from obstore.store import S3Store

    kwargs = json.loads(os.environ["CONTENDED_TEST_STORE"])
    kwargs["retry_config"] = {"max_retries": 2, "retry_timeout": timedelta(seconds=10)}
    store = S3Store(**kwargs)
    prefix, n = os.environ["CONTENDED_TEST_PREFIX"], int(os.environ["CONTENDED_TEST_OBJECTS"])

    def body(i):
        return bytes((i * 7 + j) % 251 for j in range(4096))

    def descriptors():
        return len(os.listdir("/proc/self/fd"))

    peak = {"fds": 0}
    stop = threading.Event()
    def sample():
        while not stop.is_set():
            peak["fds"] = max(peak["fds"], descriptors())
            stop.wait(0.002)

    async def main():
        puts = (obstore.put_async(store, f"{prefix}/{i}", body(i)) for i in range(n))
        await asyncio.gather(*puts)
        wrong = requests = 0
        baseline = descriptors()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        deadline = time.monotonic() + float(os.environ["CONTENDED_TEST_SECONDS"])
        while time.monotonic() < deadline:
            async def one(k):
                i = k % n
                start = (k * 13) % 2048
                path = f"{prefix}/{i}"
                got = await obstore.get_range_async(store, path, start=start, length=1024)
                return bytes(got) == body(i)[start : start + 1024]
            results = await asyncio.gather(*(one(k) for k in range(512)))
            requests += len(results)
            wrong += results.count(False)
        stop.set()
        sampler.join()
        return {
            "requests": requests,
            "wrong": wrong,
            "extra_descriptors": peak["fds"] - baseline,
        }

    print(json.dumps(asyncio.run(main())))
    """
)


@pytest.fixture
def busy_host() -> Iterator[None]:
    """As many CPU-bound processes as this process may use cores, stopped by their PIDs."""
    loops = [
        subprocess.Popen(
            [sys.executable, "-c", "print(flush=True)\nwhile True: pass"],
            stdout=subprocess.PIPE,
        )
        for _ in range(len(os.sched_getaffinity(0)))
    ]
    try:
        for loop in loops:
            assert loop.stdout is not None
            loop.stdout.readline()  # spinning
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait(10)
            assert loop.stdout is not None
            loop.stdout.close()


def run_workload(servers: Any, env_extra: dict[str, str]) -> dict[str, int]:
    minio = servers.get(BACKENDS["s3-minio"].server)
    kwargs = {k: v for k, v in minio.store_kwargs.items() if k != "retry_config"}
    env = {k: v for k, v in os.environ.items() if k != "OBSTORE_WORKER_THREADS"}
    env.update(
        {
            "CONTENDED_TEST_STORE": json.dumps(kwargs),
            "CONTENDED_TEST_PREFIX": f"contended/{uuid.uuid4().hex}",
            "CONTENDED_TEST_OBJECTS": str(OBJECTS),
            **env_extra,
        }
    )
    result = subprocess.run(
        [sys.executable, "-c", WORKLOAD], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# The default worker count, and the count set by ``OBSTORE_WORKER_THREADS`` for a busy host.
@pytest.mark.parametrize(
    "workers", [{}, {"OBSTORE_WORKER_THREADS": "2"}], ids=["default-workers", "two-workers"]
)
def test_every_response_is_right_and_sockets_stay_bounded_on_a_contended_host(
    servers: Any, busy_host: None, workers: dict[str, str]
) -> None:
    seen = run_workload(servers, {"CONTENDED_TEST_SECONDS": "2", **workers})
    assert seen["wrong"] == 0
    assert seen["requests"] >= 512
    # 512 GETs at once against the default limit of 512 in flight: the sockets stay within the
    # limit plus a few (as in test_requests_in_flight.py).
    assert seen["extra_descriptors"] <= 512 + 512 // 8 + 32, seen
