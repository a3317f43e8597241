"""Amazon S3 (and S3-compatible) configuration and credential types."""

# No `from __future__ import annotations` in these modules: on Python 3.11 a
# TypedDict would then not see `NotRequired` and mark every key required.
from collections.abc import Coroutine
from datetime import datetime
from typing import Any, Literal, NotRequired, Protocol, TypeAlias, TypedDict

# The aliases below are spelled as unions of one-value Literals: the same type
# to a checker, but at runtime a real Union, which mypy's stubtest expects.
S3Regions: TypeAlias = (
    Literal["af-south-1"]
    | Literal["ap-east-1"]
    | Literal["ap-northeast-1"]
    | Literal["ap-northeast-2"]
    | Literal["ap-northeast-3"]
    | Literal["ap-south-1"]
    | Literal["ap-south-2"]
    | Literal["ap-southeast-1"]
    | Literal["ap-southeast-2"]
    | Literal["ap-southeast-3"]
    | Literal["ap-southeast-4"]
    | Literal["ap-southeast-5"]
    | Literal["ap-southeast-7"]
    | Literal["ca-central-1"]
    | Literal["ca-west-1"]
    | Literal["eu-central-1"]
    | Literal["eu-central-2"]
    | Literal["eu-north-1"]
    | Literal["eu-south-1"]
    | Literal["eu-south-2"]
    | Literal["eu-west-1"]
    | Literal["eu-west-2"]
    | Literal["eu-west-3"]
    | Literal["il-central-1"]
    | Literal["me-central-1"]
    | Literal["me-south-1"]
    | Literal["mx-central-1"]
    | Literal["sa-east-1"]
    | Literal["us-east-1"]
    | Literal["us-east-2"]
    | Literal["us-gov-east-1"]
    | Literal["us-gov-west-1"]
    | Literal["us-west-1"]
    | Literal["us-west-2"]
)
"""Known AWS region names (any other string is accepted too)."""

S3ChecksumAlgorithm: TypeAlias = (
    Literal["SHA256"]
    | Literal["sha256"]
    | Literal["CRC64NVME"]
    | Literal["crc64nvme"]
    | Literal["CRC32C"]
    | Literal["crc32c"]
)
"""Checksum algorithms that can be sent with uploads."""

S3EncryptionAlgorithm: TypeAlias = (
    Literal["AES256"] | Literal["aws:kms"] | Literal["aws:kms:dsse"] | Literal["sse-c"]
)
"""Server-side encryption modes."""


class S3Config(TypedDict, total=False):
    """Settings of an ``S3Store``.

    Keys are case-insensitive and may also be given with an ``aws_`` prefix.
    Matching ``AWS_*`` environment variables are read first; explicit values
    win. Booleans are stored as ``"true"``/``"false"``.

    Every value, explicit or from the environment, is checked when the store is
    created, and a bad one raises ``ValueError`` naming the key (or variable),
    never showing a secret: ``bucket`` and ``region`` may hold only letters,
    digits, ``.``, ``-``, ``_`` (and ``$``); endpoints must be http(s) URLs with a
    host; keys, tokens and other settings must be printable ASCII.

    A store without credentials asks the EC2 instance metadata service for them,
    unless ``AWS_EC2_METADATA_DISABLED`` or ``OBSTORE_METADATA_DISABLED`` is
    ``true``: requests then fail with an ``UnauthenticatedError`` saying so
    (``skip_signature`` still sends anonymous requests).
    """

    access_key_id: str
    """Access key id (env ``AWS_ACCESS_KEY_ID``)."""
    aws_endpoint_url_s3: str
    """S3-specific endpoint overriding ``endpoint`` (env ``AWS_ENDPOINT_URL_S3``)."""
    bucket: str
    """Bucket name; required (env ``AWS_BUCKET``, ``AWS_BUCKET_NAME``)."""
    checksum_algorithm: S3ChecksumAlgorithm | Literal["none"] | str
    """Checksum sent (and signed) with uploads, per part and for the whole of a multipart upload
    (env ``AWS_CHECKSUM_ALGORITHM``): ``"crc64nvme"``, ``"sha256"`` or ``"crc32c"``;
    ``"crc64nvme"`` by default on AWS's own endpoint, none on a custom ``endpoint`` unless set;
    ``"none"`` sends none."""
    verify_checksum: bool
    """Check a download read whole against the checksum the server announces (asked for with
    ``x-amz-checksum-mode: ENABLED``), raising ``ChecksumMismatchError`` on a mismatch; ``True``
    by default (obstore's own setting)."""
    conditional_put: str
    """How conditional puts are done, ``"etag"`` by default
    (env ``AWS_CONDITIONAL_PUT``)."""
    container_credentials_relative_uri: str
    """ECS task credentials path (env ``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI``)."""
    container_credentials_full_uri: str
    """EKS Pod Identity credentials URL
    (env ``AWS_CONTAINER_CREDENTIALS_FULL_URI``)."""
    container_authorization_token_file: str
    """EKS Pod Identity token file
    (env ``AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE``)."""
    copy_if_not_exists: Literal["multipart"] | str
    """How ``copy(..., overwrite=False)`` is made atomic: ``"multipart"``,
    ``"header:<NAME>:<VALUE>"`` or ``"header-with-status:<NAME>:<VALUE>:<STATUS>"``
    (env ``AWS_COPY_IF_NOT_EXISTS``)."""
    default_region: S3Regions | str
    """Fallback region (env ``AWS_DEFAULT_REGION``)."""
    disable_tagging: bool
    """Do not send object tags (env ``AWS_DISABLE_TAGGING``)."""
    disable_bulk_delete: bool
    """Delete objects one request at a time instead of ``DeleteObjects``
    (env ``AWS_DISABLE_BULK_DELETE``)."""
    endpoint: str
    """Custom endpoint URL, e.g. for S3-compatible servers
    (env ``AWS_ENDPOINT``, ``AWS_ENDPOINT_URL``). Plain http needs ``allow_http``."""
    endpoint_url_sts: str
    """STS endpoint for web identity and role assumption, default
    ``https://sts.{region}.amazonaws.com`` (env ``AWS_ENDPOINT_URL_STS``)."""
    imdsv1_fallback: bool
    """Fall back to IMDSv1 for instance credentials (env ``AWS_IMDSV1_FALLBACK``)."""
    metadata_endpoint: str
    """Instance metadata endpoint, default ``http://169.254.169.254``
    (env ``AWS_METADATA_ENDPOINT``)."""
    region: S3Regions | str
    """Region of the bucket, default ``us-east-1`` (env ``AWS_REGION``)."""
    request_payer: bool | Literal["requester", "REQUESTER"]
    """Accept requester-pays charges (env ``AWS_REQUEST_PAYER``)."""
    role_arn: str
    """Role assumed with web identity (env ``AWS_ROLE_ARN``)."""
    role_session_name: str
    """Session name for web identity (env ``AWS_ROLE_SESSION_NAME``)."""
    s3_express: bool
    """Bucket is an S3 Express One Zone bucket (env ``AWS_S3_EXPRESS``)."""
    secret_access_key: str
    """Secret access key (env ``AWS_SECRET_ACCESS_KEY``)."""
    server_side_encryption: S3EncryptionAlgorithm | str
    """Server-side encryption mode (env ``AWS_SERVER_SIDE_ENCRYPTION``)."""
    session_token: str
    """Session token of temporary credentials
    (env ``AWS_SESSION_TOKEN``, ``AWS_TOKEN``)."""
    skip_signature: bool
    """Send unsigned requests, for public buckets (env ``AWS_SKIP_SIGNATURE``)."""
    sse_bucket_key_enabled: bool
    """Use an S3 bucket key with KMS encryption (env ``AWS_SSE_BUCKET_KEY_ENABLED``)."""
    sse_customer_key_base64: str
    """Customer key for ``server_side_encryption="sse-c"``: the base64 of a 32-byte AES-256 key,
    else ``ValueError`` (env ``AWS_SSE_CUSTOMER_KEY_BASE64``)."""
    sse_kms_key_id: str
    """KMS key for ``aws:kms``/``aws:kms:dsse`` (env ``AWS_SSE_KMS_KEY_ID``)."""
    unsigned_payload: bool
    """Send ``UNSIGNED-PAYLOAD`` instead of signing the SHA-256 of each request body
    (env ``AWS_UNSIGNED_PAYLOAD``). When not set: true if requests go over https (no
    ``endpoint``, or an ``https://`` one), where TLS protects the body, as boto3 does; false
    over a plain ``http://`` endpoint, where the signed hash is what protects it. Hashing
    costs about 0.5 s of CPU per GiB uploaded."""
    virtual_hosted_style_request: bool
    """Address the bucket as a subdomain instead of a path
    (env ``AWS_VIRTUAL_HOSTED_STYLE_REQUEST``)."""
    web_identity_token_file: str
    """Token file for web identity (env ``AWS_WEB_IDENTITY_TOKEN_FILE``)."""


class S3Credential(TypedDict):
    """Credentials returned by an ``S3CredentialProvider``."""

    access_key_id: str
    """Access key id."""
    secret_access_key: str
    """Secret access key."""
    token: NotRequired[str | None]
    """Session token, for temporary credentials."""
    expires_at: datetime | None
    """When the credentials expire (timezone-aware); ``None`` means never."""


class S3CredentialProvider(Protocol):
    """A callable returning fresh S3 credentials, sync or async.

    Called with no arguments whenever the cached credential is missing or about
    to expire. Optional attributes are honoured: ``refresh_threshold: timedelta``
    (how early to refresh, default 5 minutes) and ``config: S3Config`` (store
    settings used where the store sets none).
    """

    def __call__(self) -> S3Credential | Coroutine[Any, Any, S3Credential]:
        """Return credentials, or an awaitable resolving to them."""
        ...
