//! `GCSStore`: Google Cloud Storage.

use std::sync::Arc;
use std::time::Duration;

use object_store::gcp::{
    GcpCredential, GcpSigningCredential, GoogleCloudStorage, GoogleCloudStorageBuilder,
    GoogleConfigKey,
};
use object_store::{ClientOptions, RetryConfig};
use pyo3::prelude::*;

use super::cloud::{cloud_store_class, CloudBackend, CloudCore, Connector};
use super::credential::{required_str, Convert, MetadataDisabled, PyCredentialProvider};
use crate::config::families::GcsFamily;
use crate::config::{bad_url, refuse_plain_http, url_prefix, UrlSettings};
use crate::error::ObstoreError;
use crate::integrity;

fn convert_credential(result: &Bound<'_, PyAny>) -> PyResult<GcpCredential> {
    Ok(GcpCredential {
        bearer: required_str(result, "token")?,
    })
}

/// Whether Google's application default credentials file is where `object_store` looks for it
/// when `application_credentials` is not set (`$HOME/.config/gcloud/`); it then uses that file
/// rather than the metadata service.
fn has_default_credentials_file() -> bool {
    std::env::var_os("HOME").is_some_and(|home| {
        std::path::Path::new(&home)
            .join(".config/gcloud/application_default_credentials.json")
            .exists()
    })
}

/// What the error of a store without credentials suggests.
const HOW: &str = "pass service_account (a key file), service_account_key, \
                   application_credentials or bearer_token, a credential_provider, or \
                   skip_signature=True for anonymous access";

fn parse_gcs_url(url: &str) -> PyResult<UrlSettings> {
    let parsed = url::Url::parse(url).map_err(|err| bad_url(url, err))?;
    if parsed.scheme() != "gs" {
        return Err(bad_url(
            url,
            format!("scheme \"{}\" is not the GCS scheme gs://", parsed.scheme()),
        ));
    }
    let bucket = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad_url(url, "it has no bucket (host) part"))?;
    Ok((
        vec![("google_bucket", bucket.to_string())],
        url_prefix(&parsed, 0)?,
    ))
}

/// Google Cloud Storage as a [`CloudBackend`].
#[derive(Debug)]
pub struct Gcs;

impl CloudBackend for Gcs {
    type Family = GcsFamily;
    type Builder = GoogleCloudStorageBuilder;
    type Client = GoogleCloudStorage;
    type Credential = GcpCredential;

    const LABEL: &'static str = "GCS";
    const URL_SCHEME: &'static str = "gs";
    const BUCKET_NOUN: &'static str = "bucket";
    const BUCKET_KEY: &'static str = "google_bucket";
    const SERVICE_KEYS: &'static [&'static str] = &["google_base_url"];
    const PROVIDER_CONFIG: bool = false;
    const PROVIDER_PREFIX: bool = false;
    const REFRESH_THRESHOLD: Duration = Duration::from_secs(4 * 60);
    const CONVERT: Convert<GcpCredential> = convert_credential;

    const INTEGRITY: integrity::Service = integrity::Service::Gcs;
    const CHECKSUM_KEY: &'static str = integrity::ALGORITHM_KEY;
    const CUSTOM_ENDPOINT_KEYS: &'static [&'static str] = &["google_base_url"];

    fn builder(options: ClientOptions, connector: Connector) -> GoogleCloudStorageBuilder {
        GoogleCloudStorageBuilder::new()
            .with_client_options(options)
            .with_http_connector(connector)
    }

    fn with_config(
        builder: GoogleCloudStorageBuilder,
        key: &str,
        value: &str,
    ) -> Result<GoogleCloudStorageBuilder, ObstoreError> {
        Ok(builder.with_config(key.parse::<GoogleConfigKey>()?, value))
    }

    fn with_retry(
        builder: GoogleCloudStorageBuilder,
        retry: RetryConfig,
    ) -> GoogleCloudStorageBuilder {
        builder.with_retry(retry)
    }

    fn with_credentials(
        builder: GoogleCloudStorageBuilder,
        provider: Arc<PyCredentialProvider<GcpCredential>>,
    ) -> GoogleCloudStorageBuilder {
        builder.with_credentials(provider)
    }

    fn refuse_metadata(
        builder: GoogleCloudStorageBuilder,
        has_provider: bool,
        variable: &str,
    ) -> GoogleCloudStorageBuilder {
        // The order of `GoogleCloudStorageBuilder::build`: a service account, then application
        // default credentials, then the metadata service, for both the request credentials and
        // the signing credentials (of `sign`). A bearer token or a provider gives only the first.
        let set = |key: GoogleConfigKey| builder.get_config_value(&key).is_some();
        if set(GoogleConfigKey::ServiceAccount)
            || set(GoogleConfigKey::ServiceAccountKey)
            || set(GoogleConfigKey::ApplicationCredentials)
            || has_default_credentials_file()
        {
            return builder;
        }
        let bearer = set(GoogleConfigKey::BearerToken);
        let builder =
            builder.with_signing_credentials(Arc::new(
                MetadataDisabled::<GcpSigningCredential>::new("GCS", variable, HOW),
            ));
        if has_provider || bearer {
            return builder;
        }
        builder.with_credentials(Arc::new(MetadataDisabled::<GcpCredential>::new(
            "GCS", variable, HOW,
        )))
    }

    fn check_http(builder: &GoogleCloudStorageBuilder) -> Result<(), ObstoreError> {
        let base_url = builder.get_config_value(&GoogleConfigKey::BaseUrl);
        Ok(refuse_plain_http("The GCS base_url", base_url)?)
    }

    fn build(builder: GoogleCloudStorageBuilder) -> Result<GoogleCloudStorage, ObstoreError> {
        Ok(builder.build()?)
    }

    fn parse_url(url: &str) -> PyResult<UrlSettings> {
        parse_gcs_url(url)
    }

    fn repr_fields(core: &CloudCore) -> String {
        let bucket = core.effective("google_bucket").unwrap_or_default();
        format!("bucket=\"{bucket}\"")
    }
}

cloud_store_class!(
    #[doc = crate::pydoc!(GCSStore)]
    PyGCSStore,
    "GCSStore",
    Gcs,
    bucket
);
