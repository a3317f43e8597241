"""With the default worker count, a host whose cores other processes take gets a second runtime
thread (``crates/obstore-stores/src/runtime/spill.rs``): new tasks alternate between the runtime
and the ``obstore-spill`` thread, whose requests share the store's connection pool. Against MinIO,
beside as many busy loops as there are cores: the spill thread does requests, every response is
the right one, the sockets stay within the store's limit of requests in flight, and a worker
count set by ``OBSTORE_WORKER_THREADS`` is kept as set.

The decision itself (windows, probing, stopping on a quiet host) is unit-tested in that file.
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
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc schedstat"),
]

OBJECTS = 64

# Runs batches of async ranged GETs until the spill thread has spent CPU on requests (or the
# deadline passes), checking every response; prints what it saw as JSON.
WORKLOAD = textwrap.dedent(
    """
    import asyncio, json, os, sys, threading, time
    from datetime import timedelta
    import obstore
    from obstore.store import S3Store

    kwargs = json.loads(os.environ["SPILL_TEST_STORE"])
    kwargs["retry_config"] = {"max_retries": 2, "retry_timeout": timedelta(seconds=10)}
    store = S3Store(**kwargs)
    prefix, n = os.environ["SPILL_TEST_PREFIX"], int(os.environ["SPILL_TEST_OBJECTS"])

    def body(i):
        return bytes((i * 7 + j) % 251 for j in range(4096))

    def spill_cpu_ns():
        total = 0
        for tid in os.listdir("/proc/self/task"):
            try:
                if open(f"/proc/self/task/{tid}/comm").read().strip() == "obstore-spill":
                    total += int(open(f"/proc/self/task/{tid}/schedstat").read().split()[0])
            except OSError:
                pass
        return total

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
        wrong = requests = spilled_batches = 0
        baseline = descriptors()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        deadline = time.monotonic() + float(os.environ["SPILL_TEST_SECONDS"])
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
            if spill_cpu_ns() > 0 and os.environ.get("SPILL_TEST_UNTIL_SPILLED"):
                spilled_batches += 1
                if spilled_batches > 8:  # a few batches while spilling, for the socket count
                    break
        stop.set()
        sampler.join()
        return {
            "requests": requests,
            "wrong": wrong,
            "spill_cpu_ns": spill_cpu_ns(),
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
            "SPILL_TEST_STORE": json.dumps(kwargs),
            "SPILL_TEST_PREFIX": f"spill/{uuid.uuid4().hex}",
            "SPILL_TEST_OBJECTS": str(OBJECTS),
            **env_extra,
        }
    )
    result = subprocess.run(
        [sys.executable, "-c", WORKLOAD], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_contended_host_spills_requests_to_a_second_thread_and_loses_none(
    servers: Any, busy_host: None
) -> None:
    seen = run_workload(servers, {"SPILL_TEST_SECONDS": "60", "SPILL_TEST_UNTIL_SPILLED": "1"})
    assert seen["wrong"] == 0
    assert seen["spill_cpu_ns"] > 0, f"no request ran on the spill thread in {seen}"
    # 512 GETs at once against the default limit of 512 in flight: the spill thread shares the
    # store's connection pool, so the sockets stay within the limit plus a few (as in
    # test_requests_in_flight.py).
    assert seen["extra_descriptors"] <= 512 + 512 // 8 + 32, seen


def test_a_worker_count_set_by_the_environment_is_kept_on_a_contended_host(
    servers: Any, busy_host: None
) -> None:
    seen = run_workload(servers, {"SPILL_TEST_SECONDS": "2", "OBSTORE_WORKER_THREADS": "1"})
    assert seen["wrong"] == 0
    assert seen["requests"] >= 512
    assert seen["spill_cpu_ns"] == 0
