"""Reading objects: get, get_range, get_ranges and head return the stored bytes and metadata;
every GetOptions key (range, head, conditions, version) is honoured; a GetResult is read once, as
a whole or as a BytesStream; wrong arguments raise.
"""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

import pytest

import obstore
from obstore import Bytes
from obstore.exceptions import BaseError, NotModifiedError, PreconditionError

from .conftest import Api, Backend, assert_meta_path, reference_bug, run

MiB = 1024 * 1024
DATA = b"0123456789abcdefghij"  # 20 bytes
UTC = datetime.UTC
LONG_AGO = datetime.datetime(2000, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime.datetime(2100, 1, 1, tzinfo=UTC)
DISPOSED = "Result has already been disposed."


@pytest.fixture
def stored(store: Any) -> Any:
    """The store with DATA at "dir/data"."""
    store.put("dir/data", DATA)
    return store


def assert_object_meta(meta: Any, path: str, size: int) -> None:
    assert type(meta) is dict
    # head and GetResult.meta add the server's checksums (see tests/test_checksums.py).
    assert list(meta) == ["path", "last_modified", "size", "e_tag", "version", "checksums"]
    assert type(meta["checksums"]) is dict
    assert_meta_path(meta["path"], path)
    assert meta["size"] == size
    assert type(meta["size"]) is int
    modified = meta["last_modified"]
    assert isinstance(modified, datetime.datetime)
    assert modified.utcoffset() == datetime.timedelta(0)
    assert modified.tzinfo is not None
    assert LONG_AGO < modified < FAR_FUTURE
    assert meta["e_tag"] is None or isinstance(meta["e_tag"], str)
    assert meta["version"] is None or isinstance(meta["version"], str)


# --------------------------------------------------------------------------------------------------
# get / head


def test_get_whole_object(stored: Any, api: Api) -> None:
    result = api.get(stored, "dir/data")
    assert result.range == (0, len(DATA))
    assert_object_meta(result.meta, "dir/data", len(DATA))
    assert api.get_bytes(stored, "dir/data") == DATA


def test_get_returns_bytes_type(stored: Any) -> None:
    body = stored.get("dir/data").bytes()
    assert isinstance(body, Bytes)
    assert body == DATA


def test_get_empty_and_one_byte(store: Any, api: Api) -> None:
    api.put(store, "empty", b"")
    api.put(store, "one", b"\xff")
    assert api.get_bytes(store, "empty") == b""
    assert api.get_bytes(store, "one") == b"\xff"
    assert api.get(store, "empty").range == (0, 0)
    assert api.head(store, "empty")["size"] == 0


def test_get_missing(store: Any, api: Api) -> None:
    with pytest.raises(FileNotFoundError):
        api.get(store, "missing")
    with pytest.raises(FileNotFoundError):
        api.get(store, "dir/missing/deeper")


def test_head(stored: Any, api: Api) -> None:
    meta = api.head(stored, "dir/data")
    assert_object_meta(meta, "dir/data", len(DATA))
    assert meta == api.get(stored, "dir/data").meta


def test_head_missing(store: Any, api: Api) -> None:
    with pytest.raises(FileNotFoundError):
        api.head(store, "missing")


def test_head_of_directory_like_prefix_is_not_found(stored: Any) -> None:
    with pytest.raises(FileNotFoundError):
        stored.head("dir")


def test_head_etag_changes_on_overwrite(store: Any, backend: Backend) -> None:
    first = store.put("a", b"one")
    second = store.put("a", b"two!")
    if first["e_tag"] is not None:
        assert first["e_tag"] != second["e_tag"]
        assert store.head("a")["e_tag"] == second["e_tag"]


# --------------------------------------------------------------------------------------------------
# GetOptions


@pytest.mark.parametrize(
    ("range_option", "expected_range"),
    [
        ((2, 5), (2, 5)),
        ([2, 5], (2, 5)),
        ((0, 20), (0, 20)),
        ((19, 20), (19, 20)),
        ((15, 100), (15, 20)),
        ({"offset": 0}, (0, 20)),
        ({"offset": 7}, (7, 20)),
        ({"offset": 19}, (19, 20)),
        ({"suffix": 5}, (15, 20)),
        ({"suffix": 20}, (0, 20)),
        ({"suffix": 100}, (0, 20)),
    ],
    ids=repr,
)
def test_get_option_range(
    stored: Any, api: Api, range_option: Any, expected_range: tuple[int, int]
) -> None:
    options = {"range": range_option}
    result = api.get(stored, "dir/data", options=options)
    assert result.range == expected_range
    assert type(result.range) is tuple
    assert result.meta["size"] == len(DATA)
    assert (
        api.get_bytes(stored, "dir/data", options=options)
        == DATA[expected_range[0] : expected_range[1]]
    )


@pytest.mark.parametrize(
    "range_option", [(20, 30), (25, 30), {"offset": 20}, {"offset": 100}], ids=repr
)
def test_get_option_range_start_past_end(stored: Any, api: Api, range_option: Any) -> None:
    with pytest.raises(BaseError):
        api.get(stored, "dir/data", options={"range": range_option})


@pytest.mark.parametrize("range_option", [(5, 5), (5, 3)], ids=repr)
def test_get_option_range_empty_or_inverted(stored: Any, range_option: Any) -> None:
    with pytest.raises((BaseError, ValueError)):
        stored.get("dir/data", options={"range": range_option})


@pytest.mark.parametrize(
    "range_option",
    [(1, 2, 3), [1], "0-5", 5, {"start": 1}, {}, None],
    ids=repr,
)
def test_get_option_range_malformed(stored: Any, range_option: Any) -> None:
    message = (
        "Unexpected input for byte range.\n"
        "Expected two-integer tuple or list, or dict with 'offset' or 'suffix' key."
    )
    with pytest.raises((ValueError, TypeError)) as info:
        stored.get("dir/data", options={"range": range_option})
    if isinstance(info.value, ValueError):
        assert str(info.value) == message


def test_get_option_head(stored: Any, api: Api) -> None:
    result = api.get(stored, "dir/data", options={"head": True})
    assert_object_meta(result.meta, "dir/data", len(DATA))
    # Memory/Local still return the body; other backends may return none.
    body = bytes(result.bytes())
    assert body in (DATA, b"")


def test_get_option_if_match(stored: Any, api: Api, backend: Backend) -> None:
    e_tag = stored.head("dir/data")["e_tag"]
    assert api.get_bytes(stored, "dir/data", options={"if_match": e_tag}) == DATA
    if backend.if_match_star:
        assert api.get_bytes(stored, "dir/data", options={"if_match": "*"}) == DATA
    with pytest.raises(PreconditionError):
        api.get(stored, "dir/data", options={"if_match": '"not-the-etag"'})


def test_get_option_if_none_match(stored: Any, api: Api) -> None:
    e_tag = stored.head("dir/data")["e_tag"]
    assert api.get_bytes(stored, "dir/data", options={"if_none_match": '"other"'}) == DATA
    with pytest.raises(NotModifiedError):
        api.get(stored, "dir/data", options={"if_none_match": e_tag})


def test_get_option_if_modified_since(stored: Any, backend: Backend, api: Api) -> None:
    assert api.get_bytes(stored, "dir/data", options={"if_modified_since": LONG_AGO}) == DATA
    if backend.if_modified_since:
        with pytest.raises(NotModifiedError):
            api.get(stored, "dir/data", options={"if_modified_since": FAR_FUTURE})


def test_get_option_if_unmodified_since(stored: Any, api: Api) -> None:
    assert api.get_bytes(stored, "dir/data", options={"if_unmodified_since": FAR_FUTURE}) == DATA
    with pytest.raises(PreconditionError):
        api.get(stored, "dir/data", options={"if_unmodified_since": LONG_AGO})


def test_get_option_version(stored: Any, backend: Backend) -> None:
    version = stored.head("dir/data")["version"]
    if backend.versions:
        assert version is not None
        assert bytes(stored.get("dir/data", options={"version": version}).bytes()) == DATA
    elif backend.server and backend.rejects_unknown_version:
        # Unversioned servers reject a version id they never issued (moto: as a missing object).
        assert version is None
        with pytest.raises((BaseError, FileNotFoundError)):
            stored.get("dir/data", options={"version": "v1"})
    else:
        # In-process stores have no versions and ignore the option.
        assert version is None
        assert bytes(stored.get("dir/data", options={"version": "v1"}).bytes()) == DATA


def test_get_all_options_together(stored: Any) -> None:
    e_tag = stored.head("dir/data")["e_tag"]
    options = {
        "if_match": e_tag,
        "if_none_match": '"other"',
        "if_modified_since": LONG_AGO,
        "if_unmodified_since": FAR_FUTURE,
        "range": (1, 4),
        "head": False,
    }
    result = stored.get("dir/data", options=options)
    assert result.range == (1, 4)
    assert bytes(result.bytes()) == DATA[1:4]


def test_get_unknown_option_is_rejected(stored: Any) -> None:
    # obstore 0.12 ignored unknown GetOptions keys, so a typo silently changed nothing; the
    # foundation issue asks for a clear error naming the bad key instead.
    with pytest.raises(ValueError, match="no_such_option"):
        stored.get("dir/data", options={"no_such_option": 1})


@pytest.mark.parametrize(
    "options",
    [
        {"if_match": 5},
        {"if_none_match": b"etag"},
        {"if_modified_since": "2020-01-01"},
        {"if_unmodified_since": 0},
        {"head": "yes"},
    ],
    ids=repr,
)
def test_get_option_wrong_type(stored: Any, options: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        stored.get("dir/data", options=options)


@pytest.mark.parametrize("options", [5, "range", [("range", (0, 1))]], ids=repr)
def test_get_options_not_a_dict(stored: Any, options: Any) -> None:
    with pytest.raises(TypeError):
        stored.get("dir/data", options=options)


# --------------------------------------------------------------------------------------------------
# GetResult body


def test_get_result_single_consumption_sync(stored: Any) -> None:
    consumers = [
        lambda r: r.bytes(),
        lambda r: r.buffer(),
        lambda r: r.stream(),
        lambda r: iter(r),
        lambda r: list(r.stream(min_chunk_size=1)),
    ]
    for first in consumers:
        result = stored.get("dir/data")
        first(result)
        for second in consumers:
            with pytest.raises(ValueError, match=DISPOSED):
                second(result)
        # Metadata stays readable after consumption.
        assert result.meta["size"] == len(DATA)
        assert result.range == (0, len(DATA))
        assert isinstance(result.attributes, dict)


def test_get_result_single_consumption_async(stored: Any) -> None:
    async def main() -> None:
        result = await obstore.get_async(stored, "dir/data")
        assert await result.bytes_async() == DATA
        with pytest.raises(ValueError, match=DISPOSED):
            await result.bytes_async()
        with pytest.raises(ValueError, match=DISPOSED):
            await result.buffer_async()
        with pytest.raises(ValueError, match=DISPOSED):
            result.__aiter__()
        with pytest.raises(ValueError, match=DISPOSED):
            result.bytes()

        result = await stored.get_async("dir/data")
        assert [chunk async for chunk in result] == [DATA]
        with pytest.raises(ValueError, match=DISPOSED):
            await result.bytes_async()
        assert_meta_path(result.meta["path"], "dir/data")

    run(main)


def test_get_result_buffer(stored: Any) -> None:
    body = stored.get("dir/data").buffer()
    assert isinstance(body, Bytes)
    assert body == DATA

    async def main() -> Any:
        return await (await stored.get_async("dir/data")).buffer_async()

    assert run(main) == DATA


def test_stream_default_iteration(stored: Any) -> None:
    chunks = list(stored.get("dir/data"))
    assert all(type(chunk) is bytes for chunk in chunks)
    assert b"".join(chunks) == DATA


@pytest.mark.parametrize("min_chunk_size", [1, 1000, 64 * 1024, 3 * MiB])
def test_stream_large_min_chunk_size(store: Any, big_data: bytes, min_chunk_size: int) -> None:
    store.put("big", big_data, use_multipart=False)
    stream = store.get("big").stream(min_chunk_size=min_chunk_size)
    chunks = list(stream)
    assert all(type(chunk) is bytes for chunk in chunks)
    assert b"".join(chunks) == big_data
    assert all(len(chunk) >= min_chunk_size for chunk in chunks[:-1])
    # Exhausted stream keeps raising StopIteration.
    for _ in range(3):
        with pytest.raises(StopIteration):
            next(stream)


def test_stream_positional_min_chunk_size(store: Any, big_data: bytes) -> None:
    store.put("big", big_data, use_multipart=False)
    chunks = list(store.get("big").stream(2 * MiB))
    assert b"".join(chunks) == big_data
    assert all(len(chunk) >= 2 * MiB for chunk in chunks[:-1])


def test_stream_default_chunks_are_large(store: Any, big_data: bytes) -> None:
    store.put("big", big_data, use_multipart=False)
    chunks = list(store.get("big"))
    assert b"".join(chunks) == big_data
    assert all(len(chunk) >= 10 * MiB for chunk in chunks[:-1])


def test_stream_async(store: Any, big_data: bytes) -> None:
    store.put("big", big_data, use_multipart=False)

    async def main() -> None:
        result = await obstore.get_async(store, "big")
        stream = result.stream(min_chunk_size=MiB)
        assert stream.__aiter__() is stream
        chunks = [chunk async for chunk in stream]
        assert all(type(chunk) is bytes for chunk in chunks)
        assert b"".join(chunks) == big_data
        assert all(len(chunk) >= MiB for chunk in chunks[:-1])
        for _ in range(2):
            with pytest.raises(StopAsyncIteration):
                await stream.__anext__()

        result = await store.get_async("big")
        assert b"".join([chunk async for chunk in result]) == big_data

    run(main)


def test_stream_iter_returns_self(stored: Any) -> None:
    stream = stored.get("dir/data").stream()
    assert iter(stream) is stream


def test_stream_empty_object(store: Any) -> None:
    store.put("empty", b"")
    assert b"".join(store.get("empty").stream(min_chunk_size=1)) == b""


def test_stream_of_range(store: Any, big_data: bytes) -> None:
    store.put("big", big_data, use_multipart=False)
    result = store.get("big", options={"range": (MiB + 3, 9 * MiB + 7)})
    assert result.range == (MiB + 3, 9 * MiB + 7)
    chunks = list(result.stream(min_chunk_size=MiB))
    assert b"".join(chunks) == big_data[MiB + 3 : 9 * MiB + 7]


def test_get_large_bytes(store: Any, api: Api, big_data: bytes) -> None:
    store.put("big", big_data, use_multipart=False)
    assert api.get_bytes(store, "big") == big_data


# --------------------------------------------------------------------------------------------------
# get_range


def test_get_range_end_and_length(stored: Any, api: Api) -> None:
    assert api.get_range(stored, "dir/data", start=2, end=5) == DATA[2:5]
    assert api.get_range(stored, "dir/data", start=2, length=3) == DATA[2:5]
    assert api.get_range(stored, "dir/data", start=0, end=20) == DATA
    assert api.get_range(stored, "dir/data", start=19, length=1) == DATA[19:]
    result = api.get_range(stored, "dir/data", start=0, length=1)
    assert isinstance(result, Bytes)


def test_get_range_end_past_eof_is_clamped(stored: Any, api: Api) -> None:
    assert api.get_range(stored, "dir/data", start=15, end=1000) == DATA[15:]
    assert api.get_range(stored, "dir/data", start=10, length=1000) == DATA[10:]


@pytest.mark.parametrize("start", [20, 21, 1000])
def test_get_range_start_past_eof(stored: Any, api: Api, start: int) -> None:
    with pytest.raises(BaseError):
        api.get_range(stored, "dir/data", start=start, end=start + 5)


def test_get_range_argument_errors(stored: Any, api: Api) -> None:
    with pytest.raises(ValueError, match=r"^Either end or length must be non-None\.$"):
        api.get_range(stored, "dir/data", start=0)
    with pytest.raises(ValueError, match=r"^end and length cannot both be non-None\.$"):
        api.get_range(stored, "dir/data", start=0, end=1, length=1)
    with pytest.raises(ValueError, match=r"^Invalid range requested, start: 5 end: 5$"):
        api.get_range(stored, "dir/data", start=5, end=5)
    with pytest.raises(ValueError, match=r"^Invalid range requested, start: 5 end: 5$"):
        api.get_range(stored, "dir/data", start=5, length=0)
    with pytest.raises(ValueError, match=r"^Invalid range requested, start: 5 end: 3$"):
        api.get_range(stored, "dir/data", start=5, end=3)


def test_get_range_async_argument_errors_are_raised_at_call(stored: Any) -> None:
    async def main() -> None:
        with pytest.raises(ValueError, match="Either end or length must be non-None."):
            _ = obstore.get_range_async(stored, "dir/data", start=0)

    run(main)


def test_get_range_missing_object(store: Any, api: Api) -> None:
    with pytest.raises(FileNotFoundError):
        api.get_range(store, "missing", start=0, end=1)


@pytest.mark.parametrize("bad", [-1, "0", 1.5, None])
def test_get_range_bad_start(stored: Any, bad: Any) -> None:
    with pytest.raises((TypeError, ValueError, OverflowError)):
        stored.get_range("dir/data", start=bad, end=3)


def test_get_range_large(store: Any, api: Api, big_data: bytes) -> None:
    store.put("big", big_data, use_multipart=False)
    start, end = 3 * MiB - 17, 11 * MiB + 5
    assert api.get_range(store, "big", start=start, end=end) == big_data[start:end]


# --------------------------------------------------------------------------------------------------
# get_ranges


def test_get_ranges_order_and_lengths(stored: Any, api: Api) -> None:
    starts = [10, 0, 5, 5, 19]
    ends = [12, 3, 20, 6, 20]
    result = api.get_ranges(stored, "dir/data", starts=starts, ends=ends)
    assert type(result) is list
    assert all(isinstance(part, Bytes) for part in result)
    assert result == [DATA[s:e] for s, e in zip(starts, ends, strict=True)]
    lengths = [e - s for s, e in zip(starts, ends, strict=True)]
    assert api.get_ranges(stored, "dir/data", starts=starts, lengths=lengths) == result


@pytest.mark.parametrize("coalesce", [0, 1, 4, 1024 * 1024])
def test_get_ranges_coalesce(store: Any, api: Api, big_data: bytes, coalesce: int) -> None:
    store.put("big", big_data, use_multipart=False)
    starts = [0, 100, 5 * MiB, 5 * MiB + 10, 12 * MiB - 1, 7, 2 * MiB]
    lengths = [50, 1, MiB, 100, 1, 93, 3 * MiB]
    result = api.get_ranges(store, "big", starts=starts, lengths=lengths, coalesce=coalesce)
    assert [len(part) for part in result] == lengths
    assert result == [big_data[s : s + n] for s, n in zip(starts, lengths, strict=True)]


def test_get_ranges_end_past_eof_is_clamped(stored: Any) -> None:
    assert stored.get_ranges("dir/data", starts=[15, 0], ends=[100, 2]) == [DATA[15:], DATA[:2]]


def test_get_ranges_empty(stored: Any, api: Api) -> None:
    assert api.get_ranges(stored, "dir/data", starts=[], ends=[]) == []


def test_get_ranges_argument_errors(stored: Any, api: Api) -> None:
    with pytest.raises(ValueError, match=r"^Either ends or lengths must be non-None\.$"):
        api.get_ranges(stored, "dir/data", starts=[0])
    with pytest.raises(ValueError, match=r"^ends and lengths cannot both be non-None\.$"):
        api.get_ranges(stored, "dir/data", starts=[0], ends=[1], lengths=[1])
    with pytest.raises(ValueError, match=r"^Invalid range requested, start: 3 end: 1$"):
        api.get_ranges(stored, "dir/data", starts=[0, 3], ends=[1, 1])


def test_get_ranges_missing_object(store: Any, api: Api) -> None:
    with pytest.raises(FileNotFoundError):
        api.get_ranges(store, "missing", starts=[0], ends=[1])


def test_get_ranges_many(store: Any, big_data: bytes) -> None:
    store.put("big", big_data, use_multipart=False)
    starts = list(range(0, len(big_data) - 10, 65_537))
    result = store.get_ranges("big", starts=starts, lengths=[10] * len(starts), coalesce=0)
    assert result == [big_data[s : s + 10] for s in starts]


# --------------------------------------------------------------------------------------------------
# Async without a running loop


ASYNC_CALLS = {
    "get_async": lambda s: obstore.get_async(s, "dir/data"),
    "get_range_async": lambda s: obstore.get_range_async(s, "dir/data", start=0, end=1),
    "get_ranges_async": lambda s: obstore.get_ranges_async(s, "dir/data", starts=[0], ends=[1]),
    "head_async": lambda s: obstore.head_async(s, "dir/data"),
    "put_async": lambda s: obstore.put_async(s, "other", b"x"),
    "delete_async": lambda s: obstore.delete_async(s, "dir/data"),
    "copy_async": lambda s: obstore.copy_async(s, "dir/data", "other"),
    "rename_async": lambda s: obstore.rename_async(s, "dir/data", "other"),
    "list_with_delimiter_async": lambda s: obstore.list_with_delimiter_async(s),
}


@pytest.mark.parametrize("name", sorted(ASYNC_CALLS))
def test_async_function_without_running_loop(stored: Any, name: str) -> None:
    with pytest.raises(RuntimeError, match="no running event loop"):
        _ = ASYNC_CALLS[name](stored)
    # Nothing happened.
    assert bytes(stored.get("dir/data").bytes()) == DATA
    with pytest.raises(FileNotFoundError):
        stored.head("other")


def test_result_async_methods_without_running_loop(stored: Any) -> None:
    result = stored.get("dir/data")
    with pytest.raises(RuntimeError, match="no running event loop"):
        _ = result.bytes_async()
    listing = stored.list()
    with pytest.raises(RuntimeError, match="no running event loop"):
        listing.collect_async()


def test_async_functions_return_awaitables(stored: Any) -> None:
    async def main() -> None:
        future = obstore.head_async(stored, "dir/data")
        assert hasattr(future, "__await__")
        meta = await future
        assert meta["size"] == len(DATA)
        results = await asyncio.gather(
            *(obstore.get_range_async(stored, "dir/data", start=i, length=1) for i in range(20))
        )
        assert b"".join(bytes(r) for r in results) == DATA

    run(main)


# --------------------------------------------------------------------------------------------------
# Where the reference (obstore 0.12.1) panics: our implementation raises a clear error instead.


def test_get_ranges_single_range_start_past_eof(stored: Any) -> None:
    with pytest.raises(BaseError):
        stored.get_ranges("dir/data", starts=[25], ends=[30])


@reference_bug  # 0.12.1 panics ("range start must not be greater than end") inside coalesced ranges
@pytest.mark.parametrize(("starts", "ends"), [([0, 50], [1, 60]), ([0, 19, 30], [2, 20, 31])])
def test_get_ranges_one_range_past_eof_among_others(
    stored: Any, starts: list[int], ends: list[int]
) -> None:
    with pytest.raises(BaseError):
        stored.get_ranges("dir/data", starts=starts, ends=ends)
    # The store is still usable afterwards.
    assert stored.get_ranges("dir/data", starts=[0], ends=[2]) == [DATA[:2]]


@reference_bug  # 0.12.1 silently returns b"" for a range starting at EOF, coalesced with another
def test_get_ranges_range_at_eof_among_others(stored: Any) -> None:
    # get_range(start=len) is an error; the same range inside get_ranges must be one too.
    with pytest.raises(BaseError):
        stored.get_range("dir/data", start=20, end=21)
    with pytest.raises(BaseError):
        stored.get_ranges("dir/data", starts=[5, 20], ends=[10, 21])
