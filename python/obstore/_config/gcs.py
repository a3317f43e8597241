"""Google Cloud Storage configuration and credential types."""

from collections.abc import Coroutine
from datetime import datetime
from typing import Any, Literal, Protocol, TypedDict


class GCSConfig(TypedDict, total=False):
    """Settings of a ``GCSStore``.

    Keys are case-insensitive and may also be given with a ``google_`` prefix.
    Matching ``GOOGLE_*`` environment variables are read first; explicit values
    win.

    Every value, explicit or from the environment, is checked when the store is
    created, and a bad one raises ``ValueError`` naming the key (or variable),
    never showing a secret: ``bucket`` may hold only letters, digits, ``.``,
    ``-``, ``_``; ``base_url`` must be an http(s) URL with a host; tokens must be
    printable ASCII (``service_account_key`` and file paths may be any text).

    A store without a service account or application default credentials asks
    the GCE metadata service for them, unless ``OBSTORE_METADATA_DISABLED`` is
    ``true``: requests (and ``sign``) then fail with an ``UnauthenticatedError``
    saying so (``skip_signature`` still sends anonymous requests).
    """

    service_account: str
    """Path to a service account JSON file (env ``GOOGLE_SERVICE_ACCOUNT``,
    ``GOOGLE_SERVICE_ACCOUNT_PATH``). Excludes ``service_account_key``."""
    service_account_key: str
    """Service account key as serialized JSON (env ``GOOGLE_SERVICE_ACCOUNT_KEY``)."""
    base_url: str
    """Base URL of the storage API (env ``GOOGLE_BASE_URL``), e.g. for an emulator."""
    bearer_token: str
    """Static bearer token, never refreshed (env ``GOOGLE_BEARER_TOKEN``)."""
    bucket: str
    """Bucket name; required (env ``GOOGLE_BUCKET``, ``GOOGLE_BUCKET_NAME``)."""
    application_credentials: str
    """Path to application default credentials
    (env ``GOOGLE_APPLICATION_CREDENTIALS``)."""
    skip_signature: bool
    """Send unsigned requests, for public buckets (env ``GOOGLE_SKIP_SIGNATURE``)."""
    checksum_algorithm: Literal["crc32c", "md5", "none"] | str
    """Checksum sent with uploads as ``x-goog-hash``: ``"crc32c"`` by default (obstore's own
    setting); ``"none"`` sends none."""
    verify_checksum: bool
    """Check a download read whole against the checksum the server announces, raising
    ``ChecksumMismatchError`` on a mismatch; ``True`` by default (obstore's own setting)."""


class GCSCredential(TypedDict):
    """A bearer token returned by a ``GCSCredentialProvider``."""

    token: str
    """OAuth bearer token."""
    expires_at: datetime | None
    """When the token expires (timezone-aware); ``None`` means never."""


class GCSCredentialProvider(Protocol):
    """A callable returning fresh GCS credentials, sync or async.

    Called with no arguments whenever the cached credential is missing or about
    to expire. An optional ``refresh_threshold: timedelta`` attribute sets how
    early the refresh happens (default 4 minutes).
    """

    def __call__(self) -> GCSCredential | Coroutine[Any, Any, GCSCredential]:
        """Return a credential, or an awaitable resolving to one."""
        ...
