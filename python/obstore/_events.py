"""``RequestEvent``: one HTTP request a store sent, as the request hooks receive it.

Its own module, imported when first needed (the first event delivered, ``obstore.RequestEvent``
or ``obstore.otel``): ``dataclasses`` and the ``inspect`` it imports measured 4 ms of
``import obstore``.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field

__all__ = ["RequestEvent"]


@dataclass(frozen=True, slots=True)
class RequestEvent:
    """One HTTP request a store sent, reported after it ended.

    ``status`` is ``None`` when no response arrived; ``error`` is one line when the request did
    not complete (no response, or a body that failed while read), else ``None``: an HTTP error
    status alone is not an ``error``. ``attempt`` is 1 for the first try of a request and counts
    the retries of the same method and URL within the operation. ``duration`` (seconds) runs
    from sending the request to the end of its response body, or to the moment the body was
    dropped unread (``bytes_received`` then counts what was read).
    """

    store: str
    """The store's URL (``s3://bucket/prefix``, the ``HTTPStore`` URL): never a secret."""
    operation: str
    """The operation: ``get``, ``get_range``, ``get_ranges``, ``head``, ``put``,
    ``put_multipart``, ``list``, ``list_with_delimiter``, ``delete``, ``copy``, ``rename``."""
    method: str
    """The HTTP method."""
    url: str
    """The request URL, without user information, secret query values ``REDACTED``."""
    path: str
    """The URL path of the request, as sent (percent-encoded)."""
    status: int | None
    """The response status, or ``None`` when no response arrived."""
    attempt: int
    """1 for the first try, 2 for the first retry, ..."""
    bytes_sent: int
    """The bytes of the request body."""
    bytes_received: int
    """The bytes of the response body read."""
    duration: float
    """Seconds from sending the request to the end of its response."""
    error: str | None
    """Why the request did not complete (one line), or ``None``."""
    start_time: float
    """When the request was sent, in seconds since the Unix epoch."""
    context: contextvars.Context | None = field(default=None, repr=False, compare=False)
    """A copy of the ``contextvars`` context of the code that called the operation (``None``
    while only logging listens): run code in it to see, e.g., the span current at the call."""
