"""put / put_async: every input kind round-trips, modes create and update are honoured or refused
as the store can, attributes and tags are stored or ignored, large and iterable input is uploaded
in parts."""

from __future__ import annotations

import io
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import obstore
from obstore import Bytes
from obstore.exceptions import AlreadyExistsError, PreconditionError

from .conftest import Api, Backend, assert_meta_path, run

MiB = 1024 * 1024


def _write_file(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    return path


def _chunks(data: bytes, size: int = 1000) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


class _Iterable:
    """Has __iter__ only (not an iterator itself)."""

    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.parts)


class _Iterator:
    """Has __next__ (and __iter__ returning self), yielding mixed buffer types."""

    def __init__(self, parts: list[bytes]) -> None:
        kinds: list[Callable[[bytes], Any]] = [bytes, bytearray, memoryview, Bytes]
        self.parts = iter([kinds[i % 4](part) for i, part in enumerate(parts)])

    def __iter__(self) -> _Iterator:
        return self

    def __next__(self) -> Any:
        return next(self.parts)


# Each factory builds a fresh input for `data`; file-backed ones need a directory.
INPUTS: dict[str, Callable[[bytes, Path], Any]] = {
    "bytes": lambda data, tmp: data,
    "bytearray": lambda data, tmp: bytearray(data),
    "memoryview": lambda data, tmp: memoryview(data),
    "Bytes": lambda data, tmp: Bytes(data),
    "pathlib.Path": lambda data, tmp: _write_file(tmp, data),
    "str-path": lambda data, tmp: str(_write_file(tmp, data)),
    "BytesIO": lambda data, tmp: io.BytesIO(data),
    "open-file": lambda data, tmp: _write_file(tmp, data).open("rb"),
    "list": lambda data, tmp: _chunks(data),
    "generator": lambda data, tmp: (chunk for chunk in _chunks(data)),
    "iterable": lambda data, tmp: _Iterable(_chunks(data)),
    "iterator": lambda data, tmp: _Iterator(_chunks(data)),
}

ITERABLE_INPUTS = {"list", "generator", "iterable", "iterator"}


def _needs_multipart(input_kind: str, payload: bytes) -> bool:
    # Iterables go through a multipart upload, started by their first chunk: an
    # empty iterable becomes an empty object in one request, on every store.
    return input_kind in ITERABLE_INPUTS and len(payload) > 0


@pytest.mark.parametrize("input_kind", sorted(INPUTS))
def test_put_input_kinds_round_trip(
    store: Any, backend: Backend, api: Api, payload: bytes, input_kind: str, tmp_path: Path
) -> None:
    source = INPUTS[input_kind](payload, tmp_path)
    try:
        if _needs_multipart(input_kind, payload) and not backend.multipart:
            with pytest.raises(NotImplementedError):
                api.put(store, "dir/object", source)
            return
        result = api.put(store, "dir/object", source)
    finally:
        if hasattr(source, "close"):
            source.close()
    assert list(result) == ["e_tag", "version"]
    assert api.get_bytes(store, "dir/object") == payload
    meta = api.head(store, "dir/object")
    assert meta["size"] == len(payload)
    if result["e_tag"] is not None:
        assert meta["e_tag"] == result["e_tag"]


def test_put_numpy_array(store: Any) -> None:
    numpy = pytest.importorskip("numpy")
    array = numpy.arange(1000, dtype=numpy.uint8)
    obstore.put(store, "array", array)
    assert bytes(obstore.get(store, "array").bytes()) == array.tobytes()


def test_put_result_shape(store: Any) -> None:
    result = store.put("a", b"abc")
    assert isinstance(result, dict)
    assert list(result) == ["e_tag", "version"]
    assert result["e_tag"] is None or isinstance(result["e_tag"], str)
    assert result["version"] is None or isinstance(result["version"], str)


def test_put_overwrites_by_default(store: Any, api: Api) -> None:
    api.put(store, "a", b"first")
    api.put(store, "a", b"second, longer")
    assert api.get_bytes(store, "a") == b"second, longer"
    api.put(store, "a", b"3", mode="overwrite")
    assert api.get_bytes(store, "a") == b"3"


def test_put_with_leading_and_trailing_slashes(store: Any) -> None:
    store.put("/abs/path/", b"x")
    assert_meta_path(store.head("abs/path")["path"], "abs/path")
    assert bytes(store.get("/abs/path").bytes()) == b"x"


def test_put_non_ascii_and_spaces_in_path(store: Any) -> None:
    path = "dir with space/ünïcødé €.txt"
    store.put(path, b"x")
    assert bytes(store.get(path).bytes()) == b"x"
    assert [meta["path"] for meta in store.list().collect()] == [path]


# --------------------------------------------------------------------------------------------------
# Async inputs


async def _agen(parts: list[bytes]) -> AsyncGenerator[bytes, None]:
    for part in parts:
        yield part


class _AsyncIterable:
    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts

    def __aiter__(self) -> AsyncIterator[bytes]:
        return _agen(self.parts)


class _AsyncIterator:
    def __init__(self, parts: list[bytes]) -> None:
        self.parts = iter(parts)

    def __aiter__(self) -> _AsyncIterator:
        return self

    async def __anext__(self) -> Any:
        try:
            return bytearray(next(self.parts))
        except StopIteration:
            raise StopAsyncIteration from None


ASYNC_INPUTS: dict[str, Callable[[list[bytes]], Any]] = {
    "async-generator": _agen,
    "async-iterable": _AsyncIterable,
    "async-iterator": _AsyncIterator,
}


@pytest.mark.parametrize("style", ["function", "method"])
@pytest.mark.parametrize("input_kind", sorted(ASYNC_INPUTS))
def test_put_async_with_async_input(
    store: Any, backend: Backend, payload: bytes, input_kind: str, style: str
) -> None:
    put_async = (
        store.put_async if style == "method" else lambda *a, **k: obstore.put_async(store, *a, **k)
    )

    async def main() -> None:
        source = ASYNC_INPUTS[input_kind](_chunks(payload, 700))
        if payload and not backend.multipart:
            with pytest.raises(NotImplementedError):
                await put_async("obj", source)
            return
        result = await put_async("obj", source)
        assert list(result) == ["e_tag", "version"]
        assert bytes(await (await obstore.get_async(store, "obj")).bytes_async()) == payload

    run(main)


@pytest.mark.parametrize("style", ["function", "method"])
def test_put_sync_rejects_async_input(store: Any, style: str) -> None:
    put = store.put if style == "method" else lambda *a, **k: obstore.put(store, *a, **k)
    generator = _agen([b"a"])
    with pytest.raises(ValueError, match=r"Async input not allowed in 'put'\. Use 'put_async'\."):
        put("obj", generator)
    with pytest.raises(ValueError, match="Async input not allowed"):
        put("obj", _AsyncIterable([b"a"]))
    run(generator.aclose)
    with pytest.raises(FileNotFoundError):
        store.head("obj")


def test_get_result_streams_into_put_async(store: Any, backend: Backend, big_data: bytes) -> None:
    if not backend.multipart:
        pytest.skip("streaming a GetResult is an async iterable, which needs multipart")

    async def main() -> None:
        await obstore.put_async(store, "source", big_data, use_multipart=False)
        result = await obstore.get_async(store, "source")
        await obstore.put_async(store, "copy", result, chunk_size=2 * MiB)
        copied = await (await store.get_async("copy")).bytes_async()
        assert copied == big_data

    run(main)


def test_sync_put_takes_a_bytes_stream_of_a_get(
    store: Any, backend: Backend, big_data: bytes
) -> None:
    """A ``BytesStream`` iterates both ways; ``put`` (sync) reads it the sync way, byte-exact."""
    if not backend.multipart:
        pytest.skip("an iterable source needs multipart")
    obstore.put(store, "source", big_data, use_multipart=False)
    stream = obstore.get(store, "source").stream(min_chunk_size=1 * MiB)
    obstore.put(store, "copy", stream, chunk_size=5 * MiB)
    assert obstore.get(store, "copy").bytes() == big_data


# --------------------------------------------------------------------------------------------------
# Large data and multipart


@pytest.mark.parametrize("use_multipart", [None, True, False])
def test_put_large(
    store: Any, backend: Backend, api: Api, big_data: bytes, use_multipart: bool | None
) -> None:
    kwargs: dict[str, Any] = {"chunk_size": 5 * MiB, "max_concurrency": 3}
    if use_multipart is not None:
        kwargs["use_multipart"] = use_multipart
    if use_multipart is not False and not backend.multipart:
        with pytest.raises(NotImplementedError):
            api.put(store, "big", big_data, **kwargs)
        return
    api.put(store, "big", big_data, **kwargs)
    assert api.head(store, "big")["size"] == len(big_data)
    assert api.get_bytes(store, "big") == big_data


@pytest.mark.parametrize("input_kind", ["bytes", "pathlib.Path", "BytesIO", "generator"])
def test_put_large_small_chunk_size(
    store: Any, backend: Backend, big_data: bytes, input_kind: str, tmp_path: Path
) -> None:
    # 12 MiB in 5 MiB parts (the smallest part size cloud stores accept) from several input kinds.
    source = INPUTS[input_kind](big_data, tmp_path)
    if not backend.multipart:
        with pytest.raises(NotImplementedError):
            store.put("big", source, chunk_size=5 * MiB, use_multipart=True)
        return
    store.put("big", source, chunk_size=5 * MiB, max_concurrency=2, use_multipart=True)
    assert bytes(store.get("big").bytes()) == big_data


def test_put_multipart_small_object(store: Any, backend: Backend) -> None:
    if not backend.multipart:
        with pytest.raises(NotImplementedError):
            store.put("small", b"tiny", use_multipart=True)
        return
    store.put("small", b"tiny", use_multipart=True)
    assert bytes(store.get("small").bytes()) == b"tiny"


def test_put_iterator_with_many_small_items(store: Any, backend: Backend) -> None:
    parts = [bytes([i % 256]) * 97 for i in range(3000)]
    if not backend.multipart:
        with pytest.raises(NotImplementedError):
            store.put("many", iter(parts))
        return
    store.put("many", iter(parts), chunk_size=5 * MiB)
    assert bytes(store.get("many").bytes()) == b"".join(parts)


# --------------------------------------------------------------------------------------------------
# Modes


def test_put_mode_create(store: Any, backend: Backend, api: Api) -> None:
    if not backend.conditional_put:
        with pytest.raises(NotImplementedError):
            api.put(store, "a", b"first", mode="create")
        return
    api.put(store, "a", b"first", mode="create")
    with pytest.raises(AlreadyExistsError):
        api.put(store, "a", b"second", mode="create")
    assert api.get_bytes(store, "a") == b"first"


@pytest.mark.parametrize("spelling", ["CREATE", "Create"])
def test_put_mode_is_case_insensitive(store: Any, backend: Backend, spelling: str) -> None:
    store.put("a", b"first", mode="OVERWRITE")
    if not backend.conditional_put:
        return
    with pytest.raises(AlreadyExistsError):
        store.put("a", b"second", mode=spelling)


def _update_version(put_result: dict[str, Any]) -> dict[str, str]:
    # UpdateVersion from a PutResult; put(mode=...) rejects explicit None values.
    return {key: value for key, value in put_result.items() if value is not None}


def test_put_mode_update(store: Any, backend: Backend, api: Api) -> None:
    first = api.put(store, "a", b"first")
    if not backend.update_version:
        with pytest.raises(NotImplementedError):
            api.put(store, "a", b"second", mode=_update_version(first))
        assert api.get_bytes(store, "a") == b"first"
        return
    second = api.put(store, "a", b"second", mode=_update_version(first))
    assert api.get_bytes(store, "a") == b"second"
    with pytest.raises(PreconditionError):
        api.put(store, "a", b"third", mode=_update_version(first))
    assert api.get_bytes(store, "a") == b"second"
    assert second["e_tag"] != first["e_tag"]
    api.put(store, "a", b"third", mode=_update_version(second))
    assert api.get_bytes(store, "a") == b"third"


def test_put_mode_update_missing_object(store: Any, backend: Backend) -> None:
    stale = _update_version(store.put("other", b"x"))
    if not backend.update_version:
        with pytest.raises(NotImplementedError):
            store.put("missing", b"x", mode=stale)
        return
    with pytest.raises((PreconditionError, FileNotFoundError)):
        store.put("missing", b"x", mode=stale)
    with pytest.raises(FileNotFoundError):
        store.head("missing")


def test_put_mode_invalid(store: Any) -> None:
    with pytest.raises(ValueError, match="Unexpected input for PutMode: bad"):
        store.put("a", b"x", mode="bad")
    with pytest.raises(FileNotFoundError):
        store.head("a")


@pytest.mark.parametrize("mode", [5, ["create"]])
def test_put_mode_wrong_type(store: Any, mode: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        store.put("a", b"x", mode=mode)


# --------------------------------------------------------------------------------------------------
# Attributes and tags


ATTRIBUTES_IN = {
    "content-type": "text/plain",
    "CacheControl": "no-cache",
    "Content-Disposition": "inline",
    "ContentEncoding": "identity",
    "content-language": "en",
    "customkey": "custom value",  # Azure metadata names are identifiers
}
ATTRIBUTES_OUT = {
    "Content-Type": "text/plain",
    "Cache-Control": "no-cache",
    "Content-Disposition": "inline",
    "Content-Encoding": "identity",
    "Content-Language": "en",
    "customkey": "custom value",
}


def test_put_attributes(store: Any, backend: Backend, api: Api) -> None:
    if backend.attributes == "raises":
        with pytest.raises(NotImplementedError):
            api.put(store, "a", b"x", attributes=ATTRIBUTES_IN)
        with pytest.raises(FileNotFoundError):
            api.head(store, "a")
        return
    api.put(store, "a", b"x", attributes=ATTRIBUTES_IN)
    assert api.get_bytes(store, "a") == b"x"
    if backend.attributes == "stored":
        attributes = api.get(store, "a").attributes
        assert {key: attributes.get(key) for key in ATTRIBUTES_OUT} == ATTRIBUTES_OUT
        if backend.kind == "memory":
            assert attributes == ATTRIBUTES_OUT  # nothing added


def test_put_attributes_multipart(store: Any, backend: Backend) -> None:
    if not (backend.attributes == "stored" and backend.multipart):
        pytest.skip("needs stored attributes and multipart")
    store.put("a", [b"x", b"y"], attributes={"Content-Type": "application/x-test"})
    assert store.get("a").attributes["Content-Type"] == "application/x-test"


def test_get_attributes_empty_by_default(store: Any) -> None:
    store.put("a", b"x")
    attributes = store.get("a").attributes
    assert isinstance(attributes, dict)
    assert "x-custom-key" not in attributes


def test_put_attribute_value_must_be_str(store: Any) -> None:
    with pytest.raises(TypeError):
        store.put("a", b"x", attributes={"Content-Type": 5})


def test_put_tags(store: Any, api: Api) -> None:
    # Tags are accepted everywhere; stores without tagging ignore them.
    api.put(store, "a", b"x", tags={"key": "value", "other": "2"})
    assert api.get_bytes(store, "a") == b"x"


def test_put_tag_value_must_be_str(store: Any) -> None:
    with pytest.raises(TypeError):
        store.put("a", b"x", tags={"key": 5})
