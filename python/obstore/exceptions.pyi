"""Stubs for ``obstore.exceptions``: errors raised by the stores.

A missing object raises the builtin ``FileNotFoundError``, and an operation a
backend cannot do raises the builtin ``NotImplementedError``; everything else
from a store derives from ``BaseError``.
"""

import sys

if sys.version_info >= (3, 13):
    from warnings import deprecated
else:
    from typing_extensions import deprecated

__all__ = [
    "AlreadyExistsError",
    "BaseError",
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

class GenericError(BaseError):
    """A store error with no more specific class."""

@deprecated("builtins.FileNotFoundError is emitted instead.")
class NotFoundError(BaseError):
    """Never raised: a missing object raises ``FileNotFoundError``."""

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
