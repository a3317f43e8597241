//! The configuration keys of each cloud: which `object_store` key enum parses them, which
//! environment variables they come from, the names `.config` shows, which values are secret and
//! what each value may contain.

use object_store::aws::AmazonS3ConfigKey;
use object_store::azure::AzureConfigKey;
use object_store::gcp::GoogleConfigKey;

use super::values::ValueKind;
use super::StoreFamily;

/// Every family honours this variable: set to true, a store without credentials refuses to ask
/// the cloud's instance metadata service instead of contacting it.
pub const OBSTORE_METADATA_DISABLED: &str = "OBSTORE_METADATA_DISABLED";

/// The S3 configuration keys.
pub struct S3Family;

impl StoreFamily for S3Family {
    type Key = AmazonS3ConfigKey;
    const ENV_PREFIX: &'static str = "AWS_";

    const NAME_PREFIXES: &'static [&'static str] = &["aws_"];
    const SECRET_KEYS: &'static [&'static str] = &[
        "aws_secret_access_key",
        "aws_session_token",
        "aws_sse_customer_key_base64",
    ];

    fn value_kind(canonical: &str) -> ValueKind {
        match canonical {
            // The bucket is joined into the endpoint URL unencoded, the region into the host of
            // the default endpoint and into the signature scope of the Authorization header.
            "aws_bucket" | "aws_region" | "aws_default_region" => ValueKind::Name,
            "aws_endpoint"
            | "aws_endpoint_url_s3"
            | "aws_metadata_endpoint"
            | "aws_endpoint_url_sts"
            | "aws_container_credentials_full_uri" => ValueKind::Url,
            "aws_container_credentials_relative_uri" => ValueKind::UrlPath,
            "aws_web_identity_token_file" | "aws_container_authorization_token_file" => {
                ValueKind::Local
            }
            "aws_sse_customer_key_base64" => ValueKind::AesKey,
            _ => ValueKind::Text,
        }
    }

    /// `AWS_EC2_METADATA_DISABLED` is the switch of the AWS SDKs and CLI.
    const METADATA_DISABLED_VARS: &'static [&'static str] =
        &[OBSTORE_METADATA_DISABLED, "AWS_EC2_METADATA_DISABLED"];
}

/// The GCS configuration keys.
pub struct GcsFamily;

impl StoreFamily for GcsFamily {
    type Key = GoogleConfigKey;
    const ENV_PREFIX: &'static str = "GOOGLE_";

    const NAME_PREFIXES: &'static [&'static str] = &["google_"];
    const SECRET_KEYS: &'static [&'static str] =
        &["google_service_account_key", "google_bearer_token"];

    fn value_kind(canonical: &str) -> ValueKind {
        match canonical {
            // Joined unencoded into the URLs of signed requests.
            "google_bucket" => ValueKind::Name,
            "google_base_url" => ValueKind::Url,
            // A JSON document and file paths: read locally, never sent as they are.
            "google_service_account_key"
            | "google_service_account"
            | "google_application_credentials" => ValueKind::Local,
            _ => ValueKind::Text,
        }
    }

    const METADATA_DISABLED_VARS: &'static [&'static str] = &[OBSTORE_METADATA_DISABLED];
}

/// The Azure configuration keys.
pub struct AzureFamily;

impl StoreFamily for AzureFamily {
    type Key = AzureConfigKey;
    const ENV_PREFIX: &'static str = "AZURE_";

    const NAME_PREFIXES: &'static [&'static str] = &["azure_storage_", "azure_"];
    const SECRET_KEYS: &'static [&'static str] = &[
        "azure_storage_account_key",
        "azure_storage_client_secret",
        "azure_storage_sas_key",
        "azure_storage_token",
        "azure_storage_encryption_key",
        "azure_fabric_session_token",
    ];

    fn value_kind(canonical: &str) -> ValueKind {
        match canonical {
            // The account is the host of the default endpoint and part of the SharedKey
            // Authorization header; the tenant is a path segment of the token URL. The container
            // is percent-encoded by `object_store`, but Azure allows only these characters in it.
            "azure_container_name" | "azure_storage_account_name" | "azure_storage_tenant_id" => {
                ValueKind::Name
            }
            "azure_storage_endpoint"
            | "azure_msi_endpoint"
            | "azure_storage_authority_host"
            | "azure_fabric_token_service_url" => ValueKind::Url,
            "azure_federated_token_file" => ValueKind::Local,
            "azure_storage_encryption_key" => ValueKind::AesKey,
            _ => ValueKind::Text,
        }
    }

    const METADATA_DISABLED_VARS: &'static [&'static str] = &[OBSTORE_METADATA_DISABLED];
}
