"""obstore.otel: a client span and a duration measurement per HTTP request, parented to the span
current where the operation was called (sync and async), checked with the OpenTelemetry SDK's
in-memory exporter and metric reader against a scripted server and the selected real servers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import obstore
import obstore.otel
from obstore.store import HTTPStore
from tests.local_http import LocalHTTPServer

from .conftest import BACKENDS, STORE_KINDS, _server_store
from .test_request_hooks import _Handler

SERVER_KINDS = [k for k in ("s3-minio", "azurite", "gcs", "webdav") if k in STORE_KINDS]


class Telemetry:
    """An SDK tracer and meter provider recording in memory, instrumented for the test."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.tracer = self.tracer_provider.get_tracer("test")

    #: Keep only the client spans whose URL contains this (instrumenting covers every store,
    #: also those of other tests still making requests in the background).
    only: str | None = None

    def spans(self) -> list[ReadableSpan]:
        assert obstore.flush_request_hooks(10.0)
        spans = [
            s
            for s in self.exporter.get_finished_spans()
            if self.only is None
            or s.kind != SpanKind.CLIENT
            or self.only in str(dict(s.attributes or {}).get("url.full", ""))
        ]
        self.exporter.clear()
        return spans

    def durations(self) -> list[Any]:
        """The data points of ``http.client.request.duration``."""
        assert obstore.flush_request_hooks(10.0)
        data = self.reader.get_metrics_data()
        assert data is not None
        points: list[Any] = []
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == "http.client.request.duration":
                        assert metric.unit == "s"
                        points.extend(metric.data.data_points)
        return points


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    t = Telemetry()
    obstore.otel.instrument(tracer_provider=t.tracer_provider, meter_provider=t.meter_provider)
    try:
        yield t
    finally:
        obstore.otel.uninstrument()


@pytest.fixture(scope="module")
def http_server() -> Iterator[LocalHTTPServer]:
    server = LocalHTTPServer(_Handler)
    yield server
    server.close()


def http_store(server: LocalHTTPServer) -> HTTPStore:
    return HTTPStore(
        f"{server.url}{uuid.uuid4().hex}/",
        client_options={"allow_http": True},
        retry_config={
            "max_retries": 2,
            "backoff": {"init_backoff": timedelta(milliseconds=10), "base": 2},
        },
    )


def test_sync_call_makes_a_client_span_child_of_the_current_span(
    http_server: LocalHTTPServer, telemetry: Telemetry
) -> None:
    store = http_store(http_server)
    telemetry.only = store.url
    with telemetry.tracer.start_as_current_span("outer"):
        store.put("a", b"12345")
    spans = telemetry.spans()
    outer = next(s for s in spans if s.name == "outer")
    (put,) = [s for s in spans if s.name != "outer"]
    assert put.name == "PUT" and put.kind == SpanKind.CLIENT
    assert put.parent is not None and put.parent.span_id == outer.context.span_id
    assert put.context.trace_id == outer.context.trace_id
    attributes = dict(put.attributes or {})
    port = int(http_server.url.rsplit(":", 1)[1].strip("/"))
    assert attributes["http.request.method"] == "PUT"
    assert attributes["http.response.status_code"] == 201
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["server.port"] == port
    assert str(attributes["url.full"]).endswith("/a")
    assert attributes["obstore.operation"] == "put"
    assert "error.type" not in attributes
    assert put.start_time is not None and put.end_time is not None
    assert put.start_time <= put.end_time


def test_async_call_span_is_child_of_the_callers_span(
    http_server: LocalHTTPServer, telemetry: Telemetry
) -> None:
    store = http_store(http_server)
    telemetry.only = store.url

    async def main() -> None:
        await store.put_async("b", b"abc")
        with telemetry.tracer.start_as_current_span("outer-async"):
            result = await store.get_async("b")
            assert await result.bytes_async() == b"abc"

    asyncio.run(main())
    spans = telemetry.spans()
    outer = next(s for s in spans if s.name == "outer-async")
    put = next(s for s in spans if s.name == "PUT")
    get = next(s for s in spans if s.name == "GET")
    assert put.parent is None  # called outside any span
    assert get.parent is not None and get.parent.span_id == outer.context.span_id


def test_retried_request_is_one_span_per_attempt_with_error_type(
    http_server: LocalHTTPServer, telemetry: Telemetry
) -> None:
    store = http_store(http_server)
    telemetry.only = store.url
    store.put("fail-1-z", b"data")
    telemetry.spans()
    with telemetry.tracer.start_as_current_span("outer"):
        assert store.get("fail-1-z").bytes() == b"data"
    spans = [s for s in telemetry.spans() if s.name == "GET"]
    assert [dict(s.attributes or {})["http.response.status_code"] for s in spans] == [503, 200]
    failed, retried = spans
    assert dict(failed.attributes or {})["error.type"] == "503"
    assert failed.status.status_code == StatusCode.ERROR
    assert dict(retried.attributes or {})["http.request.resend_count"] == 1
    assert failed.parent is not None and retried.parent is not None
    assert failed.parent.span_id == retried.parent.span_id


def test_durations_are_recorded_in_the_histogram(
    http_server: LocalHTTPServer, telemetry: Telemetry
) -> None:
    store = http_store(http_server)
    telemetry.only = store.url
    store.put("c", b"x")
    store.get("c").bytes()
    points = telemetry.durations()
    methods = {dict(p.attributes)["http.request.method"]: p for p in points}
    # The histogram is process-wide: another test's store may add to it, so "at least".
    assert {"PUT", "GET"} <= set(methods)
    assert all(p.count >= 1 and p.sum >= 0 for p in points)
    assert all("url.full" not in dict(p.attributes) for p in points)  # low cardinality only


def test_uninstrument_stops_the_spans(http_server: LocalHTTPServer, telemetry: Telemetry) -> None:
    store = http_store(http_server)
    telemetry.only = store.url
    assert obstore.otel.is_instrumented()
    obstore.otel.uninstrument()
    assert not obstore.otel.is_instrumented()
    store.put("d", b"x")
    assert telemetry.spans() == []


@pytest.mark.parametrize("kind", SERVER_KINDS)
def test_spans_on_real_servers_share_the_callers_trace(
    kind: str, telemetry: Telemetry, request: pytest.FixtureRequest
) -> None:
    backend = BACKENDS[kind]
    server = request.getfixturevalue("servers").get(backend.server)
    prefix = f"otel{uuid.uuid4().hex}"  # no character a backend percent-encodes in URLs
    store = _server_store(backend, server, prefix)
    telemetry.only = prefix
    telemetry.spans()  # the set-up's own requests
    with telemetry.tracer.start_as_current_span("outer"):
        store.put("obj", b"payload")
        assert store.get("obj").bytes() == b"payload"
        store.list().collect()
    spans = telemetry.spans()
    outer = next(s for s in spans if s.name == "outer")
    client = [s for s in spans if s.kind == SpanKind.CLIENT]
    operations = [dict(s.attributes or {})["obstore.operation"] for s in client]
    assert operations[:2] == ["put", "get"] and operations[2:] and set(operations[2:]) == {"list"}
    for span in client:
        assert span.parent is not None and span.parent.span_id == outer.context.span_id
        assert "error.type" not in dict(span.attributes or {})
