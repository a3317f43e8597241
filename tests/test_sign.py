"""Offline tests of `sign` / `sign_async`: S3 with static credentials (no network), Azure with an
account key, argument validation, prefixes and return types."""

from __future__ import annotations

import asyncio
import base64
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

import obstore
from obstore.store import AzureStore, HTTPStore, LocalStore, MemoryStore, S3Store

KEY = base64.b64encode(b"k" * 32).decode()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith(("AWS_", "GOOGLE_", "AZURE_")):
            monkeypatch.delenv(name)


def s3(**kwargs: object) -> S3Store:
    base = {"access_key_id": "AKIDEXAMPLE", "secret_access_key": "SECRET", "region": "eu-west-1"}
    return S3Store("bucket", **{**base, **kwargs})  # type: ignore[arg-type]


def test_s3_sign_url_shape() -> None:
    url = obstore.sign(s3(), "GET", "dir/file.txt", timedelta(hours=1))
    assert isinstance(url, str)
    parts = urlsplit(url)
    assert parts.scheme == "https"
    assert parts.netloc == "s3.eu-west-1.amazonaws.com"
    assert parts.path == "/bucket/dir/file.txt"
    query = parse_qs(parts.query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["3600"]
    assert re.fullmatch(
        r"AKIDEXAMPLE/\d{8}/eu-west-1/s3/aws4_request", query["X-Amz-Credential"][0]
    )
    assert query["X-Amz-SignedHeaders"] == ["host"]
    assert re.fullmatch(r"[0-9a-f]{64}", query["X-Amz-Signature"][0])
    assert "SECRET" not in url


def test_s3_sign_prefix_and_session_token() -> None:
    url = obstore.sign(s3(session_token="TOKEN"), "PUT", "a b.txt", timedelta(minutes=5))
    store = s3(session_token="TOKEN")
    prefixed = S3Store(
        "bucket",
        prefix="pre/fix",
        config={
            "access_key_id": "AKIDEXAMPLE",
            "secret_access_key": "SECRET",
            "region": "eu-west-1",
        },
    )
    parts = urlsplit(url)
    assert parts.path == "/bucket/a%20b.txt"
    assert parse_qs(parts.query)["X-Amz-Security-Token"] == ["TOKEN"]
    assert parse_qs(parts.query)["X-Amz-Expires"] == ["300"]
    assert (
        urlsplit(obstore.sign(prefixed, "GET", "x", timedelta(seconds=60))).path
        == "/bucket/pre/fix/x"
    )
    assert obstore.sign(store, "GET", "x", timedelta(seconds=1)) != obstore.sign(
        store, "PUT", "x", timedelta(seconds=1)
    )


def test_s3_sign_custom_endpoint_and_virtual_hosted() -> None:
    custom = s3(endpoint="https://minio.example.com:9000")
    assert obstore.sign(custom, "GET", "k", timedelta(seconds=60)).startswith(
        "https://minio.example.com:9000/bucket/k?"
    )
    vhost = S3Store.from_url(
        "https://bucket.s3.eu-west-1.amazonaws.com/p",
        access_key_id="AKIDEXAMPLE",
        secret_access_key="SECRET",
    )
    url = obstore.sign(vhost, "GET", "k", timedelta(seconds=60))
    assert url.startswith("https://bucket.s3.eu-west-1.amazonaws.com/p/k?")


def test_sign_many_returns_list() -> None:
    store = s3()
    urls = obstore.sign(store, "GET", ["a", "b/c"], timedelta(minutes=1))
    assert isinstance(urls, list)
    assert [urlsplit(u).path for u in urls] == ["/bucket/a", "/bucket/b/c"]
    assert obstore.sign(store, "GET", ("a",), timedelta(minutes=1)).__class__ is list
    assert obstore.sign(store, "GET", [], timedelta(minutes=1)) == []


def test_sign_all_methods_and_bad_method() -> None:
    store = s3()
    methods: list[obstore.HTTP_METHOD] = [
        "GET",
        "PUT",
        "POST",
        "HEAD",
        "PATCH",
        "TRACE",
        "DELETE",
        "OPTIONS",
        "CONNECT",
    ]
    for method in methods:
        assert obstore.sign(store, method, "k", timedelta(seconds=10))
    with pytest.raises(ValueError, match="^Unsupported HTTP method get$"):
        obstore.sign(store, "get", "k", timedelta(seconds=10))  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="Unsupported HTTP method FETCH"):
        obstore.sign(store, "FETCH", "k", timedelta(seconds=10))  # type: ignore[call-overload]


def test_sign_bad_arguments() -> None:
    store = s3()
    with pytest.raises(TypeError):
        obstore.sign(store, "GET", "k", 60)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="Could not parse path"):
        obstore.sign(store, "GET", "a//b", timedelta(seconds=10))
    with pytest.raises(TypeError):
        obstore.sign(store, "GET", 5, timedelta(seconds=10))  # type: ignore[call-overload]
    for other in [MemoryStore(), LocalStore(), HTTPStore("https://example.com"), object()]:
        with pytest.raises(
            ValueError, match="Expected an S3Store, GCSStore, or AzureStore instance"
        ):
            obstore.sign(other, "GET", "k", timedelta(seconds=10))  # type: ignore[call-overload]


def test_sign_positional_and_keyword() -> None:
    store = s3()
    url = obstore.sign(store=store, method="GET", paths="k", expires_in=timedelta(seconds=10))
    assert "X-Amz-Signature" in url


def test_sign_async() -> None:
    store = s3()

    async def main() -> tuple[str, list[str]]:
        one = await obstore.sign_async(store, "GET", "k", timedelta(seconds=30))
        many = await obstore.sign_async(store, "PUT", ["a", "b"], timedelta(seconds=30))
        return one, many  # type: ignore[return-value]

    one, many = asyncio.run(main())
    assert isinstance(one, str) and urlsplit(one).path == "/bucket/k"
    assert isinstance(many, list) and len(many) == 2
    with pytest.raises(RuntimeError):
        obstore.sign_async(store, "GET", "k", timedelta(seconds=30))  # type: ignore[unused-coroutine]


def test_azure_sign_with_account_key() -> None:
    store = AzureStore("cont", account_name="acct", account_key=KEY, prefix="p")
    url = obstore.sign(store, "GET", "x.txt", timedelta(minutes=5))
    parts = urlsplit(url)
    assert parts.netloc == "acct.blob.core.windows.net"
    assert parts.path == "/cont/p/x.txt"
    query = parse_qs(parts.query)
    assert query["sp"] == ["r"]
    assert "sig" in query and "se" in query
    put = parse_qs(urlsplit(obstore.sign(store, "PUT", "x.txt", timedelta(minutes=5))).query)
    assert "w" in put["sp"][0]


def test_s3_sign_with_credential_provider() -> None:
    calls = []

    def provider() -> dict:
        calls.append(1)
        return {
            "access_key_id": "FROMPROVIDER",
            "secret_access_key": "s",
            "token": None,
            "expires_at": None,
        }

    store = S3Store("bucket", region="us-east-1", credential_provider=provider)  # type: ignore[arg-type]
    for _ in range(3):
        url = obstore.sign(store, "GET", "k", timedelta(seconds=30))
        assert "FROMPROVIDER%2F" in url
    assert len(calls) == 1
