"""Faults survived, proven: reads and multipart uploads through a fault-injecting proxy.

A :class:`~tests.servers.fault_proxy.FaultProxy` sits between the store and MinIO (S3Store) or
Azurite (AzureStore) and breaks chosen requests: bursts of 503 / 429, a connection reset before
the response or in the middle of the body, a body shorter than its ``Content-Length`` (or, well
framed, shorter than its ``Content-Range``), a response that stalls past the client timeout, a
body that drips in slowly. What must hold:

* a read that the library retries returns exactly the object's bytes (compared by SHA-256);
* a read that cannot be completed raises, on every read path; it never returns short data;
* a stalled response raises a timeout error within the configured timeout;
* failed part uploads are retried part by part, and a multipart upload that cannot complete
  raises and leaves no upload in progress on the server.

Every read runs in a thread joined with a deadline, so a hang fails the test instead of the run.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

import obstore
from obstore.exceptions import BaseError
from tests.servers import _http
from tests.servers.fault_proxy import (
    Action,
    Drip,
    FaultProxy,
    Reset,
    Respond,
    Rule,
    Shorten,
    Stall,
    Truncate,
)

from .conftest import BACKENDS, STORE_KINDS, _server_store

KiB = 1024
MiB = 1024 * KiB
SIZE = 1 * MiB  # the object the read tests read
PART = 5 * MiB  # the S3 minimum part size
KINDS = [kind for kind in ("s3-minio", "azurite") if kind in STORE_KINDS]
#: no test may take longer than this; a read still running then has hung
HANG = 60.0

pytestmark = pytest.mark.skipif(not KINDS, reason="neither s3-minio nor azurite selected")


# --------------------------------------------------------------------------------------------------
# Fixtures: a server, a proxy in front of it, stores on both.


@dataclass
class Faulty:
    """One server kind, a proxy in front of it and a fresh prefix on it."""

    kind: str
    server: Any
    proxy: FaultProxy
    prefix: str

    def store(
        self,
        *,
        timeout: float = 10.0,
        read_timeout: float | None = None,
        max_retries: int = 3,
        retry_timeout: float = 20.0,
    ) -> Any:
        """A store whose requests go through the proxy, with small timeouts and fast retries."""
        import obstore.store

        kwargs = dict(self.server.store_kwargs)  # explicit credentials, never the environment
        kwargs["endpoint"] = kwargs["endpoint"].replace(self.server.endpoint, self.proxy.url, 1)
        client_options: dict[str, Any] = {
            "allow_http": True,
            "timeout": timedelta(seconds=timeout),
            "connect_timeout": timedelta(seconds=2),
        }
        if read_timeout is not None:
            client_options["read_timeout"] = timedelta(seconds=read_timeout)
        kwargs["client_options"] = client_options
        kwargs["retry_config"] = {
            "max_retries": max_retries,
            "retry_timeout": timedelta(seconds=retry_timeout),
            "backoff": {
                "init_backoff": timedelta(milliseconds=10),
                "max_backoff": timedelta(milliseconds=100),
                "base": 2,
            },
        }
        cls = getattr(obstore.store, BACKENDS[self.kind].store_class)
        return cls(prefix=self.prefix, **kwargs)

    def direct(self) -> Any:
        """A store on the same prefix that talks to the server directly (set-up and checks)."""
        return _server_store(BACKENDS[self.kind], self.server, self.prefix)

    def object_path(self, name: str) -> str:
        """A regular expression matching the URL path of object ``name``."""
        return "/" + re.escape(f"{self.prefix}/{name}") + "$"


@pytest.fixture(params=KINDS)
def faulty(request: pytest.FixtureRequest) -> Iterator[Faulty]:
    kind = request.param
    server = request.getfixturevalue("servers").get(BACKENDS[kind].server)
    with FaultProxy(server.endpoint) as proxy:
        yield Faulty(kind, server, proxy, f"faults-{uuid.uuid4().hex}")


DATA = random.Random(13).randbytes(SIZE)


@pytest.fixture
def data() -> bytes:
    return DATA


@pytest.fixture
def stored(faulty: Faulty, data: bytes) -> str:
    """The path of `data`, written without faults; every test reads it through the proxy."""
    obstore.put(faulty.direct(), "obj", data)
    return "obj"


# --------------------------------------------------------------------------------------------------
# Helpers


def digest(data: bytes) -> str:
    return f"{len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]}"


def assert_exact(got: bytes, expected: bytes) -> None:
    assert digest(got) == digest(expected)


def bounded(
    call: Callable[[], Any], limit: float = HANG
) -> tuple[Any, BaseException | None, float]:
    """Run ``call`` in a thread; return ``(result, exception, seconds)``; fail if it hangs."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = call()
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            outcome["error"] = e

    started = time.monotonic()
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(limit)
    seconds = time.monotonic() - started
    if thread.is_alive():
        pytest.fail(f"the call hung: still running after {limit:.0f} s")
    return outcome.get("result"), outcome.get("error"), seconds


def expect_exact(call: Callable[[], bytes], expected: bytes) -> None:
    result, error, _ = bounded(call)
    if error is not None:
        raise error
    assert_exact(result, expected)


def expect_error(call: Callable[[], bytes], expected: bytes) -> BaseException:
    """The call must raise an ``Exception``: never return (short or exact) data, never panic."""
    result, error, _ = bounded(call)
    if error is None:
        pytest.fail(f"returned {digest(result)} instead of raising (the object is {len(expected)})")
    assert isinstance(error, Exception), f"not an Exception: {type(error)!r}: {error}"
    return error


def expect_exact_or_error(call: Callable[[], bytes], expected: bytes) -> None:
    """Retrying transparently is as correct as raising; returning short data is not."""
    result, error, _ = bounded(call)
    if error is None:
        assert_exact(result, expected)
    else:
        assert isinstance(error, Exception), f"not an Exception: {type(error)!r}: {error}"


def run_async(make: Callable[[], Any]) -> Any:
    async def main() -> Any:
        return await make()

    return asyncio.run(main())


# --------------------------------------------------------------------------------------------------
# Every read path, each returning the whole object (or ranges that make it up).

Read = Callable[[Any, str], bytes]


def read_get(store: Any, path: str) -> bytes:
    return bytes(obstore.get(store, path).bytes())


def read_get_async(store: Any, path: str) -> bytes:
    async def main() -> bytes:
        result = await obstore.get_async(store, path)
        return bytes(await result.bytes_async())

    return run_async(main)


def read_get_range(store: Any, path: str) -> bytes:
    return bytes(obstore.get_range(store, path, start=0, end=SIZE))


def read_get_range_async(store: Any, path: str) -> bytes:
    return bytes(run_async(lambda: obstore.get_range_async(store, path, start=0, end=SIZE)))


def read_get_ranges(store: Any, path: str) -> bytes:
    # Two requests: ranges one byte apart with coalesce=0 (adjacent ranges would be merged). The
    # byte between them comes from DATA, so the result compares with the whole object.
    half = SIZE // 2
    first, second = obstore.get_ranges(
        store, path, starts=[0, half + 1], ends=[half, SIZE], coalesce=0
    )
    return bytes(first) + DATA[half : half + 1] + bytes(second)


def read_stream(store: Any, path: str) -> bytes:
    return b"".join(obstore.get(store, path).stream(min_chunk_size=64 * KiB))


def read_stream_async(store: Any, path: str) -> bytes:
    async def main() -> bytes:
        result = await obstore.get_async(store, path)
        return b"".join([chunk async for chunk in result.stream(min_chunk_size=64 * KiB)])

    return run_async(main)


def read_open_reader(store: Any, path: str) -> bytes:
    reader = obstore.open_reader(store, path, buffer_size=256 * KiB)
    pieces = []
    while piece := reader.read(100 * KiB):
        pieces.append(bytes(piece))
    return b"".join(pieces)


def read_get_parallel(store: Any, path: str) -> bytes:
    return bytes(obstore.get_parallel(store, path, chunk_size=256 * KiB, max_concurrency=4))


READS: dict[str, Read] = {
    "get": read_get,
    "get_async": read_get_async,
    "get_range": read_get_range,
    "get_range_async": read_get_range_async,
    "get_ranges": read_get_ranges,
    "stream": read_stream,
    "stream_async": read_stream_async,
    "open_reader": read_open_reader,
    "get_parallel": read_get_parallel,
}


@pytest.fixture(params=sorted(READS))
def read(request: pytest.FixtureRequest) -> Read:
    return READS[request.param]


def fault_gets(faulty: Faulty, path: str, action: Action, times: int | None = None) -> Rule:
    """Apply ``action`` to the GETs of ``path`` (``times`` of them, or all)."""
    return faulty.proxy.add(Rule(action, method="GET", path=faulty.object_path(path), times=times))


# --------------------------------------------------------------------------------------------------
# The proxy itself: each fault does what it says (a passing read test proves nothing otherwise).


def test_proxy_faults_are_real(faulty: Faulty, stored: str) -> None:
    url = faulty.proxy.url
    path = _object_url_path(faulty, stored)
    headers = _signed_get_headers(faulty, path)

    fault_gets(faulty, stored, Respond(503), times=1)
    status, _, _ = _http.request("GET", url + path, headers=headers)
    assert status == 503

    fault_gets(faulty, stored, Truncate(1000), times=1)
    got = _raw_get(url + path, headers)
    assert got == ("short", 1000), got

    fault_gets(faulty, stored, Reset(5000), times=1)
    got = _raw_get(url + path, headers)
    assert got[0] == "reset", got

    fault_gets(faulty, stored, Reset(), times=1)
    got = _raw_get(url + path, headers)
    assert got[0] in ("reset", "closed"), got

    fault_gets(faulty, stored, Shorten(2000), times=1)
    got = _raw_get(url + path, headers)
    assert got == ("ok", 2000), got

    fault_gets(faulty, stored, Stall(3000), times=1)
    got = _raw_get(url + path, headers, timeout=0.5)
    assert got == ("stalled", 3000), got

    fault_gets(faulty, stored, Drip(SIZE // 4, 0.2), times=1)
    started = time.monotonic()
    got = _raw_get(url + path, headers)
    assert got == ("ok", SIZE), got
    assert 0.5 <= time.monotonic() - started < 3  # three pauses of 0.2 s before the last chunk

    status, _, body = _http.request("GET", url + path, headers=headers)
    assert status == 200
    assert len(body) == SIZE


def _object_url_path(faulty: Faulty, name: str) -> str:
    if faulty.kind == "azurite":
        account = faulty.server.store_kwargs["account_name"]
        return f"/{account}/{faulty.server.bucket}/{faulty.prefix}/{name}"
    return f"/{faulty.server.bucket}/{faulty.prefix}/{name}"


def _signed_get_headers(faulty: Faulty, path: str) -> dict[str, str]:
    kwargs = faulty.server.store_kwargs
    url = faulty.proxy.url + path
    if faulty.kind == "azurite":
        return _http.azure_sharedkey_headers(
            "GET", url, account=kwargs["account_name"], key_b64=kwargs["account_key"]
        )
    return _http.sigv4_headers(
        "GET", url, access_key=kwargs["access_key_id"], secret_key=kwargs["secret_access_key"]
    )


def _raw_get(url: str, headers: dict[str, str], timeout: float = 10) -> tuple[str, int]:
    """GET ``url`` and read the body: ("ok", n), ("short", n) (clean close), ("reset", n),
    ("stalled", n) (nothing for ``timeout`` s) or ("closed", 0) (no response)."""
    import http.client
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    received = 0
    try:
        connection.request("GET", parts.path, headers=headers)
        try:
            response = connection.getresponse()
        except (ConnectionResetError, http.client.RemoteDisconnected):
            return ("closed", 0)
        length = int(response.headers["Content-Length"])
        while received < length:
            try:
                piece = response.read1(64 * KiB)
            except ConnectionResetError:
                return ("reset", received)
            except TimeoutError:
                return ("stalled", received)
            if not piece:
                return ("short", received)
            received += len(piece)
        return ("ok", received)
    finally:
        connection.close()


# --------------------------------------------------------------------------------------------------
# Reads: faults the library retries give exact data.


@pytest.mark.parametrize("status", [503, 429])
def test_status_burst_is_retried(
    faulty: Faulty, stored: str, data: bytes, read: Read, status: int
) -> None:
    rule = fault_gets(faulty, stored, Respond(status, b"<Error><Code>SlowDown</Code></Error>"), 3)
    expect_exact(lambda: read(faulty.store(), stored), data)
    assert rule.applied == 3


def test_reset_before_response_is_retried(
    faulty: Faulty, stored: str, data: bytes, read: Read
) -> None:
    rule = fault_gets(faulty, stored, Reset(), times=2)
    expect_exact(lambda: read(faulty.store(), stored), data)
    assert rule.applied == 2


def test_reset_before_body_is_retried(faulty: Faulty, stored: str, data: bytes, read: Read) -> None:
    rule = fault_gets(faulty, stored, Reset(0), times=2)
    expect_exact(lambda: read(faulty.store(), stored), data)
    assert rule.applied == 2


def test_slow_drip_within_timeout(faulty: Faulty, stored: str, data: bytes, read: Read) -> None:
    # 32 pieces 25 ms apart: the whole body takes ~0.8 s, longer than the 0.5 s allowed between
    # two reads, but each piece comes well within it.
    fault_gets(faulty, stored, Drip(32 * KiB, 0.025))
    expect_exact(lambda: read(faulty.store(read_timeout=0.5), stored), data)


# --------------------------------------------------------------------------------------------------
# Reads: a body cut short is retried or raises, never returned short.


# Every response of the "raises" tests stops after CUT bytes: the 1 + max_retries attempts of the
# store cannot make up any request of the reads (100 KiB or more).
CUT = 10_000


def test_truncated_body_raises(faulty: Faulty, stored: str, data: bytes, read: Read) -> None:
    fault_gets(faulty, stored, Truncate(CUT))
    expect_error(lambda: read(faulty.store(max_retries=2), stored), data)


def test_truncated_body_once_is_exact_or_raises(
    faulty: Faulty, stored: str, data: bytes, read: Read
) -> None:
    rule = fault_gets(faulty, stored, Truncate(100_000), times=1)
    expect_exact_or_error(lambda: read(faulty.store(), stored), data)
    assert rule.applied == 1


def read_get_with_range(store: Any, path: str) -> bytes:
    return bytes(obstore.get(store, path, options={"range": (0, SIZE)}).bytes())


def read_stream_with_range(store: Any, path: str) -> bytes:
    result = obstore.get(store, path, options={"range": (0, SIZE)})
    return b"".join(result.stream(min_chunk_size=64 * KiB))


#: the reads whose requests all carry a Range (get_parallel: every part after the first)
RANGED_READS: dict[str, Read] = {
    "get_range": read_get_range,
    "get_range_async": read_get_range_async,
    "get_ranges": read_get_ranges,
    "get_with_range": read_get_with_range,
    "stream_with_range": read_stream_with_range,
    "open_reader": read_open_reader,
    "get_parallel": read_get_parallel,
}


@pytest.mark.parametrize("name", list(RANGED_READS))
def test_body_shorter_than_content_range_is_exact_or_raises(
    faulty: Faulty, stored: str, data: bytes, name: str
) -> None:
    # Content-Length says CUT, Content-Range the range asked for: only the latter tells the loss.
    rule = faulty.proxy.add(
        Rule(Shorten(CUT), method="GET", path=faulty.object_path(stored), headers={"range": "."})
    )
    expect_exact_or_error(lambda: RANGED_READS[name](faulty.store(max_retries=2), stored), data)
    assert rule.applied >= 1


def test_reset_mid_body_raises(faulty: Faulty, stored: str, data: bytes, read: Read) -> None:
    fault_gets(faulty, stored, Reset(CUT))
    expect_error(lambda: read(faulty.store(max_retries=2), stored), data)


def test_reset_mid_body_once_is_exact_or_raises(
    faulty: Faulty, stored: str, data: bytes, read: Read
) -> None:
    rule = fault_gets(faulty, stored, Reset(100_000), times=1)
    expect_exact_or_error(lambda: read(faulty.store(), stored), data)
    assert rule.applied == 1


# --------------------------------------------------------------------------------------------------
# Reads: a stalled response times out.

TIMEOUT = 0.5  # client_options timeout of the stall tests
RETRIES = 1  # so the worst case is two attempts


@pytest.mark.parametrize("after", [None, 100_000], ids=["head", "body"])
def test_stalled_response_times_out(
    faulty: Faulty, stored: str, data: bytes, read: Read, after: int | None
) -> None:
    fault_gets(faulty, stored, Stall(after))
    store = faulty.store(timeout=TIMEOUT, max_retries=RETRIES, retry_timeout=2 * TIMEOUT)
    _, error, seconds = bounded(lambda: read(store, stored))
    assert error is not None, "a stalled response returned data"
    # two attempts of TIMEOUT, a HEAD or first part before them, and a loaded machine's slack
    assert seconds < (RETRIES + 1) * TIMEOUT + 5, f"raised after {seconds:.1f} s"
    assert isinstance(error, BaseError), f"{type(error).__name__}: {error}"
    assert re.search(r"\btime(d)?[ _-]?out\b", _full_message(error), re.IGNORECASE), str(error)


@pytest.mark.parametrize("name", ["get", "get_range", "stream"])
@pytest.mark.parametrize("after", [None, 100_000], ids=["head", "body"])
def test_stalled_response_past_read_timeout(
    faulty: Faulty, stored: str, name: str, after: int | None
) -> None:
    # read_timeout alone bounds a silence, however long the whole request may take
    fault_gets(faulty, stored, Stall(after))
    store = faulty.store(
        timeout=60, read_timeout=TIMEOUT, max_retries=RETRIES, retry_timeout=2 * TIMEOUT
    )
    _, error, seconds = bounded(lambda: READS[name](store, stored))
    assert error is not None, "a stalled response returned data"
    assert seconds < (RETRIES + 1) * TIMEOUT + 5, f"raised after {seconds:.1f} s"
    assert isinstance(error, BaseError), f"{type(error).__name__}: {error}"
    assert re.search(r"\btime(d)?[ _-]?out\b", _full_message(error), re.IGNORECASE), str(error)


def _full_message(error: BaseException) -> str:
    parts = [str(error), str(getattr(error, "details", ""))]
    cause = error.__cause__
    while cause is not None:
        parts.append(str(cause))
        cause = cause.__cause__
    return "\n".join(parts)


@pytest.mark.parametrize("after", [None, 100_000], ids=["head", "body"])
def test_stalled_response_message_says_timed_out(
    faulty: Faulty, stored: str, data: bytes, after: int | None
) -> None:
    fault_gets(faulty, stored, Stall(after))
    store = faulty.store(timeout=TIMEOUT, max_retries=0)
    error = expect_error(lambda: read_get(store, stored), data)
    summary = str(error).strip().splitlines()[0]
    assert re.search(r"\btime(d)?[ _-]?out\b", summary, re.IGNORECASE), summary


# --------------------------------------------------------------------------------------------------
# Multipart uploads: failed parts are retried one by one; an upload that cannot complete is
# aborted.

#: the query of a part upload: S3 UploadPart, Azure Put Block (not Put Block List)
PART_QUERY = {"s3-minio": r"(^|&)partNumber=", "azurite": r"(^|&)comp=block(&|$)"}
#: the request completing an upload: S3 CompleteMultipartUpload, Azure Put Block List
COMPLETE = {
    "s3-minio": ("POST", r"(^|&)uploadId="),
    "azurite": ("PUT", r"(^|&)comp=blocklist(&|$)"),
}
PARTS = 3


@pytest.fixture(scope="module")
def big() -> bytes:
    return random.Random(7).randbytes(PARTS * PART)


def put_parts(store: Any, path: str, source: str, big: bytes) -> Any:
    """``put`` of ``big`` in PART-sized parts, from an iterator or from bytes."""
    chunks = [big[start : start + PART] for start in range(0, len(big), PART)]
    file: Any = iter(chunks) if source == "iterator" else big
    return obstore.put(store, path, file, chunk_size=PART, use_multipart=True)


def requests(faulty: Faulty, method: str, query: str) -> int:
    return sum(
        1
        for seen in faulty.proxy.seen
        if seen.method == method and re.search(query, seen.target.partition("?")[2])
    )


@pytest.mark.parametrize("source", ["iterator", "bytes"])
@pytest.mark.parametrize(
    "fault",
    [Respond(503), Respond(429), Reset(), Stall()],
    ids=["503", "429", "reset", "stall"],
)
def test_failed_parts_are_retried_part_by_part(
    faulty: Faulty, big: bytes, source: str, fault: Action
) -> None:
    failures = 1 if isinstance(fault, Stall) else 3  # a stall costs a whole timeout
    rule = faulty.proxy.add(
        Rule(fault, method="PUT", query=PART_QUERY[faulty.kind], times=failures)
    )
    store = faulty.store(timeout=3)
    result, error, _ = bounded(lambda: put_parts(store, "mp", source, big))
    if error is not None:
        raise error
    assert rule.applied == failures
    # each failed part was sent again, and nothing else: one upload, PARTS parts, one completion
    assert requests(faulty, "PUT", PART_QUERY[faulty.kind]) == PARTS + failures
    assert requests(faulty, *COMPLETE[faulty.kind]) == 1
    if faulty.kind == "s3-minio":
        assert requests(faulty, "POST", r"(^|&)uploads(=|&|$)") == 1
        assert result["e_tag"].strip('"').endswith(f"-{PARTS}")
    assert_exact(bytes(obstore.get(faulty.direct(), "mp").bytes()), big)


@pytest.mark.parametrize("source", ["iterator", "bytes"])
@pytest.mark.parametrize("failing", ["part", "completion"])
def test_upload_that_cannot_complete_leaves_nothing(
    faulty: Faulty, big: bytes, source: str, failing: str
) -> None:
    if failing == "part":  # two parts get through, every later part upload fails
        rule = Rule(Respond(503), method="PUT", query=PART_QUERY[faulty.kind], skip=2)
    else:
        method, query = COMPLETE[faulty.kind]
        rule = Rule(Respond(503), method=method, query=query)
    faulty.proxy.add(rule)
    store = faulty.store(timeout=3)
    _, error, _ = bounded(lambda: put_parts(store, "mp", source, big))
    assert error is not None, "the upload succeeded through a permanent fault"
    assert isinstance(error, BaseError), f"{type(error).__name__}: {error}"
    assert rule.applied == 4  # the first attempt and max_retries=3 retries
    with pytest.raises(FileNotFoundError):
        obstore.head(faulty.direct(), "mp")
    if faulty.kind == "s3-minio":
        assert s3_uploads_in_progress(faulty) == []
    else:
        # Azure has no request that discards uncommitted blocks (the service drops them after a
        # week), so the blocks that got through stay listed as uncommitted; nothing is committed.
        assert azure_committed_blocks(faulty, "mp") == 0


def s3_uploads_in_progress(faulty: Faulty) -> list[str]:
    """Keys below the test's prefix with a multipart upload in progress, asked of MinIO itself."""
    client = faulty.server.s3_client()
    # MinIO matches Prefix against whole keys only, so list every upload and filter here.
    uploads = client.list_multipart_uploads(Bucket=faulty.server.bucket).get("Uploads", [])
    return [upload["Key"] for upload in uploads if upload["Key"].startswith(faulty.prefix + "/")]


def azure_committed_blocks(faulty: Faulty, name: str) -> int:
    """Committed blocks of blob ``name`` (0 when it does not exist), asked of Azurite itself."""
    kwargs = faulty.server.store_kwargs
    query = "comp=blocklist&blocklisttype=committed"
    url = f"{kwargs['endpoint']}/{faulty.server.bucket}/{faulty.prefix}/{name}?{query}"
    headers = _http.azure_sharedkey_headers(
        "GET", url, account=kwargs["account_name"], key_b64=kwargs["account_key"]
    )
    status, _, body = _http.request("GET", url, headers=headers)
    if status == 404:
        return 0
    assert status == 200, body
    return len(re.findall(rb"<Block>", body))
