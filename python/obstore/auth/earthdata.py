"""S3 credentials for NASA Earthdata cloud buckets (``S3Store(credential_provider=...)``).

NASA's DAACs hand out temporary S3 credentials (valid in ``us-west-2``) from an
``s3credentials`` endpoint to users authenticated with NASA Earthdata Login, either with an
Earthdata bearer token or with username and password (HTTP basic auth on the Earthdata Login
host during the OAuth redirects). Requires ``pip install obstore[earthdata]``
(``requests`` for the synchronous provider, ``aiohttp`` for the asynchronous one).

Authentication, first match wins: ``auth=`` (a token string, or a ``(username, password)``
tuple); env ``EARTHDATA_TOKEN``; env ``EARTHDATA_USERNAME`` and ``EARTHDATA_PASSWORD``; a
netrc entry for the Earthdata Login host (file from env ``NETRC``, else ``~/.netrc``). The
host is ``host=``, else env ``EARTHDATA_HOST``, else ``urs.earthdata.nasa.gov``.
"""

from __future__ import annotations

import base64
import netrc
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urljoin, urlsplit

from ._http import (
    MAX_REDIRECTS,
    AsyncSessionHolder,
    installed,
    parse_datetime,
    requests_session,
    require,
    same_host,
)

if not (installed("requests") or installed("aiohttp")):
    raise ImportError(
        "obstore.auth.earthdata requires requests (or aiohttp for the async provider); "
        "install them with: pip install obstore[earthdata]"
    )

if TYPE_CHECKING:
    import aiohttp
    import requests

    from obstore.store import S3Config, S3Credential

__all__ = [
    "DEFAULT_EARTHDATA_HOST",
    "NasaEarthdataAsyncCredentialProvider",
    "NasaEarthdataCredentialProvider",
]

DEFAULT_EARTHDATA_HOST = "urs.earthdata.nasa.gov"
"""The NASA Earthdata Login host."""

_EXTRA = "earthdata"
_TIMEOUT = 30.0
_REDIRECT_STATUSES = frozenset((301, 302, 303, 307, 308))

_Auth = tuple[Literal["bearer"], str] | tuple[Literal["basic"], tuple[str, str]]


def _resolve_host(host: str | None) -> str:
    return host or os.environ.get("EARTHDATA_HOST") or DEFAULT_EARTHDATA_HOST


def _resolve_auth(auth: str | tuple[str, str] | None, host: str) -> _Auth:
    if isinstance(auth, str):
        return ("bearer", auth)
    if isinstance(auth, tuple):
        if len(auth) != 2:
            raise ValueError("auth must be a token string or a (username, password) tuple")
        return ("basic", (str(auth[0]), str(auth[1])))
    if auth is not None:
        raise TypeError(f"auth must be a str or a (username, password) tuple, got {auth!r}")
    token = os.environ.get("EARTHDATA_TOKEN")
    if token:
        return ("bearer", token)
    user, password = os.environ.get("EARTHDATA_USERNAME"), os.environ.get("EARTHDATA_PASSWORD")
    if user and password:
        return ("basic", (user, password))
    netrc_path = os.environ.get("NETRC") or str(Path.home() / ".netrc")
    if Path(netrc_path).is_file():
        hostname = urlsplit(f"//{host}").hostname or host
        entry = netrc.netrc(netrc_path).authenticators(hostname)
        if entry is not None and entry[0] and entry[2]:
            return ("basic", (entry[0], entry[2]))
    raise ValueError(
        "No NASA Earthdata credentials: pass auth=, or set EARTHDATA_TOKEN, or "
        f"EARTHDATA_USERNAME and EARTHDATA_PASSWORD, or add {host} to your netrc file"
    )


def _credential(payload: Any) -> S3Credential:
    try:
        return {
            "access_key_id": payload["accessKeyId"],
            "secret_access_key": payload["secretAccessKey"],
            "token": payload["sessionToken"],
            "expires_at": parse_datetime(payload["expiration"]),
        }
    except (KeyError, TypeError) as err:
        raise ValueError(f"Unexpected Earthdata credentials response: {payload!r}") from err


def _hop_auth(url: str, start: str, host: str, auth: _Auth) -> dict[str, str]:
    """The Authorization header for one request: credentials only go where they belong.

    A bearer token is sent to the credentials endpoint's host and the Earthdata Login host; a
    username and password only to the Earthdata Login host.
    """
    if auth[0] == "bearer":
        if same_host(url, host) or urlsplit(url).netloc == urlsplit(start).netloc:
            return {"Authorization": f"Bearer {auth[1]}"}
        return {}
    if same_host(url, host):
        user, password = auth[1]
        encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": f"Basic {encoded}"}
    return {}


def _no_auth(request: Any) -> Any:
    """A ``requests`` auth that adds nothing (and so stops requests' own netrc lookup)."""
    return request


class _Hops:
    """The requests of one credentials fetch, whatever the HTTP client: the endpoint first,
    then the target of each redirect (at most ``MAX_REDIRECTS``), each with the Authorization
    header it may carry. The providers follow redirects here rather than in their client, so
    that no hop gets credentials meant for another host."""

    def __init__(self, start: str, host: str, auth: _Auth) -> None:
        self.url = start
        self._start = start
        self._host = host
        self._auth = auth
        self._redirects = 0

    @property
    def headers(self) -> dict[str, str]:
        """The headers of the request to ``url``."""
        return _hop_auth(self.url, self._start, self._host, self._auth)

    def redirected(self, status: int, headers: Mapping[str, str]) -> bool:
        """Whether a response is a redirect to follow; if it is, ``url`` becomes its target."""
        location = headers.get("Location")
        if status not in _REDIRECT_STATUSES or location is None:
            return False
        if self._redirects == MAX_REDIRECTS:
            raise RuntimeError(
                f"Too many redirects fetching Earthdata credentials from {self._start}"
            )
        self._redirects += 1
        self.url = urljoin(self.url, location)
        return True


class _Base:
    """What the synchronous and the asynchronous provider share: endpoint, host and auth."""

    config: S3Config

    def __init__(
        self, credentials_url: str, host: str | None, auth: str | tuple[str, str] | None
    ) -> None:
        self._url = credentials_url
        self._host = _resolve_host(host)
        self._auth = _resolve_auth(auth, self._host)
        self.config = {"region": "us-west-2"}

    def _hops(self) -> _Hops:
        return _Hops(self._url, self._host, self._auth)


class NasaEarthdataCredentialProvider(_Base):
    """Temporary S3 credentials from a NASA DAAC ``s3credentials`` endpoint (synchronous)."""

    def __init__(
        self,
        credentials_url: str,
        *,
        host: str | None = None,
        auth: str | tuple[str, str] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        """``credentials_url`` is the DAAC's endpoint, e.g.
        ``https://data.ornldaac.earthdata.nasa.gov/s3credentials``."""
        super().__init__(credentials_url, host, auth)
        self._session: Any = session if session is not None else requests_session(_EXTRA)
        self._owns_session = session is None
        self._closed = False
        self._lock = threading.Lock()

    @property
    def session(self) -> requests.Session:
        """The ``requests`` session used (``ValueError`` once closed)."""
        if self._closed:
            raise ValueError("credential provider was closed")
        session: requests.Session = self._session
        return session

    def __call__(self) -> S3Credential:
        """Fetch fresh credentials."""
        session = self.session
        hops = self._hops()
        with self._lock:
            while True:
                response = session.get(
                    hops.url,
                    headers=hops.headers,
                    auth=_no_auth,
                    allow_redirects=False,
                    timeout=_TIMEOUT,
                )
                if not hops.redirected(response.status_code, response.headers):
                    response.raise_for_status()
                    return _credential(response.json())

    def close(self) -> None:
        """Close the session (if this provider made it)."""
        if not self._closed:
            self._closed = True
            if self._owns_session:
                self._session.close()


class NasaEarthdataAsyncCredentialProvider(_Base):
    """Asynchronous ``NasaEarthdataCredentialProvider`` (aiohttp; retried with
    ``aiohttp_retry`` when it is installed, else a ``RuntimeWarning`` is issued)."""

    def __init__(
        self,
        credentials_url: str,
        *,
        host: str | None = None,
        auth: str | tuple[str, str] | None = None,
        session: aiohttp.ClientSession | Any | None = None,
    ) -> None:
        """See ``NasaEarthdataCredentialProvider``; ``session`` may be an
        ``aiohttp.ClientSession`` or an ``aiohttp_retry.RetryClient``."""
        if session is None:
            require("aiohttp", _EXTRA)
        super().__init__(credentials_url, host, auth)
        self._holder = AsyncSessionHolder(session, _EXTRA, retry=True)

    @property
    def session(self) -> Any:
        """The aiohttp session in use, if made yet (``ValueError`` once closed)."""
        return self._holder.session

    async def __call__(self) -> S3Credential:
        """Fetch fresh credentials."""
        aiohttp = require("aiohttp", _EXTRA)
        session = await self._holder.get()
        hops = self._hops()
        while True:
            async with session.get(
                hops.url,
                headers=hops.headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=_TIMEOUT),
            ) as response:
                if not hops.redirected(response.status, response.headers):
                    response.raise_for_status()
                    return _credential(await response.json(content_type=None))

    async def close(self) -> None:
        """Close the session (if this provider made it)."""
        await self._holder.close()
