"""Credential providers for ``GCSStore`` backed by google-auth.

``GoogleCredentialProvider`` refreshes any ``google.auth`` credentials (application default
credentials by default: service accounts, user credentials, workload identity, metadata
server, ...) and hands the access token to the store. ``GoogleAsyncCredentialProvider`` does
the same with google-auth's asynchronous credentials. Requires ``pip install obstore[google]``.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

try:
    import google.auth
    import google.auth.credentials
    import google.auth.transport.requests
except ImportError as _err:
    raise ImportError(
        "obstore.auth.google requires google-auth and requests; "
        "install them with: pip install obstore[google]"
    ) from _err

if TYPE_CHECKING:
    from obstore.store import GCSCredential

__all__ = ["GoogleAsyncCredentialProvider", "GoogleCredentialProvider"]

#: google-auth's own margin: tokens are refreshed this long before they expire.
DEFAULT_REFRESH_THRESHOLD = timedelta(minutes=3, seconds=45)


def _aware(expiry: datetime | None) -> datetime | None:
    """google-auth keeps expiry as naive UTC; the store wants timezone-aware datetimes."""
    if expiry is None:
        return None
    return expiry.replace(tzinfo=UTC) if expiry.tzinfo is None else expiry


def _needs_refresh(credentials: Any, threshold: timedelta) -> bool:
    if getattr(credentials, "token", None) is None:
        return True
    expiry = _aware(getattr(credentials, "expiry", None))
    if expiry is None:
        return False
    return expiry - datetime.now(UTC) <= threshold


def _credential(credentials: Any) -> GCSCredential:
    token = credentials.token
    if not isinstance(token, str) or not token:
        raise ValueError("google-auth credentials have no access token after refresh")
    return {"token": token, "expires_at": _aware(credentials.expiry)}


class GoogleCredentialProvider:
    """Access tokens of google-auth credentials, for ``GCSStore(credential_provider=...)``.

    Each call returns the current token, refreshing it first (with ``request``) when it is
    missing or expires within ``refresh_threshold``; the store calls again once its own copy
    is that close to expiry.
    """

    credentials: google.auth.credentials.Credentials
    request: google.auth.transport.requests.Request
    refresh_threshold: timedelta

    def __init__(
        self,
        credentials: google.auth.credentials.Credentials | None = None,
        *,
        request: google.auth.transport.requests.Request | None = None,
        refresh_threshold: timedelta = DEFAULT_REFRESH_THRESHOLD,
    ) -> None:
        """Use ``credentials`` (default: ``google.auth.default()`` with the storage scope)."""
        if credentials is None:
            credentials, _ = google.auth.default(
                scopes=["https://www.googleapis.com/auth/devstorage.full_control"]
            )
        self.credentials = credentials
        self.request = request if request is not None else google.auth.transport.requests.Request()
        self.refresh_threshold = refresh_threshold
        self._lock = threading.Lock()

    def __call__(self) -> GCSCredential:
        """The current access token, refreshed if needed."""
        with self._lock:
            if _needs_refresh(self.credentials, self.refresh_threshold):
                self.credentials.refresh(self.request)  # type: ignore[no-untyped-call,unused-ignore]
            return _credential(self.credentials)


class GoogleAsyncCredentialProvider:
    """Asynchronous ``GoogleCredentialProvider`` (use with the stores' ``*_async`` methods).

    ``credentials`` are google-auth asynchronous credentials (default:
    ``google.auth._default_async.default_async()``); ``request`` defaults to google-auth's
    aiohttp transport, created on first use inside the running event loop.
    """

    credentials: Any
    async_request: Any
    refresh_threshold: timedelta

    def __init__(
        self,
        credentials: Any = None,
        *,
        request: Any = None,
        refresh_threshold: timedelta = DEFAULT_REFRESH_THRESHOLD,
    ) -> None:
        """Use ``credentials`` and ``request`` (defaults described on the class)."""
        if credentials is None:
            from google.auth import _default_async

            credentials, _ = _default_async.default_async(  # type: ignore[no-untyped-call,unused-ignore]
                scopes=["https://www.googleapis.com/auth/devstorage.full_control"]
            )
        self.credentials = credentials
        self.async_request = request
        self.refresh_threshold = refresh_threshold
        self._owns_request = request is None
        self._lock: asyncio.Lock | None = None

    async def __call__(self) -> GCSCredential:
        """The current access token, refreshed if needed."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if _needs_refresh(self.credentials, self.refresh_threshold):
                if self.async_request is None:
                    try:
                        from google.auth.transport import _aiohttp_requests
                    except ImportError as err:
                        raise ImportError(
                            "GoogleAsyncCredentialProvider needs aiohttp; "
                            "install it with: pip install obstore[google]"
                        ) from err
                    self.async_request = _aiohttp_requests.Request()  # type: ignore[no-untyped-call,unused-ignore]
                result = self.credentials.refresh(self.async_request)
                if inspect.isawaitable(result):
                    await result
            return _credential(self.credentials)

    async def close(self) -> None:
        """Close the HTTP session of the default request (a given ``request`` stays open)."""
        request, self.async_request = self.async_request, None
        if request is not None and self._owns_request:
            close = getattr(request, "close", None)
            if close is not None:
                result = close()
                if inspect.isawaitable(result):
                    await result
