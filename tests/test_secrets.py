"""Secrets never show: a canary secret given to every store class, in every accepted form, must not
appear in ``repr``/``str`` of the store, its ``config`` and other display getters, the text of any
error (message, ``repr``, attributes, cause chain, formatted traceback) or any log record.

Errors are provoked on a closed port (connection refused) for every store, and against the real
servers selected by ``OBSTORE_TEST_STORES``: a 403 for a wrong key (MinIO, Azurite), a 404 for a
missing object (moto, which accepts any key; Azurite with its real key as the canary; WebDAV with
a password in the URL). The Rust core does not log through Python ``logging``; the log check holds
the captured records to the same rule anyway, so a future bridge cannot start leaking.
"""

from __future__ import annotations

import logging
import socket
import traceback
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import obstore.store
from obstore.store import AzureStore, GCSStore, HTTPStore, S3Store, from_url

from .conftest import BACKENDS, STORE_KINDS

#: Valid base64 (32 characters), so stores accept it as an Azure account key too.
CANARY = "CanaryS3cretXyZ9CanaryS3cretXyZ9"
#: A second secret for the session-token style settings.
TOKEN_CANARY = "CanaryT0kenQwErCanaryT0kenQwEr00"

SECRETS = (CANARY, TOKEN_CANARY)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


COMMON: dict[str, Any] = {
    "client_options": {"allow_http": True},
    "retry_config": {"max_retries": 0},
}


def _s3(endpoint: str) -> dict[str, Any]:
    return {
        "endpoint": endpoint,
        "region": "us-east-1",
        "access_key_id": "AKIDEXAMPLE",
        "secret_access_key": CANARY,
        "session_token": TOKEN_CANARY,
        **COMMON,
    }


def _azure(endpoint: str, **credential: str) -> dict[str, Any]:
    return {
        "account_name": "account",
        "endpoint": f"{endpoint}/account",
        **credential,
        **COMMON,
    }


def _sas() -> str:
    return f"sv=2022-11-02&ss=b&srt=sco&sp=rwdlac&se=2099-01-01T00:00:00Z&sig={CANARY}"


#: Every store class and every way of giving it a secret, pointed at `endpoint`.
FACTORIES: dict[str, Callable[[str], Any]] = {
    "S3Store": lambda e: S3Store("bucket", prefix="prefix", **_s3(e)),
    "S3Store-config": lambda e: S3Store(
        "bucket",
        config={
            "secret_access_key": CANARY,
            "session_token": TOKEN_CANARY,
            "access_key_id": "AKIDEXAMPLE",
            "endpoint": e,
            "region": "us-east-1",
        },
        **COMMON,
    ),
    "S3Store.from_url": lambda e: S3Store.from_url("s3://bucket/prefix", **_s3(e)),
    "from_url-s3": lambda e: from_url("s3://bucket/prefix", **_s3(e)),
    "GCSStore": lambda e: GCSStore("bucket", base_url=e, bearer_token=CANARY, **COMMON),
    "GCSStore.from_url": lambda e: GCSStore.from_url(
        "gs://bucket/prefix", base_url=e, bearer_token=CANARY, **COMMON
    ),
    "AzureStore-account-key": lambda e: AzureStore("container", **_azure(e, account_key=CANARY)),
    "AzureStore-sas": lambda e: AzureStore("container", **_azure(e, sas_key=_sas())),
    "AzureStore-bearer": lambda e: AzureStore("container", **_azure(e, bearer_token=CANARY)),
    "AzureStore.from_url": lambda e: AzureStore.from_url(
        "az://container/prefix", **_azure(e, account_key=CANARY)
    ),
    "AzureStore.from_url-sas-query": lambda e: AzureStore.from_url(
        f"https://account.blob.core.windows.net/container/prefix?{_sas()}",
        endpoint=f"{e}/account",
        **COMMON,
    ),
    "HTTPStore": lambda e: HTTPStore(_with_password(e, "/base/"), **COMMON),
    "HTTPStore.from_url": lambda e: HTTPStore.from_url(_with_password(e, "/base/"), **COMMON),
    "from_url-http": lambda e: from_url(_with_password(e, "/base/"), **COMMON),
}


def _with_password(endpoint: str, path: str) -> str:
    return endpoint.replace("http://", f"http://user:{CANARY}@") + path


#: The getters a user may print.
DISPLAY_ATTRIBUTES = ("config", "url", "prefix", "client_options", "retry_config")


def display_texts(store: Any) -> Iterator[str]:
    yield repr(store)
    yield str(store)
    for name in DISPLAY_ATTRIBUTES:
        if hasattr(store, name):
            yield repr(getattr(store, name))


def exception_texts(error: BaseException) -> Iterator[str]:
    """Everything a traceback, a log line or an error report could show of `error`."""
    yield "".join(traceback.format_exception(error))
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        yield repr(current.args)
        yield repr(getattr(current, "__dict__", {}))
        current = current.__cause__ or current.__context__


def assert_no_secret(texts: Iterator[str], *secrets: str) -> None:
    for text in texts:
        for secret in secrets or SECRETS:
            assert secret not in text, text


@pytest.fixture
def obstore_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every log record at DEBUG and above, from the obstore loggers and the root."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="obstore")
    yield caplog


def assert_logs_clean(caplog: pytest.LogCaptureFixture, *secrets: str) -> None:
    texts = [caplog.text]
    for record in caplog.records:
        texts.append(record.getMessage())
        texts.append(repr(record.__dict__))
    assert_no_secret(iter(texts), *secrets)


@pytest.mark.parametrize("form", sorted(FACTORIES))
def test_store_display_hides_secrets(form: str) -> None:
    store = FACTORIES[form](f"http://127.0.0.1:{_closed_port()}")
    assert_no_secret(display_texts(store))


def test_http_store_url_masks_only_the_password() -> None:
    store = HTTPStore(f"http://user:{CANARY}@127.0.0.1:1/base/", **COMMON)
    assert store.url == "http://user:***@127.0.0.1:1/base/"
    assert repr(store) == 'HTTPStore("http://user:***@127.0.0.1:1/base/")'


def test_http_store_keeps_the_password_for_pickling() -> None:
    """Pickling must rebuild a working store, so it carries the real URL (not for display)."""
    import pickle

    store = HTTPStore(f"http://user:{CANARY}@127.0.0.1:1/base/", **COMMON)
    restored = pickle.loads(pickle.dumps(store))
    assert restored == store


OPERATIONS: dict[str, Callable[[Any], Any]] = {
    "head": lambda s: s.head("key"),
    "get": lambda s: s.get("key").bytes(),
    "put": lambda s: s.put("key", b"data"),
    "list": lambda s: s.list().collect(),
    "list_with_delimiter": lambda s: s.list_with_delimiter(),
    "delete": lambda s: s.delete("key"),
    "copy": lambda s: s.copy("key", "other"),
}


@pytest.mark.parametrize("form", sorted(FACTORIES))
def test_connection_errors_hide_secrets(form: str, obstore_logs: pytest.LogCaptureFixture) -> None:
    store = FACTORIES[form](f"http://127.0.0.1:{_closed_port()}")
    for name, op in OPERATIONS.items():
        with pytest.raises(Exception) as info:
            op(store)
        assert "\n" not in str(info.value), (name, str(info.value))
        assert_no_secret(exception_texts(info.value))
    assert_logs_clean(obstore_logs)


# --------------------------------------------------------------------------------------------------
# Real servers: 403 for a wrong key, 404 for a missing object


def _server(request: pytest.FixtureRequest, kind: str) -> Any:
    return request.getfixturevalue("servers").get(BACKENDS[kind].server)


def _run_all(store: Any) -> list[Exception]:
    errors: list[Exception] = []
    for op in OPERATIONS.values():
        try:
            op(store)
        except Exception as error:  # noqa: BLE001 - every error is inspected
            errors.append(error)
    return errors


def _server_cases() -> list[str]:
    wanted = {
        "minio-wrong-secret": "s3-minio",
        "minio-bogus-session-token": "s3-minio",
        "azurite-wrong-key": "azurite",
        "azurite-missing-object": "azurite",
        "moto-missing-object": "s3-moto",
        "webdav-password-missing-object": "webdav",
    }
    return [case for case, kind in wanted.items() if kind in STORE_KINDS]


def _server_store(request: pytest.FixtureRequest, case: str) -> tuple[Any, tuple[str, ...]]:
    """The store of `case` and the secrets it holds."""
    prefix = f"secrets-{uuid.uuid4().hex}"
    if case.startswith("minio"):
        kwargs = dict(_server(request, "s3-minio").store_kwargs)
        if case == "minio-wrong-secret":
            kwargs["secret_access_key"] = CANARY
        else:
            kwargs["session_token"] = TOKEN_CANARY
        return S3Store(prefix=prefix, **kwargs), SECRETS
    if case == "moto-missing-object":
        kwargs = dict(_server(request, "s3-moto").store_kwargs)
        kwargs.update(secret_access_key=CANARY, session_token=TOKEN_CANARY)
        return S3Store(prefix=prefix, **kwargs), SECRETS
    if case.startswith("azurite"):
        kwargs = dict(_server(request, "azurite").store_kwargs)
        if case == "azurite-wrong-key":
            kwargs["account_key"] = CANARY
            return AzureStore(prefix=prefix, **kwargs), SECRETS
        return AzureStore(prefix=prefix, **kwargs), (kwargs["account_key"],)
    kwargs = dict(_server(request, "webdav").store_kwargs)
    kwargs["url"] = _with_password(str(kwargs["url"]).rstrip("/"), "/")
    return HTTPStore(**kwargs), SECRETS


@pytest.mark.parametrize("case", _server_cases())
def test_server_errors_hide_secrets(
    case: str, request: pytest.FixtureRequest, obstore_logs: pytest.LogCaptureFixture
) -> None:
    store, secrets = _server_store(request, case)
    assert_no_secret(display_texts(store), *secrets)
    errors = _run_all(store)
    assert errors, "every case provokes at least one error"
    if "wrong" in case or "bogus" in case:
        assert all(isinstance(e, obstore.exceptions.PermissionDeniedError) for e in errors), errors
    else:
        assert any(isinstance(e, FileNotFoundError) for e in errors), errors
    for error in errors:
        assert "\n" not in str(error), str(error)
        assert_no_secret(exception_texts(error), *secrets)
    assert_logs_clean(obstore_logs, *secrets)
