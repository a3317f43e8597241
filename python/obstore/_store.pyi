"""Stubs for ``obstore._store``: the store classes of the compiled core.

These raw classes carry configuration only; the functions of ``obstore`` accept
them, and ``obstore.store`` subclasses them to add methods such as ``get``.
"""

from pathlib import Path
from typing import Any, ClassVar, Generic, Self, TypedDict, TypeVar, Unpack

from typing_extensions import disjoint_base

from ._config import (
    AzureConfig,
    AzureCredentialProvider,
    ClientConfig,
    CloudConfig,
    CloudCredentialProvider,
    GCSConfig,
    GCSCredentialProvider,
    RetryConfig,
    S3Config,
    S3CredentialProvider,
)
from ._hooks import RequestHook
from ._types import ObjectStore

# The classes are native (PyO3) types: their constructor is `__new__` and they
# are disjoint bases, which is what stubtest checks against. The private bases
# and TypedDicts below exist only for type checkers: they hold, once, what the
# native classes have in common (stubtest follows the stub's bases).

__all__ = [
    "from_url",
    "AzureStore",
    "GCSStore",
    "HTTPStore",
    "LocalStore",
    "MemoryStore",
    "S3Store",
]

_ConfigT = TypeVar("_ConfigT", S3Config, GCSConfig, AzureConfig)
_ProviderT = TypeVar(
    "_ProviderT", S3CredentialProvider, GCSCredentialProvider, AzureCredentialProvider
)

class _ClientOptions(TypedDict, total=False):
    """The keyword arguments of every store that sends HTTP requests."""

    client_options: ClientConfig | None
    retry_config: RetryConfig | None
    request_hook: RequestHook | None

class _CloudUrlOptions(_ClientOptions, Generic[_ConfigT, _ProviderT], total=False):
    """The keyword arguments of a cloud store's ``from_url``, besides config keys."""

    config: _ConfigT | None
    credential_provider: _ProviderT | None

class _CloudOptions(_CloudUrlOptions[_ConfigT, _ProviderT], total=False):
    """The keyword arguments of a cloud store's constructor, besides config keys."""

    prefix: str | None

# Each cloud store also takes its configuration keys as keyword arguments.
class _S3UrlOptions(S3Config, _CloudUrlOptions[S3Config, S3CredentialProvider], total=False): ...
class _S3Options(S3Config, _CloudOptions[S3Config, S3CredentialProvider], total=False): ...
class _GCSUrlOptions(
    GCSConfig, _CloudUrlOptions[GCSConfig, GCSCredentialProvider], total=False
): ...
class _GCSOptions(GCSConfig, _CloudOptions[GCSConfig, GCSCredentialProvider], total=False): ...
class _AzureUrlOptions(
    AzureConfig, _CloudUrlOptions[AzureConfig, AzureCredentialProvider], total=False
): ...
class _AzureOptions(
    AzureConfig, _CloudOptions[AzureConfig, AzureCredentialProvider], total=False
): ...

class _LocalOptions(TypedDict, total=False):
    """The keyword arguments of ``LocalStore`` (defaults ``False``, ``False``, ``True``)."""

    automatic_cleanup: bool
    mkdir: bool
    allow_symlinks_outside: bool

class _LocalUrlOptions(_LocalOptions, total=False):
    """What ``from_url`` accepts for a ``file://`` URL: no settings but the hook."""

    config: None
    client_options: None
    retry_config: None
    request_hook: RequestHook | None

class _Store:
    """What every store class has: comparison, and no hash (instances compare by value)."""

    def __eq__(self, other: object, /) -> bool:
        """Equal to a store of the same class with the same settings."""
    __hash__: ClassVar[None]  # type: ignore[assignment]

class _ClientStore(_Store):
    """The settings of every store that sends HTTP requests."""

    @property
    def client_options(self) -> ClientConfig | None:
        """HTTP client options, if given."""

    @property
    def retry_config(self) -> RetryConfig | None:
        """Retry settings with defaults filled in, if given."""

    @property
    def request_hook(self) -> RequestHook | None:
        """The request hook passed at construction, if any."""

class _CloudStore(_ClientStore, Generic[_ConfigT, _ProviderT]):
    """The settings of S3, GCS and Azure stores.

    Their settings come from environment variables first (``AWS_*``,
    ``GOOGLE_*``, ``AZURE_*``), then from ``config`` and keyword arguments (keys
    of ``S3Config``, ``GCSConfig``, ``AzureConfig``); giving one key twice (even
    under two spellings) raises ``GenericError``. Instances are immutable,
    comparable with ``==`` and picklable when their credential provider and
    request hook are (a hook that cannot be pickled raises ``TypeError`` naming
    it). ``request_hook`` is called with a ``RequestEvent`` for each HTTP request
    of this store only (see ``obstore.add_request_hook``); it is not a
    configuration key. The keyword arguments are ``prefix`` (constructor only),
    ``config``, ``client_options``, ``retry_config``, ``credential_provider``,
    ``request_hook`` and any configuration key.
    """

    @property
    def prefix(self) -> str | None:
        """Key prefix prepended to every path, if any."""

    @property
    def config(self) -> _ConfigT:
        """Explicitly given settings (not environment ones), values as strings;
        secret values (keys, tokens, passwords) are masked.

        An ``S3Config``, ``GCSConfig`` or ``AzureConfig`` after the store's kind.
        """

    @property
    def credential_provider(self) -> _ProviderT | None:
        """The credential provider passed at construction, if any."""

    def __getnewargs_ex__(self) -> tuple[tuple[()], dict[str, Any]]:
        """Constructor arguments, for pickling."""

@disjoint_base
class S3Store(_CloudStore[S3Config, S3CredentialProvider]):
    """A store for Amazon S3 and S3-compatible servers (MinIO, R2, Ceph, ...).

    ``S3Store(bucket=None, *, prefix=None, config=None, client_options=None,
    retry_config=None, credential_provider=None, request_hook=None, **config_keys)``

    ``AWS_*`` environment variables are read first, then ``config`` and keyword
    arguments (``S3Config`` keys such as ``region``, ``endpoint``,
    ``access_key_id``) are applied. ``bucket`` may also come from
    ``AWS_BUCKET`` or the ``bucket`` key; ``prefix`` (default ``None``) is
    prepended to every path. Without credentials of any kind the store asks the
    instance metadata service when it first signs a request. An unknown key or
    a bad value raises ``GenericError`` naming it.

    Example:

        store = S3Store(
            "my-bucket",
            prefix="datasets",
            endpoint="http://127.0.0.1:9000",
            allow_http=True,
            region="us-east-1",
            access_key_id="minioadmin",
            secret_access_key="minioadmin",
        )
    """

    # `bucket` is also an S3Config key: positional-only here, so that a type
    # checker takes `bucket=` as that key and checks every other keyword (pyright
    # still reports the overlap, which PEP 692 allows for a positional-only one).
    def __new__(cls, bucket: str | None = None, /, **kwargs: Unpack[_S3Options]) -> Self:  # pyright: ignore[reportGeneralTypeIssues]
        """Create a store for ``bucket``, optionally below the key ``prefix``.

        Keywords: ``prefix``, ``config``, ``client_options``, ``retry_config``,
        ``credential_provider``, ``request_hook`` and the configuration keys.
        """

    @classmethod
    def from_url(cls, url: str, **kwargs: Unpack[_S3UrlOptions]) -> Self:
        """Create a store from a URL such as ``s3://bucket/prefix``.

        Also accepted: ``s3a://``, ``https://s3.<region>.amazonaws.com/<bucket>``,
        ``https://<bucket>.s3.<region>.amazonaws.com`` and
        ``https://<account>.r2.cloudflarestorage.com/<bucket>``. The URL path
        becomes the prefix; keys in ``config`` take precedence over the URL.
        """

@disjoint_base
class GCSStore(_CloudStore[GCSConfig, GCSCredentialProvider]):
    """A store for Google Cloud Storage.

    ``GCSStore(bucket=None, *, prefix=None, config=None, client_options=None,
    retry_config=None, credential_provider=None, request_hook=None, **config_keys)``

    ``GOOGLE_*`` environment variables are read first, then ``config`` and
    keyword arguments (``GCSConfig`` keys such as ``service_account_path``)
    are applied; ``prefix`` (default ``None``) is prepended to every path. An
    unknown key or a bad value raises ``GenericError`` naming it.

    Example:

        store = GCSStore("my-bucket", prefix="datasets", skip_signature=True)
    """

    def __new__(cls, bucket: str | None = None, /, **kwargs: Unpack[_GCSOptions]) -> Self:  # pyright: ignore[reportGeneralTypeIssues]
        """Create a store for ``bucket``, optionally below the key ``prefix``.

        Keywords: ``prefix``, ``config``, ``client_options``, ``retry_config``,
        ``credential_provider``, ``request_hook`` and the configuration keys.
        """

    @classmethod
    def from_url(cls, url: str, **kwargs: Unpack[_GCSUrlOptions]) -> Self:
        """Create a store from a ``gs://bucket/prefix`` URL."""

@disjoint_base
class AzureStore(_CloudStore[AzureConfig, AzureCredentialProvider]):
    """A store for Azure Blob Storage and ADLS Gen2 (and Microsoft Fabric).

    ``AzureStore(container_name=None, *, prefix=None, config=None,
    client_options=None, retry_config=None, credential_provider=None,
    request_hook=None, **config_keys)``

    ``AZURE_*`` environment variables are read first, then ``config`` and
    keyword arguments (``AzureConfig`` keys such as ``account_name``,
    ``account_key``, ``sas_token``) are applied; ``prefix`` (default ``None``)
    is prepended to every path. An unknown key or a bad value raises
    ``GenericError`` naming it.

    Example:

        store = AzureStore("container", account_name="devstoreaccount1", use_emulator=True)
    """

    def __new__(cls, container_name: str | None = None, /, **kwargs: Unpack[_AzureOptions]) -> Self:  # pyright: ignore[reportGeneralTypeIssues]
        """Create a store for ``container_name``, optionally below ``prefix``.

        Keywords: as for ``S3Store``, with ``AzureConfig`` keys.
        """

    @classmethod
    def from_url(cls, url: str, **kwargs: Unpack[_AzureUrlOptions]) -> Self:
        """Create a store from an Azure URL.

        Accepted: ``az://``, ``adl://``, ``azure://``, ``abfs[s]://<container>/…``,
        ``abfs[s]://<container>@<account>.dfs.core.windows.net/…`` and
        ``https://<account>.{blob,dfs}.core.windows.net/<container>/…``, plus the
        ``fabric.microsoft.com`` forms. The path after the container becomes the
        prefix.
        """

@disjoint_base
class HTTPStore(_ClientStore):
    """A store over plain HTTP(S), e.g. a WebDAV server or a static file host.

    The URL's path acts as the prefix. Listing, copying, renaming and deleting
    use WebDAV requests.

    ``HTTPStore(url, *, client_options=None, retry_config=None, request_hook=None)``:
    ``url`` is the base (its path acts as the prefix); ``request_hook`` is
    called with a ``RequestEvent`` for each HTTP request of this store (see
    ``obstore.add_request_hook``). A URL that is not http(s) raises
    ``GenericError`` naming it.

    Example:

        store = HTTPStore("https://example.com/data/")
    """

    def __new__(cls, url: str, **kwargs: Unpack[_ClientOptions]) -> Self:
        """Create a store rooted at ``url``; ``request_hook`` is called with a
        ``RequestEvent`` for each HTTP request of this store (see
        ``obstore.add_request_hook``)."""

    @classmethod
    def from_url(cls, url: str, **kwargs: Unpack[_ClientOptions]) -> Self:
        """Same as the constructor."""

    @property
    def url(self) -> str:
        """The normalized base URL; a password in it is masked."""

    def __getnewargs_ex__(self) -> tuple[tuple[str], dict[str, Any]]:
        """Constructor arguments, for pickling."""

@disjoint_base
class LocalStore(_Store):
    """A store over a directory of the local file system.

    ``LocalStore(prefix=None, *, automatic_cleanup=False, mkdir=False,
    allow_symlinks_outside=True)``: ``prefix`` is the root directory (``None``:
    the file system root); it must exist unless ``mkdir`` is true.
    ``automatic_cleanup`` removes directories left empty by a delete.

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

    def __new__(cls, prefix: str | Path | None = None, **kwargs: Unpack[_LocalOptions]) -> Self:
        """Create a store rooted at the directory ``prefix``.

        The directory must exist unless ``mkdir`` is true (default false). With
        ``automatic_cleanup`` (default false), directories left empty by a delete
        are removed. With ``allow_symlinks_outside=False`` (default true), paths
        whose symbolic links lead outside the directory are refused (see the
        class docstring).
        """

    @classmethod
    def from_url(cls, url: str, **kwargs: Unpack[_LocalOptions]) -> Self:
        """Create a store from a ``file:///absolute/path`` URL.

        Takes the constructor's keyword arguments. A path with an empty segment
        (``file:///tmp/x//y``) raises ``GenericError`` naming the URL.
        """

    @property
    def prefix(self) -> Path | None:
        """The root directory; ``None`` means the file system root."""

    def __getnewargs_ex__(self) -> tuple[tuple[Path | None], dict[str, Any]]:
        """Constructor arguments, for pickling."""

@disjoint_base
class MemoryStore(_Store):
    """A store kept in process memory; each instance is independent.

    ``MemoryStore()`` takes no arguments. Equal only to itself, and not
    picklable.

    Example:

        store = MemoryStore()
        obstore.put(store, "a.txt", b"hello")
        assert obstore.get(store, "a.txt").bytes() == b"hello"
    """

    def __new__(cls) -> Self:
        """Create an empty store."""

    def __eq__(self, other: object, /) -> bool:
        """Equal only to the very same instance."""

# The raw entry point takes any store's keywords; `obstore.store.from_url`, the
# public one, checks them per kind of store.
def from_url(
    url: str,
    *,
    config: CloudConfig | None = None,
    client_options: ClientConfig | None = None,
    retry_config: RetryConfig | None = None,
    credential_provider: CloudCredentialProvider | None = None,
    **kwargs: Any,
) -> ObjectStore:
    """Build the raw store class matching the URL's scheme.

    Same dispatch and keyword arguments as ``obstore.store.from_url`` (see
    there), but returns the classes of this module, which have no methods of
    their own.
    """

def _from_url_as(
    classes: tuple[type, type, type, type, type, type],
    url: str,
    # config, client_options, retry_config, credential_provider, kwargs (a dict or None)
    *settings: Any,
) -> ObjectStore: ...
