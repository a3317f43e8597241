"""Offline tests of the network stores' configuration: keys, aliases, environment, duplicates,
value types, `.config` / `repr` (secrets never shown), client and retry options, equality and
pickling. No server is contacted."""

from __future__ import annotations

import base64
import pickle
from datetime import timedelta
from pathlib import Path

import pytest

from obstore.exceptions import GenericError, UnknownConfigurationKeyError
from obstore.store import AzureConfig, AzureStore, GCSConfig, GCSStore, HTTPStore, S3Store

AZURE_KEY = base64.b64encode(b"k" * 32).decode()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith(("AWS_", "GOOGLE_", "AZURE_")):
            monkeypatch.delenv(name)


# --- keys and aliases -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("access_key_id", "access_key_id"),
        ("aws_access_key_id", "access_key_id"),
        ("AWS_ACCESS_KEY_ID", "access_key_id"),
        ("region", "region"),
        ("aws_region", "region"),
        ("Region", "region"),
        ("default_region", "default_region"),
        ("endpoint", "endpoint"),
        ("endpoint_url", "endpoint"),
        ("aws_endpoint_url", "endpoint"),
        ("aws_endpoint", "endpoint"),
        ("aws_endpoint_url_s3", "endpoint_url_s3"),
        ("endpoint_url_sts", "endpoint_url_sts"),
        ("aws_endpoint_url_sts", "endpoint_url_sts"),
        ("checksum_algorithm", "checksum_algorithm"),
        ("conditional_put", "conditional_put"),
        ("copy_if_not_exists", "copy_if_not_exists"),
        ("metadata_endpoint", "metadata_endpoint"),
        ("request_payer", "request_payer"),
        ("role_arn", "role_arn"),
        ("server_side_encryption", "server_side_encryption"),
        ("sse_kms_key_id", "sse_kms_key_id"),
        ("web_identity_token_file", "web_identity_token_file"),
    ],
)
def test_s3_key_aliases(key: str, shown: str) -> None:
    values = {
        "checksum_algorithm": "sha256",
        "conditional_put": "etag",
        "copy_if_not_exists": "multipart",
        "request_payer": "true",
        "server_side_encryption": "AES256",
    }
    value = "https://example.com" if "endpoint" in shown else values.get(shown, "v")
    extra = {"secret_access_key": "s"} if shown == "access_key_id" else {}
    store = S3Store("b", config=extra, **{key: value})  # type: ignore[arg-type]
    assert store.config[shown] == value  # type: ignore[literal-required]


@pytest.mark.parametrize(
    "key", ["bucket", "aws_bucket", "aws_bucket_name", "bucket_name", "BUCKET"]
)
def test_s3_bucket_aliases(key: str) -> None:
    store = S3Store(**{key: "bkt"})  # type: ignore[arg-type]
    assert store.config == {"bucket": "bkt"}
    assert repr(store) == 'S3Store(bucket="bkt")'


def test_s3_session_token_aliases_shown_masked() -> None:
    for key in ["token", "aws_token", "session_token", "aws_session_token"]:
        store = S3Store("b", access_key_id="a", secret_access_key="s", **{key: "TOKEN-VALUE"})  # type: ignore[arg-type]
        assert store.config["session_token"] != "TOKEN-VALUE"  # type: ignore[typeddict-item]
        assert "TOKEN-VALUE" not in repr(store)


def test_s3_stub_only_sts_endpoint_rejected() -> None:
    with pytest.raises(UnknownConfigurationKeyError, match="sts_endpoint"):
        S3Store("b", sts_endpoint="https://sts.example.com")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("google_bucket", "bucket"),
        ("bucket_name", "bucket"),
        ("google_base_url", "base_url"),
        ("google_skip_signature", "skip_signature"),
    ],
)
def test_gcs_key_aliases(key: str, shown: str) -> None:
    config: GCSConfig = {"bucket": "b"} if "bucket" not in key else {}
    value = "https://gcs.example.com" if "url" in key else ("true" if "skip" in key else "v")
    store = GCSStore(config=config, **{key: value})  # type: ignore[arg-type]
    assert store.config[shown] == value  # type: ignore[literal-required]


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("azure_storage_account_name", "account_name"),
        ("client_id", "client_id"),
        ("azure_client_id", "client_id"),
        ("azure_storage_tenant_id", "tenant_id"),
        ("authority_id", "tenant_id"),
        ("azure_authority_host", "authority_host"),
        ("identity_endpoint", "msi_endpoint"),
        ("azure_msi_endpoint", "msi_endpoint"),
        ("azure_use_fabric_endpoint", "use_fabric_endpoint"),
        ("azure_container_name", "container_name"),
        ("azure_federated_token_file", "federated_token_file"),
        ("azure_credential_type", "credential_type"),
    ],
)
def test_azure_key_aliases(key: str, shown: str) -> None:
    base: AzureConfig = {"account_name": "acct"} if shown != "account_name" else {}
    if shown != "container_name":
        base["container_name"] = "c"
    value = {"use_fabric_endpoint": "true", "credential_type": "auto"}.get(
        shown,
        "acct"
        if shown == "account_name"
        else "https://x.example.com"
        if "endpoint" in shown or "host" in shown
        else "v",
    )
    store = AzureStore(config=base, **{key: value})  # type: ignore[arg-type]
    assert store.config[shown] == value  # type: ignore[literal-required]


def test_azure_secret_aliases_masked() -> None:
    for key in ["account_key", "access_key", "master_key", "azure_storage_account_key"]:
        store = AzureStore("c", account_name="acct", **{key: AZURE_KEY})  # type: ignore[arg-type]
        assert store.config["account_key"] not in (AZURE_KEY,)  # type: ignore[typeddict-item]
    for key, shown, value in [
        ("sas_token", "sas_key", "sv=2023&sig=SECRET-VALUE"),
        ("bearer_token", "token", "SECRET-VALUE"),
        ("client_secret", "client_secret", "SECRET-VALUE"),
    ]:
        store = AzureStore("c", account_name="acct", **{key: value})  # type: ignore[arg-type]
        assert shown in store.config
        assert "SECRET-VALUE" not in str(store.config)
        assert "SECRET-VALUE" not in repr(store)


def test_unknown_keys_name_key_and_store() -> None:
    with pytest.raises(
        UnknownConfigurationKeyError,
        match=r"Configuration key: 'bogus' is not valid for store 'S3'\.",
    ):
        S3Store("b", bogus="x")  # type: ignore[call-arg]
    with pytest.raises(UnknownConfigurationKeyError, match="'bogus' is not valid for store 'GCS'"):
        GCSStore("b", config={"bogus": "x"})  # type: ignore[arg-type]
    with pytest.raises(
        UnknownConfigurationKeyError, match="'bogus' is not valid for store 'MicrosoftAzure'"
    ):
        AzureStore("c", bogus="x")  # type: ignore[call-arg]


# --- duplicates -------------------------------------------------------------------------------


def test_duplicate_keys() -> None:
    with pytest.raises(GenericError, match="Duplicate key aws_bucket provided"):
        S3Store("b", bucket_name="c")  # type: ignore[call-arg]
    with pytest.raises(GenericError, match="Duplicate key aws_bucket provided"):
        S3Store(bucket="b", BUCKET_NAME="c")  # type: ignore[call-arg]
    with pytest.raises(GenericError, match="Duplicate key aws_region provided"):
        S3Store("b", config={"region": "x"}, region="y")
    with pytest.raises(GenericError, match="Duplicate key aws_region provided"):
        S3Store("b", config={"region": "x", "AWS_REGION": "y"})  # type: ignore[arg-type]
    with pytest.raises(GenericError, match="Duplicate key google_bucket provided"):
        GCSStore("b", config={"bucket": "c"})
    with pytest.raises(GenericError, match="Duplicate key azure_storage_account_key provided"):
        AzureStore("c", account_name="a", account_key=AZURE_KEY, config={"access_key": AZURE_KEY})  # type: ignore[arg-type]
    with pytest.raises(GenericError, match="Duplicate key timeout provided"):
        S3Store("b", timeout="1s", client_options={"timeout": "2s"})  # type: ignore[call-arg]


# --- values -----------------------------------------------------------------------------------


def test_value_types() -> None:
    store = S3Store("b", skip_signature=True, virtual_hosted_style_request=False)
    assert store.config["skip_signature"] == "true"
    assert store.config["virtual_hosted_style_request"] == "false"
    with pytest.raises(TypeError, match="'int' object is not an instance of 'str'.*region"):
        S3Store("b", region=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'list' object"):
        GCSStore("b", base_url=["x"])  # type: ignore[arg-type]


def test_missing_bucket_or_account() -> None:
    with pytest.raises(GenericError, match="Missing bucket name"):
        S3Store()
    with pytest.raises(GenericError, match="Missing bucket name"):
        GCSStore()
    with pytest.raises(GenericError, match="Account must be specified"):
        AzureStore("c")


# --- environment ------------------------------------------------------------------------------


def test_env_fallback_not_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_BUCKET", "envbucket")
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ENVKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "ENV-SECRET")
    store = S3Store()
    assert store.config == {}
    assert repr(store) == 'S3Store(bucket="envbucket")'
    assert "ENV-SECRET" not in repr(store)
    # explicit settings win over the environment, without a duplicate error
    assert S3Store("b", region="us-west-1").config == {"bucket": "b", "region": "us-west-1"}


def test_env_read_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_BUCKET", "envbucket")
    store = S3Store()
    monkeypatch.delenv("AWS_BUCKET")
    assert repr(store) == 'S3Store(bucket="envbucket")'


def test_env_gcs_azure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_BUCKET", "gb")
    assert repr(GCSStore()) == 'GCSStore(bucket="gb")'
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_NAME", "envacct")
    store = AzureStore("c")
    assert repr(store) == 'AzureStore(container_name="c", account_name="envacct")'
    assert store.config == {"container_name": "c"}


def test_env_endpoint_http_needs_allow_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT", "http://127.0.0.1:9000")
    with pytest.raises(GenericError, match="allow_http"):
        S3Store("b")
    monkeypatch.setenv("AWS_ALLOW_HTTP", "true")
    S3Store("b")


# --- repr / .config never show secrets --------------------------------------------------------


def test_secrets_masked_everywhere() -> None:
    store = S3Store(
        "b",
        prefix="p",
        access_key_id="AKIDEXAMPLE",
        secret_access_key="VERY-SECRET",
        session_token="SESSION-SECRET",
        # The base64 of a 32-byte key.
        sse_customer_key_base64=f"SSESECRET{'A' * 34}=",
    )
    shown = repr(store) + str(store.config)
    for secret in ["VERY-SECRET", "SESSION-SECRET", "SSESECRET"]:
        assert secret not in shown
    assert set(store.config) >= {"secret_access_key", "session_token", "sse_customer_key_base64"}
    assert repr(store) == 'S3Store(bucket="b", prefix="p")'
    gcs = GCSStore("b", bearer_token="BEARER")
    assert "BEARER" not in str(gcs.config) + repr(gcs)


def test_pickle_keeps_secrets() -> None:
    store = S3Store(
        "b", prefix="p", access_key_id="AK", secret_access_key="SECRET", region="eu-west-1"
    )
    args, kwargs = store.__getnewargs_ex__()
    assert args == ()
    assert kwargs["prefix"] == "p"
    assert "SECRET" in kwargs["config"].values()
    assert "client_options" not in kwargs and "retry_config" not in kwargs
    clone = pickle.loads(pickle.dumps(store))
    assert type(clone) is S3Store
    assert clone == store
    assert clone.config == store.config


def test_pickle_all_stores() -> None:
    stores = [
        S3Store("b", client_options={"timeout": "5s"}, retry_config={"max_retries": 2}),
        GCSStore("b", prefix="x/y"),
        AzureStore("c", account_name="a", account_key=AZURE_KEY, prefix="p"),
        HTTPStore("https://example.com/a/b", client_options={"user_agent": "me"}),
    ]
    for store in stores:
        clone = pickle.loads(pickle.dumps(store))
        assert clone == store
        assert type(clone) is type(store)


# --- client keys inside the store config -------------------------------------------------------


def test_client_keys_in_store_config_route_to_client_options() -> None:
    store = S3Store("b", timeout="10s", aws_allow_http=True, endpoint="http://127.0.0.1:1")  # type: ignore[call-arg]
    assert store.config == {"bucket": "b", "endpoint": "http://127.0.0.1:1"}
    assert store.client_options == {"timeout": "10s", "allow_http": "true"}
    azure = AzureStore("c", account_name="a", azure_allow_http=True)  # type: ignore[call-arg]
    assert azure.client_options == {"allow_http": "true"}
    gcs = GCSStore("b", google_timeout=timedelta(seconds=3))  # type: ignore[call-arg]
    assert gcs.client_options == {"timeout": "3s"}
    assert pickle.loads(pickle.dumps(store)) == store


# --- client options ---------------------------------------------------------------------------


def test_client_options_roundtrip() -> None:
    options = {
        "allow_http": True,
        "allow_invalid_certificates": False,
        "connect_timeout": timedelta(seconds=1, milliseconds=500),
        "timeout": "2h 37min",
        "read_timeout": "32ms",
        "default_content_type": "text/plain",
        "user_agent": "agent",
        "http1_only": True,
        "pool_idle_timeout": timedelta(minutes=1),
        "pool_max_idle_per_host": "4",
        "proxy_excludes": "localhost",
        "randomize_addresses": False,
        "DEFAULT_HEADERS": {"x-a": "1", "x-b": b"2"},
    }
    store = S3Store("b", client_options=options)  # type: ignore[arg-type]
    got = store.client_options
    assert got is not None
    assert got["allow_http"] == "true"
    assert got["allow_invalid_certificates"] == "false"
    assert got["connect_timeout"] == "1s 500ms"
    assert got["timeout"] == "2h 37min"
    assert got["pool_idle_timeout"] == "1m"
    assert got["default_headers"] == {"x-a": b"1", "x-b": b"2"}  # type: ignore[comparison-overlap]
    assert got["randomize_addresses"] == "false"
    assert S3Store("b").client_options is None


def test_client_options_errors() -> None:
    with pytest.raises(ValueError, match=r"Invalid key: bogus\."):
        S3Store("b", client_options={"bogus": "x"})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        S3Store("b", client_options={"timeout": 5})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="header"):
        S3Store("b", client_options={"default_headers": {"bad header": "x"}})
    with pytest.raises(ValueError, match="No certificates found in `root_certificate`"):
        S3Store("b", client_options={"root_certificate": "not a pem"})
    with pytest.raises(GenericError, match="Duration"):
        S3Store("b", client_options={"timeout": "soon"})


def test_root_certificate() -> None:
    bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    if not bundle.exists():
        pytest.skip("no system CA bundle to borrow a certificate from")
    text = bundle.read_text()
    end = text.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")
    pem = text[text.index("-----BEGIN CERTIFICATE-----") : end] + "\n"
    store = S3Store("b", client_options={"root_certificate": pem})
    assert store.client_options == {"root_certificate": pem.encode()}
    assert pickle.loads(pickle.dumps(store)) == store


# --- retry config -----------------------------------------------------------------------------


def test_retry_config_defaults() -> None:
    store = S3Store("b", retry_config={})
    assert store.retry_config == {
        "backoff": {
            "init_backoff": timedelta(milliseconds=100),
            "max_backoff": timedelta(seconds=15),
            "base": 2.0,
        },
        "max_retries": 10,
        "retry_timeout": timedelta(minutes=3),
    }
    assert S3Store("b").retry_config is None


def test_retry_config_values_and_errors() -> None:
    store = GCSStore(
        "b",
        retry_config={
            "max_retries": 0,
            "retry_timeout": timedelta(seconds=5),
            "backoff": {"base": 3, "init_backoff": timedelta(seconds=1)},
        },
    )
    got = store.retry_config
    assert got is not None
    assert got["max_retries"] == 0
    assert got["backoff"]["base"] == 3.0
    assert got["backoff"]["max_backoff"] == timedelta(seconds=15)
    with pytest.raises(TypeError):
        S3Store("b", retry_config={"max_retries": "3"})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        S3Store("b", retry_config={"retry_timeout": 5})  # type: ignore[arg-type]


# --- plain http --------------------------------------------------------------------------------


def test_http_endpoint_needs_allow_http() -> None:
    with pytest.raises(GenericError, match="allow_http"):
        S3Store("b", endpoint="http://127.0.0.1:9000")
    S3Store("b", endpoint="http://127.0.0.1:9000", client_options={"allow_http": True})
    with pytest.raises(GenericError, match="allow_http"):
        GCSStore("b", base_url="http://127.0.0.1:4443")
    with pytest.raises(GenericError, match="allow_http"):
        AzureStore("c", account_name="a", endpoint="http://127.0.0.1:10000/a")
    AzureStore("c", account_name="a", use_emulator=True)
    with pytest.raises(GenericError, match="allow_http"):
        HTTPStore("http://127.0.0.1:8080/")
    HTTPStore("http://127.0.0.1:8080/", client_options={"allow_http": True})


# --- equality ---------------------------------------------------------------------------------


def test_equality() -> None:
    assert S3Store("b", region="r") == S3Store("b", region="r")
    assert S3Store("b", region="r") != S3Store("b", region="s")
    assert not (S3Store("b", region="r") != S3Store("b", region="r"))
    assert S3Store("b") != S3Store("b", prefix="p")
    assert S3Store("b") != GCSStore("b")
    assert S3Store("b") != object()
    assert S3Store("b") != "b"
    assert S3Store("b", client_options={"timeout": "1s"}) != S3Store("b")
    assert S3Store("b", retry_config={}) != S3Store("b")
    assert HTTPStore("https://example.com") == HTTPStore("https://example.com/")
    for store in [
        S3Store("b"),
        GCSStore("b"),
        AzureStore("c", account_name="a"),
        HTTPStore("https://e.com"),
    ]:
        with pytest.raises(TypeError):
            hash(store)


def test_equality_compares_providers() -> None:
    class Provider:
        def __init__(self, name: str) -> None:
            self.name = name

        def __call__(self) -> dict:
            return {}

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Provider) and other.name == self.name

        __hash__ = None  # type: ignore[assignment]

    class Raising:
        def __call__(self) -> dict:
            return {}

        def __eq__(self, other: object) -> bool:
            raise RuntimeError("boom")

    assert S3Store("b", credential_provider=Provider("a")) == S3Store(  # type: ignore[arg-type]
        "b",
        credential_provider=Provider("a"),  # type: ignore[arg-type]
    )
    assert S3Store("b", credential_provider=Provider("a")) != S3Store(  # type: ignore[arg-type]
        "b",
        credential_provider=Provider("z"),  # type: ignore[arg-type]
    )
    assert S3Store("b", credential_provider=Raising()) != S3Store(  # type: ignore[arg-type]
        "b",
        credential_provider=Raising(),  # type: ignore[arg-type]
    )


# --- credential provider attributes -----------------------------------------------------------


class _ProviderWithConfig:
    config = {"region": "eu-central-1", "bucket": "from-provider"}

    def __call__(self) -> dict:
        return {"access_key_id": "a", "secret_access_key": "b", "expires_at": None}


def test_provider_config_fills_missing_keys() -> None:
    store = S3Store("b", credential_provider=_ProviderWithConfig())  # type: ignore[arg-type]
    assert store.config == {"bucket": "b", "region": "eu-central-1"}
    store = S3Store(credential_provider=_ProviderWithConfig())  # type: ignore[arg-type]
    assert store.config["bucket"] == "from-provider"


def test_azure_provider_prefix() -> None:
    class P:
        config = {"account_name": "acct", "container_name": "cont"}
        prefix = "from/provider"

        def __call__(self) -> dict:
            return {"token": "t", "expires_at": None}

    store = AzureStore(credential_provider=P())  # type: ignore[arg-type]
    assert store.prefix == "from/provider"
    assert (
        repr(store)
        == 'AzureStore(container_name="cont", account_name="acct", prefix="from/provider")'
    )
    assert AzureStore(prefix="mine", credential_provider=P()).prefix == "mine"  # type: ignore[arg-type]


def test_provider_must_be_callable() -> None:
    with pytest.raises(TypeError, match="Expected callable object for credential_provider"):
        S3Store("b", credential_provider=5)  # type: ignore[arg-type]


def test_provider_getter_and_unpicklable_provider() -> None:
    provider = _ProviderWithConfig()
    store = S3Store("b", credential_provider=provider)  # type: ignore[arg-type]
    assert store.credential_provider is provider
    store = S3Store("b", credential_provider=lambda: {})  # type: ignore[arg-type,return-value]
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        pickle.dumps(store)


# --- HTTPStore --------------------------------------------------------------------------------


def test_http_store_basics() -> None:
    store = HTTPStore("https://example.com")
    assert store.url == "https://example.com/"
    assert repr(store) == 'HTTPStore("https://example.com/")'
    assert store.client_options is None and store.retry_config is None
    assert store.__getnewargs_ex__() == (("https://example.com/",), {})
    with pytest.raises(GenericError):
        HTTPStore("ftp://example.com/")


def test_subclass_preserved() -> None:
    class My(S3Store):
        pass

    store = My.from_url("s3://b/p")
    assert type(store) is My
    assert repr(store) == 'My(bucket="b", prefix="p")'
    assert type(pickle.loads(pickle.dumps(S3Store("b")))) is S3Store
