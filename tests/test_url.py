"""Offline tests of `from_url` for the network stores: every URL form, the prefix taken from the
URL path, precedence between URL, `config` and keyword settings, and errors for bad URLs."""

from __future__ import annotations

import base64

import pytest

import obstore
from obstore import _store
from obstore.exceptions import BaseError, GenericError, UnknownConfigurationKeyError
from obstore.store import AzureStore, GCSStore, HTTPStore, S3Credential, S3Store, from_url

KEY = base64.b64encode(b"k" * 32).decode()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith(("AWS_", "GOOGLE_", "AZURE_")):
            monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("url", "config", "prefix"),
    [
        ("s3://bucket", {"bucket": "bucket"}, None),
        ("s3://bucket/", {"bucket": "bucket"}, None),
        ("s3://bucket/a/b", {"bucket": "bucket"}, "a/b"),
        ("s3a://bucket/a", {"bucket": "bucket"}, "a"),
        ("s3://bucket/with%20space/x", {"bucket": "bucket"}, "with space/x"),
        (
            "https://s3.eu-west-1.amazonaws.com/bucket",
            {"bucket": "bucket", "region": "eu-west-1"},
            None,
        ),
        (
            "https://s3.eu-west-1.amazonaws.com/bucket/p/q",
            {"bucket": "bucket", "region": "eu-west-1"},
            "p/q",
        ),
        (
            "https://bucket.s3.eu-west-1.amazonaws.com/p",
            {"bucket": "bucket", "region": "eu-west-1", "virtual_hosted_style_request": "true"},
            "p",
        ),
        (
            "https://bucket.s3.amazonaws.com",
            {"bucket": "bucket", "virtual_hosted_style_request": "true"},
            None,
        ),
        (
            "https://s3.dualstack.us-east-2.amazonaws.com/bucket/k",
            {
                "bucket": "bucket",
                "region": "us-east-2",
                "endpoint": "https://s3.dualstack.us-east-2.amazonaws.com",
            },
            "k",
        ),
        (
            "https://acct123.r2.cloudflarestorage.com/bucket/x",
            {
                "bucket": "bucket",
                "region": "auto",
                "endpoint": "https://acct123.r2.cloudflarestorage.com",
            },
            "x",
        ),
    ],
)
def test_s3_urls(url: str, config: dict[str, str], prefix: str | None) -> None:
    assert obstore.parse_scheme(url) == "s3"
    for store in [from_url(url), S3Store.from_url(url)]:
        assert type(store) is S3Store
        assert store.config == config
        assert store.prefix == prefix


def test_gcs_urls() -> None:
    store = from_url("gs://bucket/a/b")
    assert type(store) is GCSStore
    assert store.config == {"bucket": "bucket"}
    assert store.prefix == "a/b"
    assert GCSStore.from_url("gs://bucket").prefix is None
    with pytest.raises(GenericError, match="gs://"):
        GCSStore.from_url("s3://bucket")


@pytest.mark.parametrize(
    ("url", "config", "prefix"),
    [
        ("az://cont/p", {"container_name": "cont"}, "p"),
        ("adl://cont/p/q", {"container_name": "cont"}, "p/q"),
        ("azure://cont", {"container_name": "cont"}, None),
        ("abfs://cont/p", {"container_name": "cont"}, "p"),
        ("abfss://cont/p", {"container_name": "cont"}, "p"),
        (
            "abfss://fs@acct.dfs.core.windows.net/p/q",
            {"container_name": "fs", "account_name": "acct"},
            "p/q",
        ),
        (
            "abfs://fs@acct.blob.core.windows.net",
            {"container_name": "fs", "account_name": "acct"},
            None,
        ),
        (
            "abfss://fs@acct.dfs.fabric.microsoft.com/p",
            {"container_name": "fs", "account_name": "acct", "use_fabric_endpoint": "true"},
            "p",
        ),
        (
            "https://acct.blob.core.windows.net/cont/p",
            {"container_name": "cont", "account_name": "acct"},
            "p",
        ),
        (
            "https://acct.dfs.core.windows.net/cont",
            {"container_name": "cont", "account_name": "acct"},
            None,
        ),
        (
            "https://acct.dfs.fabric.microsoft.com/ws/item/Files",
            {"container_name": "ws", "account_name": "acct", "use_fabric_endpoint": "true"},
            "item/Files",
        ),
    ],
)
def test_azure_urls(url: str, config: dict[str, str], prefix: str | None) -> None:
    assert obstore.parse_scheme(url) == "azure"
    extra = {} if "account_name" in config else {"account_name": "acct"}
    store = from_url(url, **extra)  # type: ignore[call-overload]
    assert type(store) is AzureStore
    assert store.config == {**config, **extra}
    assert store.prefix == prefix


def test_azure_https_without_container_needs_container() -> None:
    store = AzureStore.from_url("https://acct.blob.core.windows.net", container_name="c")
    assert store.config == {"account_name": "acct", "container_name": "c"}


def test_http_urls() -> None:
    store = from_url("https://example.com/a/b")
    assert type(store) is HTTPStore
    assert store.url == "https://example.com/a/b"
    with pytest.raises(BaseError, match="HTTPStore does not accept any configuration"):
        from_url("https://example.com", config={"bucket": "x"})  # type: ignore[call-overload]
    with pytest.raises(BaseError, match="HTTPStore does not accept any configuration"):
        from_url("https://example.com", bucket="x")  # type: ignore[call-overload]
    with pytest.raises(BaseError, match="HTTPStore does not accept any configuration"):
        _store.from_url("https://example.com", region="x")  # type: ignore[call-overload]
    store = from_url(
        "http://127.0.0.1:1/x/",
        client_options={"allow_http": True},
        retry_config={"max_retries": 1},
    )
    assert isinstance(store, HTTPStore)
    assert store.client_options == {"allow_http": "true"}


def test_raw_from_url_returns_raw_classes() -> None:
    assert type(_store.from_url("s3://b")) is _store.S3Store
    assert type(_store.from_url("gs://b")) is _store.GCSStore
    assert type(_store.from_url("az://c", account_name="a")) is _store.AzureStore  # type: ignore[call-overload]
    assert type(_store.from_url("https://example.com")) is _store.HTTPStore


def test_url_config_precedence() -> None:
    # config wins over the URL
    assert S3Store.from_url("s3://b", config={"bucket": "c"}).config == {"bucket": "c"}
    assert S3Store.from_url("s3://b", config={"aws_bucket_name": "c"}).config == {"bucket": "c"}  # type: ignore[arg-type]
    # a URL-derived key also given as a keyword is a duplicate
    with pytest.raises(GenericError, match="Duplicate key aws_bucket provided"):
        S3Store.from_url("s3://b", bucket="c")
    with pytest.raises(GenericError, match="Duplicate key aws_region provided"):
        S3Store.from_url("https://s3.eu-west-1.amazonaws.com/b", region="us-east-1")
    store = from_url(
        "s3://b/p", region="eu-west-2", client_options={"timeout": "3s"}, retry_config={}
    )
    assert isinstance(store, S3Store)
    assert store.config == {"bucket": "b", "region": "eu-west-2"}
    assert store.client_options == {"timeout": "3s"}
    assert store.retry_config is not None


def test_from_url_rejects_prefix_keyword() -> None:
    for cls, url in [(S3Store, "s3://b"), (GCSStore, "gs://b"), (AzureStore, "az://c")]:
        with pytest.raises(UnknownConfigurationKeyError, match="'prefix'"):
            cls.from_url(url, prefix="x", account_name="a")  # type: ignore[attr-defined]


def test_from_url_credential_provider() -> None:
    def provider() -> S3Credential:
        return {"access_key_id": "a", "secret_access_key": "b", "expires_at": None}

    store = from_url("s3://b", credential_provider=provider)
    assert store.credential_provider is provider  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("https://example.com/b", "amazonaws.com"),
        ("https://bucket.s3.x.amazonaws.org/p", "amazonaws.com"),
        ("gs:///nobucket", "bucket"),
        ("az://a.b/p", "container"),
        ("abfs://fs@acct.example.com/p", "core.windows.net"),
        ("https://acct.queue.core.windows.net/c", "core.windows.net"),
    ],
)
def test_bad_urls_say_why(url: str, match: str) -> None:
    classes: dict[str, type[S3Store] | type[GCSStore] | type[AzureStore]] = {
        "az": AzureStore,
        "abfs": AzureStore,
        "gs": GCSStore,
    }
    cls = classes.get(url.split(":")[0], S3Store)
    if "windows.net" in url:
        cls = AzureStore
    with pytest.raises(GenericError, match=match):
        cls.from_url(url)


def test_unrecognised_urls() -> None:
    with pytest.raises(GenericError, match="Unable to recognise URL"):
        from_url("ftp://host/x")
    with pytest.raises(GenericError, match="Unable to recognise URL"):
        obstore.parse_scheme("gcs://bucket")
    with pytest.raises(ValueError):
        from_url("not a url")


def test_from_url_pickles() -> None:
    import pickle

    store = from_url(
        "https://bucket.s3.eu-west-1.amazonaws.com/p/q", access_key_id="a", secret_access_key="s"
    )
    clone = pickle.loads(pickle.dumps(store))
    assert clone == store
    assert clone.prefix == "p/q"
