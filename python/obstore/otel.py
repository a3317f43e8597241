"""OpenTelemetry for obstore: a client span and a duration measurement per HTTP request.

Install the extra (``pip install obstore[otel]``), configure OpenTelemetry as usual, then::

    import obstore.otel

    obstore.otel.instrument()       # every store, from now on
    ...
    obstore.otel.uninstrument()

Each HTTP request a store sends becomes a ``CLIENT`` span named after its method, with the HTTP
semantic-convention attributes (``http.request.method``, ``http.response.status_code``,
``url.full`` with secret query values ``REDACTED``, ``server.address``, ``server.port``,
``error.type``) and ``obstore.operation``/``obstore.store``/``obstore.attempt``; its parent is the
span current where the obstore operation was called (sync or async). Each duration is recorded
in the histogram ``http.client.request.duration`` (seconds). Spans are made from request hook
events (see ``obstore.add_request_hook``), on the hook delivery thread, with the request's own
start and end times.
"""

from __future__ import annotations

import threading
import urllib.parse
from typing import TYPE_CHECKING, Any

from ._events import RequestEvent
from ._hooks import RequestHookHandle, add_request_hook

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider

__all__ = ["instrument", "is_instrumented", "uninstrument"]

_lock = threading.Lock()
_handle: RequestHookHandle | None = None


def instrument(
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
) -> None:
    """Make a span and a duration measurement for every HTTP request of every store.

    ``tracer_provider`` and ``meter_provider`` default to the global providers. Instrumenting
    again replaces the previous instrumentation (with the new providers). Raises
    ``ImportError`` naming the ``obstore[otel]`` extra when ``opentelemetry-api`` is missing.
    """
    global _handle
    try:
        from opentelemetry import metrics, trace
    except ImportError as err:
        raise ImportError(
            "obstore.otel needs OpenTelemetry: pip install 'obstore[otel]' "
            "(opentelemetry-api and opentelemetry-sdk)"
        ) from err
    from . import __version__

    tracer = trace.get_tracer("obstore", __version__, tracer_provider=tracer_provider)
    meter = metrics.get_meter("obstore", __version__, meter_provider=meter_provider)
    duration = meter.create_histogram(
        "http.client.request.duration",
        unit="s",
        description="Duration of HTTP client requests.",
    )
    hook = _SpanHook(tracer, duration)
    with _lock:
        previous, _handle = _handle, add_request_hook(hook)
    if previous is not None:
        previous.remove()


def uninstrument() -> None:
    """Stop making spans and measurements (doing nothing when not instrumented)."""
    global _handle
    with _lock:
        previous, _handle = _handle, None
    if previous is not None:
        previous.remove()


def is_instrumented() -> bool:
    """Whether ``instrument()`` is in effect."""
    return _handle is not None


def _server(url: str) -> tuple[str | None, int | None]:
    parts = urllib.parse.urlsplit(url)
    port = parts.port
    if port is None and parts.scheme in ("http", "https"):
        port = 443 if parts.scheme == "https" else 80
    return parts.hostname, port


class _SpanHook:
    """The request hook behind ``instrument()``."""

    def __init__(self, tracer: Any, duration: Any) -> None:
        self._tracer = tracer
        self._duration = duration

    def __call__(self, event: RequestEvent) -> None:
        from opentelemetry import context
        from opentelemetry.trace import SpanKind, Status, StatusCode

        parent = None
        if event.context is not None:
            try:
                parent = event.context.run(context.get_current)
            except RuntimeError:
                # The context is entered elsewhere at this moment: no parent rather than none.
                parent = None
        address, port = _server(event.url)
        error_type = None
        if event.status is not None and event.status >= 400:
            error_type = str(event.status)
        elif event.error is not None:
            # "<stage>: <kind>: ...": the kind is the low-cardinality part.
            pieces = event.error.split(": ", 2)
            error_type = pieces[1] if len(pieces) > 1 else pieces[0]
        common: dict[str, Any] = {"http.request.method": event.method}
        if event.status is not None:
            common["http.response.status_code"] = event.status
        if address is not None:
            common["server.address"] = address
        if port is not None:
            common["server.port"] = port
        if error_type is not None:
            common["error.type"] = error_type
        attributes = {
            **common,
            "url.full": event.url,
            "obstore.operation": event.operation,
            "obstore.store": event.store,
            "obstore.attempt": event.attempt,
        }
        if event.attempt > 1:
            attributes["http.request.resend_count"] = event.attempt - 1
        start_ns = int(event.start_time * 1e9)
        span = self._tracer.start_span(
            event.method,
            context=parent,
            kind=SpanKind.CLIENT,
            attributes=attributes,
            start_time=start_ns,
        )
        if error_type is not None:
            span.set_status(Status(StatusCode.ERROR, event.error))
        span.end(end_time=start_ns + int(event.duration * 1e9))
        self._duration.record(event.duration, attributes=common)
