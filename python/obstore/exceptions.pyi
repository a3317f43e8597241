"""Stubs for ``obstore.exceptions``: errors raised by the stores.

A missing object raises the builtin ``FileNotFoundError``, and an operation a
backend cannot do raises the builtin ``NotImplementedError``; everything else
from a store derives from ``BaseError``. A bucket or container that does not
exist raises ``NotFoundError``, which is both.

The message of an error raised by an operation is one line: the operation, the
URL of the path in the store (never a secret), and the cause, e.g.
``get s3://bucket/prefix/key: not found (HTTP 404 NoSuchKey: The specified key
does not exist.)``. The error also carries that as data (``operation``,
``url``, ``status``, ``code``) and the whole cause chain in ``details``; the
builtin ``FileNotFoundError`` and ``NotImplementedError`` raised by an
operation carry the same attributes.
"""

__all__ = [
    "AlreadyExistsError",
    "BaseError",
    "ChecksumMismatchError",
    "GenericError",
    "InvalidPathError",
    "JoinError",
    "NotFoundError",
    "NotModifiedError",
    "NotSupportedError",
    "PermissionDeniedError",
    "PreconditionError",
    "UnauthenticatedError",
    "UnknownConfigurationKeyError",
]

class BaseError(Exception):
    """Base class of every obstore error."""

    operation: str | None
    """The operation that failed (``get``, ``put``, ``list``, ...), if any."""
    url: str | None
    """The URL of the path the operation worked on (its source, for ``copy``
    and ``rename``); passwords in it are masked."""
    status: int | None
    """The HTTP status of the failed request, if the server answered."""
    code: str | None
    """The service's error code (``NoSuchKey``, ``AuthorizationFailure``,
    ...), if it gave one."""
    details: str | None
    """The whole cause chain, one cause a line, secrets masked."""

class GenericError(BaseError):
    """A store error with no more specific class."""

class NotFoundError(BaseError, FileNotFoundError):
    """The bucket or container does not exist.

    A missing object raises the builtin ``FileNotFoundError``; this is a
    subclass of it, so ``except FileNotFoundError`` catches both.
    """

class InvalidPathError(BaseError):
    """The backend rejected a path."""

class JoinError(BaseError):
    """A background task failed to finish."""

class NotSupportedError(BaseError):
    """The backend does not support the requested operation or option."""

class AlreadyExistsError(BaseError):
    """The destination already exists (``mode="create"``, ``overwrite=False``)."""

class PreconditionError(BaseError):
    """A condition (``if_match``, ``if_unmodified_since``, ``UpdateVersion``)
    was not met."""

class NotModifiedError(BaseError):
    """The object is unchanged (``if_none_match``, ``if_modified_since``)."""

class PermissionDeniedError(BaseError):
    """The credentials are valid but lack permission."""

class UnauthenticatedError(BaseError):
    """Credentials are missing or invalid, or the credential provider failed."""

class UnknownConfigurationKeyError(BaseError):
    """A configuration key is not valid for the store."""

class ChecksumMismatchError(BaseError):
    """The bytes do not match their checksum.

    Raised by a download read whole (``bytes()``, a stream read to its end,
    ``get_parallel``) whose bytes differ from the checksum the server announced
    (turn off with ``verify_checksum=False``), and by an upload the server
    refused because its bytes differ from the checksum sent with them
    (``BadDigest``, ``XAmzContentSHA256Mismatch``, ``Md5Mismatch``, ...).
    """
