"""HTTP client settings shared by every store."""

from datetime import timedelta
from typing import TypedDict


class ClientConfig(TypedDict, total=False):
    """HTTP client options, accepted as ``client_options=`` by every store.

    Durations accept a ``timedelta`` or a human-readable string such as
    ``"30s"`` or ``"2m 30s"``. Unknown keys raise ``ValueError``, and so do
    values that cannot be sent in an HTTP header (control characters,
    non-ASCII), except in ``proxy_ca_certificate``. A store's
    ``client_options`` property returns the values as strings (header values and
    certificates as ``bytes``).
    """

    allow_http: bool
    """Allow plain ``http://`` endpoints (default: only HTTPS)."""
    allow_invalid_certificates: bool
    """Skip TLS certificate and host name checks. Dangerous outside tests."""
    connect_timeout: str | timedelta
    """Time allowed to establish a connection (default 5 s)."""
    default_content_type: str
    """``Content-Type`` sent on uploads that do not set one."""
    default_headers: dict[str, str] | dict[str, bytes]
    """Headers added to every request; values must be printable ASCII."""
    http1_only: bool
    """Only use HTTP/1 connections."""
    http2_keep_alive_interval: str
    """Interval of HTTP/2 keep-alive pings."""
    http2_keep_alive_timeout: str | timedelta
    """How long to wait for an answer to an HTTP/2 keep-alive ping."""
    http2_keep_alive_while_idle: str
    """Send HTTP/2 keep-alive pings on idle connections too."""
    http2_only: bool
    """Only use HTTP/2 connections."""
    max_concurrent_requests: int | str
    """Most requests one store keeps in flight (default 512). Each holds a socket
    until its response body is read or dropped; further calls wait for a place
    instead of failing. Raise it for more parallelism than 512 requests, within
    the process's open-file limit (``ulimit -n``)."""
    pool_idle_timeout: str | timedelta
    """How long an unused pooled connection is kept open."""
    pool_max_idle_per_host: str
    """Most idle connections kept per host."""
    proxy_url: str
    """Send all requests through this proxy."""
    proxy_ca_certificate: str
    """PEM certificate trusted for the proxy connection."""
    proxy_excludes: str
    """Comma-separated hosts that bypass the proxy (``NO_PROXY`` style)."""
    root_certificate: str | bytes
    """PEM certificate(s) trusted in addition to the system roots. Each is loaded
    when the store is created: input without a PEM certificate block raises
    ``ValueError``, a block that is not a certificate ``GenericError``."""
    randomize_addresses: bool
    """Shuffle the addresses a host name resolves to."""
    read_timeout: str | timedelta
    """Time allowed between two reads of a response (default: none)."""
    timeout: str | timedelta
    """Time allowed for a whole request, body included (default 30 s)."""
    user_agent: str
    """``User-Agent`` header value."""
