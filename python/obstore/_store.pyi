"""Stubs for ``obstore._store``: the store classes of the compiled core.

These raw classes carry configuration only; the functions of ``obstore`` accept
them, and ``obstore.store`` subclasses them to add methods such as ``get``.
"""

from pathlib import Path
from typing import Any, ClassVar, Self, Unpack, overload

from typing_extensions import disjoint_base

from ._config import (
    AzureConfig,
    AzureCredentialProvider,
    ClientConfig,
    GCSConfig,
    GCSCredentialProvider,
    RetryConfig,
    S3Config,
    S3CredentialProvider,
)
from ._hooks import RequestHook
from ._types import ObjectStore

# The classes are native (PyO3) types: their constructor is `__new__` and they
# are disjoint bases, which is what stubtest checks against.

__all__ = [
    "from_url",
    "AzureStore",
    "GCSStore",
    "HTTPStore",
    "LocalStore",
    "MemoryStore",
    "S3Store",
]

@disjoint_base
class S3Store:
    """A store for Amazon S3 and S3-compatible servers (MinIO, R2, Ceph, ...).

    ``AWS_*`` environment variables are read first, then ``config`` and keyword
    arguments are applied; giving one key twice (even under two spellings)
    raises ``GenericError``. Instances are immutable, comparable with ``==`` and
    picklable when their credential provider and request hook are (a hook that
    cannot be pickled raises ``TypeError`` naming it). ``request_hook`` is
    called with a ``RequestEvent`` for each HTTP request of this store only
    (see ``obstore.add_request_hook``); it is not a configuration key.
    """

    # `bucket` is both a parameter and an S3Config key (as at runtime).
    def __new__(  # type: ignore[misc]
        cls,
        bucket: str | None = None,
        *,
        prefix: str | None = None,
        config: S3Config | None = None,
        client_options: ClientConfig | None = None,
        retry_config: RetryConfig | None = None,
        credential_provider: S3CredentialProvider | None = None,
        request_hook: RequestHook | None = None,
        **kwargs: Unpack[S3Config],
    ) -> Self:
        """Create a store for ``bucket``, optionally below the key ``prefix``."""

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        config: S3Config | None = None,
        client_options: ClientConfig | None = None,
        retry_config: RetryConfig | None = None,
        credential_provider: S3CredentialProvider | None = None,
        request_hook: RequestHook | None = None,
        **kwargs: Unpack[S3Config],
    ) -> Self:
        """Create a store from a URL such as ``s3://bucket/prefix``.

        Also accepted: ``s3a://``, ``https://s3.<region>.amazonaws.com/<bucket>``,
        ``https://<bucket>.s3.<region>.amazonaws.com`` and
        ``https://<account>.r2.cloudflarestorage.com/<bucket>``. The URL path
        becomes the prefix; keys in ``config`` take precedence over the URL.
        """

    @property
    def prefix(self) -> str | None:
        """Key prefix prepended to every path, if any."""

    @property
    def config(self) -> S3Config:
        """Explicitly given settings (not environment ones), values as strings."""

    @property
    def client_options(self) -> ClientConfig | None:
        """HTTP client options, if given."""

    @property
    def credential_provider(self) -> S3CredentialProvider | None:
        """The credential provider passed at construction, if any."""

    @property
    def request_hook(self) -> RequestHook | None:
        """The request hook passed at construction, if any."""

    @property
    def retry_config(self) -> RetryConfig | None:
        """Retry settings with defaults filled in, if given."""

    def __eq__(self, other: object, /) -> bool:
        """Equal to a store of the same class with the same settings."""
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __getnewargs_ex__(self) -> tuple[tuple[()], dict[str, Any]]:
        """Constructor arguments, for pickling."""

@disjoint_base
class GCSStore:
    """A store for Google Cloud Storage.

    ``GOOGLE_*`` environment variables are read first, then ``config`` and
    keyword arguments are applied. Instances are immutable, comparable with
    ``==`` and picklable when their credential provider and request hook are.
    ``request_hook`` is called with a ``RequestEvent`` for each HTTP request of
    this store only (see ``obstore.add_request_hook``).
    """

    # `bucket` is both a parameter and a GCSConfig key (as at runtime).
    def __new__(  # type: ignore[misc]
        cls,
        bucket: str | None = None,
        *,
        prefix: str | None = None,
        config: GCSConfig | None = None,
        client_options: ClientConfig | None = None,
        retry_config: RetryConfig | None = None,
        credential_provider: GCSCredentialProvider | None = None,
        request_hook: RequestHook | None = None,
        **kwargs: Unpack[GCSConfig],
    ) -> Self:
        """Create a store for ``bucket``, optionally below the key ``prefix``."""

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        config: GCSConfig | None = None,
        client_options: ClientConfig | None = None,
        retry_config: RetryConfig | None = None,
        credential_provider: GCSCredentialProvider | None = None,
        request_hook: RequestHook | None = None,
        **kwargs: Unpack[GCSConfig],
    ) -> Self:
        """Create a store from a ``gs://bucket/prefix`` URL."""

    @property
    def prefix(self) -> str | None:
        """Key prefix prepended to every path, if any."""

    @property
    def config(self) -> GCSConfig:
        """Explicitly given settings (not environment ones), values as strings."""

    @property
    def client_options(self) -> ClientConfig | None:
        """HTTP client options, if given."""

    @property
    def credential_provider(self) -> GCSCredentialProvider | None:
        """The credential provider passed at construction, if any."""

    @property
    def request_hook(self) -> RequestHook | None:
        """The request hook passed at construction, if any."""

    @property
    def retry_config(self) -> RetryConfig | None:
        """Retry settings with defaults filled in, if given."""

    def __eq__(self, other: object, /) -> bool:
        """Equal to a store of the same class with the same settings."""
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __getnewargs_ex__(self) -> tuple[tuple[()], dict[str, Any]]:
        """Constructor arguments, for pickling."""

@disjoint_base
class AzureStore:
    """A store for Azure Blob Storage and ADLS Gen2 (and Microsoft Fabric).

    ``AZURE_*`` environment variables are read first, then ``config`` and
    keyword arguments are applied. Instances are immutable, comparable with
    ``==`` and picklable when their credential provider and request hook are.
    ``request_hook`` is called with a ``RequestEvent`` for each HTTP request of
    this store only (see ``obstore.add_request_hook``).
    """

    # `container_name` is both a parameter and an AzureConfig key (as at runtime).
    def __new__(  # type: ignore[misc]
        cls,
        container_name: str | None = None,
        *,
        prefix: str | None = None,
        config: AzureConfig | None = None,
        client_options: ClientConfig | None = None,
        retry_config: RetryConfig | None = None,
        credential_provider: AzureCredentialProvider | None = None,
        request_hook: RequestHook | None = None,
        **kwargs: Unpack[AzureConfig],
    ) -> Self:
        """Create a store for ``container_name``, optionally below ``prefix``."""

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        config: AzureConfig | None = None,
        client_options: ClientConfig | None = None,
        retry_config: RetryConfig | None = None,
        credential_provider: AzureCredentialProvider | None = None,
        request_hook: RequestHook | None = None,
        **kwargs: Unpack[AzureConfig],
    ) -> Self:
        """Create a store from an Azure URL.

        Accepted: ``az://``, ``adl://``, ``azure://``, ``abfs[s]://<container>/…``,
        ``abfs[s]://<container>@<account>.dfs.core.windows.net/…`` and
        ``https://<account>.{blob,dfs}.core.windows.net/<container>/…``, plus the
        ``fabric.microsoft.com`` forms. The path after the container becomes the
        prefix.
        """

    @property
    def prefix(self) -> str | None:
        """Key prefix prepended to every path, if any."""

    @property
    def config(self) -> AzureConfig:
        """Explicitly given settings (not environment ones), values as strings."""

    @property
    def client_options(self) -> ClientConfig | None:
        """HTTP client options, if given."""

    @property
    def credential_provider(self) -> AzureCredentialProvider | None:
        """The credential provider passed at construction, if any."""

    @property
    def request_hook(self) -> RequestHook | None:
        """The request hook passed at construction, if any."""

    @property
    def retry_config(self) -> RetryConfig | None:
        """Retry settings with defaults filled in, if given."""

    def __eq__(self, other: object, /) -> bool:
        """Equal to a store of the same class with the same settings."""
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __getnewargs_ex__(self) -> tuple[tuple[()], dict[str, Any]]:
        """Constructor arguments, for pickling."""

@disjoint_base
class HTTPStore:
    """A store over plain HTTP(S), e.g. a WebDAV server or a static file host.

    The URL's path acts as the prefix. Listing, copying, renaming and deleting
    use WebDAV requests.
    """

    def __new__(
        cls,
        url: str,
        *,
        client_options: ClientConfig | None = None,
        retry_config: RetryConfig | None = None,
        request_hook: RequestHook | None = None,
    ) -> Self:
        """Create a store rooted at ``url``; ``request_hook`` is called with a
        ``RequestEvent`` for each HTTP request of this store (see
        ``obstore.add_request_hook``)."""

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        client_options: ClientConfig | None = None,
        retry_config: RetryConfig | None = None,
        request_hook: RequestHook | None = None,
    ) -> Self:
        """Same as the constructor."""

    @property
    def url(self) -> str:
        """The normalized base URL."""

    @property
    def client_options(self) -> ClientConfig | None:
        """HTTP client options, if given."""

    @property
    def retry_config(self) -> RetryConfig | None:
        """Retry settings with defaults filled in, if given."""

    @property
    def request_hook(self) -> RequestHook | None:
        """The request hook passed at construction, if any."""

    def __eq__(self, other: object, /) -> bool:
        """Equal to a store of the same class with the same settings."""
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __getnewargs_ex__(self) -> tuple[tuple[str], dict[str, Any]]:
        """Constructor arguments, for pickling."""

@disjoint_base
class LocalStore:
    """A store over a directory of the local file system.

    Symbolic links: by default a path is followed wherever its links lead,
    outside the directory too (``get("link/file")`` reads the file the link
    points to, ``put`` writes there, ``list`` descends into linked
    directories). With ``allow_symlinks_outside=False`` every operation first
    resolves the links of its path(s) and raises ``PermissionDeniedError``
    naming the path when the resolved location leaves the directory; links
    that stay inside keep working, and listings leave out entries whose
    resolved location is outside. The check runs before each operation: it
    guards against links already in the tree, not against another process
    swapping a directory for a link while the operation runs.
    """

    def __new__(
        cls,
        prefix: str | Path | None = None,
        *,
        automatic_cleanup: bool = False,
        mkdir: bool = False,
        allow_symlinks_outside: bool = True,
    ) -> Self:
        """Create a store rooted at the directory ``prefix``.

        The directory must exist unless ``mkdir`` is true. With
        ``automatic_cleanup``, directories left empty by a delete are removed.
        With ``allow_symlinks_outside=False``, paths whose symbolic links lead
        outside the directory are refused (see the class docstring).
        """

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        automatic_cleanup: bool = False,
        mkdir: bool = False,
        allow_symlinks_outside: bool = True,
    ) -> Self:
        """Create a store from a ``file:///absolute/path`` URL.

        A path with an empty segment (``file:///tmp/x//y``) raises
        ``GenericError`` naming the URL.
        """

    @property
    def prefix(self) -> Path | None:
        """The root directory, if any."""

    def __eq__(self, other: object, /) -> bool:
        """Equal to a store of the same class with the same settings."""
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __getnewargs_ex__(self) -> tuple[tuple[Path | None], dict[str, Any]]:
        """Constructor arguments, for pickling."""

@disjoint_base
class MemoryStore:
    """A store kept in process memory; each instance is independent.

    Equal only to itself, and not picklable.
    """

    def __new__(cls) -> Self:
        """Create an empty store."""

    def __eq__(self, other: object, /) -> bool:
        """Equal only to the very same instance."""
    __hash__: ClassVar[None]  # type: ignore[assignment]

@overload
def from_url(
    url: str,
    *,
    config: S3Config | None = None,
    client_options: ClientConfig | None = None,
    retry_config: RetryConfig | None = None,
    credential_provider: S3CredentialProvider | None = None,
    request_hook: RequestHook | None = None,
    **kwargs: Unpack[S3Config],
) -> ObjectStore:
    """Build the raw store class matching the URL's scheme.

    Same dispatch as ``obstore.store.from_url`` (see there), but returns the
    classes of this module, which have no methods of their own.
    """

@overload
def from_url(
    url: str,
    *,
    config: GCSConfig | None = None,
    client_options: ClientConfig | None = None,
    retry_config: RetryConfig | None = None,
    credential_provider: GCSCredentialProvider | None = None,
    request_hook: RequestHook | None = None,
    **kwargs: Unpack[GCSConfig],
) -> ObjectStore: ...
@overload
def from_url(
    url: str,
    *,
    config: AzureConfig | None = None,
    client_options: ClientConfig | None = None,
    retry_config: RetryConfig | None = None,
    credential_provider: AzureCredentialProvider | None = None,
    request_hook: RequestHook | None = None,
    **kwargs: Unpack[AzureConfig],
) -> ObjectStore: ...
@overload
def from_url(
    url: str,
    *,
    config: None = None,
    client_options: None = None,
    retry_config: None = None,
    request_hook: RequestHook | None = None,
    automatic_cleanup: bool = False,
    mkdir: bool = False,
    allow_symlinks_outside: bool = True,
) -> ObjectStore: ...
def _from_url_as(
    classes: tuple[type, type, type, type, type, type],
    url: str,
    # config, client_options, retry_config, credential_provider, kwargs (a dict or None)
    *settings: Any,
) -> ObjectStore: ...
