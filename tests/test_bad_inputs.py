# mypy: disable-error-code="call-arg,call-overload"
# (this file calls the API wrongly on purpose)
"""Bad inputs (invalid paths, objects that are not stores, unusable put data, unknown options,
wrong types, results read twice) raise clear Python exceptions and leave the store untouched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import obstore
from obstore import Bytes

from .conftest import Api, Backend, run

INVALID_PATHS = ["a//b", "..", ".", "a/../b", "./a", "a/.", "a/./b", "//"]


@pytest.fixture
def stored(store: Any) -> Any:
    store.put("a", b"data")
    return store


def _names(store: Any) -> list[str]:
    return sorted(meta["path"] for meta in store.list().collect())


# --------------------------------------------------------------------------------------------------
# Paths


@pytest.mark.parametrize("path", INVALID_PATHS)
def test_invalid_path_put(store: Any, api: Api, path: str) -> None:
    with pytest.raises(ValueError, match="^Could not parse path: "):
        api.put(store, path, b"x")
    assert _names(store) == []


@pytest.mark.parametrize("path", INVALID_PATHS)
@pytest.mark.parametrize(
    "operation", ["get", "head", "delete", "get_range", "get_ranges", "list", "list_with_delimiter"]
)
def test_invalid_path_other_operations(stored: Any, path: str, operation: str) -> None:
    calls = {
        "get": lambda: obstore.get(stored, path),
        "head": lambda: obstore.head(stored, path),
        "delete": lambda: obstore.delete(stored, path),
        "get_range": lambda: obstore.get_range(stored, path, start=0, end=1),
        "get_ranges": lambda: obstore.get_ranges(stored, path, starts=[0], ends=[1]),
        "list": lambda: obstore.list(stored, path).collect(),
        "list_with_delimiter": lambda: obstore.list_with_delimiter(stored, path),
    }
    if operation == "delete":
        # The reference reports an unparsable path to delete as TypeError (not a valid path list).
        with pytest.raises((ValueError, TypeError)):
            calls[operation]()
    else:
        with pytest.raises(ValueError, match="^Could not parse path: "):
            calls[operation]()
    assert _names(stored) == ["a"]


@pytest.mark.parametrize("path", ["a//b", ".."])
def test_invalid_path_copy_rename(stored: Any, api: Api, path: str) -> None:
    for operation in [api.copy, api.rename]:
        with pytest.raises(ValueError, match="^Could not parse path: "):
            operation(stored, "a", path)
        with pytest.raises(ValueError, match="^Could not parse path: "):
            operation(stored, path, "b")
    assert _names(stored) == ["a"]


def test_invalid_path_message_names_the_path(store: Any) -> None:
    with pytest.raises(ValueError) as info:
        store.put("x//y", b"")
    assert "x//y" in str(info.value)


@pytest.mark.parametrize("path", [5, None, b"a", Path("a")], ids=repr)
def test_path_wrong_type(stored: Any, path: Any) -> None:
    with pytest.raises(TypeError):
        obstore.get(stored, path)
    with pytest.raises(TypeError):
        obstore.put(stored, path, b"x")


# --------------------------------------------------------------------------------------------------
# Not a store


@pytest.mark.parametrize("not_a_store", [None, "memory", 5, object(), {"a": 1}], ids=repr)
def test_non_store_argument(not_a_store: Any) -> None:
    calls = [
        lambda: obstore.get(not_a_store, "a"),
        lambda: obstore.put(not_a_store, "a", b"x"),
        lambda: obstore.head(not_a_store, "a"),
        lambda: obstore.delete(not_a_store, "a"),
        lambda: obstore.list(not_a_store),
        lambda: obstore.list_with_delimiter(not_a_store),
        lambda: obstore.copy(not_a_store, "a", "b"),
        lambda: obstore.rename(not_a_store, "a", "b"),
        lambda: obstore.get_range(not_a_store, "a", start=0, end=1),
        lambda: obstore.get_ranges(not_a_store, "a", starts=[0], ends=[1]),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="^Expected an object store instance, got "):
            call()


def test_non_store_argument_message_has_repr() -> None:
    with pytest.raises(ValueError, match=r"^Expected an object store instance, got 'x'"):
        obstore.get("x", "a")  # type: ignore[arg-type]


def test_non_store_argument_async() -> None:
    async def main() -> None:
        with pytest.raises(ValueError, match="Expected an object store instance"):
            await obstore.get_async(None, "a")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="Expected an object store instance"):
            await obstore.put_async(None, "a", b"x")  # type: ignore[arg-type]

    run(main)


def test_foreign_class_with_store_name() -> None:
    impostor = type("MemoryStore", (), {})()
    with pytest.raises(ValueError, match="the same library"):
        obstore.get(impostor, "a")


# --------------------------------------------------------------------------------------------------
# put data


@pytest.mark.parametrize("data", [5, None, 1.5, object(), {1: 2}.values()], ids=repr)
def test_put_non_buffer(store: Any, api: Api, data: Any) -> None:
    with pytest.raises((ValueError, TypeError)):
        api.put(store, "a", data)
    assert _names(store) == []


@pytest.mark.parametrize("data", [5, None, object()], ids=repr)
def test_put_unexpected_input_message(store: Any, data: Any) -> None:
    with pytest.raises(ValueError, match="^Unexpected input for PutInput"):
        store.put("a", data)


@pytest.mark.parametrize("bad_item", [5, "text", None, [b"nested"]], ids=repr)
def test_put_iterator_yielding_non_buffer(
    store: Any, backend: Backend, api: Api, bad_item: Any
) -> None:
    if not backend.multipart:
        pytest.skip("iterable input needs multipart")
    with pytest.raises(TypeError):
        api.put(store, "a", iter([b"good", bad_item, b"never read"]))
    assert _names(store) == []


@pytest.mark.parametrize("bad_item", [5, "text"], ids=repr)
def test_put_async_iterator_yielding_non_buffer(
    store: Any, backend: Backend, bad_item: Any
) -> None:
    if not backend.multipart:
        pytest.skip("iterable input needs multipart")

    async def source() -> Any:
        yield b"good"
        yield bad_item

    async def main() -> None:
        with pytest.raises(TypeError):
            await obstore.put_async(store, "a", source())

    run(main)
    assert _names(store) == []


def test_put_iterator_raising(store: Any, backend: Backend) -> None:
    if not backend.multipart:
        pytest.skip("iterable input needs multipart")

    def source() -> Any:
        yield b"good"
        raise RuntimeError("boom from the iterator")

    with pytest.raises(RuntimeError, match="boom from the iterator"):
        store.put("a", source())
    assert _names(store) == []


@pytest.mark.parametrize("text", ["text", "some data that is not a path", ""])
def test_put_str_is_treated_as_file_path(store: Any, api: Api, text: str) -> None:
    with pytest.raises(FileNotFoundError):
        api.put(store, "a", text)
    assert _names(store) == []


def test_put_missing_path(store: Any, api: Api, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        api.put(store, "a", tmp_path / "does-not-exist")


def test_put_closed_file(store: Any, tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    handle = path.open("rb")
    handle.close()
    with pytest.raises((ValueError, OSError)):
        store.put("a", handle)
    assert _names(store) == []


def test_put_non_contiguous_buffer(store: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        store.put("a", memoryview(b"abcdef")[::2])
    with pytest.raises(ValueError):
        Bytes(memoryview(b"abcdef")[::2])


# --------------------------------------------------------------------------------------------------
# Unknown options and wrong types


@pytest.mark.parametrize(
    "call",
    [
        lambda s: obstore.get(s, "a", bogus=1),
        lambda s: obstore.put(s, "a", b"x", bogus=1),
        lambda s: obstore.head(s, "a", bogus=1),
        lambda s: obstore.delete(s, "a", bogus=1),
        lambda s: obstore.list(s, bogus=1),
        lambda s: obstore.list_with_delimiter(s, bogus=1),
        lambda s: obstore.copy(s, "a", "b", bogus=1),
        lambda s: obstore.rename(s, "a", "b", bogus=1),
        lambda s: obstore.get_range(s, "a", start=0, end=1, bogus=1),
        lambda s: obstore.get_ranges(s, "a", starts=[0], ends=[1], bogus=1),
        lambda s: s.get("a", bogus=1),
        lambda s: s.put("a", b"x", bogus=1),
        lambda s: s.list(bogus=1),
        lambda s: s.get_range("a", 0, 1),
        lambda s: obstore.get(s, "a", {"range": (0, 1)}),
        lambda s: s.get("a").stream(min_chunk_size="big"),
        lambda s: s.get("a").stream(bogus=1),
    ],
)
def test_unknown_keyword_or_positional_options(stored: Any, call: Any) -> None:
    with pytest.raises(TypeError):
        call(stored)
    assert bytes(stored.get("a").bytes()) == b"data"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"use_multipart": "yes"},
        {"chunk_size": "big"},
        {"chunk_size": -1},
        {"chunk_size": 0, "use_multipart": True},
        {"max_concurrency": "many"},
        {"attributes": "Content-Type"},
        {"tags": ["a"]},
    ],
    ids=repr,
)
def test_put_option_wrong_type(store: Any, kwargs: dict[str, Any]) -> None:
    with pytest.raises((TypeError, ValueError, OverflowError)):
        store.put("a", b"x", **kwargs)
    assert _names(store) == []


@pytest.mark.parametrize(
    "kwargs",
    [{"overwrite": "no"}, {"overwrite": None}],
    ids=repr,
)
def test_copy_overwrite_wrong_type(stored: Any, kwargs: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        stored.copy("a", "b", **kwargs)


@pytest.mark.parametrize(
    "kwargs", [{"offset": 5}, {"chunk_size": "x"}, {"chunk_size": -1}], ids=repr
)
def test_list_option_wrong_type(stored: Any, kwargs: dict[str, Any]) -> None:
    with pytest.raises((TypeError, OverflowError, ValueError)):
        stored.list(**kwargs).collect()


def test_list_prefix_wrong_type(stored: Any) -> None:
    with pytest.raises(TypeError):
        stored.list(5)
    with pytest.raises(TypeError):
        stored.list_with_delimiter(5)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"starts": 0, "ends": [1]},
        {"starts": [0], "ends": 1},
        {"starts": ["0"], "ends": [1]},
        {"starts": [0], "lengths": [None]},
    ],
    ids=repr,
)
def test_get_ranges_wrong_types(stored: Any, kwargs: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        stored.get_ranges("a", **kwargs)


@pytest.mark.parametrize("url", [5, None, b"s3://bucket"], ids=repr)
def test_parse_scheme_wrong_type(url: Any) -> None:
    with pytest.raises(TypeError):
        obstore.parse_scheme(url)


# --------------------------------------------------------------------------------------------------
# Consumed results and streams


def test_consumed_result_read_again(stored: Any) -> None:
    result = stored.get("a")
    stream = result.stream()
    assert b"".join(stream) == b"data"
    with pytest.raises(StopIteration):
        next(stream)
    with pytest.raises(ValueError, match="^Result has already been disposed.$"):
        result.bytes()
    with pytest.raises(ValueError, match="^Result has already been disposed.$"):
        result.stream()


def test_partially_consumed_stream_then_result_read(store: Any, big_data: bytes) -> None:
    store.put("big", big_data, use_multipart=False)
    result = store.get("big")
    stream = result.stream(min_chunk_size=1024)
    first = next(stream)
    with pytest.raises(ValueError, match="Result has already been disposed."):
        result.bytes()
    rest = b"".join(stream)
    assert first + rest == big_data


def test_get_result_not_constructible() -> None:
    store = obstore.store.MemoryStore()
    store.put("a", b"x")
    cls = type(store.get("a"))
    with pytest.raises(TypeError):
        cls()


# --------------------------------------------------------------------------------------------------
# parse_scheme


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("s3://bucket/path", "s3"),
        ("s3a://bucket/path", "s3"),
        ("https://s3.us-east-1.amazonaws.com/bucket", "s3"),
        ("https://bucket.s3.us-west-2.amazonaws.com", "s3"),
        ("gs://bucket/path", "gcs"),
        ("az://container/path", "azure"),
        ("abfss://fs@account.dfs.core.windows.net/path", "azure"),
        ("https://account.blob.core.windows.net/container", "azure"),
        ("http://example.com/path", "http"),
        ("https://example.com/path", "http"),
        ("file:///tmp/path", "local"),
        ("memory:///", "memory"),
    ],
)
def test_parse_scheme(url: str, scheme: str) -> None:
    assert obstore.parse_scheme(url) == scheme


@pytest.mark.parametrize("url", ["ftp://host/x", "gcs://bucket"])
def test_parse_scheme_unrecognised(url: str) -> None:
    with pytest.raises(obstore.exceptions.GenericError, match="Unable to recognise URL"):
        obstore.parse_scheme(url)


def test_parse_scheme_not_a_url() -> None:
    with pytest.raises(ValueError, match="relative URL without a base"):
        obstore.parse_scheme("foo")
