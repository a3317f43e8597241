"""SAS tokens for Microsoft Planetary Computer containers (``AzureStore(credential_provider=)``).

The Planetary Computer's SAS endpoint hands out read tokens per storage account and
container. The provider also carries ``config`` (account and container) and ``prefix`` (the
path below the container), so ``AzureStore(credential_provider=provider)`` needs nothing else.
Requires ``pip install obstore[planetary-computer]`` (``requests`` for the synchronous
provider, ``aiohttp`` for the asynchronous one).

Settings, first match wins: the ``subscription_key``/``sas_url`` arguments; env
``PC_SDK_SUBSCRIPTION_KEY``/``PC_SDK_SAS_URL``; ``~/.planetarycomputer/settings.env`` (read
with python-dotenv when installed). The default SAS URL is the public one.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, Self, TypedDict, TypeVar, Unpack
from urllib.parse import urlsplit

from obstore import __version__

from ._http import AsyncSessionHolder, installed, parse_datetime, requests_session, require

if not (installed("requests") or installed("aiohttp")):
    raise ImportError(
        "obstore.auth.planetary_computer requires requests (or aiohttp for the async "
        "provider); install them with: pip install obstore[planetary-computer]"
    )

if TYPE_CHECKING:
    import aiohttp
    import requests

    from obstore.store import AzureConfig, AzureSASToken

__all__ = ["PlanetaryComputerAsyncCredentialProvider", "PlanetaryComputerCredentialProvider"]

DEFAULT_SAS_URL = "https://planetarycomputer.microsoft.com/api/sas/v1/token"
_SETTINGS_FILE = Path("~/.planetarycomputer/settings.env")
_EXTRA = "planetary-computer"
_TIMEOUT = 30.0
# URL schemes of the form ``abfs://<container>[@<account>.<host>]/<path>``
_ABFS_SCHEMES = ("abfs", "abfss", "az", "azure")
# Where STAC assets keep the storage account of their href (the Planetary Computer's tables and
# Zarr stores)
_STORAGE_OPTIONS = ("xarray:storage_options", "table:storage_options")
# The HTTP session type of a provider: requests' or aiohttp's.
_SessionT = TypeVar("_SessionT")


class StacAsset(Protocol):
    """What is used of a ``pystac.Asset``."""

    href: str
    extra_fields: dict[str, Any]


def _settings(subscription_key: str | None, sas_url: str | None) -> tuple[str | None, str]:
    key = subscription_key or os.environ.get("PC_SDK_SUBSCRIPTION_KEY") or None
    url = sas_url or os.environ.get("PC_SDK_SAS_URL") or None
    settings_file = _SETTINGS_FILE.expanduser()
    if (key is None or url is None) and settings_file.is_file() and installed("dotenv"):
        import dotenv  # type: ignore[import-not-found,unused-ignore]

        values = dotenv.dotenv_values(settings_file)
        key = key or values.get("PC_SDK_SUBSCRIPTION_KEY") or None
        url = url or values.get("PC_SDK_SAS_URL") or None
    return key, (url or DEFAULT_SAS_URL).rstrip("/")


def _location(
    url: str | None, account_name: str | None, container_name: str | None
) -> tuple[str, str, str | None]:
    """``(account, container, prefix)`` from a URL and/or explicit names."""
    if url is None:
        if not account_name or not container_name:
            raise ValueError("Pass a url, or both account_name and container_name")
        return account_name, container_name, None
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme in ("http", "https") and host.endswith(".blob.core.windows.net"):
        account = host.split(".", 1)[0]
        container, _, prefix = parts.path.strip("/").partition("/")
    elif parts.scheme in _ABFS_SCHEMES:
        container, _, account_host = parts.netloc.partition("@")
        account = account_host.split(".", 1)[0] if account_host else (account_name or "")
        prefix = parts.path.strip("/")
    else:
        raise ValueError(f"Unrecognised Planetary Computer URL: {url!r}")
    account = account_name or account
    container = container_name or container
    if not account:
        raise ValueError(f"account_name is required for {url!r}")
    if not container:
        raise ValueError(f"No container in {url!r}")
    return account, container, prefix or None


def _asset_location(asset: StacAsset | dict[str, Any]) -> tuple[str, str | None]:
    """``(href, account name)`` of a STAC asset: a ``pystac.Asset`` or its dict form.

    The account name is that of the asset's storage options (``xarray:storage_options`` or
    ``table:storage_options``, whichever has one); an ``abfs://`` href needs it.
    """
    if isinstance(asset, dict):
        href, fields = asset.get("href"), asset
    else:
        href, fields = asset.href, asset.extra_fields
    if not href:
        raise ValueError(f"The STAC asset has no href: {asset!r}")
    account = None
    for key in _STORAGE_OPTIONS:
        options = fields.get(key)
        if isinstance(options, dict) and options.get("account_name"):
            account = str(options["account_name"])
            break
    parts = urlsplit(str(href))
    if account is None and parts.scheme in _ABFS_SCHEMES and "@" not in parts.netloc:
        raise ValueError(
            f"The STAC asset {href!r} names no storage account: expected an account_name in "
            f"its {' or '.join(_STORAGE_OPTIONS)}"
        )
    return str(href), account


def _sas(payload: Any) -> AzureSASToken:
    try:
        return {"sas_token": payload["token"], "expires_at": parse_datetime(payload["msft:expiry"])}
    except (KeyError, TypeError) as err:
        raise ValueError(f"Unexpected SAS token response: {payload!r}") from err


class _TokenOptions(TypedDict, Generic[_SessionT], total=False):
    """The HTTP session (each provider makes its own without one) and where tokens come from
    (unset: the settings the module docstring lists)."""

    session: _SessionT | None
    subscription_key: str | None
    sas_url: str | None


class _Options(_TokenOptions[_SessionT], total=False):
    """The container, where the URL does not name it (or for an ``abfs://`` URL, its account)."""

    account_name: str | None
    container_name: str | None


class _Base:
    """What the synchronous and the asynchronous provider share: the container, the prefix and
    the token request."""

    config: AzureConfig
    prefix: str | None

    def __init__(self, url: str | None, options: _Options[Any]) -> None:
        account, container, prefix = _location(
            url, options.get("account_name"), options.get("container_name")
        )
        key, base = _settings(options.get("subscription_key"), options.get("sas_url"))
        self.config = {"account_name": account, "container_name": container}
        self.prefix = prefix
        self._token_url = f"{base}/{account}/{container}"
        self._headers = {"User-Agent": f"obstore-v{__version__}"}
        if key:
            self._headers["Ocp-Apim-Subscription-Key"] = key


class PlanetaryComputerCredentialProvider(_Base):
    """SAS tokens from the Planetary Computer (synchronous, ``requests``)."""

    def __init__(
        self, url: str | None = None, **options: Unpack[_Options[requests.Session]]
    ) -> None:
        """``url`` is ``https://<account>.blob.core.windows.net/<container>[/<prefix>]`` or
        ``abfs://<container>/<prefix>`` (then with ``account_name``); without a URL, pass
        ``account_name`` and ``container_name``. Other keywords: ``session`` (a
        ``requests.Session``), ``subscription_key`` and ``sas_url``."""
        super().__init__(url, options)
        session = options.get("session")
        self._session: Any = session if session is not None else requests_session(_EXTRA)
        self._lock = threading.Lock()

    @classmethod
    def from_asset(
        cls, asset: StacAsset | dict[str, Any], **options: Unpack[_TokenOptions[requests.Session]]
    ) -> Self:
        """A provider for a STAC asset (a ``pystac.Asset`` or its dict form).

        Its ``href`` is ``https://<account>.blob.core.windows.net/<container>/<path>`` or
        ``abfs://<container>/<path>``; the account name of the latter comes from the asset's
        ``table:storage_options`` or ``xarray:storage_options``, as the Planetary Computer's
        STAC tables and Zarr assets carry it. Takes the constructor's ``session``,
        ``subscription_key`` and ``sas_url``.
        """
        href, account = _asset_location(asset)
        return cls(href, account_name=account, **options)

    def __call__(self) -> AzureSASToken:
        """Fetch a fresh SAS token."""
        with self._lock:
            response = self._session.get(self._token_url, headers=self._headers, timeout=_TIMEOUT)
            response.raise_for_status()
            return _sas(response.json())


class PlanetaryComputerAsyncCredentialProvider(_Base):
    """SAS tokens from the Planetary Computer (asynchronous, ``aiohttp``).

    ``await provider.close()`` closes the session it made.
    """

    def __init__(
        self, url: str | None = None, **options: Unpack[_Options[aiohttp.ClientSession]]
    ) -> None:
        """See ``PlanetaryComputerCredentialProvider``; ``session`` is an
        ``aiohttp.ClientSession``."""
        session = options.get("session")
        if session is None:
            require("aiohttp", _EXTRA)
        super().__init__(url, options)
        self._holder = AsyncSessionHolder(session, _EXTRA, retry=False)

    @classmethod
    def from_asset(
        cls,
        asset: StacAsset | dict[str, Any],
        **options: Unpack[_TokenOptions[aiohttp.ClientSession]],
    ) -> Self:
        """See ``PlanetaryComputerCredentialProvider.from_asset``."""
        href, account = _asset_location(asset)
        return cls(href, account_name=account, **options)

    async def __call__(self) -> AzureSASToken:
        """Fetch a fresh SAS token."""
        aiohttp = require("aiohttp", _EXTRA)
        session = await self._holder.get()
        async with session.get(
            self._token_url, headers=self._headers, timeout=aiohttp.ClientTimeout(total=_TIMEOUT)
        ) as response:
            response.raise_for_status()
            return _sas(await response.json(content_type=None))

    async def close(self) -> None:
        """Close the session (if this provider made it)."""
        await self._holder.close()
