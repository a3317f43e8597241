"""Credential providers against an in-process HTTP server on 127.0.0.1 that records the
Authorization header of every request: caching and refresh, async providers, error wrapping,
and a forked child rebuilding its client. No external network."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import obstore
from obstore.exceptions import UnauthenticatedError
from obstore.store import (
    AzureCredential,
    AzureStore,
    ClientConfig,
    GCSCredential,
    GCSStore,
    RetryConfig,
    S3Store,
)

from .conftest import in_forked_child

BODY = b"hello"


class _Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, str, str]]

    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self, body: bool) -> None:
        self.seen.append((self.command, self.path, self.headers.get("Authorization", "")))
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("ETag", '"abc"')
        self.send_header("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT")
        self.end_headers()
        if body:
            self.wfile.write(BODY)

    def do_HEAD(self) -> None:
        self._reply(False)

    def do_GET(self) -> None:
        self._reply(True)


@pytest.fixture
def server() -> Iterator[tuple[str, list[tuple[str, str, str]]]]:
    seen: list[tuple[str, str, str]] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("AWS_", "GOOGLE_", "AZURE_")):
            monkeypatch.delenv(name)


CLIENT: ClientConfig = {"allow_http": True, "timeout": "5s", "connect_timeout": "2s"}
RETRY: RetryConfig = {"max_retries": 0}


class Counting:
    """A sync S3 provider counting its calls."""

    def __init__(self, lifetime: timedelta | None, key: str = "KEY1") -> None:
        self.calls = 0
        self.lifetime = lifetime
        self.key = key

    def __call__(self) -> dict[str, Any]:
        self.calls += 1
        expires = None if self.lifetime is None else datetime.now(UTC) + self.lifetime
        return {
            "access_key_id": f"{self.key}-{self.calls}",
            "secret_access_key": "secret",
            "token": None,
            "expires_at": expires,
        }


def s3_store(endpoint: str, provider: Any = None, **config: Any) -> S3Store:
    return S3Store(
        "bucket",
        endpoint=endpoint,
        region="us-east-1",
        client_options=CLIENT,
        retry_config=RETRY,
        credential_provider=provider,
        **config,
    )


def test_sync_provider_cached_forever(server: tuple[str, list]) -> None:
    endpoint, seen = server
    provider = Counting(None)
    store = s3_store(endpoint, provider)
    assert provider.calls == 0  # lazy: nothing fetched at construction
    for _ in range(3):
        assert obstore.head(store, "x")["size"] == len(BODY)
    assert provider.calls == 1
    assert len(seen) == 3
    assert all("Credential=KEY1-1/" in auth for _, _, auth in seen)


def test_short_expiry_refreshes_every_time(server: tuple[str, list]) -> None:
    endpoint, seen = server
    provider = Counting(timedelta(seconds=60))  # within the default 5 min threshold
    store = s3_store(endpoint, provider)
    for _ in range(3):
        obstore.head(store, "x")
    assert provider.calls == 3
    assert [auth.split("Credential=")[1].split("/")[0] for _, _, auth in seen] == [
        "KEY1-1",
        "KEY1-2",
        "KEY1-3",
    ]


def test_refresh_threshold_attribute(server: tuple[str, list]) -> None:
    endpoint, _ = server
    provider = Counting(timedelta(seconds=0.6))
    provider.refresh_threshold = timedelta(0)  # type: ignore[attr-defined]
    store = s3_store(endpoint, provider)
    obstore.head(store, "x")
    obstore.head(store, "x")
    assert provider.calls == 1
    time.sleep(0.8)
    obstore.head(store, "x")
    assert provider.calls == 2


def test_naive_expiry_taken_as_utc(server: tuple[str, list]) -> None:
    endpoint, _ = server
    calls = []

    def provider() -> dict[str, Any]:
        calls.append(1)
        naive = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1)
        return {"access_key_id": "a", "secret_access_key": "b", "expires_at": naive}

    store = s3_store(endpoint, provider)
    obstore.head(store, "x")
    obstore.head(store, "x")
    assert len(calls) == 1


def test_async_provider_with_async_api(server: tuple[str, list]) -> None:
    endpoint, seen = server
    calls = []

    async def provider() -> dict[str, Any]:
        await asyncio.sleep(0.01)
        calls.append(1)
        return {"access_key_id": "ASYNCKEY", "secret_access_key": "s", "expires_at": None}

    store = s3_store(endpoint, provider)

    async def main() -> bytes:
        meta = await obstore.head_async(store, "x")
        assert meta["size"] == len(BODY)
        result = await obstore.get_async(store, "x")
        return bytes(await result.bytes_async())

    assert asyncio.wait_for is not None
    assert asyncio.run(main()) == BODY
    assert len(calls) == 1
    assert all("Credential=ASYNCKEY/" in auth for _, _, auth in seen)


def test_async_provider_with_sync_api_fails_cleanly(server: tuple[str, list]) -> None:
    endpoint, _ = server

    async def provider() -> dict[str, Any]:
        return {"access_key_id": "a", "secret_access_key": "s", "expires_at": None}

    store = s3_store(endpoint, provider)
    with pytest.raises(UnauthenticatedError, match="no running event loop"):
        obstore.head(store, "x")

    async def sync_call_inside_loop() -> None:
        obstore.head(store, "x")

    start = time.monotonic()
    with pytest.raises(UnauthenticatedError, match="deadlock"):
        asyncio.run(sync_call_inside_loop())
    assert time.monotonic() - start < 10


def test_async_provider_from_another_thread_loop(server: tuple[str, list]) -> None:
    """A sync call from a worker thread can use the loop that is running in the main thread."""
    endpoint, _ = server

    async def provider() -> dict[str, Any]:
        return {"access_key_id": "THREADKEY", "secret_access_key": "s", "expires_at": None}

    store = s3_store(endpoint, provider)

    async def main() -> int:
        await obstore.head_async(store, "x")  # records the running loop
        loop = asyncio.get_running_loop()
        meta = await loop.run_in_executor(None, obstore.head, store, "x")
        return meta["size"]

    assert asyncio.run(main()) == len(BODY)


@pytest.mark.parametrize(
    ("result", "match"),
    [
        ({"access_key_id": "a", "expires_at": None}, "KeyError: 'secret_access_key'"),
        ({"access_key_id": "a", "secret_access_key": "b"}, "KeyError: 'expires_at'"),
        (ValueError("no credentials today"), "ValueError: no credentials today"),
    ],
)
def test_provider_failures_are_unauthenticated(
    server: tuple[str, list], result: Any, match: str
) -> None:
    endpoint, seen = server

    def provider() -> Any:
        if isinstance(result, Exception):
            raise result
        return result

    store = s3_store(endpoint, provider)
    with pytest.raises(UnauthenticatedError, match=match) as info:
        obstore.head(store, "x")
    assert "AWS credential provider" in str(info.value)
    assert seen == []


def test_async_provider_failure(server: tuple[str, list]) -> None:
    endpoint, _ = server

    async def provider() -> dict[str, Any]:
        raise PermissionError("denied by test")

    store = s3_store(endpoint, provider)

    async def main() -> None:
        await obstore.head_async(store, "x")

    with pytest.raises(UnauthenticatedError, match="PermissionError: denied by test"):
        asyncio.run(main())


def test_gcs_bearer_provider(server: tuple[str, list]) -> None:
    endpoint, seen = server
    calls = []

    def provider() -> GCSCredential:
        calls.append(1)
        return {"token": "gcs-token", "expires_at": datetime.now(UTC) + timedelta(hours=1)}

    store = GCSStore(
        "bucket",
        base_url=endpoint,
        client_options=CLIENT,
        retry_config=RETRY,
        credential_provider=provider,
    )
    obstore.head(store, "x")
    obstore.head(store, "x")
    assert len(calls) == 1
    assert seen[0][2] == "Bearer gcs-token"


def test_azure_providers(server: tuple[str, list]) -> None:
    endpoint, seen = server
    results: list[AzureCredential] = [
        {"token": "az-token", "expires_at": None},
        {"sas_token": "sv=2023&sig=abc%2Bdef", "expires_at": None},
        {"sas_token": [("sv", "2023"), ("sig", "xyz")], "expires_at": None},
    ]
    for result in results:
        seen.clear()
        store = AzureStore(
            "cont",
            account_name="acct",
            endpoint=endpoint,
            client_options=CLIENT,
            retry_config=RETRY,
            credential_provider=lambda result=result: result,
        )
        obstore.head(store, "x")
        method, path, auth = seen[0]
        if "token" in result:
            assert auth == "Bearer az-token"
        else:
            assert "sig=" in path and auth == ""


def test_forked_child_rebuilds_client(server: tuple[str, list]) -> None:
    endpoint, seen = server
    provider = Counting(None)
    store = s3_store(endpoint, provider)
    obstore.head(store, "x")
    # The child must not reuse the parent's pooled connections / runtime.
    in_forked_child(lambda: obstore.head(store, "x")["size"] == len(BODY))
    assert len(seen) == 2
    obstore.head(store, "x")  # the parent's client still works


def test_skip_signature_sends_no_authorization(server: tuple[str, list]) -> None:
    endpoint, seen = server
    store = S3Store(
        "bucket",
        endpoint=endpoint,
        skip_signature=True,
        client_options=CLIENT,
        retry_config=RETRY,
    )
    assert bytes(store.get("obj").bytes()) == BODY
    assert seen and all(authorization == "" for _, _, authorization in seen)


def test_static_keys_sign_requests(server: tuple[str, list]) -> None:
    endpoint, seen = server
    store = s3_store(endpoint, access_key_id="STATICKEY", secret_access_key="secret")
    assert bytes(store.get("obj").bytes()) == BODY
    assert seen[-1][2].startswith("AWS4-HMAC-SHA256 Credential=STATICKEY/")


def test_environment_credentials_sign_requests(
    server: tuple[str, list], monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint, seen = server
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ENVKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    store = S3Store("bucket", endpoint=endpoint, client_options=CLIENT, retry_config=RETRY)
    assert bytes(store.get("obj").bytes()) == BODY
    assert "Credential=ENVKEY/" in seen[-1][2]
    assert "/eu-west-1/s3/aws4_request" in seen[-1][2]


@pytest.mark.parametrize("outer", ["sync", "async"])
def test_sync_provider_may_itself_make_sync_calls(server: tuple[str, list], outer: str) -> None:
    # A provider that reads its credentials through obstore (a sync call made while obstore
    # runs the outer call, on whichever thread it polls the provider from).
    endpoint, seen = server
    plain = s3_store(endpoint, access_key_id="plain", secret_access_key="secret")

    def provider() -> dict[str, Any]:
        size = obstore.head(plain, "token")["size"]
        return {
            "access_key_id": f"nested-{size}",
            "secret_access_key": "s",
            "token": None,
            "expires_at": None,
        }

    store = s3_store(endpoint, provider)
    if outer == "sync":
        meta = obstore.head(store, "x")
    else:

        async def head() -> Any:
            # The future is made inside the running loop (it needs one when called).
            return await obstore.head_async(store, "x")

        meta = asyncio.run(head())
    assert meta["size"] == len(BODY)
    assert [path for _, path, _ in seen] == ["/bucket/token", "/bucket/x"]
    assert f"Credential=nested-{len(BODY)}/" in seen[1][2]
