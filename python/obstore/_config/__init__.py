"""Configuration and credential types for the cloud stores, real at runtime.

These classes only describe the shape of plain dicts and callables, so they cost
nothing at runtime; defining them here (instead of only in stubs) is what lets
``from obstore.store import *`` and ``from obstore.store import S3Config`` work.
"""

from typing import TypeAlias

from .aws import (
    S3ChecksumAlgorithm,
    S3Config,
    S3Credential,
    S3CredentialProvider,
    S3EncryptionAlgorithm,
    S3Regions,
)
from .azure import (
    AzureAccessKey,
    AzureBearerToken,
    AzureConfig,
    AzureCredential,
    AzureCredentialProvider,
    AzureSASToken,
)
from .client import ClientConfig
from .gcs import GCSConfig, GCSCredential, GCSCredentialProvider
from .retry import BackoffConfig, RetryConfig

# Parameters that take the settings or the credential provider of whichever cloud
# store a URL names (``from_url``, ``FsspecStore``) use these unions.
CloudConfig: TypeAlias = S3Config | GCSConfig | AzureConfig
CloudCredentialProvider: TypeAlias = (
    S3CredentialProvider | GCSCredentialProvider | AzureCredentialProvider
)

__all__ = [
    "AzureAccessKey",
    "AzureBearerToken",
    "AzureConfig",
    "AzureCredential",
    "AzureCredentialProvider",
    "AzureSASToken",
    "BackoffConfig",
    "ClientConfig",
    "GCSConfig",
    "GCSCredential",
    "GCSCredentialProvider",
    "RetryConfig",
    "S3ChecksumAlgorithm",
    "S3Config",
    "S3Credential",
    "S3CredentialProvider",
    "S3EncryptionAlgorithm",
    "S3Regions",
]
