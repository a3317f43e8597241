//! `S3Store`: Amazon S3 and S3-compatible servers (MinIO, R2, Ceph, ...).

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey, AwsCredential};
use object_store::{ClientOptions, RetryConfig};
use pyo3::prelude::*;

use super::cloud::{cloud_store_class, CloudBackend, CloudCore, Connector};
use super::credential::{
    optional_str, required_str, Convert, MetadataDisabled, PyCredentialProvider,
};
use crate::config::families::S3Family;
use crate::config::{bad_url, refuse_plain_http, url_prefix, UrlSettings};
use crate::error::ObstoreError;
use crate::integrity;

fn convert_credential(result: &Bound<'_, PyAny>) -> PyResult<AwsCredential> {
    Ok(AwsCredential {
        key_id: required_str(result, "access_key_id")?,
        secret_key: required_str(result, "secret_access_key")?,
        token: optional_str(result, "token")?,
    })
}

/// The settings an S3 URL implies, and its prefix.
fn parse_s3_url(url: &str) -> PyResult<UrlSettings> {
    let parsed = url::Url::parse(url).map_err(|err| bad_url(url, err))?;
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad_url(url, "it has no bucket (host) part"))?
        .to_string();
    let first_segment = || {
        parsed
            .path_segments()
            .and_then(|mut s| s.find(|s| !s.is_empty()).map(str::to_string))
    };
    let mut settings = Vec::new();
    let skip;
    match parsed.scheme() {
        "s3" | "s3a" => {
            settings.push(("aws_bucket", host));
            skip = 0;
        }
        "https" => {
            if let Some(stem) = host.strip_suffix(".amazonaws.com") {
                if let Some(rest) = stem.strip_prefix("s3.") {
                    // Path style: s3.<region>.amazonaws.com/<bucket>, or the dual-stack form.
                    let region = match rest.strip_prefix("dualstack.") {
                        Some(region) => {
                            settings.push((
                                "aws_endpoint",
                                format!("https://s3.dualstack.{region}.amazonaws.com"),
                            ));
                            region
                        }
                        None => rest,
                    };
                    settings.push(("aws_region", region.to_string()));
                    if let Some(bucket) = first_segment() {
                        settings.push(("aws_bucket", bucket));
                    }
                    skip = 1;
                } else if let Some((bucket, rest)) = stem.split_once(".s3") {
                    // Virtual-hosted style: <bucket>.s3[.<region>].amazonaws.com
                    settings.push(("aws_bucket", bucket.to_string()));
                    match rest.strip_prefix('.') {
                        Some(region) if region.starts_with("dualstack.") => {
                            let region = &region["dualstack.".len()..];
                            settings.push(("aws_region", region.to_string()));
                            settings.push((
                                "aws_endpoint",
                                format!("https://{bucket}.s3.dualstack.{region}.amazonaws.com"),
                            ));
                        }
                        Some(region) if !region.is_empty() => {
                            settings.push(("aws_region", region.to_string()));
                        }
                        None if rest.is_empty() => {}
                        _ => return Err(bad_url(url, "not an S3 virtual-hosted style host")),
                    }
                    settings.push(("aws_virtual_hosted_style_request", "true".into()));
                    skip = 0;
                } else {
                    return Err(bad_url(url, "not a recognised amazonaws.com S3 host"));
                }
            } else if let Some(account) = host.strip_suffix(".r2.cloudflarestorage.com") {
                settings.push(("aws_region", "auto".into()));
                settings.push((
                    "aws_endpoint",
                    format!("https://{account}.r2.cloudflarestorage.com"),
                ));
                if let Some(bucket) = first_segment() {
                    settings.push(("aws_bucket", bucket));
                }
                skip = 1;
            } else {
                return Err(bad_url(
                    url,
                    "an https URL must be an amazonaws.com or r2.cloudflarestorage.com S3 address",
                ));
            }
        }
        other => {
            return Err(bad_url(
                url,
                format!("scheme \"{other}\" is not an S3 scheme (s3, s3a, https)"),
            ))
        }
    }
    Ok((settings, url_prefix(&parsed, skip)?))
}

/// Amazon S3 as a [`CloudBackend`].
#[derive(Debug)]
pub struct S3;

impl CloudBackend for S3 {
    type Family = S3Family;
    type Builder = AmazonS3Builder;
    type Client = AmazonS3;
    type Credential = AwsCredential;

    const LABEL: &'static str = "AWS";
    const URL_SCHEME: &'static str = "s3";
    const BUCKET_NOUN: &'static str = "bucket";
    const BUCKET_KEY: &'static str = "aws_bucket";
    const SERVICE_KEYS: &'static [&'static str] = &["aws_endpoint"];
    const PROVIDER_CONFIG: bool = true;
    const PROVIDER_PREFIX: bool = false;
    const REFRESH_THRESHOLD: Duration = Duration::from_secs(5 * 60);
    const CONVERT: Convert<AwsCredential> = convert_credential;

    const INTEGRITY: integrity::Service = integrity::Service::S3;
    const CHECKSUM_KEY: &'static str = "aws_checksum_algorithm";
    const CUSTOM_ENDPOINT_KEYS: &'static [&'static str] = &["aws_endpoint"];

    fn builder(options: ClientOptions, connector: Connector) -> AmazonS3Builder {
        AmazonS3Builder::new()
            .with_client_options(options)
            .with_http_connector(connector)
    }

    fn with_config(
        builder: AmazonS3Builder,
        key: &str,
        value: &str,
    ) -> Result<AmazonS3Builder, ObstoreError> {
        Ok(builder.with_config(key.parse::<AmazonS3ConfigKey>()?, value))
    }

    fn with_retry(builder: AmazonS3Builder, retry: RetryConfig) -> AmazonS3Builder {
        builder.with_retry(retry)
    }

    fn with_credentials(
        builder: AmazonS3Builder,
        provider: Arc<PyCredentialProvider<AwsCredential>>,
    ) -> AmazonS3Builder {
        builder.with_credentials(provider)
    }

    fn refuse_metadata(
        builder: AmazonS3Builder,
        has_provider: bool,
        variable: &str,
    ) -> AmazonS3Builder {
        // The order of `AmazonS3Builder::build`: static keys, web identity, ECS task, EKS pod
        // identity, and only then the instance metadata service.
        let set = |key: AmazonS3ConfigKey| builder.get_config_value(&key).is_some();
        let configured = has_provider
            || set(AmazonS3ConfigKey::AccessKeyId)
            || set(AmazonS3ConfigKey::SecretAccessKey)
            || (set(AmazonS3ConfigKey::WebIdentityTokenFile) && set(AmazonS3ConfigKey::RoleArn))
            || set(AmazonS3ConfigKey::ContainerCredentialsRelativeUri)
            || (set(AmazonS3ConfigKey::ContainerCredentialsFullUri)
                && set(AmazonS3ConfigKey::ContainerAuthorizationTokenFile));
        if configured {
            return builder;
        }
        builder.with_credentials(Arc::new(MetadataDisabled::new(
            "S3",
            variable,
            "pass access_key_id and secret_access_key (or set AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY), a credential_provider, or skip_signature=True for \
             anonymous access",
        )))
    }

    fn check_http(builder: &AmazonS3Builder) -> Result<(), ObstoreError> {
        for key in [AmazonS3ConfigKey::S3Endpoint, AmazonS3ConfigKey::Endpoint] {
            refuse_plain_http("The S3 endpoint", builder.get_config_value(&key))?;
        }
        Ok(())
    }

    fn build(builder: AmazonS3Builder) -> Result<AmazonS3, ObstoreError> {
        Ok(builder.build()?)
    }

    fn parse_url(url: &str) -> PyResult<UrlSettings> {
        parse_s3_url(url)
    }

    fn repr_fields(core: &CloudCore) -> String {
        let bucket = core.effective("aws_bucket").unwrap_or_default();
        format!("bucket=\"{bucket}\"")
    }
}

cloud_store_class!(
    #[doc = crate::pydoc!(S3Store)]
    PyS3Store,
    "S3Store",
    S3,
    bucket
);
