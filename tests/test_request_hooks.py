"""Request hooks and the ``obstore`` logger: one event per HTTP request, proven on real servers.

A scripted HTTP server on 127.0.0.1 (``tests.local_http``) runs in every run; the server kinds
(``OBSTORE_TEST_STORES`` with s3-minio, s3-moto, azurite, gcs, webdav) show that every request of
each operation is reported on each service, and the fault proxy provokes retries on MinIO and
Azurite. Events are delivered on a daemon thread: each test waits with
``obstore.flush_request_hooks()`` before looking.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import pickle
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

import obstore
from obstore import RequestEvent
from obstore.store import HTTPStore, LocalStore, MemoryStore, from_url
from tests.local_http import LocalHTTPServer
from tests.servers.fault_proxy import FaultProxy, Reset, Respond, Rule

from .conftest import BACKENDS, STORE_KINDS, Backend, _server_store

SERVER_KINDS = [k for k in ("s3-minio", "s3-moto", "azurite", "gcs", "webdav") if k in STORE_KINDS]
FAULT_KINDS = [k for k in ("s3-minio", "azurite") if k in STORE_KINDS]
MiB = 1024 * 1024


class Recorder:
    """A hook that keeps the events it is given: with `only`, those of URLs starting with it (a
    hook for every store also sees requests other tests' stores still make in the background)."""

    def __init__(self, only: str | None = None) -> None:
        self.events: list[RequestEvent] = []
        self._lock = threading.Lock()
        self._only = only

    def __call__(self, event: RequestEvent) -> None:
        if self._only is not None and not event.url.startswith(self._only):
            return
        with self._lock:
            self.events.append(event)

    def take(self) -> list[RequestEvent]:
        """The events delivered so far (after waiting for the queue), forgetting them."""
        assert obstore.flush_request_hooks(10.0)
        with self._lock:
            events, self.events = self.events, []
        return events


def record_hook(event: RequestEvent) -> None:
    """A module-level hook: pickles by reference."""


# --------------------------------------------------------------------------------------------------
# A scripted HTTP server: objects in a dict; `fail-<n>-<name>` answers 503 to its first n GETs.


class _Handler(BaseHTTPRequestHandler):
    objects: dict[str, bytes] = {}
    failures: dict[str, int] = {}
    lock = threading.Lock()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: bytes = b"") -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_PUT(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        with self.lock:
            self.objects[self.path] = body
        self._answer(201)

    def do_GET(self) -> None:
        name = self.path.rsplit("/", 1)[-1]
        with self.lock:
            if name.startswith("fail-"):
                left = self.failures.setdefault(self.path, int(name.split("-")[1]))
                if left > 0:
                    self.failures[self.path] = left - 1
                    self._answer(503, b"try again")
                    return
            body = self.objects.get(self.path)
        if body is None:
            self._answer(404)
        else:
            self._answer(200, body)

    do_HEAD = do_GET


@pytest.fixture(scope="module")
def http_server() -> Iterator[LocalHTTPServer]:
    server = LocalHTTPServer(_Handler)
    yield server
    server.close()


FAST_RETRY: Any = {
    "max_retries": 3,
    "backoff": {
        "init_backoff": timedelta(milliseconds=10),
        "max_backoff": timedelta(milliseconds=50),
        "base": 2,
    },
}


def http_store(server: LocalHTTPServer, **kwargs: Any) -> HTTPStore:
    return HTTPStore(
        f"{server.url}{uuid.uuid4().hex}/",
        client_options={"allow_http": True},
        retry_config=FAST_RETRY,
        **kwargs,
    )


@pytest.fixture
def recorder(http_server: LocalHTTPServer) -> Iterator[Recorder]:
    rec = Recorder(only=http_server.url)
    with obstore.add_request_hook(rec):
        yield rec


# --------------------------------------------------------------------------------------------------
# Against the scripted server (every run).


def test_put_and_get_are_one_event_each_with_their_bytes(
    http_server: LocalHTTPServer, recorder: Recorder
) -> None:
    store = http_store(http_server)
    data = b"x" * 1000
    store.put("a", data)
    assert store.get("a").bytes() == data
    put, get = recorder.take()
    assert (put.operation, put.method, put.status, put.attempt) == ("put", "PUT", 201, 1)
    assert put.bytes_sent == len(data) and put.error is None
    assert (get.operation, get.method, get.status, get.attempt) == ("get", "GET", 200, 1)
    assert get.bytes_received == len(data) and get.bytes_sent == 0
    assert get.store == store.url.rstrip("/")
    assert get.path.endswith("/a") and get.url.endswith(get.path)
    assert 0 <= get.duration < 10 and get.start_time > 0


def test_retried_request_is_reported_per_attempt(
    http_server: LocalHTTPServer, recorder: Recorder
) -> None:
    store = http_store(http_server)
    store.put("fail-2-x", b"data")
    recorder.take()
    assert store.get("fail-2-x").bytes() == b"data"
    events = recorder.take()
    assert [(e.attempt, e.status) for e in events] == [(1, 503), (2, 503), (3, 200)]
    assert {e.url for e in events} == {events[0].url}
    assert {e.operation for e in events} == {"get"}


def test_connection_failure_is_an_event_without_status() -> None:
    rec = Recorder()
    store = HTTPStore(
        "http://127.0.0.1:1/",
        client_options={"allow_http": True},
        retry_config={"max_retries": 1, "backoff": {"init_backoff": timedelta(milliseconds=10)}},
        request_hook=rec,
    )
    with pytest.raises(obstore.exceptions.BaseError):
        store.get("missing")
    events = rec.take()
    assert [e.attempt for e in events] == [1, 2]
    assert all(e.status is None and e.error and e.error.startswith("request: ") for e in events)
    assert all("\n" not in (e.error or "") for e in events)


def test_removed_hook_gets_no_more_events(http_server: LocalHTTPServer) -> None:
    rec = Recorder(only=http_server.url)
    handle = obstore.add_request_hook(rec)
    store = http_store(http_server)
    store.put("a", b"1")
    assert len(rec.take()) == 1
    handle.remove()
    handle.remove()  # twice: nothing more
    store.put("b", b"2")
    assert obstore.flush_request_hooks()
    assert rec.take() == []


def test_raising_hook_is_logged_and_the_operation_succeeds(
    http_server: LocalHTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: RequestEvent) -> None:
        if event.url.startswith(http_server.url):
            raise RuntimeError("hook is broken")

    rec = Recorder(only=http_server.url)
    store = http_store(http_server)
    with caplog.at_level(logging.ERROR, logger="obstore"):
        with obstore.add_request_hook(broken), obstore.add_request_hook(rec):
            store.put("a", b"payload")
            assert store.get("a").bytes() == b"payload"
            events = rec.take()
    assert len(events) == 2  # the hook after the broken one still runs
    failures = [r for r in caplog.records if r.name == "obstore" and r.exc_info]
    assert len(failures) == 2
    assert "hook is broken" in caplog.text and "Traceback" in caplog.text


def test_store_hook_sees_only_its_store(http_server: LocalHTTPServer) -> None:
    mine = Recorder()
    hooked = http_store(http_server, request_hook=mine)
    other = http_store(http_server)
    other.put("a", b"1")
    hooked.put("b", b"2")
    other.get("a").bytes()
    events = mine.take()
    assert [(e.operation, e.store) for e in events] == [("put", hooked.url.rstrip("/"))]
    assert hooked.request_hook is mine and other.request_hook is None


def test_async_operations_report_and_carry_the_callers_context(
    http_server: LocalHTTPServer, recorder: Recorder
) -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    store = http_store(http_server)

    async def main() -> None:
        var.set("put-caller")
        await store.put_async("a", b"async")
        var.set("get-caller")
        result = await store.get_async("a")
        assert await result.bytes_async() == b"async"

    asyncio.run(main())
    put, get = recorder.take()
    assert (put.operation, get.operation) == ("put", "get")
    assert put.context is not None and get.context is not None
    assert put.context.run(var.get) == "put-caller"
    assert get.context.run(var.get) == "get-caller"


def test_request_hook_must_be_callable(http_server: LocalHTTPServer) -> None:
    with pytest.raises(TypeError, match="request_hook must be a callable"):
        http_store(http_server, request_hook="not callable")
    with pytest.raises(TypeError, match="hook must be a callable"):
        obstore.add_request_hook(42)  # type: ignore[arg-type]


def test_store_with_module_level_hook_pickles_with_it(http_server: LocalHTTPServer) -> None:
    store = http_store(http_server, request_hook=record_hook)
    again = pickle.loads(pickle.dumps(store))
    assert again.request_hook is record_hook
    assert again == store


def test_store_with_unpicklable_hook_names_it_when_pickled(http_server: LocalHTTPServer) -> None:
    store = http_store(http_server, request_hook=lambda event: None)
    with pytest.raises(TypeError, match="request_hook .* cannot be pickled"):
        pickle.dumps(store)


def test_from_url_passes_the_hook_and_stores_without_http_accept_it(
    http_server: LocalHTTPServer, tmp_path: Any
) -> None:
    rec = Recorder()
    store = from_url(
        f"{http_server.url}{uuid.uuid4().hex}/",
        client_options={"allow_http": True},
        request_hook=rec,
    )
    assert isinstance(store, HTTPStore) and store.request_hook is rec
    store.put("a", b"1")
    assert [e.operation for e in rec.take()] == ["put"]
    memory = from_url("memory:///", request_hook=rec)
    local = from_url(f"file://{tmp_path}", request_hook=rec)
    assert isinstance(memory, MemoryStore) and isinstance(local, LocalStore)
    memory.put("a", b"1")
    local.put("a", b"1")
    assert rec.take() == []  # no HTTP, no event


def test_debug_record_per_request_and_warning_per_retry(
    http_server: LocalHTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    store = http_store(http_server)
    store.put("fail-1-y", b"data")
    with caplog.at_level(logging.DEBUG, logger="obstore"):
        obstore.add_request_hook(record_hook).remove()  # re-reads the logger's level at once
        assert store.get("fail-1-y").bytes() == b"data"
        assert obstore.flush_request_hooks()
    records = [r for r in caplog.records if r.name == "obstore"]
    debug = [r for r in records if r.levelno == logging.DEBUG]
    warning = [r for r in records if r.levelno == logging.WARNING]
    assert [(r.attempt, r.status) for r in debug] == [(1, 503), (2, 200)]  # type: ignore[attr-defined]
    assert len(warning) == 1
    assert (warning[0].attempt, warning[0].operation) == (2, "get")  # type: ignore[attr-defined]
    assert warning[0].url == debug[1].url  # type: ignore[attr-defined]


# A failed get of a fresh interpreter, retried once: two requests, no server.
FAILED_GET = """
import obstore
from obstore.store import HTTPStore
store = HTTPStore("http://127.0.0.1:1/", client_options={"allow_http": True},
                  retry_config={"max_retries": 1})
try:
    store.get("x")
except obstore.exceptions.BaseError:
    pass
"""


def fresh_interpreter(before: str, after: str) -> subprocess.CompletedProcess[str]:
    """Runs ``before``, ``FAILED_GET`` and ``after`` in a new interpreter; it must succeed."""
    script = "\n".join((before, FAILED_GET, after))
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done


def test_logging_is_silent_and_idle_by_default() -> None:
    # Logging left unconfigured: nothing printed, nothing observed.
    done = fresh_interpreter(
        "", 'assert obstore._obstore._observe_status()[3] is False, "something listens"'
    )
    assert done.stderr == "" and done.stdout == ""


def test_logging_imported_after_obstore_gets_its_records() -> None:
    # `import obstore` leaves `logging` and `dataclasses` unimported (8 ms of the import); an
    # application that imports and configures logging afterwards still gets every record.
    before = """
import sys
import obstore
assert "logging" not in sys.modules and "dataclasses" not in sys.modules
import logging
logging.basicConfig(level=logging.DEBUG, format="%(name)s %(levelname)s %(operation)s")
"""
    done = fresh_interpreter(before, "assert obstore.flush_request_hooks()")
    lines = done.stderr.splitlines()
    assert lines.count("obstore DEBUG get") == 2  # the request and its retry
    assert lines.count("obstore WARNING get") == 1


# --------------------------------------------------------------------------------------------------
# Against the real servers.


def hooked_server_store(backend: Backend, server: Any, hook: Any) -> Any:
    """A fresh store on `server` (its own prefix) built with `request_hook=hook`."""
    plain = _server_store(backend, server, f"hooks-{uuid.uuid4().hex}")
    args, kwargs = plain.__getnewargs_ex__()
    return type(plain)(*args, **kwargs, request_hook=hook)


@pytest.fixture(params=SERVER_KINDS)
def server_backend(request: pytest.FixtureRequest) -> Backend:
    return BACKENDS[request.param]


@pytest.fixture
def server(server_backend: Backend, request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue("servers").get(server_backend.server)


def ok(event: RequestEvent) -> bool:
    return event.status is not None and 200 <= event.status < 300 and event.error is None


def test_every_request_of_each_operation_is_reported(server_backend: Backend, server: Any) -> None:
    rec = Recorder()
    store = hooked_server_store(server_backend, server, rec)
    data = b"0123456789" * 100

    store.put("obj", data)
    (put,) = rec.take()
    assert (put.operation, put.method, put.attempt) == ("put", "PUT", 1)
    assert ok(put) and put.bytes_sent == len(data)

    assert store.get("obj").bytes() == data
    (get,) = rec.take()
    assert (get.operation, get.method) == ("get", "GET")
    assert ok(get) and get.bytes_received == len(data)

    assert store.get_range("obj", start=10, end=20) == data[10:20]
    (ranged,) = rec.take()
    assert ranged.operation == "get_range" and ok(ranged) and ranged.bytes_received == 10

    store.head("obj")
    events = rec.take()
    assert {e.operation for e in events} == {"head"} and all(ok(e) for e in events)

    store.put("other", b"x")
    rec.take()
    assert sorted(m["path"] for m in store.list().collect()) == ["obj", "other"]
    pages = rec.take()
    assert pages and {e.operation for e in pages} == {"list"} and all(ok(e) for e in pages)
    assert sum(e.bytes_received for e in pages) > 0

    store.copy("obj", "copied")
    copies = rec.take()
    assert copies and {e.operation for e in copies} == {"copy"} and all(ok(e) for e in copies)

    store.delete("copied")
    deletes = rec.take()
    assert deletes and {e.operation for e in deletes} == {"delete"}
    assert all(ok(e) for e in deletes)
    # Every event names the store by its URL, which ends with the store's own prefix.
    assert {e.store for e in [put, get, ranged, *pages, *copies, *deletes]} == {put.store}
    assert put.store.rsplit("/", 1)[-1].startswith("hooks-")


def test_multipart_put_reports_create_parts_and_complete(
    server_backend: Backend, server: Any
) -> None:
    if not server_backend.multipart:
        pytest.skip(f"{server_backend.kind} has no multipart uploads")
    rec = Recorder()
    store = hooked_server_store(server_backend, server, rec)
    data = bytes(range(256)) * (12 * MiB // 256)
    store.put("big", iter([data[: 5 * MiB], data[5 * MiB : 10 * MiB], data[10 * MiB :]]))
    events = rec.take()
    assert {e.operation for e in events} == {"put_multipart"}
    assert all(ok(e) and e.attempt == 1 for e in events)
    # The parts carry the bytes: three parts of the payload, plus a small create/complete.
    big = [e for e in events if e.bytes_sent >= 2 * MiB]
    assert sorted(e.bytes_sent for e in big) == [2 * MiB, 5 * MiB, 5 * MiB]
    assert len(events) >= 4  # the parts and at least the completing request
    assert store.get("big").bytes() == data


@pytest.mark.skipif("s3-minio" not in STORE_KINDS, reason="s3-minio not selected")
def test_list_of_two_pages_is_two_events(servers: Any) -> None:
    rec = Recorder()
    store = hooked_server_store(BACKENDS["s3-minio"], servers.get("minio"), rec)
    for i in range(1001):  # S3 answers at most 1000 keys a page
        store.put(f"k{i:04}", b"")
    rec.take()
    assert len(store.list().collect()) == 1001
    pages = rec.take()
    assert [e.operation for e in pages] == ["list", "list"]
    assert "continuation-token=" in pages[1].url


@pytest.fixture(params=FAULT_KINDS)
def faulty_store(request: pytest.FixtureRequest) -> Iterator[tuple[Any, Any, Recorder]]:
    """A store whose requests pass the fault proxy, with a recording hook; and the proxy."""
    backend = BACKENDS[request.param]
    server = request.getfixturevalue("servers").get(backend.server)
    rec = Recorder()
    with FaultProxy(server.endpoint) as proxy:
        kwargs = dict(server.store_kwargs)
        kwargs["endpoint"] = kwargs["endpoint"].replace(server.endpoint, proxy.url, 1)
        kwargs["retry_config"] = FAST_RETRY
        cls = type(_server_store(backend, server, "unused"))
        yield cls(prefix=f"hooks-{uuid.uuid4().hex}", request_hook=rec, **kwargs), proxy, rec


def test_retries_through_the_fault_proxy_are_attempts(
    faulty_store: tuple[Any, Any, Recorder], caplog: pytest.LogCaptureFixture
) -> None:
    store, proxy, rec = faulty_store
    store.put("obj", b"payload")
    rec.take()
    proxy.add(Rule(Respond(503), method="GET", path=r"/obj$", times=1))
    with caplog.at_level(logging.WARNING, logger="obstore"):
        obstore.add_request_hook(record_hook).remove()  # re-reads the logger's level at once
        assert store.get("obj").bytes() == b"payload"
        events = rec.take()
    assert [(e.operation, e.attempt, e.status) for e in events] == [
        ("get", 1, 503),
        ("get", 2, 200),
    ]
    warnings = [r for r in caplog.records if r.name == "obstore" and r.levelno == logging.WARNING]
    assert [r.attempt for r in warnings] == [2]  # type: ignore[attr-defined]

    proxy.add(Rule(Reset(), method="GET", path=r"/obj$", times=1))
    assert store.get("obj").bytes() == b"payload"
    first, second = rec.take()
    assert (first.attempt, first.status) == (1, None) and first.error
    assert (second.attempt, second.status, second.error) == (2, 200, None)


def _record_texts(records: list[logging.LogRecord]) -> str:
    return "\n".join(f"{r.getMessage()} {r.__dict__!r}" for r in records)


@pytest.mark.skipif("s3-minio" not in STORE_KINDS, reason="s3-minio not selected")
def test_debug_records_never_carry_an_s3_secret(
    servers: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server = servers.get("minio")
    canary = "CANARY-secret-" + uuid.uuid4().hex
    kwargs = dict(server.store_kwargs, secret_access_key=canary)
    store = obstore.store.S3Store(prefix="canary", **kwargs)
    with caplog.at_level(logging.DEBUG, logger="obstore"):
        obstore.add_request_hook(record_hook).remove()
        with pytest.raises(obstore.exceptions.BaseError):
            store.put("obj", b"data")  # refused: the signature is wrong
        with pytest.raises(obstore.exceptions.BaseError):
            store.list().collect()
        assert obstore.flush_request_hooks()
    records = [r for r in caplog.records if r.name == "obstore"]
    assert records
    assert canary not in _record_texts(records)
    assert "Signature" not in _record_texts(records)


@pytest.mark.skipif("azurite" not in STORE_KINDS, reason="azurite not selected")
def test_debug_records_never_carry_a_sas_token(
    servers: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server = servers.get("azurite")
    signature = "CANARYsig" + uuid.uuid4().hex
    sas = f"sv=2021-08-06&ss=b&srt=sco&sp=rwdlac&se=2099-01-01T00%3A00%3A00Z&sig={signature}"
    kwargs = {k: v for k, v in server.store_kwargs.items() if k != "account_key"}
    store = obstore.store.AzureStore(sas_key=sas, **kwargs)
    with caplog.at_level(logging.DEBUG, logger="obstore"):
        obstore.add_request_hook(record_hook).remove()
        with pytest.raises(obstore.exceptions.BaseError):
            store.put("obj", b"data")  # Azurite refuses the made-up signature
        assert obstore.flush_request_hooks()
    records = [r for r in caplog.records if r.name == "obstore"]
    assert records
    text = _record_texts(records)
    assert signature not in text
    assert "se=2099" not in text
    assert "sig=REDACTED" in records[0].url  # type: ignore[attr-defined]


def test_logging_configured_later_is_noticed_within_a_second(
    http_server: LocalHTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    store = http_store(http_server)
    with caplog.at_level(logging.DEBUG, logger="obstore"):
        time.sleep(1.1)  # the core learns of it within a second
        store.put("later", b"1")
        assert obstore.flush_request_hooks()
    records = [r for r in caplog.records if r.name == "obstore" and r.levelno == logging.DEBUG]
    assert [r.operation for r in records] == ["put"]  # type: ignore[attr-defined]


def test_cloud_store_hook_is_kept_by_from_url_pickle_and_equality() -> None:
    kwargs: Any = {
        "endpoint": "http://127.0.0.1:1",
        "access_key_id": "key",
        "secret_access_key": "secret",
        "region": "us-east-1",
        "client_options": {"allow_http": True},
    }
    store = from_url("s3://bucket/prefix", request_hook=record_hook, **kwargs)
    assert isinstance(store, obstore.store.S3Store) and store.request_hook is record_hook
    again = pickle.loads(pickle.dumps(store))
    assert again.request_hook is record_hook and again == store
    assert store != obstore.store.S3Store("bucket", prefix="prefix", **kwargs)
    with pytest.raises(TypeError, match="request_hook must be a callable"):
        obstore.store.S3Store("bucket", request_hook=1, **kwargs)  # type: ignore[arg-type]
