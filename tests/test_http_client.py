"""The HTTP client every network store sends through: TLS trust settings against MinIO serving
https, redirects followed (credentials kept from other origins), and proxies honoured."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

import pytest

import obstore
from obstore.exceptions import BaseError
from obstore.store import ClientConfig, HTTPStore, RetryConfig, S3Store
from tests.local_http import LocalHTTPServer
from tests.servers import start

from .conftest import STORE_KINDS, in_forked_child

BODY = b"the object's bytes"
NO_RETRY: RetryConfig = {"max_retries": 0}


class Recorder(BaseHTTPRequestHandler):
    """Answers each request from ``answers`` (path -> (status, headers, body)), 404 otherwise,
    and records the request line and headers; subclassed per server."""

    answers: ClassVar[dict[str, tuple[int, dict[str, str], bytes]]]
    seen: ClassVar[list[tuple[str, str, dict[str, str]]]]
    received: ClassVar[dict[str, bytes]]
    lock: ClassVar[threading.Lock]

    def _answer(self) -> None:
        with self.lock:
            self.seen.append(
                (self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
            )
        length = int(self.headers.get("content-length") or 0)
        path = self.path.split("?")[0]
        if length:
            self.received[path] = self.rfile.read(length)
        status, headers, body = self.answers.get(path, (404, {}, b""))
        self.send_response(status)
        headers = {
            "Content-Length": str(len(body)),
            "Last-Modified": "Wed, 02 Dec 2026 10:00:00 GMT",
            "ETag": '"e1"',
            **headers,
        }
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_HEAD = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


def recorder(answers: dict[str, tuple[int, dict[str, str], bytes]]) -> tuple[LocalHTTPServer, Any]:
    handler = type(
        "Handler",
        (Recorder,),
        {"answers": answers, "seen": [], "received": {}, "lock": threading.Lock()},
    )
    return LocalHTTPServer(handler), handler


@pytest.fixture
def two_origins() -> Iterator[tuple[LocalHTTPServer, Any, LocalHTTPServer, Any]]:
    """Server A and server B (another port: another origin), both empty; tests fill ``answers``."""
    a, a_handler = recorder({})
    b, b_handler = recorder({})
    yield a, a_handler, b, b_handler
    a.close()
    b.close()


def http_store(url: str, proxy_url: str | None = None) -> HTTPStore:
    """A store on ``url`` that sends a credential with every request, without retries."""
    options: ClientConfig = {
        "allow_http": True,
        "default_headers": {"authorization": "Bearer secret"},
    }
    if proxy_url is not None:
        options["proxy_url"] = proxy_url
    return HTTPStore(url, client_options=options, retry_config=NO_RETRY)


def test_a_redirect_is_followed_to_the_object(two_origins: Any) -> None:
    a, a_seen, _, _ = two_origins
    a_seen.answers.update(
        {
            "/start": (302, {"Location": "/middle"}, b""),
            "/middle": (307, {"Location": "final"}, b""),
            "/final": (200, {}, BODY),
        }
    )
    assert obstore.get(http_store(a.url), "start").bytes() == BODY
    assert [path for _, path, _ in a_seen.seen] == ["/start", "/middle", "/final"]
    # the same origin all the way: the credentials go along
    assert all(headers.get("authorization") == "Bearer secret" for _, _, headers in a_seen.seen)


def test_a_redirect_to_another_origin_does_not_carry_credentials(two_origins: Any) -> None:
    a, a_seen, b, b_seen = two_origins
    a_seen.answers["/start"] = (302, {"Location": f"{b.url}elsewhere"}, b"")
    b_seen.answers["/elsewhere"] = (200, {}, BODY)
    assert obstore.get(http_store(a.url), "start").bytes() == BODY
    assert a_seen.seen[0][2]["authorization"] == "Bearer secret"
    [(method, path, headers)] = b_seen.seen
    assert (method, path) == ("GET", "/elsewhere")
    assert "authorization" not in headers
    assert headers["user-agent"] == f"object_store/{obstore._obstore._object_store_version}"


def test_a_temporary_redirect_sends_the_upload_on_whole(two_origins: Any) -> None:
    a, a_seen, _, _ = two_origins
    a_seen.answers.update(
        {"/first": (307, {"Location": "/second"}, b""), "/second": (201, {}, b"")}
    )
    data = bytes(range(256)) * 1000
    obstore.put(http_store(a.url), "first", data)
    assert [(method, path) for method, path, _ in a_seen.seen] == [
        ("PUT", "/first"),
        ("PUT", "/second"),
    ]
    assert a_seen.received["/second"] == data


def test_a_redirect_loop_raises_after_ten_redirects(two_origins: Any) -> None:
    a, a_seen, _, _ = two_origins
    a_seen.answers["/loop"] = (302, {"Location": "/loop"}, b"")
    with pytest.raises(BaseError, match="too many redirects"):
        obstore.get(http_store(a.url), "loop").bytes()
    assert len(a_seen.seen) == 11


def test_a_redirect_without_location_is_the_status(two_origins: Any) -> None:
    a, a_seen, _, _ = two_origins
    a_seen.answers["/bare"] = (301, {}, b"")
    with pytest.raises(BaseError, match="LOCATION|Location|redirect"):
        obstore.get(http_store(a.url), "bare").bytes()
    assert len(a_seen.seen) == 1


def test_plain_http_is_refused_without_allow_http(two_origins: Any) -> None:
    a, a_seen, _, _ = two_origins
    with pytest.raises(BaseError, match="allow_http"):
        store = S3Store(
            "bucket",
            endpoint=a.url.rstrip("/"),
            access_key_id="k",
            secret_access_key="s",
            region="us-east-1",
            retry_config=NO_RETRY,
            client_options={"allow_http": False},
        )
        obstore.get(store, "x").bytes()
    assert a_seen.seen == []


def test_a_proxy_url_sends_requests_through_the_proxy(two_origins: Any) -> None:
    proxy, proxy_seen, origin, origin_seen = two_origins
    target = f"{origin.url}object"
    proxy_seen.answers[target] = (200, {}, BODY)
    store = http_store(origin.url, proxy_url=proxy.url)
    assert obstore.get(store, "object").bytes() == BODY
    assert [(m, p) for m, p, _ in proxy_seen.seen] == [("GET", target)]
    assert origin_seen.seen == []


def test_the_http_proxy_variable_sends_requests_through_the_proxy(
    two_origins: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy, proxy_seen, origin, origin_seen = two_origins
    target = f"{origin.url}object"
    proxy_seen.answers[target] = (200, {}, BODY)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert obstore.get(http_store(origin.url), "object").bytes() == BODY
    assert [(m, p) for m, p, _ in proxy_seen.seen] == [("GET", target)]
    assert origin_seen.seen == []


# --------------------------------------------------------------------------------------------------
# TLS: MinIO serving https with a certificate of a test authority


@pytest.fixture(scope="module")
def tls_minio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if "s3-minio" not in STORE_KINDS:
        pytest.skip("s3-minio not selected")
    server = start("minio", tmp_path_factory.mktemp("minio-tls"), tls=True)
    yield server
    server.stop()


def tls_store(server: Any, **client: Any) -> S3Store:
    kwargs = {**server.store_kwargs, "client_options": client, "retry_config": NO_RETRY}
    return S3Store(prefix=f"tls-{uuid.uuid4().hex}", **kwargs)


def round_trip(store: S3Store) -> None:
    obstore.put(store, "o", BODY)
    assert obstore.get(store, "o").bytes() == BODY


def test_tls_trusts_a_root_certificate_beside_the_system_ones(tls_minio: Any) -> None:
    ca = open(tls_minio.extra["ca_certificate"]).read()
    round_trip(tls_store(tls_minio, root_certificate=ca))


def test_tls_trusts_only_the_root_certificate_without_system_certificates(tls_minio: Any) -> None:
    ca = open(tls_minio.extra["ca_certificate"]).read()
    round_trip(tls_store(tls_minio, root_certificate=ca, disable_system_certificates=True))


def test_tls_refuses_a_certificate_of_an_unknown_authority(tls_minio: Any) -> None:
    with pytest.raises(BaseError, match="(?i)certificate|issuer"):
        obstore.put(tls_store(tls_minio), "o", BODY)
    with pytest.raises(BaseError, match="(?i)certificate|issuer"):
        obstore.put(tls_store(tls_minio, disable_system_certificates=True), "o", BODY)


def test_stores_of_different_trust_in_one_process_each_keep_their_own(tls_minio: Any) -> None:
    # The system's certificates are loaded once per process and shared: a store trusting the
    # test authority must not lend that trust to one without it, in either order.
    ca = open(tls_minio.extra["ca_certificate"]).read()
    for _ in range(2):
        with pytest.raises(BaseError, match="(?i)certificate|issuer"):
            obstore.put(tls_store(tls_minio), "o", BODY)
        round_trip(tls_store(tls_minio, root_certificate=ca))
        round_trip(tls_store(tls_minio, root_certificate=ca, disable_system_certificates=True))
        with pytest.raises(BaseError, match="(?i)certificate|issuer"):
            obstore.put(tls_store(tls_minio, disable_system_certificates=True), "o", BODY)


def test_a_forked_child_makes_tls_stores_of_its_own(tls_minio: Any) -> None:
    ca = open(tls_minio.extra["ca_certificate"]).read()
    round_trip(tls_store(tls_minio, root_certificate=ca))

    def child() -> bool:  # the parent's trust is loaded; its locks and connections are not ours
        round_trip(tls_store(tls_minio, root_certificate=ca))
        round_trip(tls_store(tls_minio, allow_invalid_certificates=True))
        return True

    in_forked_child(child)
    round_trip(tls_store(tls_minio, root_certificate=ca))


def test_tls_accepts_any_certificate_when_invalid_ones_are_allowed(tls_minio: Any) -> None:
    round_trip(tls_store(tls_minio, allow_invalid_certificates=True))


@pytest.mark.parametrize("http", ["http1_only", "http2_only"])
def test_tls_round_trip_over_each_http_version(tls_minio: Any, http: str) -> None:
    ca = open(tls_minio.extra["ca_certificate"]).read()
    options: dict[str, Any] = {"root_certificate": ca, "http1_only": http == "http1_only"}
    if http == "http2_only":
        options["http2_only"] = True
    round_trip(tls_store(tls_minio, **options))


@pytest.mark.parametrize("http", ["http1_only", "http2_only"])
def test_large_bodies_over_tls_arrive_intact_in_one_put_and_in_parts(
    tls_minio: Any, http: str
) -> None:
    # Bodies several times the 1 MiB that one TLS write takes, whose writes fill the socket and
    # wait: one PUT of an odd length, and a multipart upload of three parts in flight at once.
    ca = open(tls_minio.extra["ca_certificate"]).read()
    store = tls_store(tls_minio, root_certificate=ca, **{http: True})
    one, parts = os.urandom(3 * 2**20 + 7), os.urandom(16 * 2**20 + 3)
    obstore.put(store, "one", one, use_multipart=False)
    obstore.put(store, "parts", parts, chunk_size=5 * 2**20, max_concurrency=3)
    e_tag = obstore.head(store, "parts")["e_tag"]
    assert e_tag is not None and e_tag.strip('"').endswith("-4")
    assert (
        hashlib.sha256(obstore.get(store, "one").bytes()).digest() == hashlib.sha256(one).digest()
    )
    got = obstore.get(store, "parts").bytes()
    assert len(got) == len(parts)
    assert hashlib.sha256(got).digest() == hashlib.sha256(parts).digest()


def test_connect_timeout_bounds_a_tls_handshake_that_never_answers() -> None:
    # A server that accepts the connection and never answers the TLS hello: only the connect
    # timeout ends the wait (the request timeout is far longer).
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    store = S3Store(
        "bucket",
        endpoint=f"https://127.0.0.1:{listener.getsockname()[1]}",
        access_key_id="k",
        secret_access_key="s",
        region="us-east-1",
        client_options={"connect_timeout": "1s", "timeout": "120s"},
        retry_config=NO_RETRY,
    )
    started = time.monotonic()
    try:
        with pytest.raises(BaseError, match="timed out"):
            obstore.put(store, "o", BODY)
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()
    assert held, "the client never connected"
    assert time.monotonic() - started < 60, "the handshake was bounded by the request timeout"
