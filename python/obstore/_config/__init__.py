"""Configuration and credential types for the cloud stores, real at runtime.

These classes only describe the shape of plain dicts and callables, so they cost
nothing at runtime; defining them here (instead of only in stubs) is what lets
``from obstore.store import *`` and ``from obstore.store import S3Config`` work.
The names are re-exported by ``X as X`` imports; ``obstore.store.__all__`` is the
one list of the public ones.
"""

from typing import TypeAlias

from .aws import S3ChecksumAlgorithm as S3ChecksumAlgorithm
from .aws import S3Config as S3Config
from .aws import S3Credential as S3Credential
from .aws import S3CredentialProvider as S3CredentialProvider
from .aws import S3EncryptionAlgorithm as S3EncryptionAlgorithm
from .aws import S3Regions as S3Regions
from .azure import AzureAccessKey as AzureAccessKey
from .azure import AzureBearerToken as AzureBearerToken
from .azure import AzureConfig as AzureConfig
from .azure import AzureCredential as AzureCredential
from .azure import AzureCredentialProvider as AzureCredentialProvider
from .azure import AzureSASToken as AzureSASToken
from .client import ClientConfig as ClientConfig
from .gcs import GCSConfig as GCSConfig
from .gcs import GCSCredential as GCSCredential
from .gcs import GCSCredentialProvider as GCSCredentialProvider
from .retry import BackoffConfig as BackoffConfig
from .retry import RetryConfig as RetryConfig

# Parameters that take the settings or the credential provider of whichever cloud
# store a URL names (``from_url``, ``FsspecStore``) use these unions.
CloudConfig: TypeAlias = S3Config | GCSConfig | AzureConfig
CloudCredentialProvider: TypeAlias = (
    S3CredentialProvider | GCSCredentialProvider | AzureCredentialProvider
)
