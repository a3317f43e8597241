"""S3 payload signing, proven against MinIO: a store whose requests go over https sends
``UNSIGNED-PAYLOAD`` (TLS protects the body), one over plain http signs the SHA-256 of each body,
and ``unsigned_payload`` (a setting or ``AWS_UNSIGNED_PAYLOAD``) decides over both.

* Uploads over https to MinIO serving TLS (a certificate for 127.0.0.1 from a test authority the
  store trusts) round-trip byte for byte, unsigned by default and signed with
  ``unsigned_payload=False``: one PUT, a multipart put and a writer.
* What is sent: the fault proxy shows each request's ``x-amz-content-sha256``, in front of plain
  MinIO, taking plain http or TLS itself.
* ``.config`` shows only what the user gave.

The resolution itself (no endpoint, https or http endpoint, the S3-specific endpoint, an explicit
value) is unit-tested in ``crates/obstore-stores/src/stores/aws.rs``.
"""

from __future__ import annotations

import hashlib
import random
import re
import ssl
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import obstore
from obstore.store import S3Store
from tests.servers import start
from tests.servers.fault_proxy import FaultProxy, Seen

from .conftest import STORE_KINDS

pytestmark = pytest.mark.skipif(
    "s3-minio" not in STORE_KINDS, reason="MinIO not selected (OBSTORE_TEST_STORES)"
)

MiB = 1024 * 1024
CHUNK = 5 * MiB
#: Three parts of CHUNK, the last one short.
DATA = random.Random(41).randbytes(2 * CHUNK + 123_457)
UNSIGNED = "UNSIGNED-PAYLOAD"
HOW = ["put", "multipart", "writer"]


@pytest.fixture(scope="module")
def tls_minio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """MinIO serving https, for this module only (every other test uses plain MinIO)."""
    server = start("minio", tmp_path_factory.mktemp("minio-tls"), tls=True)
    yield server
    server.stop()


def upload(store: S3Store, path: str, how: str) -> None:
    """Uploads DATA to ``path``: in one PUT, as a multipart put, or through a writer."""
    if how == "put":
        obstore.put(store, path, DATA, use_multipart=False)
    elif how == "multipart":
        obstore.put(store, path, DATA, use_multipart=True, chunk_size=CHUNK)
    else:
        with obstore.open_writer(store, path, buffer_size=CHUNK) as writer:
            for start_at in range(0, len(DATA), MiB):
                writer.write(DATA[start_at : start_at + MiB])


def assert_round_trip(store: S3Store, path: str, how: str) -> None:
    """The object holds DATA, stored in one piece or in three parts as ``how`` says."""
    assert bytes(obstore.get(store, path).bytes()) == DATA
    e_tag = obstore.head(store, path)["e_tag"] or ""
    assert e_tag.strip('"').endswith("-3") == (how != "put"), e_tag


def content_hashes(seen: list[Seen]) -> list[tuple[str, str, str]]:
    """``(method, target, x-amz-content-sha256)`` of every request the proxy saw."""
    return [
        (s.method, s.target, next(v for k, v in s.headers if k.lower() == "x-amz-content-sha256"))
        for s in seen
    ]


def part_bodies() -> dict[str, bytes]:
    """The body of each upload request of DATA by part number ("" for a single PUT)."""
    parts = {str(n + 1): DATA[n * CHUNK : (n + 1) * CHUNK] for n in range(3)}
    return {"": DATA, **parts}


def assert_bodies_signed(seen: list[Seen]) -> None:
    """Every request carries a hex SHA-256; every upload's is that of the bytes it carries."""
    hashes = content_hashes(seen)
    assert hashes
    bodies = part_bodies()
    uploads = 0
    for method, target, value in hashes:
        assert re.fullmatch("[0-9a-f]{64}", value), (method, target, value)
        if method == "PUT":
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(target).query)
            body = bodies[query.get("partNumber", [""])[0]]
            assert value == hashlib.sha256(body).hexdigest(), (method, target)
            uploads += 1
    assert uploads


def assert_bodies_unsigned(seen: list[Seen]) -> None:
    hashes = content_hashes(seen)
    assert any(method == "PUT" for method, _, _ in hashes)
    assert {value for _, _, value in hashes} == {UNSIGNED}, hashes


def proxied_store(server: Any, proxy: FaultProxy, **settings: Any) -> S3Store:
    """A store on a fresh prefix of ``server`` through ``proxy``, explicit credentials."""
    kwargs = {**server.store_kwargs, "endpoint": proxy.url, **settings}
    return S3Store(prefix=f"signing-{uuid.uuid4().hex}", **kwargs)


def tls_proxy(server: Any, tls_minio: Any) -> tuple[FaultProxy, dict[str, Any]]:
    """A proxy to plain ``server`` that takes TLS with the certificate the test authority issued
    for 127.0.0.1, and the client options that trust the authority (plain http refused)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls_minio.extra["certificate"], tls_minio.extra["private_key"])
    ca = Path(tls_minio.extra["ca_certificate"]).read_text()
    return FaultProxy(server.endpoint, tls=context), {"root_certificate": ca}


# --------------------------------------------------------------------------------------------------
# Over https, to MinIO serving TLS


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("unsigned_payload", [None, False], ids=["default", "signed"])
def test_uploads_over_https_round_trip_byte_for_byte(
    tls_minio: Any, how: str, unsigned_payload: bool | None
) -> None:
    settings: dict[str, Any] = {}
    if unsigned_payload is not None:
        settings["unsigned_payload"] = unsigned_payload
    store = S3Store(prefix=f"signing-{uuid.uuid4().hex}", **tls_minio.store_kwargs, **settings)
    assert tls_minio.endpoint.startswith("https://")
    upload(store, "obj", how)
    assert_round_trip(store, "obj", how)


def test_config_shows_the_payload_setting_only_when_given(tls_minio: Any) -> None:
    assert "unsigned_payload" not in S3Store(**tls_minio.store_kwargs).config
    given = S3Store(**tls_minio.store_kwargs, unsigned_payload=False)
    assert given.config["unsigned_payload"] == "false"


# --------------------------------------------------------------------------------------------------
# What is sent, seen by the fault proxy in front of plain MinIO


@pytest.mark.parametrize("how", HOW)
def test_over_https_uploads_send_unsigned_payload_by_default(
    servers: Any, tls_minio: Any, how: str
) -> None:
    server = servers.get("minio")
    proxy, client_options = tls_proxy(server, tls_minio)
    with proxy:
        store = proxied_store(server, proxy, client_options=client_options)
        upload(store, "obj", how)
        assert_bodies_unsigned(proxy.seen)
        assert_round_trip(store, "obj", how)


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("given_by", ["setting", "environment"])
def test_over_https_unsigned_payload_false_signs_the_sha256_of_each_body(
    servers: Any, tls_minio: Any, how: str, given_by: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = servers.get("minio")
    settings: dict[str, Any] = {}
    if given_by == "setting":
        settings["unsigned_payload"] = False
    else:
        monkeypatch.setenv("AWS_UNSIGNED_PAYLOAD", "false")
    proxy, client_options = tls_proxy(server, tls_minio)
    with proxy:
        store = proxied_store(server, proxy, client_options=client_options, **settings)
        upload(store, "obj", how)
        assert_bodies_signed(proxy.seen)
        assert_round_trip(store, "obj", how)


@pytest.mark.parametrize("how", HOW)
def test_over_plain_http_uploads_sign_the_sha256_of_each_body(servers: Any, how: str) -> None:
    server = servers.get("minio")
    with FaultProxy(server.endpoint) as proxy:
        store = proxied_store(server, proxy)
        upload(store, "obj", how)
        assert_bodies_signed(proxy.seen)
        assert_round_trip(store, "obj", how)


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("given_by", ["setting", "environment"])
def test_over_plain_http_unsigned_payload_true_sends_unsigned_payload(
    servers: Any, how: str, given_by: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = servers.get("minio")
    settings: dict[str, Any] = {}
    if given_by == "setting":
        settings["unsigned_payload"] = True
    else:
        monkeypatch.setenv("AWS_UNSIGNED_PAYLOAD", "true")
    with FaultProxy(server.endpoint) as proxy:
        store = proxied_store(server, proxy, **settings)
        upload(store, "obj", how)
        assert_bodies_unsigned(proxy.seen)
        assert_round_trip(store, "obj", how)
