"""Credential providers for ``AzureStore`` backed by azure-identity.

``AzureCredentialProvider`` asks any azure-identity credential (``DefaultAzureCredential`` by
default: environment, workload identity, managed identity, Azure CLI, ...) for a storage
bearer token; ``AzureAsyncCredentialProvider`` does the same with the credentials of
``azure.identity.aio``. Requires ``pip install obstore[azure]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

try:
    import azure.identity
    import azure.identity.aio
except ImportError as _err:
    raise ImportError(
        "obstore.auth.azure requires azure-identity; install it with: pip install obstore[azure]"
    ) from _err

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken, TokenCredential
    from azure.core.credentials_async import AsyncTokenCredential

    from obstore.store import AzureBearerToken

__all__ = ["DEFAULT_SCOPES", "AzureAsyncCredentialProvider", "AzureCredentialProvider"]

DEFAULT_SCOPES: tuple[str, ...] = ("https://storage.azure.com/.default",)
"""OAuth scope of Azure Storage."""


def _bearer(token: AccessToken) -> AzureBearerToken:
    return {
        "token": token.token,
        "expires_at": datetime.fromtimestamp(token.expires_on, UTC),
    }


class _Options(TypedDict, total=False):
    """The OAuth scopes (default ``DEFAULT_SCOPES``) and tenant of every token request."""

    scopes: Iterable[str]
    tenant_id: str | None


class _Base:
    """What the synchronous and the asynchronous provider share: the scopes and tenant that
    every token request names."""

    def __init__(self, options: _Options) -> None:
        self._scopes = tuple(options.get("scopes", DEFAULT_SCOPES))
        if not self._scopes:
            raise ValueError("At least one scope is required")
        self._tenant_id = options.get("tenant_id")


class AzureCredentialProvider(_Base):
    """Bearer tokens from an azure-identity credential, for ``AzureStore(credential_provider=)``.

    azure-identity caches tokens and renews them shortly before they expire, so every call
    simply asks the credential.
    """

    def __init__(
        self, credential: TokenCredential | None = None, **options: Unpack[_Options]
    ) -> None:
        """Use ``credential`` (default: ``azure.identity.DefaultAzureCredential()``) for the
        ``scopes`` (default ``DEFAULT_SCOPES``), in ``tenant_id`` when given."""
        super().__init__(options)
        self._credential: TokenCredential = (
            credential if credential is not None else azure.identity.DefaultAzureCredential()
        )

    def __call__(self) -> AzureBearerToken:
        """A bearer token for the scopes."""
        return _bearer(self._credential.get_token(*self._scopes, tenant_id=self._tenant_id))

    def close(self) -> None:
        """Close the underlying credential (if it can be closed)."""
        close = getattr(self._credential, "close", None)
        if callable(close):
            close()


class AzureAsyncCredentialProvider(_Base):
    """Asynchronous ``AzureCredentialProvider`` (use with the stores' ``*_async`` methods)."""

    def __init__(
        self, credential: AsyncTokenCredential | None = None, **options: Unpack[_Options]
    ) -> None:
        """Use ``credential`` (default: ``azure.identity.aio.DefaultAzureCredential()``);
        ``scopes`` and ``tenant_id`` as for ``AzureCredentialProvider``."""
        super().__init__(options)
        self._credential: AsyncTokenCredential = (
            credential if credential is not None else azure.identity.aio.DefaultAzureCredential()
        )

    async def __call__(self) -> AzureBearerToken:
        """A bearer token for the scopes."""
        return _bearer(await self._credential.get_token(*self._scopes, tenant_id=self._tenant_id))

    async def close(self) -> None:
        """Close the underlying credential."""
        close: Any = getattr(self._credential, "close", None)
        if callable(close):
            await close()
