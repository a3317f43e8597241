"""Small HTTP helpers shared by the Earthdata and Planetary Computer providers (private)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from datetime import UTC, datetime
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

#: HTTP statuses worth retrying: rate limiting and server-side failures.
RETRY_STATUSES = (429, 500, 502, 503, 504)
#: How many times a request is retried by the default sessions.
RETRIES = 10
#: How many redirects are followed before giving up.
MAX_REDIRECTS = 10


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise an ImportError naming the extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"{module} is required for this credential provider; "
            f"install it with: pip install obstore[{extra}]"
        ) from err


def installed(module: str) -> bool:
    """Whether ``module`` can be imported (without importing it)."""
    if module in sys.modules:
        return sys.modules[module] is not None
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def parse_datetime(value: Any) -> datetime:
    """A timezone-aware datetime from an ISO 8601 string (naive values are taken as UTC)."""
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value).strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def same_host(url: str, host: str) -> bool:
    """True if ``url`` points at ``host`` (a hostname, or ``hostname:port``)."""
    parts = urlsplit(url)
    return host in (parts.hostname, parts.netloc)


def requests_session(extra: str, retries: int = RETRIES, backoff: float = 0.25) -> Any:
    """A ``requests.Session`` retrying idempotent requests on 429 and 5xx responses."""
    requests = require("requests", extra)
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    session = requests.Session()
    retry = Retry(
        total=retries,
        backoff_factor=backoff,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=("GET", "HEAD"),
        raise_on_status=False,
        respect_retry_after_header=True,
    )
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class AsyncSessionHolder:
    """An aiohttp session created lazily inside the running event loop (and re-created if a
    later call runs in another loop, since aiohttp sessions are bound to theirs)."""

    def __init__(self, session: Any, extra: str, *, retry: bool) -> None:
        self._session = session
        self._owned = session is None
        self._loop: Any = None
        self._extra = extra
        self._retry = retry
        self.closed = False

    @property
    def session(self) -> Any:
        """The session given at construction, or the one made most recently (may be None)."""
        if self.closed:
            raise ValueError("credential provider was closed")
        return self._session

    async def get(self) -> Any:
        """The session to use for a request in the current event loop."""
        import asyncio

        if self.closed:
            raise ValueError("credential provider was closed")
        loop = asyncio.get_running_loop()
        if self._session is not None and (not self._owned or self._loop is loop):
            return self._session
        aiohttp = require("aiohttp", self._extra)
        if self._session is not None:
            # made for another (probably finished) loop: drop it without awaiting its close
            self._session = None
        session: Any = aiohttp.ClientSession()
        if self._retry:
            if installed("aiohttp_retry"):
                import aiohttp_retry

                session = aiohttp_retry.RetryClient(
                    client_session=session,
                    retry_options=aiohttp_retry.ExponentialRetry(
                        attempts=RETRIES, start_timeout=0.25, statuses=set(RETRY_STATUSES)
                    ),
                )
            else:
                import warnings

                warnings.warn(
                    "aiohttp_retry is not installed: Earthdata requests will not be retried "
                    f"(pip install obstore[{self._extra}])",
                    RuntimeWarning,
                    stacklevel=3,
                )
        self._session = session
        self._loop = loop
        return session

    async def close(self) -> None:
        """Close the session if this holder made it; further use raises ValueError."""
        if self.closed:
            return
        self.closed = True
        session, self._session = self._session, None
        if session is not None and self._owned:
            await session.close()
