//! `GCSStore`: Google Cloud Storage.

use std::sync::Arc;
use std::time::Duration;

use object_store::gcp::{
    GcpCredential, GcpSigningCredential, GoogleCloudStorage, GoogleCloudStorageBuilder,
    GoogleConfigKey,
};
use pyo3::prelude::*;

use super::cloud::{cloud_backend, cloud_store_class, Cloud};
use super::credential::{required_str, MetadataDisabled};
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

/// What differs between GCS and the other clouds.
const GCS: Cloud<GoogleCloudStorageBuilder> = Cloud {
    label: "GCS",
    url_scheme: "gs",
    bucket_noun: "bucket",
    bucket_key: "google_bucket",
    service_keys: &["google_base_url"],
    repr_keys: &["google_bucket"],
    provider_config: false,
    provider_prefix: false,
    refresh_threshold: Duration::from_secs(4 * 60),
    convert: convert_credential,
    integrity: integrity::Service::Gcs,
    checksum_key: integrity::ALGORITHM_KEY,
    custom_endpoint_keys: &["google_base_url"],
    parse_url: parse_gcs_url,
    refuse_metadata,
    check_http,
    with_defaults: None,
    upload_signer: None,
    build_signed: None,
};

/// GCS's [`Cloud::refuse_metadata`], for the request and the signing credentials.
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
    let builder = builder.with_signing_credentials(Arc::new(MetadataDisabled::<
        GcpSigningCredential,
    >::new("GCS", variable, HOW)));
    if has_provider || bearer {
        return builder;
    }
    builder.with_credentials(Arc::new(MetadataDisabled::<GcpCredential>::new(
        "GCS", variable, HOW,
    )))
}

/// GCS's [`Cloud::check_http`]: the base URL.
fn check_http(builder: &GoogleCloudStorageBuilder) -> Result<(), ObstoreError> {
    let base_url = builder.get_config_value(&GoogleConfigKey::BaseUrl);
    Ok(refuse_plain_http("The GCS base_url", base_url)?)
}

cloud_backend!(
    GoogleCloudStorageBuilder,
    GcsFamily,
    GoogleCloudStorage,
    GcpCredential,
    GCS
);
cloud_store_class!(PyGCSStore, "GCSStore", GoogleCloudStorageBuilder, bucket);
