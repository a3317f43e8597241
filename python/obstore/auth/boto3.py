"""Credential providers for ``S3Store`` backed by boto3 / botocore sessions.

``Boto3CredentialProvider`` reuses whatever credentials a boto3 session resolves (profiles,
SSO, instance metadata, assumed roles, ...); ``StsCredentialProvider`` assumes an IAM role
with STS on every refresh. Requires ``pip install obstore[boto3]``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict, Unpack

try:
    import boto3  # type: ignore[import-untyped,unused-ignore]
    import boto3.session  # type: ignore[import-untyped,unused-ignore]
    import botocore.credentials  # type: ignore[import-untyped,unused-ignore]
    import botocore.session  # type: ignore[import-untyped,unused-ignore]
except ImportError as _err:
    raise ImportError(
        "obstore.auth.boto3 requires boto3; install it with: pip install obstore[boto3]"
    ) from _err

if TYPE_CHECKING:
    from obstore.store import S3Config, S3Credential

__all__ = [
    "AssumeRoleRequestRequestTypeDef",
    "Boto3CredentialProvider",
    "PolicyDescriptorTypeTypeDef",
    "ProvidedContextTypeDef",
    "StsCredentialProvider",
    "TagTypeDef",
]


class PolicyDescriptorTypeTypeDef(TypedDict):
    """A managed policy ARN for ``PolicyArns``."""

    arn: NotRequired[str]


class TagTypeDef(TypedDict):
    """A session tag."""

    Key: str
    Value: str


class ProvidedContextTypeDef(TypedDict):
    """A trusted context assertion."""

    ProviderArn: NotRequired[str]
    ContextAssertion: NotRequired[str]


class AssumeRoleRequestRequestTypeDef(TypedDict):
    """Keyword arguments of STS ``AssumeRole``."""

    RoleArn: str
    RoleSessionName: str
    PolicyArns: NotRequired[Sequence[PolicyDescriptorTypeTypeDef]]
    Policy: NotRequired[str]
    DurationSeconds: NotRequired[int]
    Tags: NotRequired[Sequence[TagTypeDef]]
    TransitiveTagKeys: NotRequired[Sequence[str]]
    ExternalId: NotRequired[str]
    SerialNumber: NotRequired[str]
    TokenCode: NotRequired[str]
    SourceIdentity: NotRequired[str]
    ProvidedContexts: NotRequired[Sequence[ProvidedContextTypeDef]]


def _region_config(session: Any) -> S3Config:
    region = getattr(session, "region_name", None)
    return {"region": region} if isinstance(region, str) and region else {}


class Boto3CredentialProvider:
    """Credentials of a boto3 (or botocore) session, for ``S3Store(credential_provider=...)``.

    The session's credentials are resolved once, here; each call returns their current frozen
    values (botocore refreshes temporary credentials itself) stamped to expire after ``ttl``,
    which is when the store asks again. ``config`` carries the session's region.
    """

    credentials: botocore.credentials.Credentials
    config: S3Config
    ttl: timedelta

    def __init__(
        self,
        session: boto3.session.Session | botocore.session.Session | None = None,
        *,
        ttl: timedelta = timedelta(minutes=30),
    ) -> None:
        """Use ``session`` (default: a new ``boto3.Session()``)."""
        if session is None:
            session = boto3.session.Session()
        credentials = session.get_credentials()
        if credentials is None:
            raise ValueError("The boto3 session has no credentials")
        self.credentials = credentials
        self.config = _region_config(session) if isinstance(session, boto3.session.Session) else {}
        self.ttl = ttl

    def __call__(self) -> S3Credential:
        """The current credentials."""
        frozen = self.credentials.get_frozen_credentials()
        return {
            "access_key_id": frozen.access_key,
            "secret_access_key": frozen.secret_key,
            "token": frozen.token,
            "expires_at": datetime.now(UTC) + self.ttl,
        }

    def __getstate__(self) -> Any:
        raise TypeError("Boto3CredentialProvider cannot be pickled (it holds live credentials)")


class StsCredentialProvider:
    """Assume an IAM role with STS ``AssumeRole`` each time the store needs credentials.

    ``kwargs`` are the ``AssumeRole`` arguments (``RoleArn``, ``RoleSessionName``,
    ``DurationSeconds``, ...); the returned credentials expire when STS says they do.
    """

    config: S3Config
    session: boto3.session.Session
    kwargs: AssumeRoleRequestRequestTypeDef

    def __init__(
        self,
        session: boto3.session.Session | None = None,
        **kwargs: Unpack[AssumeRoleRequestRequestTypeDef],
    ) -> None:
        """Use ``session`` (default: a new ``boto3.Session()``) to call STS."""
        if session is None:
            session = boto3.session.Session()
        self.session = session
        self.kwargs = kwargs
        self.config = _region_config(session)
        self._client: Any = None
        self._lock = threading.Lock()

    def _sts(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self.session.client("sts")
            return self._client

    def __call__(self) -> S3Credential:
        """Fresh role credentials from STS."""
        response = self._sts().assume_role(**self.kwargs)
        creds = response["Credentials"]
        expiration = creds["Expiration"]
        if not isinstance(expiration, datetime) or expiration.tzinfo is None:
            raise ValueError(f"STS returned an expiration without a timezone: {expiration!r}")
        return {
            "access_key_id": creds["AccessKeyId"],
            "secret_access_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expires_at": expiration,
        }
