"""Azure Blob Storage / ADLS Gen2 configuration and credential types."""

from collections.abc import Coroutine
from datetime import datetime
from typing import Any, Literal, Protocol, TypeAlias, TypedDict


class AzureConfig(TypedDict, total=False):
    """Settings of an ``AzureStore``.

    Keys are case-insensitive and may also be given with an ``azure_`` or
    ``azure_storage_`` prefix. Matching ``AZURE_*`` environment variables are
    read first; explicit values win.

    Every value, explicit or from the environment, is checked when the store is
    created, and a bad one raises ``ValueError`` naming the key (or variable),
    never showing a secret: ``account_name``, ``container_name`` and
    ``tenant_id`` may hold only letters, digits, ``.``, ``-``, ``_`` and ``$``;
    endpoints must be http(s) URLs with a host; keys, tokens and other settings
    must be printable ASCII.

    A store without credentials falls back to managed identity (the instance
    metadata service), unless ``OBSTORE_METADATA_DISABLED`` is ``true``:
    requests then fail with an ``UnauthenticatedError`` saying so
    (``skip_signature`` still sends anonymous requests).
    """

    account_name: str
    """Storage account name; required (env ``AZURE_STORAGE_ACCOUNT_NAME``)."""
    account_key: str
    """Shared account key (env ``AZURE_STORAGE_ACCOUNT_KEY``,
    ``AZURE_STORAGE_ACCESS_KEY``, ``AZURE_STORAGE_MASTER_KEY``)."""
    client_id: str
    """Service principal or managed identity client id
    (env ``AZURE_STORAGE_CLIENT_ID``, ``AZURE_CLIENT_ID``)."""
    client_secret: str
    """Service principal secret (env ``AZURE_STORAGE_CLIENT_SECRET``,
    ``AZURE_CLIENT_SECRET``)."""
    credential_type: str
    """Force one way of authenticating: ``auto`` (default), ``bearer_token``,
    ``access_key``, ``client_secret``, ``workload_identity``, ``sas_token``,
    ``azure_cli`` or ``managed_identity`` (env ``AZURE_CREDENTIAL_TYPE``)."""
    tenant_id: str
    """Tenant for OAuth (env ``AZURE_STORAGE_TENANT_ID``,
    ``AZURE_STORAGE_AUTHORITY_ID``, ``AZURE_TENANT_ID``, ``AZURE_AUTHORITY_ID``)."""
    authority_host: str
    """OAuth authority, default ``https://login.microsoftonline.com``
    (env ``AZURE_STORAGE_AUTHORITY_HOST``, ``AZURE_AUTHORITY_HOST``)."""
    sas_key: str
    """Shared access signature as a percent-encoded query string
    (env ``AZURE_STORAGE_SAS_KEY``, ``AZURE_STORAGE_SAS_TOKEN``). ``from_url``
    takes it from the URL's query string (which must then have a ``sig``)."""
    token: str
    """Static bearer token (env ``AZURE_STORAGE_TOKEN``)."""
    use_emulator: bool
    """Talk to a local Azurite emulator (env ``AZURE_STORAGE_USE_EMULATOR``)."""
    use_fabric_endpoint: bool
    """Use the Microsoft Fabric endpoints instead of ``core.windows.net``."""
    encryption_key: str
    """Customer-provided key: the base64 of a 32-byte AES-256 key, else ``ValueError`` (env
    ``AZURE_STORAGE_ENCRYPTION_KEY``)."""
    endpoint: str
    """Custom endpoint URL (env ``AZURE_STORAGE_ENDPOINT``, ``AZURE_ENDPOINT``)."""
    msi_endpoint: str
    """Managed identity endpoint (env ``AZURE_MSI_ENDPOINT``,
    ``AZURE_IDENTITY_ENDPOINT``)."""
    object_id: str
    """Managed identity object id (env ``AZURE_OBJECT_ID``)."""
    msi_resource_id: str
    """Managed identity resource id (env ``AZURE_MSI_RESOURCE_ID``)."""
    federated_token_file: str
    """Workload identity token file (env ``AZURE_FEDERATED_TOKEN_FILE``)."""
    use_azure_cli: bool
    """Get tokens from the Azure CLI (env ``AZURE_USE_AZURE_CLI``)."""
    skip_signature: bool
    """Send unsigned requests, for public containers (env ``AZURE_SKIP_SIGNATURE``)."""
    checksum_algorithm: Literal["md5", "none"] | str
    """Checksum sent with uploads as ``Content-MD5`` (obstore's own setting): ``"md5"`` by default
    on Azure's own endpoint, none on a custom ``endpoint`` or the emulator. Sent only on requests
    without a SharedKey signature (bearer token, SAS): SharedKey signs ``Content-MD5``, and
    ``object_store`` signs before the header could be added."""
    verify_checksum: bool
    """Check a download read whole against the checksum the server announces, raising
    ``ChecksumMismatchError`` on a mismatch; ``True`` by default (obstore's own setting)."""
    container_name: str
    """Container name; required (env ``AZURE_CONTAINER_NAME``)."""
    disable_tagging: bool
    """Do not send blob tags (env ``AZURE_DISABLE_TAGGING``)."""
    fabric_token_service_url: str
    """Fabric token service URL (env ``AZURE_FABRIC_TOKEN_SERVICE_URL``)."""
    fabric_workload_host: str
    """Fabric workload host (env ``AZURE_FABRIC_WORKLOAD_HOST``)."""
    fabric_session_token: str
    """Fabric session token (env ``AZURE_FABRIC_SESSION_TOKEN``)."""
    fabric_cluster_identifier: str
    """Fabric cluster identifier (env ``AZURE_FABRIC_CLUSTER_IDENTIFIER``)."""


class AzureAccessKey(TypedDict):
    """An account key credential."""

    access_key: str
    """Shared account key."""
    expires_at: datetime | None
    """When the key stops being valid (timezone-aware); ``None`` means never."""


class AzureSASToken(TypedDict):
    """A shared access signature credential."""

    sas_token: str | list[tuple[str, str]]
    """Percent-encoded query string, or its already decoded key/value pairs."""
    expires_at: datetime | None
    """When the token expires (timezone-aware); ``None`` means never."""


class AzureBearerToken(TypedDict):
    """An OAuth bearer token credential."""

    token: str
    """Bearer token."""
    expires_at: datetime | None
    """When the token expires (timezone-aware); ``None`` means never."""


AzureCredential: TypeAlias = AzureAccessKey | AzureSASToken | AzureBearerToken
"""Any credential an ``AzureCredentialProvider`` may return."""


class AzureCredentialProvider(Protocol):
    """A callable returning fresh Azure credentials, sync or async.

    Called with no arguments whenever the cached credential is missing or about
    to expire. Optional attributes are honoured: ``refresh_threshold: timedelta``
    (how early to refresh, default 5 minutes), ``config: AzureConfig`` (store
    settings used where the store sets none) and ``prefix: str`` (store prefix
    used when the store is given none).
    """

    def __call__(self) -> AzureCredential | Coroutine[Any, Any, AzureCredential]:
        """Return a credential, or an awaitable resolving to one."""
        ...
