"""Dict shapes and type aliases of the functional API, real at runtime.

The compiled core returns and accepts plain dicts and strings; these names only
describe them. They live in Python (not just in the stubs) so they can be
imported at runtime, e.g. ``from obstore import ObjectMeta``.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Generic, Literal, NotRequired, TypeAlias, TypedDict, TypeVar

from ._store import AzureStore, GCSStore, HTTPStore, LocalStore, MemoryStore, S3Store

ObjectStore: TypeAlias = AzureStore | GCSStore | HTTPStore | S3Store | LocalStore | MemoryStore
"""Any store the functions of ``obstore`` accept.

These are the raw classes of the compiled core, so instances of their
``obstore.store`` subclasses are accepted too.
"""

SignCapableStore: TypeAlias = AzureStore | GCSStore | S3Store
"""Stores that can create presigned URLs with ``obstore.sign``."""

# Spelled as a union of one-value Literals: the same type to a checker, but at
# runtime a real Union, which is what mypy's stubtest expects of such an alias.
HTTP_METHOD: TypeAlias = (
    Literal["GET"]
    | Literal["PUT"]
    | Literal["POST"]
    | Literal["HEAD"]
    | Literal["PATCH"]
    | Literal["TRACE"]
    | Literal["DELETE"]
    | Literal["OPTIONS"]
    | Literal["CONNECT"]
)
"""HTTP methods a presigned URL can be made for (upper case only)."""

Attribute: TypeAlias = (
    Literal[
        "Content-Disposition",
        "Content-Encoding",
        "Content-Language",
        "Content-Type",
        "Cache-Control",
        "Storage-Class",
    ]
    | str
)
"""An object attribute: one of the standard HTTP-like names, or any other
string for user metadata. Standard names match case-insensitively, with or
without the hyphen."""

Attributes: TypeAlias = dict[Attribute, str]
"""Object attributes and user metadata, all values strings."""

ListChunkType = TypeVar("ListChunkType", covariant=True)
"""Type of one chunk of a listing: ``list[ObjectMeta]`` or an Arrow
``RecordBatch``/``Table``."""


class ObjectMeta(TypedDict):
    """Metadata of one object."""

    path: str
    """Full path of the object, relative to the store prefix in listings."""
    last_modified: datetime
    """Last modification time (timezone-aware, UTC)."""
    size: int
    """Size in bytes."""
    e_tag: str | None
    """Entity tag, if the store provides one."""
    version: str | None
    """Object version, if the store keeps versions."""
    checksums: NotRequired[dict[str, str]]
    """The checksums the server announced for the whole object, ``{algorithm: base64 digest}``
    with algorithms among ``"crc32c"``, ``"crc64nvme"``, ``"md5"``, ``"sha256"`` (empty when it
    announced none; S3 multipart objects' composite checksums are left out). Given by ``head``
    and ``GetResult.meta``, and by an ``AzureStore``'s listings (dicts, not Arrow), whose answer
    names each blob's stored MD5; S3 and GCS listings name no checksum, so theirs have no
    ``checksums`` key."""


class PutResult(TypedDict):
    """What a finished upload reports."""

    e_tag: str | None
    """Entity tag of the new object."""
    version: str | None
    """Version of the new object, if the store keeps versions."""


class UpdateVersion(TypedDict, total=False):
    """A ``PutMode`` that replaces an object only if it is still this version.

    A mismatch raises ``PreconditionError``. Omit a key rather than passing
    ``None``.
    """

    e_tag: str | None
    """Expected entity tag of the current object."""
    version: str | None
    """Expected version of the current object."""


ChecksumAlgorithm: TypeAlias = (
    Literal["crc32c"] | Literal["crc64nvme"] | Literal["sha256"] | Literal["md5"]
)
"""A checksum algorithm an upload can carry (``checksum=`` of ``put`` and
``open_writer``): S3 takes ``"crc32c"``, ``"crc64nvme"`` and ``"sha256"``, GCS ``"crc32c"``
and ``"md5"``, Azure ``"md5"``."""

PutMode: TypeAlias = Literal["create", "overwrite"] | UpdateVersion
"""How ``put`` treats an existing object: ``"overwrite"`` (default),
``"create"`` (fail with ``AlreadyExistsError`` if it exists) or an
``UpdateVersion`` (compare-and-swap)."""


class ListResult(TypedDict, Generic[ListChunkType]):
    """Result of a one-level listing (``list_with_delimiter``)."""

    common_prefixes: Sequence[str]
    """Full paths of the "directories" directly below the prefix."""
    objects: ListChunkType
    """Objects directly below the prefix: ``list[ObjectMeta]`` or an Arrow
    ``Table``."""


class OffsetRange(TypedDict):
    """A byte range from ``offset`` to the end of the object."""

    offset: int
    """First byte to return."""


class SuffixRange(TypedDict):
    """A byte range covering the last ``suffix`` bytes of the object."""

    suffix: int
    """Number of bytes to return from the end."""


class GetOptions(TypedDict, total=False):
    """Conditions and range of a ``get`` request.

    Omit a key rather than passing ``None``.
    """

    if_match: str | None
    """Only succeed if the ETag matches, else ``PreconditionError``."""
    if_none_match: str | None
    """Only succeed if the ETag differs, else ``NotModifiedError``."""
    if_unmodified_since: datetime | None
    """Fail with ``PreconditionError`` if modified after this time."""
    if_modified_since: datetime | None
    """Fail with ``NotModifiedError`` if not modified after this time."""
    range: tuple[int, int] | Sequence[int] | OffsetRange | SuffixRange
    """Bytes to fetch: ``(start, end)`` with ``end`` exclusive, an
    ``OffsetRange`` or a ``SuffixRange``."""
    version: str | None
    """Fetch this version of the object."""
    head: bool
    """Ask for metadata only; some stores still send the body."""
