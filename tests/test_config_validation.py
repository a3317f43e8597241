"""Every configuration value is checked where it enters (constructor, `from_url`, environment,
credential provider results): a value that cannot go into a request raises `ValueError` naming the
key (or variable) at construction, never showing a secret, instead of a Rust panic at the first
request. Also: unknown `retry_config` / `backoff` / `client_options` keys, the bounds of the
tuning variables, the instance metadata switch, the SAS token of an Azure URL and malformed
certificates. Traffic goes only to servers on 127.0.0.1 (or to a closed port there)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import socket
import subprocess
import sys
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, get_type_hints

import pytest

import obstore
from obstore.exceptions import (
    BaseError,
    GenericError,
    PermissionDeniedError,
    UnauthenticatedError,
)
from obstore.store import (
    AzureStore,
    BackoffConfig,
    ClientConfig,
    GCSStore,
    HTTPStore,
    RetryConfig,
    S3Credential,
    S3Store,
)

from .conftest import STORE_KINDS
from .local_http import LocalHTTPServer

#: Nothing listens on port 9 (discard) of 127.0.0.1: a request there fails at once.
CLOSED = "http://127.0.0.1:9"
CLIENT: ClientConfig = {"allow_http": True, "timeout": "5s", "connect_timeout": "2s"}
RETRY: RetryConfig = {"max_retries": 0, "retry_timeout": timedelta(seconds=2)}
AZURE_KEY = base64.b64encode(b"k" * 32).decode()
#: A secret no message may contain.
CANARY = "CANARYsecret42"

METADATA_VARIABLES = ("OBSTORE_METADATA_DISABLED", "AWS_EC2_METADATA_DISABLED")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("AWS_", "GOOGLE_", "AZURE_", "GCE_METADATA")):
            monkeypatch.delenv(name)
    for name in METADATA_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def s3(**config: Any) -> S3Store:
    settings: dict[str, Any] = {
        "bucket": "bucket",
        "access_key_id": "AKID",
        "secret_access_key": "secret",
        "endpoint": CLOSED,
        "region": "us-east-1",
    }
    settings.update(config)
    return S3Store(client_options=CLIENT, retry_config=RETRY, **settings)


def gcs(**config: Any) -> GCSStore:
    settings: dict[str, Any] = {"bucket": "bucket", "bearer_token": "token", "base_url": CLOSED}
    settings.update(config)
    return GCSStore(client_options=CLIENT, retry_config=RETRY, **settings)


def azure(**config: Any) -> AzureStore:
    settings: dict[str, Any] = {
        "container_name": "container",
        "account_name": "account",
        "account_key": AZURE_KEY,
        "endpoint": f"{CLOSED}/account",
    }
    settings.update(config)
    return AzureStore(client_options=CLIENT, retry_config=RETRY, **settings)


STORES: dict[str, Callable[..., Any]] = {"s3": s3, "gcs": gcs, "azure": azure}


# --- values given to the constructor ---------------------------------------------------------

#: (store, key, bad value, whether the value is secret, what the message says)
BAD_VALUES = [
    # Header-bound values: a control character (or any non-ASCII) cannot go into a header.
    ("s3", "session_token", f"{CANARY}\n", True, "HTTP header"),
    ("s3", "token", f"{CANARY}\r\n", True, "HTTP header"),
    ("s3", "access_key_id", "AKID\n", False, "HTTP header"),
    ("s3", "secret_access_key", f"{CANARY}\x00", True, "HTTP header"),
    ("s3", "sse_kms_key_id", "key\n", False, "HTTP header"),
    ("s3", "sse_customer_key_base64", f"{CANARY}\n", True, "HTTP header"),
    # Customer-provided keys: the base64 of a 32-byte AES key, refused before any request.
    ("s3", "sse_customer_key_base64", "c2hvcnQ=", True, "decodes to 5 bytes"),
    ("azure", "encryption_key", "c2hvcnQ=", True, "decodes to 5 bytes"),
    ("azure", "encryption_key", f"{CANARY}!", True, "not base64"),
    ("s3", "checksum_algorithm", "sha256\t", False, "HTTP header"),
    ("azure", "bearer_token", f"x\n{CANARY}", True, "HTTP header"),
    ("azure", "sas_key", f"sv=1&sig={CANARY}\n", True, "HTTP header"),
    ("azure", "account_key", f"{CANARY}\n", True, "HTTP header"),
    ("azure", "client_secret", f"{CANARY}é", True, "HTTP header"),
    ("gcs", "bearer_token", f"x\n{CANARY}", True, "HTTP header"),
    # Names that go into a request URL.
    ("s3", "bucket", "buck et", False, "letters, digits"),
    ("s3", "bucket", "a/b", False, "letters, digits"),
    ("s3", "bucket", "a?b", False, "letters, digits"),
    ("s3", "bucket", "a#b", False, "letters, digits"),
    ("s3", "bucket", "a%20b", False, "letters, digits"),
    ("s3", "bucket", "", False, "empty"),
    ("s3", "region", "us east 1", False, "letters, digits"),
    ("gcs", "bucket", "b\n", False, "letters, digits"),
    ("azure", "container_name", "c d", False, "letters, digits"),
    ("azure", "account_name", "acc/ount", False, "letters, digits"),
    ("azure", "tenant_id", "ten ant", False, "letters, digits"),
    # URLs requests are sent to.
    ("s3", "endpoint", "http://", False, "not a valid URL"),
    ("s3", "endpoint", ":::: ", False, "not a valid URL"),
    ("s3", "endpoint", "ftp://127.0.0.1", False, "expected http or https"),
    ("s3", "endpoint", "http://127.0.0.1:9 ", False, "not a valid HTTP request URL"),
    ("s3", "metadata_endpoint", "http://[::1", False, "not a valid URL"),
    ("s3", "endpoint", "http://user:pass word@host", False, "not a valid"),
    ("s3", "endpoint_url_sts", "sts", False, "not a valid URL"),
    ("s3", "container_credentials_relative_uri", "v2/creds", False, "start with '/'"),
    ("gcs", "base_url", "http://", False, "not a valid URL"),
    ("azure", "endpoint", "http:// bad", False, "not a valid URL"),
    ("azure", "msi_endpoint", "::::", False, "not a valid URL"),
    ("azure", "authority_host", "login", False, "not a valid URL"),
]


@pytest.mark.parametrize(
    ("kind", "key", "value", "secret", "reason"),
    BAD_VALUES,
    ids=[f"{kind}-{key}-{value!r}" for kind, key, value, _, _ in BAD_VALUES],
)
def test_bad_value_raises_valueerror_naming_the_key(
    kind: str, key: str, value: str, secret: bool, reason: str
) -> None:
    with pytest.raises(ValueError) as info:
        STORES[kind](**{key: value})
    message = str(info.value)
    assert f"'{key}'" in message
    assert reason in message
    if secret:
        assert CANARY not in message
        assert "secret and not shown" in message
    else:
        assert repr(value)[1:-1] in message or value.strip() == "" or "@" in value
    assert "pass word" not in message  # a URL's password is never shown


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"aws_session_token": f"{CANARY}\n"}, "session_token"),
        ({"AWS_SESSION_TOKEN": f"{CANARY}\n"}, "session_token"),
        ({"aws_bucket": "buck et"}, "bucket"),
        ({"aws_endpoint": "http://"}, "endpoint"),
    ],
)
def test_bad_value_in_the_config_dict_raises_the_same(config: dict[str, str], key: str) -> None:
    with pytest.raises(ValueError) as info:
        S3Store(config={"bucket": "bucket", **config})  # type: ignore[arg-type]
    assert f"'{key}'" in str(info.value)
    assert CANARY not in str(info.value)


def test_bad_value_fails_the_constructor_before_any_request() -> None:
    # A listener standing in for the endpoint: the constructor raises and nothing connects.
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(0.5)
        endpoint = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with pytest.raises(ValueError, match="session_token"):
            s3(endpoint=endpoint, session_token="tok\n")
        with pytest.raises(TimeoutError):
            listener.accept()


@pytest.mark.parametrize(
    ("kind", "config"),
    [
        ("s3", {"bucket": "My.Bucket_name-1"}),
        ("s3", {"region": "auto"}),
        ("s3", {"endpoint": "http://127.0.0.1:9/path/prefix"}),
        ("s3", {"session_token": "Fw//token+with/=symbols~"}),
        ("azure", {"container_name": "$web"}),
        ("azure", {"sas_key": "sv=2021-08-06&ss=b&sig=abc%2Bdef%3D"}),
        ("gcs", {"bucket": "bucket_with.dots-and_underscores"}),
    ],
)
def test_good_values_are_accepted(kind: str, config: dict[str, str]) -> None:
    store = STORES[kind](**config)
    for key, value in config.items():
        if key not in {"session_token", "sas_key"}:
            assert store.config[key] == value


def test_service_account_key_json_may_span_lines() -> None:
    from tests.servers import _rsa_private_key_pem

    key = (
        '{\n  "type": "service_account",\n  "private_key_id": "id",\n'
        f'  "private_key": {_json_string(_rsa_private_key_pem())},\n'
        '  "client_email": "a@b.iam.gserviceaccount.com"\n}\n'
    )
    store = GCSStore("bucket", service_account_key=key, base_url=CLOSED, client_options=CLIENT)
    assert store.config["service_account_key"] == "********"


def _json_string(text: str) -> str:
    import json

    return json.dumps(text)


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"user_agent": "agent\n"}, "user_agent"),
        ({"default_content_type": "text/é"}, "default_content_type"),
        ({"proxy_excludes": "a\rb"}, "proxy_excludes"),
        ({"default_headers": {"x-a": b"\xff"}}, "default_headers"),
        ({"default_headers": {"x-a": "é"}}, "default_headers"),
    ],
)
def test_bad_client_option_value_raises_valueerror(options: dict[str, Any], key: str) -> None:
    with pytest.raises(ValueError, match="HTTP header") as info:
        S3Store("bucket", client_options=options)  # type: ignore[arg-type]
    assert key in str(info.value)


def test_http_store_refuses_url_without_host() -> None:
    with pytest.raises(GenericError, match="empty host"):
        HTTPStore("http://")
    # A space in the path is percent-encoded, as before.
    store = HTTPStore("http://127.0.0.1:9/my dir/", client_options=CLIENT)
    assert store.url == "http://127.0.0.1:9/my%20dir/"


# --- values from URLs and the environment ----------------------------------------------------


def test_from_url_values_are_checked() -> None:
    with pytest.raises(ValueError, match="'endpoint'"):
        S3Store.from_url("s3://bucket/prefix", endpoint="http://")
    with pytest.raises(ValueError, match="'bucket'"):
        S3Store.from_url("s3://b_ok/prefix", config={"bucket": "b ad"})


@pytest.mark.parametrize(
    ("variable", "value", "secret"),
    [
        ("AWS_ENDPOINT", ":::: ", False),
        ("AWS_ENDPOINT_URL", "http://", False),
        ("AWS_SESSION_TOKEN", f"{CANARY}\n", True),
        ("AWS_REGION", "us east", False),
        ("AWS_USER_AGENT", "agent\n", False),
    ],
)
def test_bad_environment_value_raises_valueerror_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, secret: bool
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError) as info:
        S3Store("bucket", access_key_id="AKID", secret_access_key="secret")
    message = str(info.value)
    assert f"environment variable {variable}:" in message
    if secret:
        assert CANARY not in message
    else:
        assert repr(value)[1:-1] in message


def test_environment_value_overridden_by_an_explicit_one_is_not_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT", ":::: ")
    monkeypatch.setenv("AZURE_STORAGE_TOKEN", "tok\n")
    s3()  # endpoint= given explicitly
    azure(bearer_token="token")


@pytest.mark.parametrize(
    ("variable", "value"),
    [("GOOGLE_BUCKET", "b d"), ("GOOGLE_BASE_URL", "http://"), ("AZURE_CONTAINER_NAME", "c/d")],
)
def test_bad_environment_value_of_gcs_and_azure(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=f"environment variable {variable}:"):
        if variable.startswith("GOOGLE"):
            GCSStore(bearer_token="token")
        else:
            AzureStore(account_name="account", account_key=AZURE_KEY)


# --- values returned by credential providers -------------------------------------------------


def _provider_result(kind: str, field: str, value: str) -> dict[str, Any]:
    base: dict[str, dict[str, Any]] = {
        "s3": {"access_key_id": "AKID", "secret_access_key": "secret", "token": None},
        "gcs": {"token": "token"},
        "azure": {"token": "token"},
    }
    return {**base[kind], field: value, "expires_at": None}


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("s3", "access_key_id"),
        ("s3", "secret_access_key"),
        ("s3", "token"),
        ("gcs", "token"),
        ("azure", "token"),
        ("azure", "sas_token"),
    ],
)
def test_bad_credential_provider_value_fails_the_request_cleanly(kind: str, field: str) -> None:
    result = _provider_result(kind, field, f"{CANARY}\n")
    if field == "sas_token":
        result = {"sas_token": f"sv=1&sig={CANARY}\x01", "expires_at": None}
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(0.5)
        endpoint = f"http://127.0.0.1:{listener.getsockname()[1]}"
        config: dict[str, Any] = {
            "s3": {"bucket": "bucket", "endpoint": endpoint},
            "gcs": {"bucket": "bucket", "base_url": endpoint},
            "azure": {
                "container_name": "container",
                "account_name": "account",
                "endpoint": f"{endpoint}/account",
            },
        }[kind]
        factory = {"s3": S3Store, "gcs": GCSStore, "azure": AzureStore}[kind]
        store = factory(
            client_options=CLIENT,
            retry_config=RETRY,
            credential_provider=lambda: result,
            **config,
        )
        with pytest.raises(UnauthenticatedError) as info:
            obstore.head(store, "x")
        with pytest.raises(TimeoutError):
            listener.accept()  # the request was never sent
    message = str(info.value)
    assert f"'{field}' returned by the credential provider" in message
    assert "HTTP header" in message
    assert CANARY not in message


# --- unknown keys of retry_config, backoff and client_options --------------------------------


@pytest.mark.parametrize(
    ("retry", "key"),
    [
        ({"max_retry": 0}, "max_retry"),
        ({"max_retries": 1, "timeout": timedelta(seconds=1)}, "timeout"),
        ({"backoff": {"init_backof": timedelta(seconds=1)}}, "init_backof"),
        ({"backoff": {"base": 2, "factor": 3}}, "factor"),
    ],
)
def test_unknown_retry_key_raises_valueerror_naming_it(retry: dict[str, Any], key: str) -> None:
    for store in (
        lambda: S3Store("bucket", retry_config=retry),  # type: ignore[arg-type]
        lambda: HTTPStore("https://example.com", retry_config=retry),  # type: ignore[arg-type]
    ):
        with pytest.raises(ValueError, match=f"Unknown key '{key}' in retry_config"):
            store()


def test_every_documented_retry_key_is_accepted() -> None:
    values: dict[str, Any] = {
        "init_backoff": timedelta(milliseconds=10),
        "max_backoff": timedelta(seconds=1),
        "base": 3,
        "max_retries": 4,
        "retry_timeout": timedelta(seconds=5),
    }
    backoff = {key: values[key] for key in get_type_hints(BackoffConfig)}
    retry = {key: values[key] for key in get_type_hints(RetryConfig) if key != "backoff"}
    store = S3Store("bucket", retry_config={**retry, "backoff": backoff})  # type: ignore[arg-type]
    assert store.retry_config == {**retry, "backoff": {**backoff, "base": 3.0}}


def test_unknown_client_option_raises_valueerror_naming_it() -> None:
    with pytest.raises(ValueError, match="client_options has no key 'time_out'"):
        S3Store("bucket", client_options={"time_out": "5s"})  # type: ignore[arg-type]


#: A valid value for every documented client option.
CLIENT_VALUES: dict[str, Any] = {
    "allow_http": True,
    "max_concurrent_requests": 8,
    "allow_invalid_certificates": False,
    "connect_timeout": "5s",
    "default_content_type": "application/octet-stream",
    "default_headers": {"x-test": "1", "x-raw": b"2"},
    "http1_only": True,
    "http2_keep_alive_interval": "30s",
    "http2_keep_alive_timeout": timedelta(seconds=10),
    "http2_keep_alive_while_idle": "true",
    "http2_only": False,
    "pool_idle_timeout": timedelta(seconds=90),
    "pool_max_idle_per_host": "8",
    "proxy_url": "http://127.0.0.1:3128",
    "proxy_excludes": "localhost,127.0.0.1",
    "randomize_addresses": True,
    "read_timeout": "30s",
    "timeout": timedelta(seconds=30),
    "user_agent": "obstore-test/1.0",
}


def test_every_documented_client_option_is_accepted() -> None:
    documented = set(get_type_hints(ClientConfig))
    # The certificates have tests of their own below.
    assert documented - {"root_certificate", "proxy_ca_certificate"} == set(CLIENT_VALUES)
    store = S3Store("bucket", client_options=CLIENT_VALUES)  # type: ignore[arg-type]
    assert store.client_options is not None
    assert set(store.client_options) == set(CLIENT_VALUES)


# --- root_certificate --------------------------------------------------------------------------


def _system_certificate() -> str:
    bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    if not bundle.exists():
        pytest.skip("no system CA bundle to borrow a certificate from")
    text = bundle.read_text()
    end = text.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")
    return text[text.index("-----BEGIN CERTIFICATE-----") : end] + "\n"


NOT_A_CERTIFICATE = (
    "-----BEGIN CERTIFICATE-----\n"
    + base64.b64encode(b"these bytes are not a DER certificate").decode()
    + "\n-----END CERTIFICATE-----\n"
)


@pytest.mark.parametrize("as_bytes", [False, True])
def test_malformed_root_certificate_raises_the_library_error(as_bytes: bool) -> None:
    pem: str | bytes = NOT_A_CERTIFICATE.encode() if as_bytes else NOT_A_CERTIFICATE
    for make in (
        lambda: S3Store("bucket", client_options={"root_certificate": pem}),
        lambda: HTTPStore("https://127.0.0.1:9/", client_options={"root_certificate": pem}),
    ):
        with pytest.raises(BaseError, match="root_certificate") as info:
            make()
        assert isinstance(info.value, Exception)


def test_malformed_certificate_in_a_bundle_is_named_by_position() -> None:
    bundle = _system_certificate() + NOT_A_CERTIFICATE
    with pytest.raises(GenericError, match=r"root_certificate` \(PEM block 2\)"):
        S3Store("bucket", client_options={"root_certificate": bundle})


def test_valid_proxy_ca_certificate_may_span_lines() -> None:
    pem = _system_certificate()
    store = S3Store("bucket", client_options={"proxy_ca_certificate": pem})
    assert store.client_options == {"proxy_ca_certificate": pem}


# --- OBSTORE_WORKER_THREADS and OBSTORE_SYNC_LANES ---------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OBSTORE_WORKER_THREADS", "1025"),
        ("OBSTORE_WORKER_THREADS", "100000000"),
        ("OBSTORE_WORKER_THREADS", "99999999999999999999999"),
        ("OBSTORE_SYNC_LANES", "1025"),
        ("OBSTORE_SYNC_LANES", "18446744073709551615"),
    ],
)
def test_out_of_range_tuning_variable_fails_the_import(name: str, value: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import obstore"],
        env={**os.environ, name: value},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "ValueError" in result.stderr
    assert f"{name} must be a whole number from" in result.stderr
    assert "to 1024" in result.stderr
    assert f'got "{value}"' in result.stderr


def test_largest_tuning_values_are_accepted() -> None:
    code = "import obstore; print('imported')"
    env = {**os.environ, "OBSTORE_WORKER_THREADS": "1024", "OBSTORE_SYNC_LANES": "1024"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "imported"


# --- the instance metadata switch --------------------------------------------------------------


class Listener:
    """A TCP listener on 127.0.0.1 standing in for an instance metadata service: it counts the
    connections it accepts and closes each at once."""

    def __init__(self, home: Path) -> None:
        #: An empty home directory (for GCS: no application default credentials).
        self.home = home
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = 0
        self._closed = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            if self._closed:
                connection.close()
                return
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self._closed = True
        # Wake the accept() so the thread ends.
        with socket.create_connection(("127.0.0.1", self.port)):
            pass
        self._thread.join(5)
        self._socket.close()


@pytest.fixture
def metadata(tmp_path: Path) -> Iterator[Listener]:
    listener = Listener(tmp_path)
    yield listener
    listener.close()


def _store_without_credentials(
    kind: str, metadata: Listener, monkeypatch: pytest.MonkeyPatch, **extra: Any
) -> Any:
    """A store with no credentials, whose metadata service is `metadata`."""
    if kind == "s3":
        return S3Store(
            "bucket",
            endpoint=CLOSED,
            region="us-east-1",
            metadata_endpoint=metadata.url,
            client_options=CLIENT,
            retry_config=RETRY,
            **extra,
        )
    if kind == "gcs":
        # No application default credentials file (in $HOME), so the store falls back to the
        # metadata service. The GCE variables are read at request time; both must point here,
        # since a failed request to the host is retried on the IP.
        monkeypatch.setenv("HOME", str(metadata.home))
        monkeypatch.setenv("GCE_METADATA_HOST", f"127.0.0.1:{metadata.port}")
        monkeypatch.setenv("GCE_METADATA_IP", f"127.0.0.1:{metadata.port}")
        return GCSStore(
            "bucket", base_url=CLOSED, client_options=CLIENT, retry_config=RETRY, **extra
        )
    return AzureStore(
        "container",
        account_name="account",
        endpoint=f"{CLOSED}/account",
        msi_endpoint=f"{metadata.url}/metadata/identity/oauth2/token",
        client_options=CLIENT,
        retry_config=RETRY,
        **extra,
    )


SWITCHES = [
    ("s3", "AWS_EC2_METADATA_DISABLED"),
    ("s3", "OBSTORE_METADATA_DISABLED"),
    ("gcs", "OBSTORE_METADATA_DISABLED"),
    ("azure", "OBSTORE_METADATA_DISABLED"),
]


@pytest.mark.parametrize(("kind", "variable"), SWITCHES)
def test_metadata_switch_keeps_a_store_without_credentials_off_the_metadata_service(
    kind: str, variable: str, metadata: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, "true")
    store = _store_without_credentials(kind, metadata, monkeypatch)
    with pytest.raises(UnauthenticatedError) as info:
        obstore.head(store, "x")
    message = str(info.value)
    assert "No credentials were found" in message
    assert f"instance metadata service is disabled ({variable} is set to true)" in message
    assert metadata.connections == 0


@pytest.mark.parametrize("kind", ["s3", "gcs", "azure"])
def test_without_the_switch_the_metadata_service_is_asked(
    kind: str, metadata: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The counterpart of the test above: the same store does contact the listener.
    store = _store_without_credentials(kind, metadata, monkeypatch)
    with pytest.raises(Exception) as info:
        obstore.head(store, "x")
    assert "No credentials were found" not in str(info.value)
    assert metadata.connections >= 1


def test_gcs_sign_refuses_the_metadata_service_too(
    metadata: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bearer token gives request credentials but no signing key: sign() would ask the
    # metadata service for the service account's e-mail.
    monkeypatch.setenv("OBSTORE_METADATA_DISABLED", "1")
    store = _store_without_credentials("gcs", metadata, monkeypatch, bearer_token="token")
    with pytest.raises(UnauthenticatedError, match="No credentials were found"):
        obstore.sign(store, "GET", "x", timedelta(minutes=1))
    assert metadata.connections == 0


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_metadata_switch_with_a_bad_value_raises_valueerror(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBSTORE_METADATA_DISABLED", value)
    with pytest.raises(ValueError, match="OBSTORE_METADATA_DISABLED"):
        s3()


def test_metadata_switch_leaves_configured_credentials_alone(
    metadata: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBSTORE_METADATA_DISABLED", "true")
    signed = _store_without_credentials(
        "s3", metadata, monkeypatch, access_key_id="AKID", secret_access_key="secret"
    )
    with pytest.raises(GenericError) as info:  # port 9: the request itself was attempted
        obstore.head(signed, "x")
    assert "No credentials were found" not in str(info.value)
    credential: S3Credential = {
        "access_key_id": "AKID",
        "secret_access_key": "secret",
        "token": None,
        "expires_at": None,
    }
    provided = S3Store(
        "bucket",
        endpoint=CLOSED,
        metadata_endpoint=metadata.url,
        client_options=CLIENT,
        retry_config=RETRY,
        credential_provider=lambda: credential,
    )
    with pytest.raises(GenericError):
        obstore.head(provided, "x")
    assert metadata.connections == 0


class _Anonymous(BaseHTTPRequestHandler):
    authorizations: list[str | None]

    def log_message(self, *args: Any) -> None:
        pass

    def do_HEAD(self) -> None:
        self.authorizations.append(self.headers.get("Authorization"))
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.send_header("ETag", '"abc"')
        self.send_header("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT")
        self.end_headers()


def test_metadata_switch_with_skip_signature_works_anonymously(
    metadata: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    authorizations: list[str | None] = []
    server = LocalHTTPServer(type("Handler", (_Anonymous,), {"authorizations": authorizations}))
    try:
        store = S3Store(
            "bucket",
            endpoint=server.url.rstrip("/"),
            skip_signature=True,
            metadata_endpoint=metadata.url,
            client_options=CLIENT,
            retry_config=RETRY,
        )
        assert obstore.head(store, "x")["size"] == 5
    finally:
        server.close()
    assert authorizations == [None]
    assert metadata.connections == 0


# --- the SAS token of an Azure URL ---------------------------------------------------------------


def test_azure_url_query_is_kept_as_the_sas_token() -> None:
    sas = "sv=2021-08-06&ss=b&srt=co&sp=rl&se=2030-01-01T00%3A00%3A00Z&sig=abc%2Bdef%3D"
    url = f"https://account.blob.core.windows.net/container/prefix?{sas}"
    store = AzureStore.from_url(url)
    assert store.config == {
        "account_name": "account",
        "container_name": "container",
        "sas_key": "********",
    }
    assert store.prefix == "prefix"
    assert "abc" not in repr(store)
    assert store.__getnewargs_ex__()[1]["config"]["azure_storage_sas_key"] == sas
    # A sas_key in config wins over the URL's.
    explicit = AzureStore.from_url(url, config={"sas_key": "sv=1&sig=other"})
    assert explicit.__getnewargs_ex__()[1]["config"]["azure_storage_sas_key"] == "sv=1&sig=other"


def test_azure_url_query_that_is_not_a_sas_token_is_refused() -> None:
    with pytest.raises(GenericError, match="not a SAS token") as info:
        AzureStore.from_url("https://account.blob.core.windows.net/container?restype=x")
    assert "restype" not in str(info.value)  # the query is not echoed: it may be a secret


def _account_sas(account: str, key: str, permissions: str) -> str:
    """An account SAS (version 2019-12-12) for the blob service, signed with `key`."""
    expiry = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    fields = [account, permissions, "b", "sco", "", expiry, "", "https,http", "2019-12-12", ""]
    digest = hmac.new(base64.b64decode(key), "\n".join(fields).encode(), hashlib.sha256).digest()
    query = {
        "sv": "2019-12-12",
        "ss": "b",
        "srt": "sco",
        "sp": permissions,
        "se": expiry,
        "spr": "https,http",
        "sig": base64.b64encode(digest).decode(),
    }
    return urllib.parse.urlencode(query)


@pytest.mark.skipif("azurite" not in STORE_KINDS, reason="azurite not selected")
def test_azure_from_url_reads_with_the_urls_sas_token(
    servers: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Were the token dropped, the store would have no credentials: keep it off the network.
    monkeypatch.setenv("OBSTORE_METADATA_DISABLED", "true")
    server = servers.get("azurite")
    kwargs = server.store_kwargs
    account, container = kwargs["account_name"], kwargs["container_name"]
    prefix = f"sas-{uuid.uuid4().hex}"
    AzureStore(prefix=prefix, **kwargs).put("data.bin", b"read through a SAS")
    base = f"https://{account}.blob.core.windows.net/{container}/{prefix}"
    options = {
        "endpoint": kwargs["endpoint"],
        "client_options": kwargs["client_options"],
        "retry_config": kwargs["retry_config"],
    }

    sas = _account_sas(account, kwargs["account_key"], "rl")
    store = AzureStore.from_url(f"{base}?{sas}", **options)
    assert store.config["sas_key"] == "********"
    assert bytes(store.get("data.bin").bytes()) == b"read through a SAS"
    assert [meta["path"] for meta in store.list().collect()] == ["data.bin"]

    # The token is what authorizes the read: one signed with another key is refused.
    forged = _account_sas(account, base64.b64encode(b"x" * 64).decode(), "rl")
    with pytest.raises(PermissionDeniedError) as info:
        AzureStore.from_url(f"{base}?{forged}", **options).get("data.bin")
    assert "sig=" not in str(info.value)


@pytest.mark.parametrize(
    ("backoff", "why"),
    [
        ({"init_backoff": timedelta(0), "max_backoff": timedelta(0)}, "init_backoff above zero"),
        ({"base": 1.0}, "base above 1"),
        ({"base": 0.5}, "base"),
        ({"base": float("inf")}, "base"),
        (
            {"init_backoff": timedelta(seconds=2), "max_backoff": timedelta(seconds=1)},
            "max_backoff of at least init_backoff",
        ),
    ],
)
def test_backoff_whose_waits_cannot_be_drawn_is_refused(backoff: dict[str, Any], why: str) -> None:
    # object_store panics on the first retry with such a backoff ("cannot sample empty range").
    with pytest.raises(ValueError, match=why):
        HTTPStore(
            "http://127.0.0.1:9",
            client_options={"allow_http": True},
            retry_config={"max_retries": 1, "backoff": backoff},  # type: ignore[arg-type]
        )
