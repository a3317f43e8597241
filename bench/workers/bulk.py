"""Measured code of bench/run.py's bulk_* scenarios for ours: ONE ``obstore.transfer`` call,
or one raw request loop that measures MinIO's own ceiling.

Started by the runner in a fresh process per measurement (under GNU time, which gives the
process's CPU and peak RSS). One JSON spec as the only argument; prints one JSON object with
the seconds of the call itself and what it did. ``op``:

- ``copy`` / ``sync`` / ``delete_prefix`` / ``du``: the ``obstore.transfer`` function of that
  name on ``src`` (and ``dst``); a location is a local path or ``{"prefix": ...}`` in MinIO.
- ``clean``: deletes every top-level prefix but the staged ``src-*`` ones (a run's leftovers).
- ``raw_put`` / ``raw_get``: the ceiling: ``count`` objects of ``size`` bytes PUT from memory
  (one buffer, no disk) or GET and discarded, ``concurrency`` requests in flight through the
  core's async calls, big objects in ``part_size`` parts (multipart upload; ranged GETs).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

MiB = 1024**2


def _store(spec: dict):
    from obstore.store import S3Store

    return S3Store(**spec["s3"])


def _location(spec: dict, value):
    if isinstance(value, dict):
        return (_store(spec), value["prefix"])
    return value


def transfer(spec: dict) -> dict:
    import obstore.transfer as t

    op = spec["op"]
    src = _location(spec, spec["src"])
    options = spec.get("options", {})
    start = time.perf_counter()
    if op == "copy":
        report = t.copy(src, _location(spec, spec["dst"]), **options)
    elif op == "sync":
        report = t.sync(src, _location(spec, spec["dst"]), **options)
    elif op == "delete_prefix":
        report = t.delete_prefix(src, **options)
    elif op == "du":
        return {"du": t.du(src), "call_s": time.perf_counter() - start}
    elif op == "clean":  # every top-level prefix but the staged sources (src-*)
        import obstore

        store = _store(spec)
        left = obstore.list_with_delimiter(store)["common_prefixes"]
        for prefix in left:
            if not prefix.startswith("src-"):
                t.delete_prefix((store, prefix + "/"))
        return {"call_s": time.perf_counter() - start}
    else:
        raise ValueError(f"unknown op {op}")
    seconds = time.perf_counter() - start
    return {
        "call_s": seconds,
        "transferred": report.transferred,
        "skipped": report.skipped,
        "deleted": report.deleted,
        "failed": report.failed,
        "bytes": report.bytes,
        "first_error": repr(report.errors[0][1])[:300] if report.errors else None,
    }


async def _raw(spec: dict) -> dict:
    """A loop of requests from memory, the floor of what any client can get from the server."""
    import obstore

    store = _store(spec)
    count, size, part = spec["count"], spec["size"], spec.get("part_size", 16 * MiB)
    prefix = spec["prefix"]
    limit = asyncio.Semaphore(spec["concurrency"])
    buffer = os.urandom(min(size, part))

    async def put_one(i: int) -> None:
        key = f"{prefix}{i:05d}{spec.get('suffix', '')}"
        if size <= part:
            async with limit:
                await obstore.put_async(store, key, buffer)
            return

        async def parts():
            left = size
            while left > 0:
                n = min(left, part)
                yield buffer if n == part else buffer[:n]
                left -= n

        # one multipart upload per object, its parts sharing the requests in flight
        async with limit:
            await obstore.put_async(
                store, key, parts(), chunk_size=part, max_concurrency=spec["concurrency"]
            )

    async def get_range(key: str, start: int, end: int) -> None:
        async with limit:
            await obstore.get_range_async(store, key, start=start, end=end)

    async def get_one(i: int) -> None:
        key = f"{prefix}{i:05d}{spec.get('suffix', '')}"
        if size <= part:
            async with limit:
                result = await obstore.get_async(store, key)
                await result.bytes_async()
            return
        await asyncio.gather(
            *(get_range(key, s, min(s + part, size)) for s in range(0, size, part))
        )

    one = put_one if spec["op"] == "raw_put" else get_one
    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    return {"call_s": time.perf_counter() - start, "transferred": count, "bytes": count * size}


if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    if spec["op"].startswith("raw_"):
        out = asyncio.run(_raw(spec))
    else:
        out = transfer(spec)
    print(json.dumps(out))
