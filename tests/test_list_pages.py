"""Listings that span several pages of the service's answer, on every server kind: each object is
listed once, in the service's order, with the metadata the one-level listing reports (S3's and
GCS's pages are read by our own connector, Azure's by object_store), chunks keep their size across
page boundaries, an offset past a page boundary is honoured, Arrow listings carry the same rows,
and a stream asks for one page at a time."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

import obstore

from .conftest import STORE_KINDS, Backend, run

PAGED_KINDS = [k for k in ("s3-minio", "s3-moto", "gcs", "azurite") if k in STORE_KINDS]

#: Names that XML escapes or that need care in a URL, spread over the pages.
ODD_NAMES = [
    "a & b",
    "less < more > less",
    "quote \" and ' apostrophe",
    "plus+sign",
    "100% sure",
    "café",
    "日本語",
    "two  spaces",
    "semi;colon=equals",
]

#: Three pages of S3's and GCS's 1,000 objects (Azure answers up to 5,000 per page: one).
COUNT = 2_100


def _keys() -> list[str]:
    keys = [f"k/{i:05}" for i in range(COUNT - len(ODD_NAMES))]
    step = len(keys) // len(ODD_NAMES)
    keys += [f"k/{i * step:05} {name}" for i, name in enumerate(ODD_NAMES)]
    # The services list keys in the order of their UTF-8 bytes.
    return sorted(keys, key=lambda k: k.encode())


@pytest.fixture(scope="module", params=PAGED_KINDS)
def paged(request: pytest.FixtureRequest, servers: Any) -> tuple[Any, list[str], Backend, Any]:
    """A store holding the `_keys()` objects, its keys, its kind, and its server: filled once
    per server kind, and only read by the tests."""
    from .conftest import BACKENDS, _server_store

    backend = BACKENDS[request.param]
    server = servers.get(backend.server)
    store = _server_store(backend, server, f"pages-{uuid.uuid4().hex}")
    keys = _keys()

    async def fill() -> None:
        limit = asyncio.Semaphore(64)

        async def put(key: str) -> None:
            async with limit:
                await obstore.put_async(store, key, key.encode())

        await asyncio.gather(*(put(key) for key in keys))

    run(fill)
    return store, keys, backend, server


def _without_checksums(metas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in meta.items() if k != "checksums"} for meta in metas]


def test_every_object_is_listed_once_in_order_with_its_one_level_metadata(paged: Any) -> None:
    store, keys, backend, _ = paged
    chunks = list(store.list("k", chunk_size=7))
    assert [len(c) for c in chunks[:-1]] == [7] * (len(chunks) - 1)
    assert 1 <= len(chunks[-1]) <= 7
    listed = [meta for chunk in chunks for meta in chunk]
    assert [meta["path"] for meta in listed] == keys
    # list_with_delimiter reads its pages through object_store's own parser.
    one_level = store.list_with_delimiter("k")
    assert one_level["common_prefixes"] == []
    by_path = {meta["path"]: meta for meta in one_level["objects"]}
    assert _without_checksums(listed) == _without_checksums([by_path[k] for k in keys])
    assert [meta["size"] for meta in listed] == [len(k.encode()) for k in keys]
    for meta in listed[:: COUNT // 7]:
        head = store.head(meta["path"])
        assert meta["size"] == head["size"]
        # Azure's listing names each ETag without the quotes its HEAD answer has.
        if backend.kind != "azurite":
            assert meta["e_tag"] == head["e_tag"]


def test_async_listing_and_collect_after_a_partial_read_list_the_rest(paged: Any) -> None:
    store, keys, _, _ = paged

    async def main() -> tuple[list[Any], list[Any]]:
        stream = obstore.list(store, "k", chunk_size=999)
        first = await stream.__anext__()
        second = await stream.__anext__()
        rest = await stream.collect_async()
        return [*first, *second], list(rest)

    head, rest = run(main)
    assert len(head) == 1998
    assert [meta["path"] for meta in [*head, *rest]] == keys


def test_an_offset_past_a_page_boundary_lists_what_follows_it(paged: Any) -> None:
    store, keys, _, _ = paged
    offset = keys[1_500]
    listed = store.list("k", offset=offset).collect()
    assert [meta["path"] for meta in listed] == keys[1_501:]


def test_arrow_listing_across_pages_has_the_rows_of_the_dict_listing(paged: Any) -> None:
    pa = pytest.importorskip("pyarrow")
    store, keys, _, _ = paged
    batches = [pa.record_batch(b) for b in store.list("k", return_arrow=True, chunk_size=500)]
    assert [b.num_rows for b in batches] == [500] * (COUNT // 500) + [COUNT % 500]
    rows = pa.Table.from_batches(batches).to_pylist()
    dicts = _without_checksums(store.list("k").collect())
    assert [row["path"] for row in rows] == keys
    assert rows == dicts


def test_a_stream_asks_for_one_page_per_page_of_objects_it_returns(paged: Any) -> None:
    _, keys, backend, server = paged
    if backend.kind == "azurite":
        pytest.skip("Azure's pages hold 5,000 objects: 1,200 fit in one")
    from .conftest import _server_store

    events: list[Any] = []
    prefix = f"lazy-{uuid.uuid4().hex}"
    writer = _server_store(backend, server, prefix)

    async def fill() -> None:
        await asyncio.gather(*(obstore.put_async(writer, k, b"") for k in keys[:1_200]))

    run(fill)
    reader = type(writer)(
        **{**server.store_kwargs, "prefix": prefix, "request_hook": events.append}
    )
    stream = reader.list("k", chunk_size=10)
    first = next(stream)
    assert obstore.flush_request_hooks(10.0)
    pages = [e for e in events if e.operation == "list" and e.method == "GET"]
    assert len(pages) == 1, pages
    assert [meta["path"] for meta in first] == keys[:10]
    rest = stream.collect()
    assert obstore.flush_request_hooks(10.0)
    pages = [e for e in events if e.operation == "list" and e.method == "GET"]
    assert len(pages) == 2, pages
    assert [meta["path"] for meta in [*first, *rest]] == keys[:1_200]
