"""list / ListStream and list_with_delimiter: prefixes match whole segments, offset and chunk_size
are honoured, streams iterate sync and async and collect what is left, results match head."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

import pytest

import obstore

from .conftest import Backend, run

TREE = {
    "a/1": b"1",
    "a/2": b"22",
    "a/sub/3": b"333",
    "a/sub/deeper/4": b"4444",
    "a_b/5": b"55555",
    "ab/6": b"6",
    "a.txt": b"object next to the prefix",
    "z": b"",
}


@pytest.fixture
def tree(store: Any) -> Any:
    for path, data in TREE.items():
        store.put(path, data)
    return store


def _paths(chunks: Any) -> list[str]:
    return sorted(meta["path"] for chunk in chunks for meta in chunk)


LISTERS = {
    "function": lambda store, *args, **kwargs: obstore.list(store, *args, **kwargs),
    "method": lambda store, *args, **kwargs: store.list(*args, **kwargs),
    "method-list_async": lambda store, *args, **kwargs: store.list_async(*args, **kwargs),
}


@pytest.fixture(params=sorted(LISTERS))
def lister(request: pytest.FixtureRequest) -> Any:
    return LISTERS[request.param]


def listing_keys(backend: Backend) -> list[str]:
    """The keys of a listing's ObjectMeta dicts, in order: Azure's listing answer also names
    each blob's stored checksums."""
    keys = ["path", "last_modified", "size", "e_tag", "version"]
    return [*keys, "checksums"] if backend.kind == "azurite" else keys


def test_list_all(tree: Any, lister: Any, backend: Backend) -> None:
    items = lister(tree).collect()
    assert type(items) is list
    assert sorted(meta["path"] for meta in items) == sorted(TREE)
    for meta in items:
        assert list(meta) == listing_keys(backend)
        assert meta["size"] == len(TREE[meta["path"]])
        assert isinstance(meta["last_modified"], datetime.datetime)
        assert meta["last_modified"].utcoffset() == datetime.timedelta(0)


def test_list_empty_store(store: Any, lister: Any) -> None:
    assert lister(store).collect() == []
    assert list(lister(store)) == []


def test_list_matches_head(tree: Any) -> None:
    for meta in tree.list().collect():
        head = tree.head(meta["path"])
        assert meta["size"] == head["size"]
        # Azure lists e_tags without the quotes its ETag header has.
        assert meta["e_tag"].strip('"') == head["e_tag"].strip('"')
        # HTTP stores report Last-Modified to the second on HEAD, finer in listings.
        listed, headed = meta["last_modified"], head["last_modified"]
        assert listed.replace(microsecond=0) == headed.replace(microsecond=0)


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("a", ["a/1", "a/2", "a/sub/3", "a/sub/deeper/4"]),
        ("a/", ["a/1", "a/2", "a/sub/3", "a/sub/deeper/4"]),
        ("/a/", ["a/1", "a/2", "a/sub/3", "a/sub/deeper/4"]),
        ("a/sub", ["a/sub/3", "a/sub/deeper/4"]),
        ("a_b", ["a_b/5"]),
        ("a/su", []),
        ("a/1", []),
        ("nothing", []),
        ("", sorted(TREE)),
        (None, sorted(TREE)),
    ],
)
def test_list_prefix_is_segment_wise(
    tree: Any, lister: Any, prefix: str | None, expected: list[str]
) -> None:
    assert _paths([lister(tree, prefix).collect()]) == expected


def test_list_prefix_does_not_match_the_object_itself(store: Any) -> None:
    for path in ["foo/bar", "foo/bar_baz/x", "foo/barista", "foo/ba/r"]:
        store.put(path, b"x")
    assert store.list("foo/bar").collect() == []
    assert _paths([store.list("foo").collect()]) == [
        "foo/ba/r",
        "foo/bar",
        "foo/bar_baz/x",
        "foo/barista",
    ]
    result = store.list_with_delimiter("foo/bar")
    assert result == {"common_prefixes": [], "objects": []}
    result = store.list_with_delimiter("foo")
    assert sorted(result["common_prefixes"]) == ["foo/ba", "foo/bar_baz"]
    assert sorted(meta["path"] for meta in result["objects"]) == ["foo/bar", "foo/barista"]


def test_list_offset(tree: Any, backend: Backend, lister: Any) -> None:
    if not backend.list_offset:
        pytest.skip("server ignores list offsets")
    assert _paths([lister(tree, offset="a/2").collect()]) == [p for p in sorted(TREE) if p > "a/2"]
    assert _paths([lister(tree, "a", offset="a/1").collect()]) == [
        "a/2",
        "a/sub/3",
        "a/sub/deeper/4",
    ]
    assert _paths([lister(tree, offset="z").collect()]) == []
    assert _paths([lister(tree, offset="").collect()]) == sorted(TREE)


@pytest.mark.parametrize("chunk_size", [1, 3, 8, 50])
def test_list_chunk_size(store: Any, lister: Any, chunk_size: int) -> None:
    count = 23
    for i in range(count):
        store.put(f"many/{i:02}", b"x")
    chunks = list(lister(store, "many", chunk_size=chunk_size))
    assert all(type(chunk) is list for chunk in chunks)
    sizes = [len(chunk) for chunk in chunks]
    assert sum(sizes) == count
    assert all(size == chunk_size for size in sizes[:-1])
    assert 0 < sizes[-1] <= chunk_size
    assert _paths(chunks) == [f"many/{i:02}" for i in range(count)]


def test_list_default_chunk_size_is_50(store: Any) -> None:
    for i in range(120):
        store.put(f"{i:03}", b"")
    assert [len(chunk) for chunk in store.list()] == [50, 50, 20]


def test_list_stream_exhaustion(tree: Any) -> None:
    stream = tree.list(chunk_size=3)
    assert iter(stream) is stream
    chunks = list(stream)
    assert _paths(chunks) == sorted(TREE)
    for _ in range(3):
        with pytest.raises(StopIteration):
            next(stream)
    assert stream.collect() == []


def test_list_collect_after_partial_iteration(tree: Any) -> None:
    stream = tree.list(chunk_size=3)
    first = next(stream)
    rest = stream.collect()
    assert len(first) == 3
    assert len(rest) == len(TREE) - 3
    assert sorted(meta["path"] for meta in first + rest) == sorted(TREE)
    assert stream.collect() == []


def test_list_collect_ignores_chunk_size(tree: Any) -> None:
    assert len(tree.list(chunk_size=2).collect()) == len(TREE)


def test_list_async_iteration(tree: Any) -> None:
    async def main() -> None:
        stream = obstore.list(tree, chunk_size=3)
        assert stream.__aiter__() is stream
        chunks = [chunk async for chunk in stream]
        assert [len(chunk) for chunk in chunks] == [3, 3, 2]
        assert _paths(chunks) == sorted(TREE)
        for _ in range(2):
            with pytest.raises(StopAsyncIteration):
                await stream.__anext__()

        chunks = [chunk async for chunk in tree.list_async("a", chunk_size=100)]
        assert _paths(chunks) == ["a/1", "a/2", "a/sub/3", "a/sub/deeper/4"]

    run(main)


def test_list_collect_async(tree: Any) -> None:
    async def main() -> None:
        stream = tree.list("a")
        items = await stream.collect_async()
        assert sorted(meta["path"] for meta in items) == ["a/1", "a/2", "a/sub/3", "a/sub/deeper/4"]
        assert await stream.collect_async() == []

        stream = obstore.list(tree, chunk_size=5)
        first = await stream.__anext__()
        rest = await stream.collect_async()
        assert len(first) + len(rest) == len(TREE)

    run(main)


def test_list_is_lazy_and_synchronous(store: Any) -> None:
    # list() returns a stream at once (no await), and it is not awaitable itself.
    stream = obstore.list(store)
    assert not hasattr(stream, "__await__")
    assert type(stream).__name__ == "ListStream"


def test_list_large_listing(store: Any) -> None:
    paths = [f"p/{i:04}" for i in range(1200)]

    async def fill() -> None:
        await asyncio.gather(*(obstore.put_async(store, path, b"") for path in paths))

    run(fill)
    assert _paths(store.list("p", chunk_size=500)) == paths


def test_list_arrow(tree: Any) -> None:
    pytest.importorskip("arro3.core")
    batch = tree.list("a", return_arrow=True).collect()
    assert type(batch).__name__ == "RecordBatch"
    assert batch.num_rows == 4
    assert batch.schema.names == ["path", "last_modified", "size", "e_tag", "version"]
    chunks = list(tree.list(return_arrow=True, chunk_size=3))
    assert all(type(chunk).__name__ == "RecordBatch" for chunk in chunks)
    assert sum(chunk.num_rows for chunk in chunks) == len(TREE)


# --------------------------------------------------------------------------------------------------
# list_with_delimiter


DELIMITER_LISTERS = {
    "function": lambda store, *args, **kwargs: obstore.list_with_delimiter(store, *args, **kwargs),
    "method": lambda store, *args, **kwargs: store.list_with_delimiter(*args, **kwargs),
    "function-async": lambda store, *args, **kwargs: run(
        lambda: obstore.list_with_delimiter_async(store, *args, **kwargs)
    ),
    "method-async": lambda store, *args, **kwargs: run(
        lambda: store.list_with_delimiter_async(*args, **kwargs)
    ),
}


@pytest.fixture(params=sorted(DELIMITER_LISTERS))
def delimiter_lister(request: pytest.FixtureRequest) -> Any:
    return DELIMITER_LISTERS[request.param]


@pytest.mark.parametrize(
    ("prefix", "objects", "common_prefixes"),
    [
        (None, ["a.txt", "z"], ["a", "a_b", "ab"]),
        ("", ["a.txt", "z"], ["a", "a_b", "ab"]),
        ("a", ["a/1", "a/2"], ["a/sub"]),
        ("a/", ["a/1", "a/2"], ["a/sub"]),
        ("a/sub", ["a/sub/3"], ["a/sub/deeper"]),
        ("a/sub/deeper", ["a/sub/deeper/4"], []),
        ("a/1", [], []),
        ("nothing", [], []),
    ],
)
def test_list_with_delimiter(
    tree: Any,
    delimiter_lister: Any,
    prefix: str | None,
    objects: list[str],
    common_prefixes: list[str],
    backend: Backend,
) -> None:
    result = delimiter_lister(tree, prefix)
    assert type(result) is dict
    assert sorted(result) == ["common_prefixes", "objects"]
    assert type(result["common_prefixes"]) is list
    assert type(result["objects"]) is list
    assert sorted(result["common_prefixes"]) == common_prefixes
    assert sorted(meta["path"] for meta in result["objects"]) == objects
    for meta in result["objects"]:
        assert list(meta) == listing_keys(backend)
        assert meta["size"] == len(TREE[meta["path"]])


def test_list_with_delimiter_empty_store(store: Any, delimiter_lister: Any) -> None:
    assert delimiter_lister(store) == {"common_prefixes": [], "objects": []}


def test_list_with_delimiter_arrow(tree: Any) -> None:
    pytest.importorskip("arro3.core")
    result = tree.list_with_delimiter("a", return_arrow=True)
    assert type(result["objects"]).__name__ == "Table"
    assert result["objects"].num_rows == 2
    assert sorted(result["common_prefixes"]) == ["a/sub"]
