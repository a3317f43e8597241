"""Concurrency (threads, asyncio.gather) and runtime behaviour (fork, threads, event loops)."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import obstore
from obstore.store import LocalStore, MemoryStore

from .conftest import reference_bug, run


def _payload(worker: int, op: int) -> bytes:
    # Distinct, size-varying content so a mixed-up response cannot go unnoticed.
    seed = f"{worker}:{op}".encode()
    return hashlib.sha256(seed).digest() * (1 + (worker * 7 + op) % 40) + seed


def test_threads_put_and_get(store: Any) -> None:
    workers, ops = 16, 50

    def work(worker: int) -> int:
        checked = 0
        for op in range(ops):
            path = f"t{worker}/o{op}"
            data = _payload(worker, op)
            obstore.put(store, path, data)
            assert bytes(obstore.get(store, path).bytes()) == data
            if op % 10 == 0:
                assert store.get_range(path, start=1, length=5) == data[1:6]
            checked += 1
        return checked

    with ThreadPoolExecutor(max_workers=workers) as pool:
        assert sum(pool.map(work, range(workers))) == workers * ops

    listed = store.list().collect()
    assert len(listed) == workers * ops
    for meta in listed:
        worker, op = (int(part[1:]) for part in meta["path"].split("/"))
        assert meta["size"] == len(_payload(worker, op))


def test_threads_share_one_object(store: Any, big_data: bytes) -> None:
    store.put("big", big_data, use_multipart=False)

    def read(index: int) -> bool:
        start = index * 100_003
        if (
            bytes(store.get_range("big", start=start, length=4096))
            != big_data[start : start + 4096]
        ):
            return False
        if index % 8 == 0:
            return b"".join(store.get("big").stream(min_chunk_size=1024 * 1024)) == big_data
        return True

    with ThreadPoolExecutor(max_workers=16) as pool:
        assert all(pool.map(read, range(64)))


def test_asyncio_gather_put_and_get(store: Any) -> None:
    count = 500

    async def one(index: int) -> bytes:
        path = f"a/{index}"
        await obstore.put_async(store, path, _payload(index, 0))
        result = await obstore.get_async(store, path)
        return bytes(await result.bytes_async())

    async def main() -> list[bytes]:
        return await asyncio.gather(*(one(i) for i in range(count)))

    results = run(main)
    assert results == [_payload(i, 0) for i in range(count)]


def test_every_awaited_ranged_read_resolves_while_a_stream_keeps_the_runtime_busy(
    store: Any, big_data: bytes
) -> None:
    # Completions of a batch share one wake-up of the event loop, sent once the runtime has no
    # other task ready; a stream read beside them keeps it busy the whole time. Each of 2,000
    # reads must still resolve, with its own bytes.
    objects = [_payload(i, 2) for i in range(16)]
    ranges = [(i % 16, (i * 37) % 64, 1 + i % 29) for i in range(2000)]

    async def stream_big() -> int:
        result = await obstore.get_async(store, "busy/big")
        return sum([len(chunk) async for chunk in result.stream(min_chunk_size=4096)])

    async def main() -> tuple[list[bytes], int]:
        await asyncio.gather(
            *(obstore.put_async(store, f"busy/{i}", o) for i, o in enumerate(objects))
        )
        # One PUT: HTTPStore (WebDAV) has no multipart upload.
        await obstore.put_async(store, "busy/big", big_data, use_multipart=False)
        in_flight = asyncio.Semaphore(256)

        async def one(index: int, start: int, length: int) -> bytes:
            path = f"busy/{index}"
            async with in_flight:
                return bytes(await obstore.get_range_async(store, path, start=start, length=length))

        streamed = asyncio.ensure_future(stream_big())
        # A hang guard, not a timing assertion: a lost wake-up fails here instead of hanging.
        reads = await asyncio.wait_for(asyncio.gather(*(one(*r) for r in ranges)), 120)
        return reads, await asyncio.wait_for(streamed, 120)

    reads, streamed = run(main)
    assert reads == [objects[i][start : start + length] for i, start, length in ranges]
    assert streamed == len(big_data)


def test_asyncio_gather_methods(store: Any) -> None:
    count = 250

    async def main() -> None:
        await asyncio.gather(*(store.put_async(f"m/{i}", _payload(i, 1)) for i in range(count)))
        heads = await asyncio.gather(*(store.head_async(f"m/{i}") for i in range(count)))
        assert [meta["size"] for meta in heads] == [len(_payload(i, 1)) for i in range(count)]
        ranges = await asyncio.gather(
            *(store.get_range_async(f"m/{i}", start=0, length=8) for i in range(count))
        )
        assert [bytes(r) for r in ranges] == [_payload(i, 1)[:8] for i in range(count)]
        await asyncio.gather(*(store.delete_async(f"m/{i}") for i in range(count)))
        assert await store.list("m").collect_async() == []

    run(main)


def test_concurrent_first_writes_into_new_directories(store: Any) -> None:
    # Every writer races to create the same new directories (WebDAV: MKCOL of each level);
    # none may fail, and every object must arrive whole.
    paths = [f"race/{i % 3}/deep/{i}" for i in range(48)]

    async def main() -> None:
        await asyncio.gather(
            *(obstore.put_async(store, path, _payload(i, 2)) for i, path in enumerate(paths))
        )

    run(main)
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda p: obstore.put(store, p + "-sync", b"x"), paths))
    for i, path in enumerate(paths):
        assert bytes(store.get(path).bytes()) == _payload(i, 2)
    assert len(store.list("race").collect()) == 2 * len(paths)


def test_async_and_threads_together(store: Any) -> None:
    errors: list[BaseException] = []

    def thread_body(worker: int) -> None:
        try:

            async def main() -> None:
                for op in range(20):
                    data = _payload(worker, op)
                    await obstore.put_async(store, f"x{worker}/{op}", data)
                    got = await (await obstore.get_async(store, f"x{worker}/{op}")).bytes_async()
                    assert got == data

            asyncio.run(main())
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=thread_body, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(store.list().collect()) == 8 * 20


def test_store_created_in_thread_used_in_main(tmp_path: Path) -> None:
    created: list[Any] = []
    thread = threading.Thread(target=lambda: created.append(LocalStore(tmp_path)))
    thread.start()
    thread.join()
    created[0].put("a", b"x")
    assert bytes(obstore.get(created[0], "a").bytes()) == b"x"


def test_async_stream_consumed_in_other_loop(store: Any) -> None:
    store.put("a", b"x" * 10_000)
    result = run(lambda: obstore.get_async(store, "a"))

    async def consume() -> bytes:
        return b"".join([chunk async for chunk in result.stream(min_chunk_size=100)])

    assert run(consume) == b"x" * 10_000


def test_many_event_loops_in_sequence(store: Any) -> None:
    for index in range(30):
        run(functools.partial(obstore.put_async, store, f"loop/{index}", b"x"))
    assert len(store.list("loop").collect()) == 30


# --------------------------------------------------------------------------------------------------
# fork


FORK_SCRIPT = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    import obstore
    from obstore.store import LocalStore, MemoryStore

    root = sys.argv[1]
    memory = MemoryStore()
    local = LocalStore(root)
    # Use the runtime in the parent before forking, so the child inherits a started runtime.
    for store in (memory, local):
        obstore.put(store, "parent", b"from parent")
        assert bytes(obstore.get(store, "parent").bytes()) == b"from parent"

    async def parent_async():
        await obstore.put_async(memory, "parent-async", b"y")
    asyncio.run(parent_async())

    pid = os.fork()
    if pid == 0:
        # Hang guard, not a timing assertion: a deadlocked child dies instead of hanging the suite.
        signal.alarm(15)
        code = 1
        try:
            for store in (memory, local):
                assert bytes(obstore.get(store, "parent").bytes()) == b"from parent"
                obstore.put(store, "child", b"from child")
                assert bytes(store.get("child").bytes()) == b"from child"

            async def child_async():
                await obstore.put_async(memory, "child-async", b"z")
                result = await obstore.get_async(memory, "child-async")
                return await result.bytes_async()

            assert asyncio.run(child_async()) == b"z"
            assert sorted(m["path"] for m in local.list().collect()) == ["child", "parent"]
            code = 0
        except BaseException as error:
            print("child failed:", repr(error), file=sys.stderr, flush=True)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    exit_code = os.waitstatus_to_exitcode(status)
    # The parent keeps working too, and sees the child's LocalStore write but not its memory write.
    assert bytes(obstore.get(local, "child").bytes()) == b"from child"
    try:
        memory.head("child")
    except FileNotFoundError:
        pass
    else:
        raise AssertionError("memory store shared across fork")
    obstore.put(memory, "after", b"ok")
    sys.exit(exit_code)
    """
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@reference_bug  # 0.12.1: the forked child hangs (the runtime's threads do not survive fork)
def test_library_usable_after_fork(tmp_path: Path) -> None:
    script = tmp_path / "fork_check.py"
    script.write_text(FORK_SCRIPT)
    root = tmp_path / "root"
    root.mkdir()
    completed = subprocess.run(
        [sys.executable, str(script), str(root)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert (root / "child").read_bytes() == b"from child"


def test_memory_store_works_from_many_threads_without_loop() -> None:
    store = MemoryStore()

    def work(index: int) -> None:
        obstore.put(store, f"{index}", b"x")
        with pytest.raises(RuntimeError):
            _ = obstore.head_async(store, f"{index}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(work, range(40)))
    assert len(store.list().collect()) == 40
