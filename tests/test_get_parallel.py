"""get_parallel / get_parallel_async: an object into one Bytes through concurrent ranged GETs.

Runs on every backend of the conformance suite; the last tests use a small stdlib HTTP server
of their own to check what is sent on the wire (every part pinned to the first response's ETag)
and what happens when the object changes half-way.
"""

from __future__ import annotations

import http.server
import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import obstore
from obstore import Bytes
from obstore.exceptions import PreconditionError
from obstore.store import HTTPStore

from .conftest import Api

MiB = 1024 * 1024
DATA = random.Random(7).randbytes(10_007)


def get_parallel(api: Api, store: Any, path: str, **kwargs: Any) -> Bytes:
    result = api.get_parallel(store, path, **kwargs)
    assert type(result) is Bytes
    return result  # type: ignore[no-any-return]


@pytest.mark.parametrize("max_concurrency", [1, 4])
@pytest.mark.parametrize("chunk_size", [1000, 10_007, 1 << 20])
def test_round_trip(store: Any, api: Api, chunk_size: int, max_concurrency: int) -> None:
    store.put("obj", DATA)
    got = get_parallel(api, store, "obj", chunk_size=chunk_size, max_concurrency=max_concurrency)
    assert bytes(got) == DATA


@pytest.mark.parametrize("data", [b"", b"x"], ids=["empty", "one-byte"])
def test_tiny_objects(store: Any, api: Api, data: bytes) -> None:
    store.put("obj", data)
    assert bytes(get_parallel(api, store, "obj", chunk_size=1)) == data


@pytest.mark.parametrize(
    ("range_option", "expected"),
    [
        ((10, 5_010), DATA[10:5_010]),
        ({"offset": 2_500}, DATA[2_500:]),
        ({"suffix": 3_333}, DATA[-3_333:]),
    ],
    ids=["bounded", "offset", "suffix"],
)
def test_range_option(store: Any, api: Api, range_option: Any, expected: bytes) -> None:
    store.put("obj", DATA)
    got = get_parallel(api, store, "obj", options={"range": range_option}, chunk_size=700)
    assert bytes(got) == expected


def test_big_object_matches_get(store: Any, api: Api, big_data: bytes) -> None:
    store.put("big", big_data, use_multipart=False)  # WebDAV has no multipart
    got = get_parallel(api, store, "big", chunk_size=MiB, max_concurrency=3)
    assert bytes(got) == big_data


def test_buffer_populated_ahead(store: Any) -> None:
    """A body of 32 MiB or more lands in the buffer whose pages a helper thread populates."""
    data = random.Random(3).randbytes(33 * MiB + 5)
    store.put("large", data, use_multipart=False)
    got = obstore.get_parallel(store, "large", chunk_size=8 * MiB, max_concurrency=3)
    assert bytes(got) == data
    # the same buffer kind serves get().bytes() of large bodies
    assert bytes(obstore.get(store, "large").bytes()) == data


def test_conditions_of_the_first_request(store: Any, api: Api) -> None:
    store.put("obj", DATA)
    e_tag = store.head("obj")["e_tag"]
    assert bytes(get_parallel(api, store, "obj", options={"if_match": e_tag})) == DATA
    with pytest.raises(PreconditionError):
        api.get_parallel(store, "obj", options={"if_match": '"not-the-etag"'}, chunk_size=700)


def test_missing_object(store: Any, api: Api) -> None:
    with pytest.raises(FileNotFoundError):
        api.get_parallel(store, "missing", chunk_size=700)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"chunk_size": 0}, "chunk_size"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"options": {"head": True}}, "head"),
        ({"options": {"rnage": (1, 2)}}, "rnage"),
    ],
    ids=["chunk_size", "max_concurrency", "head", "unknown-option"],
)
def test_bad_arguments(store: Any, kwargs: dict[str, Any], message: str) -> None:
    store.put("obj", DATA)
    with pytest.raises(ValueError, match=message):
        obstore.get_parallel(store, "obj", **kwargs)


# ------------------------------------------------------------------------------------------------
# On the wire: a tiny HTTP server that serves one object, records the requests, and can change the
# object after the first request.


class _Object:
    def __init__(self) -> None:
        self.versions = [random.Random(11).randbytes(50_000), random.Random(12).randbytes(50_000)]
        self.current = 0
        self.change_after_first = False
        self.requests: list[dict[str, str | None]] = []
        self.lock = threading.Lock()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    obj: _Object

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        obj = self.obj
        with obj.lock:
            obj.requests.append(
                {"range": self.headers.get("Range"), "if_match": self.headers.get("If-Match")}
            )
            version = obj.current
            if obj.change_after_first:
                obj.current = 1
        body, e_tag = obj.versions[version], f'"v{version}"'
        if_match = self.headers.get("If-Match")
        if if_match is not None and if_match != e_tag:
            self.send_response(412)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status, start, end = 200, 0, len(body)
        if (header := self.headers.get("Range")) is not None:
            first, _, last = header.removeprefix("bytes=").partition("-")
            start, end, status = int(first), min(int(last) + 1, len(body)), 206
        self.send_response(status)
        self.send_header("ETag", e_tag)
        self.send_header("Last-Modified", "Wed, 25 Nov 2026 00:00:00 GMT")
        self.send_header("Content-Length", str(end - start))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(body)}")
        self.end_headers()
        self.wfile.write(body[start:end])


@pytest.fixture
def http_object() -> Iterator[tuple[_Object, HTTPStore]]:
    obj = _Object()
    handler = type("Handler", (_Handler,), {"obj": obj})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        store = HTTPStore.from_url(
            f"http://127.0.0.1:{server.server_port}", client_options={"allow_http": True}
        )
        yield obj, store
    finally:
        server.shutdown()
        server.server_close()


def test_parts_are_pinned_to_the_first_etag(http_object: tuple[_Object, HTTPStore]) -> None:
    obj, store = http_object
    got = obstore.get_parallel(store, "obj", chunk_size=16_384, max_concurrency=2)
    assert bytes(got) == obj.versions[0]
    first, *parts = obj.requests
    assert first == {"range": None, "if_match": None}
    assert sorted(p["range"] or "" for p in parts) == sorted(
        f"bytes={s}-{min(s + 16_384, 50_000) - 1}" for s in range(16_384, 50_000, 16_384)
    )
    assert {p["if_match"] for p in parts} == {'"v0"'}


def test_object_changing_during_the_download_fails(
    http_object: tuple[_Object, HTTPStore],
) -> None:
    obj, store = http_object
    obj.change_after_first = True
    with pytest.raises(PreconditionError):
        obstore.get_parallel(store, "obj", chunk_size=16_384)
