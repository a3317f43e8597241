"""Drives an upload from an async iterable: only the event loop can produce its items."""

from __future__ import annotations

from typing import Any


async def put_async_iterable(start: Any, source: Any, chunk_size: int) -> Any:
    """Feed every buffer of `source` into the upload sink that `start` resolves to.

    Any failure (the iterator raising, a non-buffer item, a failed part) aborts the upload so no
    partial object or orphan part is left behind, and the original error propagates.
    """
    sink = await start
    try:
        iterator = source.__aiter__() if hasattr(source, "__aiter__") else source
        pending = bytearray()
        while True:
            try:
                item = await iterator.__anext__()
            except StopAsyncIteration:
                break
            try:
                view = memoryview(item)
            except TypeError:
                raise TypeError(
                    "put_async() expects an iterable of bytes-like objects, "
                    f"but it yielded a '{type(item).__name__}'"
                ) from None
            if view.nbytes >= chunk_size and not pending:
                await sink.write(item)
                continue
            pending += view.cast("B")
            if len(pending) >= chunk_size:
                await sink.write(bytes(pending))
                pending.clear()
        if pending:
            await sink.write(bytes(pending))
    except BaseException:
        await sink.abort()
        raise
    return await sink.finish()
