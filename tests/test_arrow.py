"""Arrow listing results: list(return_arrow=True) and list_with_delimiter(return_arrow=True)
have the documented schema and the same values as the dict listing.

Each result is read through the Arrow PyCapsule interface by pyarrow and by arro3-core, its schema
checked field by field and its values against the plain dict listing. Also: the result without
arro3-core installed, and a 100,000-object listing whose dict chunks never all live at once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tracemalloc
from typing import Any

import pytest

import obstore
from obstore.store import MemoryStore

pa = pytest.importorskip("pyarrow")
arro3 = pytest.importorskip("arro3.core")

#: The schema of an Arrow listing: (name, pyarrow type, nullable), in order.
SCHEMA = [
    ("path", pa.string(), False),
    ("last_modified", pa.timestamp("us", tz="UTC"), False),
    ("size", pa.uint64(), False),
    ("e_tag", pa.string(), True),
    ("version", pa.string(), True),
]

TREE = {
    "a.txt": b"root",
    "a/1": b"",
    "a/2": b"22",
    "a/sub/3": b"333",
    "a/sub/deeper/4": b"4444",
    "b/5": b"55555",
    "unicode/äö ü": b"x" * 6,
}


@pytest.fixture
def tree(store: Any) -> Any:
    for path, data in TREE.items():
        store.put(path, data)
    return store


def _assert_schema(schema: Any) -> None:
    """`schema` is a pyarrow.Schema."""
    assert [(field.name, field.type, field.nullable) for field in schema] == SCHEMA
    assert schema.field("last_modified").type.tz == "UTC"


def _assert_arro3_schema(schema: Any) -> None:
    assert schema.names == [name for name, _, _ in SCHEMA]
    expected_types = [
        arro3.DataType.string(),
        arro3.DataType.timestamp("us", tz="UTC"),
        arro3.DataType.uint64(),
        arro3.DataType.string(),
        arro3.DataType.string(),
    ]
    for (name, _, nullable), expected_type in zip(SCHEMA, expected_types, strict=True):
        field = schema.field(name)
        assert field.type == expected_type, (name, field.type)
        assert field.nullable is nullable, name


def _rows(table: Any) -> list[dict[str, Any]]:
    """Rows of a pyarrow Table/RecordBatch as ObjectMeta-shaped dicts, sorted by path."""
    return sorted(table.to_pylist(), key=lambda row: row["path"])


def _columns(metas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """ObjectMeta dicts by path, with the keys that are Arrow columns (an Azure listing's
    dicts also carry ``checksums``, which Arrow listings leave out)."""
    names = ["path", "last_modified", "size", "e_tag", "version"]
    rows = [{name: meta[name] for name in names} for meta in metas]
    return sorted(rows, key=lambda meta: meta["path"])


def _dict_listing(store: Any, prefix: str | None = None) -> list[dict[str, Any]]:
    return _columns(store.list(prefix).collect())


def test_list_arrow_chunks(tree: Any) -> None:
    chunks = list(obstore.list(tree, return_arrow=True, chunk_size=3))
    assert [chunk.num_rows for chunk in chunks] == [3, 3, 1]
    batches = []
    for chunk in chunks:
        assert type(chunk) is arro3.RecordBatch
        assert hasattr(chunk, "__arrow_c_array__")
        _assert_arro3_schema(chunk.schema)
        batch = pa.record_batch(chunk)
        _assert_schema(batch.schema)
        batches.append(batch)
    assert _rows(pa.Table.from_batches(batches)) == _dict_listing(tree)


def test_list_arrow_collect(tree: Any) -> None:
    stream = tree.list("a", return_arrow=True, chunk_size=2)
    first = next(stream)
    rest = stream.collect()  # drains the remainder into one batch, ignoring chunk_size
    assert type(rest) is arro3.RecordBatch
    assert first.num_rows + rest.num_rows == 4
    _assert_arro3_schema(rest.schema)
    table = pa.Table.from_batches([pa.record_batch(first), pa.record_batch(rest)])
    _assert_schema(table.schema)
    assert _rows(table) == _dict_listing(tree, "a")
    exhausted = pa.record_batch(stream.collect())
    assert exhausted.num_rows == 0
    _assert_schema(exhausted.schema)


def test_list_arrow_collect_async(tree: Any) -> None:
    import asyncio

    async def main() -> Any:
        return await obstore.list(tree, "b", return_arrow=True).collect_async()

    batch = pa.record_batch(asyncio.run(main()))
    _assert_schema(batch.schema)
    assert _rows(batch) == _dict_listing(tree, "b")


def test_list_arrow_async_iteration(tree: Any) -> None:
    import asyncio

    async def main() -> list[Any]:
        return [chunk async for chunk in obstore.list(tree, return_arrow=True, chunk_size=4)]

    batches = [pa.record_batch(chunk) for chunk in asyncio.run(main())]
    assert [batch.num_rows for batch in batches] == [4, 3]
    assert _rows(pa.Table.from_batches(batches)) == _dict_listing(tree)


def test_list_arrow_values(tree: Any) -> None:
    # Values equal the dict listing exactly: datetimes to the microsecond, sizes, e_tags, None.
    batch = pa.record_batch(tree.list(return_arrow=True).collect())
    rows = _rows(batch)
    expected = _dict_listing(tree)
    assert [row["path"] for row in rows] == sorted(TREE)
    assert rows == expected
    assert all(row["last_modified"].tzinfo is not None for row in rows)
    assert [row["size"] for row in rows] == [len(TREE[path]) for path in sorted(TREE)]


def test_list_arrow_read_by_arro3(tree: Any) -> None:
    # arro3 reads the same capsules: its RecordBatch, Table and columns agree with pyarrow.
    batch = tree.list(return_arrow=True).collect()
    table = arro3.Table.from_batches([arro3.RecordBatch.from_arrow(batch)])
    assert table.num_rows == len(TREE)
    paths = table.column("path").to_pylist() if hasattr(table.column("path"), "to_pylist") else None
    if paths is None:
        paths = pa.chunked_array(table.column("path")).to_pylist()
    assert sorted(paths) == sorted(TREE)
    sizes = pa.chunked_array(table.column("size")).to_pylist()
    assert sorted(sizes) == sorted(len(data) for data in TREE.values())


def test_list_arrow_empty(store: Any) -> None:
    assert list(obstore.list(store, return_arrow=True)) == []
    batch = pa.record_batch(obstore.list(store, return_arrow=True).collect())
    assert batch.num_rows == 0
    _assert_schema(batch.schema)


def test_list_arrow_prefix_and_offset(tree: Any, backend: Any) -> None:
    batch = pa.record_batch(tree.list("a/sub", return_arrow=True).collect())
    assert sorted(batch.column("path").to_pylist()) == ["a/sub/3", "a/sub/deeper/4"]
    if backend.list_offset:
        batch = pa.record_batch(tree.list(offset="a/sub/3", return_arrow=True).collect())
        paths = sorted(batch.column("path").to_pylist())
        assert paths == sorted(path for path in TREE if path > "a/sub/3")


@pytest.mark.parametrize("prefix", [None, "a", "a/sub", "nothing"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_list_with_delimiter_arrow(tree: Any, prefix: str | None, mode: str) -> None:
    if mode == "sync":
        result = obstore.list_with_delimiter(tree, prefix, return_arrow=True)
    else:
        import asyncio

        async def main() -> Any:
            return await obstore.list_with_delimiter_async(tree, prefix, return_arrow=True)

        result = asyncio.run(main())
    plain = tree.list_with_delimiter(prefix)
    assert sorted(result["common_prefixes"]) == sorted(plain["common_prefixes"])
    objects = result["objects"]
    assert type(objects) is arro3.Table
    assert hasattr(objects, "__arrow_c_stream__")
    _assert_arro3_schema(objects.schema)
    table = pa.table(objects)
    _assert_schema(table.schema)
    assert _rows(table) == _columns(plain["objects"])


# --------------------------------------------------------------------------------------------------
# Without arro3-core


def _replayed_plugins(config: pytest.Config) -> str:
    """Imports of the ``-p`` plugins of this run: they may be what makes obstore importable."""
    names = [name for name in (config.option.plugins or []) if not name.startswith("no:")]
    return "".join(f"import {name}\n" for name in names)


NO_ARRO3_SCRIPT = """
import sys
sys.modules["arro3"] = None  # arro3-core is not installed
sys.modules["arro3.core"] = None
{preload}
import obstore
from obstore.store import MemoryStore
import pyarrow as pa

store = MemoryStore()
for i in range(5):
    obstore.put(store, f"d/{{i}}", b"x" * i)
chunks = list(obstore.list(store, return_arrow=True, chunk_size=2))
assert all(hasattr(chunk, "__arrow_c_array__") for chunk in chunks), chunks
batches = [pa.record_batch(chunk) for chunk in chunks]
assert [batch.num_rows for batch in batches] == [2, 2, 1]
collected = obstore.list(store, return_arrow=True).collect()
assert hasattr(collected, "__arrow_c_array__") or hasattr(collected, "__arrow_c_stream__")
batch = pa.record_batch(collected) if hasattr(collected, "__arrow_c_array__") else None
assert batch is not None and batch.num_rows == 5
assert sorted(batch.column("size").to_pylist()) == [0, 1, 2, 3, 4]
objects = obstore.list_with_delimiter(store, "d", return_arrow=True)["objects"]
assert hasattr(objects, "__arrow_c_stream__"), objects
table = pa.table(objects)
assert table.num_rows == 5
for schema in (batch.schema, table.schema):
    assert [(f.name, str(f.type), f.nullable) for f in schema] == [
        ("path", "string", False),
        ("last_modified", "timestamp[us, tz=UTC]", False),
        ("size", "uint64", False),
        ("e_tag", "string", True),
        ("version", "string", True),
    ], schema
assert "arro3" not in {{name.split(".")[0] for name, m in sys.modules.items() if m is not None}}
print("ok")
"""


def test_list_arrow_without_arro3(request: pytest.FixtureRequest) -> None:
    script = NO_ARRO3_SCRIPT.format(preload=_replayed_plugins(request.config))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
    process = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    assert process.stdout.strip().splitlines()[-1] == "ok"


# --------------------------------------------------------------------------------------------------
# A large listing (MemoryStore only, to stay fast)

LARGE_COUNT = 100_000
LARGE_CHUNK = 10_000


@pytest.fixture(scope="module")
def large_store() -> Any:
    store = MemoryStore()
    for i in range(LARGE_COUNT):
        obstore.put(store, f"dir/{i:06d}", b"")
    return store


def test_large_listing_arrow_chunks(large_store: Any) -> None:
    total, paths = 0, []
    for chunk in obstore.list(large_store, "dir", return_arrow=True, chunk_size=LARGE_CHUNK):
        batch = pa.record_batch(chunk)
        assert batch.num_rows == LARGE_CHUNK  # 100,000 divides evenly: every chunk is full
        _assert_schema(batch.schema)
        total += batch.num_rows
        paths.extend(batch.column("path").to_pylist())
    assert total == LARGE_COUNT
    assert len(set(paths)) == LARGE_COUNT
    for i in (0, 1, 9_999, 10_000, 54_321, 99_999):
        assert f"dir/{i:06d}" in paths
    assert sorted(paths) == [f"dir/{i:06d}" for i in range(LARGE_COUNT)]


def test_large_listing_dict_chunks_are_not_all_alive(large_store: Any) -> None:
    """Iterating dict chunks keeps about one chunk of Python objects alive, not the listing.

    Measured as memory traced by tracemalloc (allocations of Python objects, whoever makes them),
    not time: while chunk k is being looked at, everything allocated for chunks before it must
    be freed again. With ten chunks, a listing materialised up front (or chunks kept alive
    somewhere) would show ~10x the memory of one chunk; the bound is 2.5x (the previous chunk
    may still be alive while the next one is built). A control run that keeps every chunk shows
    the measurement sees the dicts at all.
    """
    stream = obstore.list(large_store, "dir", chunk_size=LARGE_CHUNK)
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        held: list[int] = []
        rows = 0
        for chunk in stream:
            assert len(chunk) == LARGE_CHUNK
            rows += len(chunk)
            held.append(tracemalloc.get_traced_memory()[0] - baseline)
        del chunk
        one_chunk = held[0]

        kept = []  # control: hold on to every chunk
        control_baseline = tracemalloc.get_traced_memory()[0]
        for chunk in obstore.list(large_store, "dir", chunk_size=LARGE_CHUNK):
            kept.append(chunk)
        all_chunks = tracemalloc.get_traced_memory()[0] - control_baseline
    finally:
        tracemalloc.stop()
    assert rows == LARGE_COUNT
    assert len(held) == LARGE_COUNT // LARGE_CHUNK
    # One chunk of 10,000 dicts is at least ~1 MiB of Python objects; the control sees ~10x that.
    assert one_chunk > LARGE_CHUNK * 100, held
    assert all_chunks > 8 * one_chunk, (all_chunks, one_chunk)
    assert max(held) < 2.5 * one_chunk, held
