//! `S3Store`: Amazon S3 and S3-compatible servers (MinIO, R2, Ceph, ...).

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey, AwsCredential};
use object_store::ClientConfigKey;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple, PyType};

use crate::config::cloud::{with_prefix, CloudCore, CoreArgs};
use crate::config::{
    bad_url, call_from_url, http_not_allowed, url_prefix, FromUrlArgs, LazyClient, StoreFamily,
    UrlSettings,
};
use crate::credential::{optional_str, required_str, PyCredentialProvider};
use crate::error::ObstoreError;
use crate::store::{AnyStore, Executor};

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

/// An S3 bucket as an object store (the raw class of `obstore._store`).
#[pyclass(name = "S3Store", module = "obstore._store", subclass, frozen)]
#[derive(Debug)]
pub struct PyS3Store {
    core: CloudCore,
    client: LazyClient<AmazonS3>,
}

impl PyS3Store {
    fn build(&self) -> Result<AmazonS3, ObstoreError> {
        let core = &self.core;
        let options = core.client_options()?;
        let allow_http = CloudCore::allow_http(&options);
        let mut builder = AmazonS3Builder::new()
            .with_client_options(options)
            .with_http_connector(crate::lane::LaneConnector);
        for (key, value) in core
            .env
            .store
            .iter()
            .map(|(k, v)| (k, v))
            .chain(core.settings.store.iter())
        {
            let key: AmazonS3ConfigKey = key.parse()?;
            builder = builder.with_config(key, value.clone());
        }
        if let Some(retry) = &core.retry {
            builder = builder.with_retry(retry.to_object_store());
        }
        if let Some(provider) = &core.provider {
            builder = builder.with_credentials(Arc::new(PyCredentialProvider::new(
                provider.clone(),
                "AWS",
                convert_credential,
            )));
        }
        if !allow_http {
            for key in [AmazonS3ConfigKey::S3Endpoint, AmazonS3ConfigKey::Endpoint] {
                if let Some(endpoint) = builder.get_config_value(&key) {
                    if endpoint.to_ascii_lowercase().starts_with("http://") {
                        return Err(http_not_allowed("The S3 endpoint", &endpoint).into());
                    }
                }
            }
        }
        Ok(builder.build()?)
    }

    /// The client of this process (built again after a fork).
    pub fn client(&self, py: Python<'_>) -> Result<Arc<AmazonS3>, ObstoreError> {
        self.core.note_loop(py);
        self.client.get(|| self.build())
    }

    /// The handle operations use: the client below the prefix.
    pub fn any_store(&self, py: Python<'_>) -> Result<AnyStore, ObstoreError> {
        Ok(AnyStore {
            inner: with_prefix(self.client(py)?, self.core.prefix_path.as_ref()),
            executor: Executor::Runtime,
        })
    }

    /// The store prefix, for signing.
    pub fn prefix_path(&self) -> Option<&object_store::path::Path> {
        self.core.prefix_path.as_ref()
    }
}

#[pymethods]
impl PyS3Store {
    #[new]
    #[pyo3(signature = (bucket=None, *, prefix=None, config=None, client_options=None, retry_config=None, credential_provider=None, **kwargs))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        bucket: Option<Bound<'_, PyAny>>,
        prefix: Option<String>,
        config: Option<Bound<'_, PyAny>>,
        client_options: Option<Bound<'_, PyAny>>,
        retry_config: Option<Bound<'_, PyAny>>,
        credential_provider: Option<Bound<'_, PyAny>>,
        kwargs: Option<Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let core = CloudCore::new::<S3Family>(CoreArgs {
            positional: bucket.as_ref().map(|b| ("bucket", b)),
            prefix,
            config: config.as_ref(),
            client_options: client_options.as_ref(),
            retry_config: retry_config.as_ref(),
            credential_provider: credential_provider.as_ref(),
            kwargs: kwargs.as_ref(),
            provider_config: true,
            provider_prefix: false,
            default_refresh_threshold: Duration::from_secs(5 * 60),
        })?;
        let store = Self {
            core,
            client: LazyClient::default(),
        };
        let built = store.build()?;
        Ok(Self {
            client: LazyClient::with(built),
            ..store
        })
    }

    /// Builds a store from an S3 URL; the URL path becomes the prefix.
    #[classmethod]
    #[pyo3(signature = (url, *, config=None, client_options=None, retry_config=None, credential_provider=None, **kwargs))]
    #[allow(clippy::too_many_arguments)]
    fn from_url<'py>(
        cls: &Bound<'py, PyType>,
        url: &str,
        config: Option<Bound<'py, PyAny>>,
        client_options: Option<Bound<'py, PyAny>>,
        retry_config: Option<Bound<'py, PyAny>>,
        credential_provider: Option<Bound<'py, PyAny>>,
        kwargs: Option<Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let args = FromUrlArgs {
            config,
            client_options,
            retry_config,
            credential_provider,
            kwargs,
        };
        call_from_url::<S3Family>(cls, url, parse_s3_url, args)
    }

    /// The key prefix prepended to every path, if any.
    #[getter]
    fn prefix(&self) -> Option<String> {
        self.core.prefix.clone()
    }

    /// The explicit settings (not environment ones), values as strings, secrets masked.
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.core.settings.public_dict::<S3Family>(py)
    }

    /// The HTTP client options, if any were given.
    #[getter]
    fn client_options<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.core.client_options_py(py)
    }

    /// The retry settings with defaults filled in, if given.
    #[getter]
    fn retry_config<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.core.retry_config_py(py)
    }

    /// The credential provider given at construction, if any.
    #[getter]
    fn credential_provider<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        self.core.credential_provider_py(py)
    }

    fn __getnewargs_ex__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyTuple>, Bound<'py, PyDict>)> {
        self.core.getnewargs(py)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<PyS3Store>() {
            Ok(other) => self.core.equals(&other.get().core, other.py()),
            Err(_) => false,
        }
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let name = slf.get_type().name()?;
        let core = &slf.get().core;
        let bucket = core.effective("aws_bucket").unwrap_or_default();
        Ok(format!("{name}(bucket=\"{bucket}\"{})", core.repr_prefix()))
    }
}
