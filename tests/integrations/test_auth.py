"""Credential helpers of ``obstore.auth``, offline, each against a local stand-in token service.

Every test builds a real store with the provider and reads an object from a recording stand-in
endpoint (``_standins.object_reply``), so the assertions see the credentials the store really
sent: the token service issues numbered tokens with a short lifetime, the provider's
``refresh_threshold`` is lowered to one second, and the test checks that a second request
reuses the cached token and that a request after expiry fetches and sends a new one.
STS is served by moto (``s3-moto`` in ``OBSTORE_TEST_STORES``).
"""

from __future__ import annotations

import base64
import importlib
import itertools
import json
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import obstore
from obstore.store import AzureStore, ClientConfig, GCSStore, S3Store

from ._standins import OBJECT_BODY, Reply, Seen, StandIn, object_reply

CLIENT: ClientConfig = {"allow_http": True}
#: the providers' tokens live this long; the stores renew them one second before expiry
LIFETIME = 3
THRESHOLD = timedelta(seconds=1)


@pytest.fixture
def objects() -> Iterator[StandIn]:
    with StandIn(object_reply) as server:
        yield server


def _read(store: Any) -> None:
    assert bytes(obstore.get(store, "data/object.bin").bytes()) == OBJECT_BODY


async def _read_async(store: Any) -> None:
    result = await obstore.get_async(store, "data/object.bin")
    assert bytes(await result.bytes_async()) == OBJECT_BODY


def _auth_headers(objects: StandIn) -> list[str]:
    return [s.headers.get("authorization", "") for s in objects.seen]


def _wait_for_expiry(past: bool = False) -> None:
    """Sleep until tokens issued just now are within THRESHOLD of expiring (or expired)."""
    time.sleep(LIFETIME + 0.3 if past else LIFETIME - THRESHOLD.total_seconds() + 0.3)


# --------------------------------------------------------------------------- import errors
@pytest.mark.parametrize(
    ("module", "missing", "extra"),
    [
        ("obstore.fsspec", ["fsspec"], "fsspec"),
        ("obstore.auth.boto3", ["boto3"], "boto3"),
        ("obstore.auth.google", ["google.auth"], "google"),
        ("obstore.auth.azure", ["azure.identity"], "azure"),
        ("obstore.auth.earthdata", ["requests", "aiohttp"], "earthdata"),
        ("obstore.auth.planetary_computer", ["requests", "aiohttp"], "planetary-computer"),
    ],
)
def test_missing_dependency_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, module: str, missing: list[str], extra: str
) -> None:
    for name in missing:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, module, raising=False)
    with pytest.raises(ImportError, match=rf"pip install obstore\[{extra}\]"):
        importlib.import_module(module)


def test_auth_package_imports_without_extras() -> None:
    import obstore.auth

    assert "boto3" in (obstore.auth.__doc__ or "")


# --------------------------------------------------------------------------- boto3
try:
    import boto3  # type: ignore[import-untyped]
except ImportError:  # the other helpers' tests still run
    boto3 = None

needs_boto3 = pytest.mark.skipif(boto3 is None, reason="boto3 is not installed")

AWS_CREDENTIAL_VARS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)


@needs_boto3
def test_boto3_provider_static_session(objects: StandIn) -> None:
    from obstore.auth.boto3 import Boto3CredentialProvider

    session = boto3.Session(
        aws_access_key_id="AKIDSTATIC", aws_secret_access_key="secret", region_name="eu-west-1"
    )
    provider = Boto3CredentialProvider(session, ttl=timedelta(minutes=7))
    assert provider.config == {"region": "eu-west-1"}
    cred = provider()
    assert cred["access_key_id"] == "AKIDSTATIC" and cred["secret_access_key"] == "secret"
    assert cred["token"] is None
    assert cred["expires_at"] is not None
    assert abs(cred["expires_at"] - datetime.now(UTC) - timedelta(minutes=7)) < timedelta(seconds=5)

    store = S3Store(
        "bucket", endpoint=objects.url, credential_provider=provider, client_options=CLIENT
    )
    _read(store)
    # the region came from the provider's config
    assert "Credential=AKIDSTATIC/" in _auth_headers(objects)[-1]
    assert "/eu-west-1/s3/aws4_request" in _auth_headers(objects)[-1]


@needs_boto3
def test_boto3_provider_without_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from obstore.auth.boto3 import Boto3CredentialProvider

    for var in AWS_CREDENTIAL_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(ValueError, match="no credentials"):
        Boto3CredentialProvider(boto3.Session(region_name="us-east-1"))


@pytest.fixture
def sts_env(moto: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """boto3 sends STS calls to moto; the base credentials are moto's test keys."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto.endpoint)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for var in AWS_CREDENTIAL_VARS:
        monkeypatch.delenv(var, raising=False)
    config = tmp_path / "aws-config"
    config.write_text(
        "[profile base]\n"
        "aws_access_key_id = testing\naws_secret_access_key = testing\nregion = us-east-1\n"
        "[profile role]\n"
        "role_arn = arn:aws:iam::123456789012:role/obstore-test\n"
        "source_profile = base\nregion = us-east-1\nduration_seconds = 900\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    return moto


@needs_boto3
def test_boto3_provider_refreshes_assumed_role_from_moto_sts(sts_env: Any, unique: str) -> None:
    from obstore.auth.boto3 import Boto3CredentialProvider

    session = boto3.Session(profile_name="role")
    sts_calls: list[str] = []
    session._session.register(
        "after-call.sts.AssumeRole",
        lambda parsed, **_: sts_calls.append(parsed["Credentials"]["AccessKeyId"]),
    )
    provider_calls: list[str] = []

    class Counting(Boto3CredentialProvider):
        def __call__(self) -> Any:
            cred = super().__call__()
            provider_calls.append(cred["access_key_id"])
            return cred

    provider = Counting(session, ttl=timedelta(seconds=LIFETIME))
    provider.refresh_threshold = THRESHOLD  # type: ignore[attr-defined]
    assert len(sts_calls) == 0  # botocore defers the AssumeRole call to first use
    kwargs = {k: v for k, v in sts_env.store_kwargs.items() if "access_key" not in k}
    store = S3Store(prefix=unique, credential_provider=provider, **kwargs)
    obstore.put(store, "a", b"1")
    assert len(provider_calls) == 1 and len(sts_calls) >= 1
    assert provider_calls[0] in sts_calls and provider_calls[0].startswith("ASIA")
    obstore.put(store, "b", b"2")  # cached
    assert len(provider_calls) == 1
    _wait_for_expiry()
    assert bytes(obstore.get(store, "a").bytes()) == b"1"
    assert len(provider_calls) == 2


@needs_boto3
def test_sts_provider_against_moto(sts_env: Any, unique: str) -> None:
    from obstore.auth.boto3 import StsCredentialProvider

    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    calls: list[Any] = []

    class Counting(StsCredentialProvider):
        def __call__(self) -> Any:
            cred = super().__call__()
            calls.append(cred)
            return cred

    provider = Counting(
        session,
        RoleArn="arn:aws:iam::123456789012:role/obstore-sts",
        RoleSessionName="obstore-test",
        DurationSeconds=900,
    )
    assert provider.config == {"region": "us-east-1"}
    assert provider.kwargs["RoleSessionName"] == "obstore-test"
    # STS hands out 900 s credentials; renew them when less than ~898 s are left, i.e. soon
    provider.refresh_threshold = timedelta(seconds=898)  # type: ignore[attr-defined]
    kwargs = {k: v for k, v in sts_env.store_kwargs.items() if "access_key" not in k}
    store = S3Store(prefix=unique, credential_provider=provider, **kwargs)
    obstore.put(store, "x", b"payload")
    assert len(calls) == 1
    first = calls[0]
    assert first["access_key_id"].startswith("ASIA") and first["token"]
    assert first["expires_at"].tzinfo is not None
    assert (
        timedelta(seconds=850) < first["expires_at"] - datetime.now(UTC) <= timedelta(seconds=901)
    )
    assert bytes(obstore.get(store, "x").bytes()) == b"payload"
    assert len(calls) == 1
    time.sleep(2.5)
    assert bytes(obstore.get(store, "x").bytes()) == b"payload"
    assert len(calls) == 2
    assert calls[1]["access_key_id"] != first["access_key_id"]


# --------------------------------------------------------------------------- google
class TokenService:
    """Counts token requests; token number n is ``f"{prefix}-{n}"``."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.count = itertools.count(1)
        self.issued: list[str] = []

    def next(self) -> str:
        token = f"{self.prefix}-{next(self.count)}"
        self.issued.append(token)
        return token


def _google_token_endpoint(service: TokenService) -> Any:
    def handle(seen: Seen) -> Reply:
        form = dict(p.split("=", 1) for p in seen.body.decode().split("&") if "=" in p)
        if seen.path != "/token" or form.get("grant_type") != "refresh_token":
            return Reply(400, body=b'{"error": "invalid_request"}')
        body = {"access_token": service.next(), "expires_in": LIFETIME, "token_type": "Bearer"}
        return Reply(200, {"Content-Type": "application/json"}, json.dumps(body).encode())

    return handle


def _google_credentials(token_uri: str, async_: bool = False) -> Any:
    name = "google.oauth2._credentials_async" if async_ else "google.oauth2.credentials"
    module: Any = importlib.import_module(name)
    return module.Credentials(
        token=None,
        refresh_token="refresh-token",
        token_uri=token_uri,
        client_id="client-id",
        client_secret="client-secret",
    )


def test_google_provider_refreshes(objects: StandIn) -> None:
    pytest.importorskip("google.auth")
    from obstore.auth.google import GoogleCredentialProvider

    service = TokenService("g")
    with StandIn(_google_token_endpoint(service)) as tokens:
        provider = GoogleCredentialProvider(
            _google_credentials(f"{tokens.url}/token"), refresh_threshold=THRESHOLD
        )
        assert provider.refresh_threshold == THRESHOLD
        store = GCSStore(
            "bucket", base_url=objects.url, credential_provider=provider, client_options=CLIENT
        )
        _read(store)
        _read(store)
        assert service.issued == ["g-1"]
        assert _auth_headers(objects) == ["Bearer g-1", "Bearer g-1"]
        _wait_for_expiry()
        _read(store)
        assert service.issued == ["g-1", "g-2"]
        assert _auth_headers(objects)[-1] == "Bearer g-2"
        cred = provider()
        assert cred["token"] == "g-2" and cred["expires_at"] is not None
        assert cred["expires_at"].tzinfo is not None


async def test_google_async_provider_refreshes(objects: StandIn) -> None:
    pytest.importorskip("google.auth")
    pytest.importorskip("aiohttp")
    from obstore.auth.google import GoogleAsyncCredentialProvider

    service = TokenService("ga")
    with StandIn(_google_token_endpoint(service)) as tokens:
        provider = GoogleAsyncCredentialProvider(
            _google_credentials(f"{tokens.url}/token", async_=True), refresh_threshold=THRESHOLD
        )
        store = GCSStore(
            "bucket", base_url=objects.url, credential_provider=provider, client_options=CLIENT
        )
        await _read_async(store)
        await _read_async(store)
        assert service.issued == ["ga-1"]
        _wait_for_expiry()
        await _read_async(store)
        assert service.issued == ["ga-1", "ga-2"]
        assert _auth_headers(objects) == ["Bearer ga-1", "Bearer ga-1", "Bearer ga-2"]
        await provider.close()


# --------------------------------------------------------------------------- azure
def _managed_identity(service: TokenService) -> Any:
    """Azure App Service managed-identity endpoint (what ``IDENTITY_ENDPOINT`` points at)."""

    def handle(seen: Seen) -> Reply:
        if seen.headers.get("x-identity-header") != "identity-secret":
            return Reply(401, body=b'{"error": "missing header"}')
        if seen.query.get("resource") != ["https://storage.azure.com"]:
            return Reply(400, body=json.dumps(seen.query).encode())
        body = {
            "access_token": service.next(),
            "expires_on": str(int(time.time()) + LIFETIME),
            "resource": "https://storage.azure.com",
            "token_type": "Bearer",
        }
        return Reply(200, {"Content-Type": "application/json"}, json.dumps(body).encode())

    return handle


@pytest.fixture
def identity_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[TokenService]:
    pytest.importorskip("azure.identity")
    service = TokenService("az")
    with StandIn(_managed_identity(service)) as server:
        monkeypatch.setenv("IDENTITY_ENDPOINT", f"{server.url}/msi/token")
        monkeypatch.setenv("IDENTITY_HEADER", "identity-secret")
        for var in ("IDENTITY_SERVER_THUMBPRINT", "MSI_ENDPOINT", "AZURE_CLIENT_ID"):
            monkeypatch.delenv(var, raising=False)
        yield service


def _azure_store(objects: StandIn, provider: Any) -> AzureStore:
    return AzureStore(
        "container",
        account_name="account",
        endpoint=objects.url,
        credential_provider=provider,
        client_options=CLIENT,
    )


def test_azure_provider_refreshes(objects: StandIn, identity_endpoint: TokenService) -> None:
    from azure.identity import ManagedIdentityCredential

    from obstore.auth.azure import DEFAULT_SCOPES, AzureCredentialProvider

    assert DEFAULT_SCOPES == ("https://storage.azure.com/.default",)
    provider = AzureCredentialProvider(ManagedIdentityCredential())
    provider.refresh_threshold = THRESHOLD  # type: ignore[attr-defined]
    store = _azure_store(objects, provider)
    _read(store)
    _read(store)
    assert identity_endpoint.issued == ["az-1"]
    assert _auth_headers(objects) == ["Bearer az-1", "Bearer az-1"]
    # azure-identity hands out its cached token until it has really expired (it retries a
    # refresh at most every 30 s), so wait past the expiry here
    _wait_for_expiry(past=True)
    _read(store)
    assert identity_endpoint.issued == ["az-1", "az-2"]
    assert _auth_headers(objects)[-1] == "Bearer az-2"
    cred = provider()
    assert cred["expires_at"] is not None and cred["expires_at"].tzinfo is not None
    provider.close()


async def test_azure_async_provider_refreshes(
    objects: StandIn, identity_endpoint: TokenService
) -> None:
    pytest.importorskip("aiohttp")
    from azure.identity.aio import ManagedIdentityCredential

    from obstore.auth.azure import AzureAsyncCredentialProvider

    provider = AzureAsyncCredentialProvider(ManagedIdentityCredential())
    provider.refresh_threshold = THRESHOLD  # type: ignore[attr-defined]
    store = _azure_store(objects, provider)
    await _read_async(store)
    await _read_async(store)
    assert identity_endpoint.issued == ["az-1"]
    # azure-identity hands out its cached token until it has really expired (it retries a
    # refresh at most every 30 s), so wait past the expiry here
    _wait_for_expiry(past=True)
    await _read_async(store)
    assert identity_endpoint.issued == ["az-1", "az-2"]
    assert _auth_headers(objects) == ["Bearer az-1", "Bearer az-1", "Bearer az-2"]
    await provider.close()


# --------------------------------------------------------------------------- earthdata
class Earthdata:
    """A DAAC ``/s3credentials`` endpoint plus an Earthdata Login host doing basic auth."""

    def __init__(self, service: TokenService, *, fail_first: int = 0) -> None:
        self.service = service
        self.fail_first = fail_first
        self.login = StandIn(self._login)
        self.daac = StandIn(self._daac)

    def _login(self, seen: Seen) -> Reply:
        expected = "Basic " + base64.b64encode(b"alice:s3cret").decode()
        if seen.headers.get("authorization") != expected:
            return Reply(401, body=b"login required")
        back = seen.query["redirect_uri"][0]
        return Reply(302, {"Location": f"{back}?code=granted"})

    def _daac(self, seen: Seen) -> Reply:
        if self.fail_first > 0:
            self.fail_first -= 1
            return Reply(503, body=b"try again")
        auth = seen.headers.get("authorization", "")
        if auth.startswith("Basic"):
            return Reply(400, body=b"the DAAC must never see the password")
        if auth != "Bearer edl-token" and seen.query.get("code") != ["granted"]:
            where = f"http://{self.login.netloc}/oauth/authorize"
            return Reply(302, {"Location": f"{where}?redirect_uri={self.daac.url}/s3credentials"})
        n = self.service.next()
        body = {
            "accessKeyId": f"ED{n.upper()}",
            "secretAccessKey": "secret",
            "sessionToken": f"session-{n}",
            "expiration": (datetime.now(UTC) + timedelta(seconds=LIFETIME)).isoformat(sep=" "),
        }
        return Reply(200, {"Content-Type": "application/json"}, json.dumps(body).encode())

    @property
    def credentials_url(self) -> str:
        return f"{self.daac.url}/s3credentials"

    def stop(self) -> None:
        self.login.stop()
        self.daac.stop()


@pytest.fixture
def earthdata() -> Iterator[Earthdata]:
    pytest.importorskip("requests")
    server = Earthdata(TokenService("e"))
    yield server
    server.stop()


def _s3_store(objects: StandIn, provider: Any) -> S3Store:
    return S3Store(
        "bucket", endpoint=objects.url, credential_provider=provider, client_options=CLIENT
    )


def _check_earthdata_refresh(objects: StandIn, earthdata: Earthdata) -> None:
    assert earthdata.service.issued == ["e-1"]
    headers = [s.headers for s in objects.seen]
    assert all("Credential=EDE-1/" in h["authorization"] for h in headers)
    assert all("/us-west-2/s3/" in h["authorization"] for h in headers)  # provider config
    assert all(h["x-amz-security-token"] == "session-e-1" for h in headers)


@pytest.mark.parametrize("auth", ["basic", "bearer"])
def test_earthdata_provider_refreshes(objects: StandIn, earthdata: Earthdata, auth: str) -> None:
    from obstore.auth.earthdata import DEFAULT_EARTHDATA_HOST, NasaEarthdataCredentialProvider

    assert DEFAULT_EARTHDATA_HOST == "urs.earthdata.nasa.gov"
    provider = NasaEarthdataCredentialProvider(
        earthdata.credentials_url,
        host=earthdata.login.netloc,
        auth=("alice", "s3cret") if auth == "basic" else "edl-token",
    )
    assert provider.config == {"region": "us-west-2"}
    provider.refresh_threshold = THRESHOLD  # type: ignore[attr-defined]
    store = _s3_store(objects, provider)
    _read(store)
    _read(store)
    _check_earthdata_refresh(objects, earthdata)
    _wait_for_expiry()
    _read(store)
    assert earthdata.service.issued == ["e-1", "e-2"]
    assert "Credential=EDE-2/" in _auth_headers(objects)[-1]
    logins = earthdata.login.seen
    assert len(logins) == (2 if auth == "basic" else 0)
    provider.close()
    with pytest.raises(ValueError, match="closed"):
        provider.session  # noqa: B018


def test_earthdata_retries_and_env_fallbacks(
    earthdata: Earthdata, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from obstore.auth.earthdata import NasaEarthdataCredentialProvider

    for var in ("EARTHDATA_TOKEN", "EARTHDATA_USERNAME", "EARTHDATA_PASSWORD", "EARTHDATA_HOST"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    with pytest.raises(ValueError, match="No NASA Earthdata credentials"):
        NasaEarthdataCredentialProvider(earthdata.credentials_url)

    # a netrc entry for the login host (EARTHDATA_HOST), two 503s retried by the default session
    netrc_file = tmp_path / "netrc"
    netrc_file.write_text("machine 127.0.0.1 login alice password s3cret\n")
    monkeypatch.setenv("NETRC", str(netrc_file))
    monkeypatch.setenv("EARTHDATA_HOST", earthdata.login.netloc)
    earthdata.fail_first = 2
    cred = NasaEarthdataCredentialProvider(earthdata.credentials_url)()
    assert cred["access_key_id"] == "EDE-1" and cred["token"] == "session-e-1"
    assert cred["expires_at"] is not None and cred["expires_at"].tzinfo is not None

    # EARTHDATA_TOKEN wins over username/password and netrc
    monkeypatch.setenv("EARTHDATA_TOKEN", "edl-token")
    monkeypatch.setenv("EARTHDATA_USERNAME", "mallory")
    monkeypatch.setenv("EARTHDATA_PASSWORD", "wrong")
    logins = len(earthdata.login.seen)
    assert NasaEarthdataCredentialProvider(earthdata.credentials_url)()["token"] == "session-e-2"
    assert len(earthdata.login.seen) == logins


async def test_earthdata_async_provider_refreshes(objects: StandIn, earthdata: Earthdata) -> None:
    pytest.importorskip("aiohttp")
    from obstore.auth.earthdata import NasaEarthdataAsyncCredentialProvider

    provider = NasaEarthdataAsyncCredentialProvider(
        earthdata.credentials_url, host=earthdata.login.netloc, auth=("alice", "s3cret")
    )
    provider.refresh_threshold = THRESHOLD  # type: ignore[attr-defined]
    store = _s3_store(objects, provider)
    await _read_async(store)
    await _read_async(store)
    _check_earthdata_refresh(objects, earthdata)
    _wait_for_expiry()
    await _read_async(store)
    assert earthdata.service.issued == ["e-1", "e-2"]
    await provider.close()
    with pytest.raises(ValueError, match="closed"):
        provider.session  # noqa: B018


# --------------------------------------------------------------------------- planetary computer
def _sas_endpoint(service: TokenService) -> Any:
    def handle(seen: Seen) -> Reply:
        if seen.path != "/api/sas/v1/token/pcaccount/pccontainer":
            return Reply(404, body=seen.path.encode())
        if seen.headers.get("user-agent") != f"obstore-v{obstore.__version__}":
            return Reply(400, body=b"bad user agent")
        if seen.headers.get("ocp-apim-subscription-key") != "sub-key":
            return Reply(401, body=b"bad key")
        n = service.next()
        expiry = (datetime.now(UTC) + timedelta(seconds=LIFETIME)).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {"token": f"sv=2021-06-08&sr=c&sp=rl&sig={n}", "msft:expiry": expiry}
        return Reply(200, {"Content-Type": "application/json"}, json.dumps(body).encode())

    return handle


@pytest.fixture
def sas_service() -> Iterator[tuple[TokenService, StandIn]]:
    service = TokenService("sig")
    with StandIn(_sas_endpoint(service)) as server:
        yield service, server


def _pc_store(objects: StandIn, provider: Any) -> AzureStore:
    # account, container and prefix all come from the provider
    return AzureStore(endpoint=objects.url, credential_provider=provider, client_options=CLIENT)


def _check_sas_requests(objects: StandIn, sigs: list[str]) -> None:
    assert [s.query.get("sig") for s in objects.seen] == [[sig] for sig in sigs]
    assert {s.path for s in objects.seen} == {"/pccontainer/some/prefix/data/object.bin"}


def test_planetary_computer_provider_refreshes(
    objects: StandIn, sas_service: tuple[TokenService, StandIn], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("requests")
    from obstore.auth.planetary_computer import PlanetaryComputerCredentialProvider

    service, server = sas_service
    monkeypatch.setenv("PC_SDK_SAS_URL", f"{server.url}/api/sas/v1/token")
    provider = PlanetaryComputerCredentialProvider(
        "https://pcaccount.blob.core.windows.net/pccontainer/some/prefix",
        subscription_key="sub-key",
    )
    assert provider.config == {"account_name": "pcaccount", "container_name": "pccontainer"}
    assert provider.prefix == "some/prefix"
    provider.refresh_threshold = THRESHOLD  # type: ignore[attr-defined]
    store = _pc_store(objects, provider)
    _read(store)
    _read(store)
    assert service.issued == ["sig-1"]
    _wait_for_expiry()
    _read(store)
    assert service.issued == ["sig-1", "sig-2"]
    _check_sas_requests(objects, ["sig-1", "sig-1", "sig-2"])


class _PystacAsset:
    """What ``pystac.Asset`` is to ``from_asset``: an ``href`` and the other fields apart."""

    def __init__(self, href: str, **extra_fields: Any) -> None:
        self.href = href
        self.extra_fields = extra_fields


def test_planetary_computer_abfs_asset_fetches_tokens(
    objects: StandIn, sas_service: tuple[TokenService, StandIn]
) -> None:
    # a STAC table asset as the Planetary Computer serves it: the account is in its options
    pytest.importorskip("requests")
    from obstore.auth.planetary_computer import PlanetaryComputerCredentialProvider

    service, server = sas_service
    asset = _PystacAsset(
        "abfs://pccontainer/some/prefix",
        **{"table:storage_options": {"account_name": "pcaccount"}, "msft:partition_info": {}},
    )
    provider = PlanetaryComputerCredentialProvider.from_asset(
        asset, subscription_key="sub-key", sas_url=f"{server.url}/api/sas/v1/token"
    )
    assert provider.config == {"account_name": "pcaccount", "container_name": "pccontainer"}
    assert provider.prefix == "some/prefix"
    _read(_pc_store(objects, provider))
    assert service.issued == ["sig-1"]  # the token endpoint checked account and container
    _check_sas_requests(objects, ["sig-1"])


async def test_planetary_computer_async_abfs_asset_fetches_tokens(
    objects: StandIn, sas_service: tuple[TokenService, StandIn]
) -> None:
    pytest.importorskip("aiohttp")
    from obstore.auth.planetary_computer import PlanetaryComputerAsyncCredentialProvider

    service, server = sas_service
    asset = {  # the dict form of a Zarr asset
        "href": "abfs://pccontainer/some/prefix",
        "type": "application/vnd+zarr",
        "xarray:storage_options": {"account_name": "pcaccount"},
    }
    provider = PlanetaryComputerAsyncCredentialProvider.from_asset(
        asset, subscription_key="sub-key", sas_url=f"{server.url}/api/sas/v1/token"
    )
    await _read_async(_pc_store(objects, provider))
    assert service.issued == ["sig-1"]
    _check_sas_requests(objects, ["sig-1"])
    await provider.close()


def test_planetary_computer_locations(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("requests")
    from obstore.auth.planetary_computer import PlanetaryComputerCredentialProvider as Provider

    table = {"table:storage_options": {"account_name": "pcstac"}}
    for asset in (
        {"href": "abfs://items/collection/part-0.parquet", **table},
        _PystacAsset("abfs://items/collection/part-0.parquet", **table),
        # options without an account do not hide those with one
        _PystacAsset(
            "abfss://items/collection/part-0.parquet",
            **{"xarray:storage_options": {"anon": True}},
            **table,
        ),
    ):
        from_asset = Provider.from_asset(asset)
        assert from_asset.config == {"account_name": "pcstac", "container_name": "items"}
        assert from_asset.prefix == "collection/part-0.parquet"
    https = Provider.from_asset(_PystacAsset("https://acct.blob.core.windows.net/cont/a/b.tif"))
    assert https.config == {"account_name": "acct", "container_name": "cont"}
    assert https.prefix == "a/b.tif"
    in_url = Provider.from_asset({"href": "abfs://cont@acct.dfs.core.windows.net/x"})
    assert in_url.config == {"account_name": "acct", "container_name": "cont"}
    with pytest.raises(ValueError, match="no storage account.*table:storage_options"):
        Provider.from_asset(_PystacAsset("abfs://items/x", **{"table:storage_options": {}}))
    with pytest.raises(ValueError, match="no href"):
        Provider.from_asset({"type": "application/x-parquet"})
    named = Provider(account_name="acct", container_name="cont")
    assert named.config == {"account_name": "acct", "container_name": "cont"} and not named.prefix
    with pytest.raises(ValueError):
        Provider("abfs://items/x")  # no account name
    with pytest.raises(ValueError):
        Provider("s3://bucket/key")
    with pytest.raises(ValueError):
        Provider(account_name="only-account")


async def test_planetary_computer_async_provider_refreshes(
    objects: StandIn, sas_service: tuple[TokenService, StandIn]
) -> None:
    pytest.importorskip("aiohttp")
    from obstore.auth.planetary_computer import PlanetaryComputerAsyncCredentialProvider

    service, server = sas_service
    provider = PlanetaryComputerAsyncCredentialProvider(
        "abfs://pccontainer/some/prefix",
        account_name="pcaccount",
        subscription_key="sub-key",
        sas_url=f"{server.url}/api/sas/v1/token/",
    )
    provider.refresh_threshold = THRESHOLD  # type: ignore[attr-defined]
    store = _pc_store(objects, provider)
    await _read_async(store)
    await _read_async(store)
    assert service.issued == ["sig-1"]
    _wait_for_expiry()
    await _read_async(store)
    _check_sas_requests(objects, ["sig-1", "sig-1", "sig-2"])
    await provider.close()
