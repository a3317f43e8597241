//! The configuration keys of each cloud: which `object_store` key enum parses them, which
//! environment variables they come from, the names `.config` shows and which values are secret.

use object_store::aws::AmazonS3ConfigKey;
use object_store::azure::AzureConfigKey;
use object_store::gcp::GoogleConfigKey;
use object_store::ClientConfigKey;

use super::StoreFamily;

/// The S3 configuration keys.
pub struct S3Family;

impl StoreFamily for S3Family {
    type Key = AmazonS3ConfigKey;
    const ENV_PREFIX: &'static str = "AWS_";

    fn client_key(key: &Self::Key) -> Option<ClientConfigKey> {
        match key {
            AmazonS3ConfigKey::Client(k) => Some(*k),
            _ => None,
        }
    }

    fn public_name(canonical: &str) -> &str {
        canonical.strip_prefix("aws_").unwrap_or(canonical)
    }

    fn is_secret(canonical: &str) -> bool {
        matches!(
            canonical,
            "aws_secret_access_key" | "aws_session_token" | "aws_sse_customer_key_base64"
        )
    }
}

/// The GCS configuration keys.
pub struct GcsFamily;

impl StoreFamily for GcsFamily {
    type Key = GoogleConfigKey;
    const ENV_PREFIX: &'static str = "GOOGLE_";

    fn client_key(key: &Self::Key) -> Option<ClientConfigKey> {
        match key {
            GoogleConfigKey::Client(k) => Some(*k),
            _ => None,
        }
    }

    fn public_name(canonical: &str) -> &str {
        canonical.strip_prefix("google_").unwrap_or(canonical)
    }

    fn is_secret(canonical: &str) -> bool {
        matches!(
            canonical,
            "google_service_account_key" | "google_bearer_token"
        )
    }
}

/// The Azure configuration keys.
pub struct AzureFamily;

impl StoreFamily for AzureFamily {
    type Key = AzureConfigKey;
    const ENV_PREFIX: &'static str = "AZURE_";

    fn client_key(key: &Self::Key) -> Option<ClientConfigKey> {
        match key {
            AzureConfigKey::Client(k) => Some(*k),
            _ => None,
        }
    }

    fn public_name(canonical: &str) -> &str {
        canonical
            .strip_prefix("azure_storage_")
            .or_else(|| canonical.strip_prefix("azure_"))
            .unwrap_or(canonical)
    }

    fn is_secret(canonical: &str) -> bool {
        matches!(
            canonical,
            "azure_storage_account_key"
                | "azure_storage_client_secret"
                | "azure_storage_sas_key"
                | "azure_storage_token"
                | "azure_storage_encryption_key"
                | "azure_fabric_session_token"
        )
    }
}
