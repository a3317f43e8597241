"""Errors a user can act on: one line naming the operation, the store URL, the path and the cause.

The full cause chain stays available in the exception's ``details`` attribute. Wrong credentials
raise ``PermissionDeniedError`` on every operation (``list`` included); a bucket or container that
does not exist raises ``NotFoundError`` (a ``FileNotFoundError``) saying so, not that the object
is missing. The in-process stores and stores pointed at a closed port always run; the
server-backed cases run for the kinds selected by ``OBSTORE_TEST_STORES``.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import obstore
import obstore.store
from obstore.exceptions import (
    BaseError,
    GenericError,
    NotFoundError,
    PermissionDeniedError,
)
from obstore.store import AzureStore, GCSStore, HTTPStore, LocalStore, MemoryStore, S3Store

from .conftest import BACKENDS, STORE_KINDS

Op = Callable[[Any], Any]


def _collect_async(store: Any) -> Any:
    async def main() -> Any:
        return await store.list("dir").collect_async()

    return asyncio.run(main())


#: Every operation family, called with the paths the expected messages name.
OPERATIONS: dict[str, Op] = {
    "head": lambda s: s.head("dir/key"),
    "get": lambda s: s.get("dir/key").bytes(),
    "get_range": lambda s: s.get_range("dir/key", start=0, end=1),
    "get_ranges": lambda s: s.get_ranges("dir/key", starts=[0], ends=[1]),
    "put": lambda s: s.put("dir/key", b"data"),
    "list": lambda s: s.list("dir").collect(),
    "list_async": _collect_async,
    "list_with_delimiter": lambda s: s.list_with_delimiter("dir"),
    "delete": lambda s: s.delete("dir/key"),
    "copy": lambda s: s.copy("dir/key", "dir/other"),
    "rename": lambda s: s.rename("dir/key", "dir/other"),
}

#: The operation name each call reports (a ranged get is a get).
REPORTED = {
    "get_range": "get",
    "get_ranges": "get",
    "list_async": "list",
}

#: The path (below the store URL) each call's message names.
NAMED_PATH = {
    "list": "dir",
    "list_async": "dir",
    "list_with_delimiter": "dir",
}


def _expected_prefix(op: str, store_url: str) -> str:
    """The start of the message of `op` on a store at `store_url`."""
    path = NAMED_PATH.get(op, "dir/key")
    text = f"{REPORTED.get(op, op)} {store_url}/{path}"
    if op in ("copy", "rename"):
        text += f" to {store_url}/dir/other"
    return text


def _raise(op: Op, store: Any) -> BaseException:
    with pytest.raises(Exception) as info:
        op(store)
    return info.value


def assert_actionable(error: BaseException, op: str, store_url: str) -> str:
    """One line, starting with the operation and the URL of the path; the chain in `details`."""
    message = str(error)
    assert "\n" not in message, message
    assert "Debug" not in message, message
    assert message.startswith(_expected_prefix(op, store_url) + ": "), message
    details = getattr(error, "details", None)
    assert isinstance(details, str) and details, error
    assert getattr(error, "operation", None) == REPORTED.get(op, op)
    return message


def _closed_port() -> int:
    """A local port with nothing listening: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------------------------------
# A store whose server is not there


def _closed_port_stores(port: int) -> dict[str, tuple[Any, str]]:
    endpoint = f"http://127.0.0.1:{port}"
    common: dict[str, Any] = {
        "client_options": {"allow_http": True},
        "retry_config": {"max_retries": 0},
    }
    return {
        "s3": (
            S3Store(
                "bucket",
                prefix="prefix",
                endpoint=endpoint,
                region="us-east-1",
                access_key_id="AKIDEXAMPLE",
                secret_access_key="secret",
                **common,
            ),
            "s3://bucket/prefix",
        ),
        "gcs": (
            GCSStore(
                "bucket",
                prefix="prefix",
                base_url=endpoint,
                bearer_token="token",
                **common,
            ),
            "gs://bucket/prefix",
        ),
        "azure": (
            AzureStore(
                "container",
                prefix="prefix",
                account_name="account",
                account_key="a2V5",
                endpoint=f"{endpoint}/account",
                **common,
            ),
            "az://container/prefix",
        ),
        "http": (HTTPStore(f"{endpoint}/prefix/", **common), f"{endpoint}/prefix"),
    }


@pytest.mark.parametrize("kind", ["s3", "gcs", "azure", "http"])
@pytest.mark.parametrize("op", ["head", "get", "put", "list", "list_with_delimiter", "delete"])
def test_connection_refused_is_one_line_naming_operation_store_path_and_endpoint(
    kind: str, op: str
) -> None:
    port = _closed_port()
    store, url = _closed_port_stores(port)[kind]
    error = _raise(OPERATIONS[op], store)
    assert isinstance(error, GenericError), repr(error)
    message = assert_actionable(error, op, url)
    assert f"127.0.0.1:{port}" in message
    assert "refused" in message.lower()
    assert "refused" in getattr(error, "details", "").lower()


# --------------------------------------------------------------------------------------------------
# In-process stores


def _missing_ops(kind: str) -> list[str]:
    ops = ["head", "get", "get_range", "get_ranges", "copy", "rename"]
    return ops + (["delete"] if kind == "local" else [])


@pytest.mark.parametrize(
    ("kind", "op"),
    [(kind, op) for kind in ("memory", "local") for op in _missing_ops(kind)],
)
def test_missing_object_names_operation_store_and_path(kind: str, op: str, tmp_path: Path) -> None:
    if kind == "memory":
        store: Any = MemoryStore()
        url = "memory://"
    else:
        store = LocalStore(tmp_path)
        url = tmp_path.as_uri()
    error = _raise(OPERATIONS[op], store)
    assert type(error) is FileNotFoundError, repr(error)
    message = assert_actionable(error, op, url)
    assert "not found" in message
    assert getattr(error, "url", None) == f"{url}/dir/key"


def test_error_attributes_are_data(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        store.head("dir/key")
    error: Any = info.value
    assert error.operation == "head"
    assert error.url == f"{tmp_path.as_uri()}/dir/key"
    assert error.status is None
    assert error.code is None
    assert "dir/key" in error.details


def test_already_exists_names_the_destination(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.put("a", b"1")
    store.put("b", b"2")
    with pytest.raises(obstore.exceptions.AlreadyExistsError) as info:
        store.copy("a", "b", overwrite=False)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"copy {tmp_path.as_uri()}/a to {tmp_path.as_uri()}/b: ")
    assert "already exists" in message


def test_errors_outside_operations_are_one_line() -> None:
    """Configuration errors carry no operation, and still no Debug dump."""
    with pytest.raises(BaseError) as info:
        GCSStore("bucket", service_account_key="{}")
    assert "\n" not in str(info.value)
    assert "Debug" not in str(info.value)
    assert getattr(info.value, "operation", None) is None


# --------------------------------------------------------------------------------------------------
# Real servers

SERVER_KINDS = [k for k in ("s3-minio", "s3-moto", "azurite", "gcs", "webdav") if k in STORE_KINDS]


def _server_store(
    request: pytest.FixtureRequest, kind: str, **overrides: Any
) -> tuple[Any, dict[str, Any], Any]:
    """A store on the server of `kind` below a fresh prefix, and its keyword arguments."""
    backend = BACKENDS[kind]
    server = request.getfixturevalue("servers").get(backend.server)
    kwargs = {**server.store_kwargs, **overrides}
    cls = getattr(obstore.store, backend.store_class)
    if backend.store_class == "HTTPStore":
        return cls(**kwargs), kwargs, server
    return cls(prefix=f"errors-{uuid.uuid4().hex}", **kwargs), kwargs, server


def _store_url(kind: str, store: Any, kwargs: dict[str, Any]) -> str:
    if kind.startswith("s3"):
        return f"s3://{kwargs['bucket']}/{store.prefix}"
    if kind == "gcs":
        return f"gs://{kwargs['bucket']}/{store.prefix}"
    if kind == "azurite":
        return f"az://{kwargs['container_name']}/{store.prefix}"
    return str(kwargs["url"]).rstrip("/")


@pytest.mark.parametrize("kind", SERVER_KINDS)
@pytest.mark.parametrize("op", ["head", "get", "get_range"])
def test_missing_object_on_server_is_one_line_with_status(
    kind: str, op: str, request: pytest.FixtureRequest
) -> None:
    store, kwargs, _ = _server_store(request, kind)
    error = _raise(OPERATIONS[op], store)
    assert type(error) is FileNotFoundError, repr(error)
    message = assert_actionable(error, op, _store_url(kind, store, kwargs))
    assert "not found" in message
    assert "404" in message
    assert getattr(error, "status", None) == 404


#: Operations every wrong-credential and missing-bucket case runs.
EVERY_OPERATION = list(OPERATIONS)

WRONG_CREDENTIALS = {
    "s3-minio": {"secret_access_key": "not-the-secret"},
    # base64 of "not the account key"
    "azurite": {"account_key": "bm90IHRoZSBhY2NvdW50IGtleQ=="},
}


@pytest.mark.parametrize("kind", [k for k in WRONG_CREDENTIALS if k in STORE_KINDS])
@pytest.mark.parametrize("op", EVERY_OPERATION)
def test_wrong_credentials_raise_permission_denied_on_every_operation(
    kind: str, op: str, request: pytest.FixtureRequest
) -> None:
    store, kwargs, _ = _server_store(request, kind, **WRONG_CREDENTIALS[kind])
    error = _raise(OPERATIONS[op], store)
    assert isinstance(error, PermissionDeniedError), repr(error)
    message = assert_actionable(error, op, _store_url(kind, store, kwargs))
    assert "403" in message
    assert getattr(error, "status", None) == 403


MISSING_BUCKET = {
    "s3-minio": ("bucket", "bucket"),
    "s3-moto": ("bucket", "bucket"),
    "azurite": ("container_name", "container"),
}


@pytest.mark.parametrize("kind", [k for k in MISSING_BUCKET if k in STORE_KINDS])
@pytest.mark.parametrize("op", EVERY_OPERATION)
def test_missing_bucket_raises_not_found_naming_the_bucket(
    kind: str, op: str, request: pytest.FixtureRequest
) -> None:
    key, noun = MISSING_BUCKET[kind]
    name = f"missing-{uuid.uuid4().hex[:12]}"
    store, kwargs, _ = _server_store(request, kind, **{key: name})
    error = _raise(OPERATIONS[op], store)
    assert isinstance(error, NotFoundError), repr(error)
    assert isinstance(error, FileNotFoundError)
    message = assert_actionable(error, op, _store_url(kind, store, kwargs))
    assert f'{noun} "{name}" does not exist' in message


@pytest.mark.parametrize("kind", [k for k in MISSING_BUCKET if k in STORE_KINDS])
def test_missing_object_in_existing_bucket_is_not_a_missing_bucket(
    kind: str, request: pytest.FixtureRequest
) -> None:
    """The check behind a bare 404 to HEAD finds the bucket, so the object is what is missing."""
    store, _, _ = _server_store(request, kind)
    for _ in range(2):  # the second time the bucket is already known to exist
        with pytest.raises(FileNotFoundError) as info:
            store.head("dir/key")
        assert not isinstance(info.value, NotFoundError)
        assert "does not exist" not in str(info.value)
