"""Signed GET/PUT URLs fetched with urllib against the real test servers (MinIO, moto, Azurite,
fake-gcs-server). Each kind is skipped when its server is not installed."""

from __future__ import annotations

import urllib.request
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import obstore

KINDS = ["minio", "moto", "azurite", "gcs"]


@pytest.fixture(scope="module", params=KINDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    import tests.servers as servers

    kind = request.param
    if not servers.available(kind):
        pytest.skip(f"{kind} server not installed (scripts/install-test-servers.sh)")
    srv = servers.start(kind, Path(tmp_path_factory.mktemp(f"sign-{kind}")))
    try:
        yield srv
    finally:
        srv.stop()


def _fetch(url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None) -> bytes:
    method = "GET" if data is None else "PUT"
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=15) as response:  # noqa: S310 - 127.0.0.1 only
        assert 200 <= response.status < 300
        return response.read()


def test_signed_get_and_put(server: Any) -> None:
    prefix = f"sign-{uuid.uuid4().hex[:8]}"
    store = server.store(prefix=prefix)
    assert store.prefix == prefix
    obstore.put(store, "dir/object.txt", b"signed content")

    get_url = obstore.sign(store, "GET", "dir/object.txt", timedelta(minutes=5))
    assert get_url.startswith("http://127.0.0.1:")
    assert prefix in get_url
    assert _fetch(get_url) == b"signed content"

    # urllib would send application/x-www-form-urlencoded, which moto treats as a form post
    headers = {"Content-Type": "application/octet-stream"}
    if server.kind == "azurite":
        headers["x-ms-blob-type"] = "BlockBlob"
    put_url = obstore.sign(store, "PUT", "dir/uploaded.bin", timedelta(minutes=5))
    _fetch(put_url, data=b"uploaded through a signed URL", headers=headers)
    assert bytes(obstore.get(store, "dir/uploaded.bin").bytes()) == b"uploaded through a signed URL"

    urls = obstore.sign(store, "GET", ["dir/object.txt", "dir/uploaded.bin"], timedelta(minutes=5))
    assert [_fetch(u) for u in urls] == [b"signed content", b"uploaded through a signed URL"]


def test_signed_url_async(server: Any) -> None:
    import asyncio

    store = server.store(prefix=f"sign-async-{uuid.uuid4().hex[:8]}")
    obstore.put(store, "a.txt", b"async")

    async def main() -> str:
        return await obstore.sign_async(store, "GET", "a.txt", timedelta(minutes=1))  # type: ignore[return-value]

    assert _fetch(asyncio.run(main())) == b"async"
