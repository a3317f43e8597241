"""A Rust panic never reaches Python as pyo3's PanicException (a BaseException that
``except Exception`` misses): every way an operation runs turns it into an
``obstore.exceptions.BaseError``, and the store keeps working afterwards."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import obstore
from obstore.exceptions import BaseError

SYNC_MODES = ["sync", "sync_complete", "sync_runtime"]
ASYNC_MODES = ["async", "async_runtime"]


def _panic_in_call(store: Any, mode: str) -> Any:
    return obstore._obstore._panic_in_call(store, mode)  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", SYNC_MODES)
def test_panic_in_a_sync_call_raises_base_error(store: Any, mode: str) -> None:
    try:
        _panic_in_call(store, mode)
    except BaseError as err:
        assert "internal error in obstore" in str(err)
        assert "a panic raised on purpose" in str(err)
    except BaseException as err:  # noqa: BLE001 - the point is to see what escaped
        pytest.fail(f"{type(err).__name__} escaped instead of a BaseError: {err}")
    else:
        pytest.fail("the panic was swallowed")
    # The store and the runtime still work after the panic.
    obstore.put(store, "after-panic", b"ok")
    assert obstore.get(store, "after-panic").bytes() == b"ok"


@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_panic_in_an_async_call_raises_base_error(store: Any, mode: str) -> None:
    async def run() -> None:
        try:
            await _panic_in_call(store, mode)
        except BaseError as err:
            assert "a panic raised on purpose" in str(err)
        except BaseException as err:  # noqa: BLE001 - the point is to see what escaped
            pytest.fail(f"{type(err).__name__} escaped instead of a BaseError: {err}")
        else:
            pytest.fail("the panic was swallowed")
        await obstore.put_async(store, "after-panic", b"ok")
        assert await (await obstore.get_async(store, "after-panic")).bytes_async() == b"ok"

    asyncio.run(run())


def test_panics_in_many_concurrent_async_calls_all_resolve(store: Any) -> None:
    async def run() -> list[Any]:
        calls = [_panic_in_call(store, "async") for _ in range(50)]
        return await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 30)

    results = asyncio.run(run())
    assert all(isinstance(r, BaseError) for r in results), results
