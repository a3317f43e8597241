//! `S3Store`: Amazon S3 and S3-compatible servers (MinIO, R2, Ceph, ...).

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey, AwsCredential};
use pyo3::prelude::*;

use super::cloud::{cloud_backend, cloud_store_class, Cloud, CloudBackend, CloudCore};
use super::credential::{optional_str, required_str, MetadataDisabled};
use super::signing_keys::SigningKeys;
use crate::config::families::S3Family;
use crate::config::{bad_url, parse_flag, refuse_plain_http, url_prefix, UrlSettings};
use crate::error::ObstoreError;
use crate::integrity;
use crate::sigv4::{S3Signer, SigV4Settings};

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

/// Resolves `unsigned_payload` once every setting is on `builder`: a value the user gave
/// (`explicit`: config, keyword, credential provider or `AWS_UNSIGNED_PAYLOAD`) stays; otherwise
/// requests that go over https send `UNSIGNED-PAYLOAD`, as botocore does, and those over plain
/// http sign the SHA-256 of their body. TLS already protects a body on https, and hashing it
/// costs 0.5-0.7 s of CPU per GiB uploaded; on plain http the signed hash is what protects it.
/// The requests go to the S3-specific endpoint, else the endpoint, else AWS's own https one
/// (virtual-hosted or path style, S3 Express included), as `AmazonS3Builder::build` picks it.
fn resolve_unsigned_payload(builder: AmazonS3Builder, explicit: bool) -> AmazonS3Builder {
    if explicit {
        return builder;
    }
    let endpoint = builder
        .get_config_value(&AmazonS3ConfigKey::S3Endpoint)
        .or_else(|| builder.get_config_value(&AmazonS3ConfigKey::Endpoint));
    let https = endpoint.is_none_or(|e| {
        e.get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
    });
    builder.with_unsigned_payload(https)
}

/// What differs between S3 and the other clouds.
const S3: Cloud<AmazonS3Builder> = Cloud {
    label: "AWS",
    url_scheme: "s3",
    bucket_noun: "bucket",
    bucket_key: "aws_bucket",
    service_keys: &["aws_endpoint"],
    repr_keys: &["aws_bucket"],
    provider_config: true,
    provider_prefix: false,
    refresh_threshold: Duration::from_secs(5 * 60),
    convert: convert_credential,
    integrity: integrity::Service::S3,
    checksum_key: "aws_checksum_algorithm",
    custom_endpoint_keys: &["aws_endpoint"],
    parse_url: parse_s3_url,
    refuse_metadata,
    check_http,
    with_defaults: Some(with_defaults),
    upload_signer: Some(upload_signer),
    build_signed: Some(build_signed),
};

/// S3's [`Cloud::upload_signer`]: the credential arrives once the client is built
/// ([`build_signed`]).
fn upload_signer(_core: &CloudCore) -> Option<integrity::UploadSigner> {
    Some(integrity::UploadSigner::S3(
        integrity::S3Credentials::default(),
    ))
}

/// S3's [`Cloud::build_signed`]: unless `object_store` must sign (see [`connector_signs`]), the
/// connector signs every request and the client is built with `skip_signature`. Its credential
/// provider, whatever its source (keys, environment, a credential provider, web identity, ...),
/// is the one a first build of the same settings makes, wrapped so that its own requests go
/// out unsigned. The upload signer gets the provider the client ends with.
fn build_signed(
    builder: AmazonS3Builder,
    sigv4: &S3Signer,
    upload: Option<&integrity::UploadSigner>,
) -> Result<AmazonS3, ObstoreError> {
    let client = match connector_signs(&builder) {
        None => builder.build_client()?,
        Some(settings) => {
            let first = builder.clone().build_client()?;
            let provider = sigv4.sign_with(first.credentials().clone(), settings);
            builder
                .with_skip_signature(true)
                .with_credentials(provider)
                .build_client()?
        }
    };
    if let Some(integrity::UploadSigner::S3(credentials)) = upload {
        credentials.set(client.credentials().clone());
    }
    Ok(client)
}

/// What the connector's signatures cover for a client of `builder`'s settings, or `None` where
/// `object_store` signs: `skip_signature` (nothing to sign), S3 Express (session credentials the
/// client fetches and keeps), or a flag `object_store` will refuse when it builds.
fn connector_signs(builder: &AmazonS3Builder) -> Option<SigV4Settings> {
    let flag = |key: AmazonS3ConfigKey| match builder.get_config_value(&key) {
        None => Some(false),
        Some(value) => parse_flag(&value),
    };
    if flag(AmazonS3ConfigKey::SkipSignature)? || flag(AmazonS3ConfigKey::S3Express)? {
        return None;
    }
    Some(SigV4Settings {
        region: builder
            .get_config_value(&AmazonS3ConfigKey::Region)
            .unwrap_or_else(|| "us-east-1".to_string()),
        sign_payload: !flag(AmazonS3ConfigKey::UnsignedPayload)?,
        request_payer: flag(AmazonS3ConfigKey::RequestPayer)?,
    })
}

/// S3's [`Cloud::refuse_metadata`].
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

/// S3's [`Cloud::check_http`]: the S3-specific endpoint and the generic one.
fn check_http(builder: &AmazonS3Builder) -> Result<(), ObstoreError> {
    for key in [AmazonS3ConfigKey::S3Endpoint, AmazonS3ConfigKey::Endpoint] {
        refuse_plain_http("The S3 endpoint", builder.get_config_value(&key))?;
    }
    Ok(())
}

/// S3's [`Cloud::with_defaults`]: `unsigned_payload` after the endpoint, and the crypto provider
/// that keeps SigV4's derived signing keys (for presigned URLs, and the requests the client
/// signs).
fn with_defaults(builder: AmazonS3Builder, core: &CloudCore) -> AmazonS3Builder {
    let explicit = core
        .effective(AmazonS3ConfigKey::UnsignedPayload.as_ref())
        .is_some();
    resolve_unsigned_payload(builder, explicit)
        .with_crypto_provider(Arc::new(SigningKeys::default()))
}

cloud_backend!(AmazonS3Builder, S3Family, AmazonS3, AwsCredential, S3);
cloud_store_class!(PyS3Store, "S3Store", AmazonS3Builder, bucket);

#[cfg(test)]
mod tests {
    use super::*;

    /// The `unsigned_payload` a builder with `settings` ends with, `explicit` telling whether
    /// the user gave it.
    fn unsigned_payload(settings: &[(AmazonS3ConfigKey, &str)], explicit: bool) -> String {
        let builder = settings
            .iter()
            .fold(AmazonS3Builder::new(), |b, (key, value)| {
                b.with_config(*key, *value)
            });
        resolve_unsigned_payload(builder, explicit)
            .get_config_value(&AmazonS3ConfigKey::UnsignedPayload)
            .unwrap()
    }

    use AmazonS3ConfigKey::{Endpoint, S3Endpoint, UnsignedPayload, VirtualHostedStyleRequest};

    fn signs(settings: &[(AmazonS3ConfigKey, &str)]) -> Option<SigV4Settings> {
        let builder = settings
            .iter()
            .fold(AmazonS3Builder::new(), |b, (key, value)| {
                b.with_config(*key, *value)
            });
        connector_signs(&builder)
    }

    #[test]
    fn the_connector_signs_unless_the_client_must() {
        use AmazonS3ConfigKey::{Region, RequestPayer, S3Express, SkipSignature};
        assert_eq!(
            signs(&[]),
            Some(SigV4Settings {
                region: "us-east-1".into(),
                sign_payload: true,
                request_payer: false,
            })
        );
        assert_eq!(
            signs(&[
                (Region, "eu-west-3"),
                (UnsignedPayload, "YES"),
                (RequestPayer, "1")
            ]),
            Some(SigV4Settings {
                region: "eu-west-3".into(),
                sign_payload: false,
                request_payer: true,
            })
        );
        assert_eq!(signs(&[(SkipSignature, "true")]), None);
        assert_eq!(signs(&[(S3Express, "on")]), None);
        // A flag object_store refuses is left to its build, which reports it.
        assert_eq!(signs(&[(UnsignedPayload, "maybe")]), None);
        assert!(signs(&[(SkipSignature, "false"), (S3Express, "n")]).is_some());
    }

    #[test]
    fn without_an_endpoint_the_payload_goes_unsigned_over_aws_https() {
        assert_eq!(unsigned_payload(&[], false), "true");
        assert_eq!(
            unsigned_payload(&[(VirtualHostedStyleRequest, "true")], false),
            "true"
        );
    }

    #[test]
    fn an_https_endpoint_sends_an_unsigned_payload() {
        assert_eq!(
            unsigned_payload(&[(Endpoint, "https://127.0.0.1:9000")], false),
            "true"
        );
        assert_eq!(
            unsigned_payload(&[(Endpoint, "HTTPS://minio.example.com")], false),
            "true"
        );
        assert_eq!(
            unsigned_payload(
                &[
                    (Endpoint, "https://bucket.minio.example.com"),
                    (VirtualHostedStyleRequest, "true")
                ],
                false
            ),
            "true"
        );
    }

    #[test]
    fn a_plain_http_endpoint_signs_the_payload() {
        assert_eq!(
            unsigned_payload(&[(Endpoint, "http://127.0.0.1:9000")], false),
            "false"
        );
        assert_eq!(
            unsigned_payload(
                &[
                    (Endpoint, "http://bucket.localhost:9000"),
                    (VirtualHostedStyleRequest, "true")
                ],
                false
            ),
            "false"
        );
    }

    #[test]
    fn the_s3_specific_endpoint_decides_over_the_generic_one() {
        for (endpoint, s3_endpoint, unsigned) in [
            ("https://127.0.0.1:9000", "http://127.0.0.1:9001", "false"),
            ("http://127.0.0.1:9000", "https://127.0.0.1:9001", "true"),
        ] {
            let settings = [(Endpoint, endpoint), (S3Endpoint, s3_endpoint)];
            assert_eq!(unsigned_payload(&settings, false), unsigned);
        }
    }

    #[test]
    fn an_explicit_setting_wins_over_the_endpoint() {
        let signed_https = [
            (Endpoint, "https://127.0.0.1:9000"),
            (UnsignedPayload, "false"),
        ];
        assert_eq!(unsigned_payload(&signed_https, true), "false");
        assert_eq!(
            unsigned_payload(&[(UnsignedPayload, "false")], true),
            "false"
        );
        let unsigned_http = [
            (Endpoint, "http://127.0.0.1:9000"),
            (UnsignedPayload, "true"),
        ];
        assert_eq!(unsigned_payload(&unsigned_http, true), "true");
    }
}
