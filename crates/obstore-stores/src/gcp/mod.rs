//! `GCSStore`: Google Cloud Storage.

use std::sync::Arc;
use std::time::Duration;

use object_store::gcp::{
    GcpCredential, GoogleCloudStorage, GoogleCloudStorageBuilder, GoogleConfigKey,
};
use object_store::ClientConfigKey;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple, PyType};

use crate::config::cloud::{with_prefix, CloudCore, CoreArgs};
use crate::config::{
    bad_url, call_from_url, http_not_allowed, url_prefix, FromUrlArgs, LazyClient, StoreFamily,
    UrlSettings,
};
use crate::credential::{required_str, PyCredentialProvider};
use crate::error::ObstoreError;
use crate::store::{AnyStore, Executor};

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

fn convert_credential(result: &Bound<'_, PyAny>) -> PyResult<GcpCredential> {
    Ok(GcpCredential {
        bearer: required_str(result, "token")?,
    })
}

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

/// A Google Cloud Storage bucket as an object store (the raw class of `obstore._store`).
#[pyclass(name = "GCSStore", module = "obstore._store", subclass, frozen)]
#[derive(Debug)]
pub struct PyGCSStore {
    core: CloudCore,
    client: LazyClient<GoogleCloudStorage>,
}

impl PyGCSStore {
    fn build(&self) -> Result<GoogleCloudStorage, ObstoreError> {
        let core = &self.core;
        let options = core.client_options()?;
        let allow_http = CloudCore::allow_http(&options);
        let mut builder = GoogleCloudStorageBuilder::new()
            .with_client_options(options)
            .with_http_connector(crate::lane::LaneConnector);
        for (key, value) in core
            .env
            .store
            .iter()
            .map(|(k, v)| (k, v))
            .chain(core.settings.store.iter())
        {
            let key: GoogleConfigKey = key.parse()?;
            builder = builder.with_config(key, value.clone());
        }
        if let Some(retry) = &core.retry {
            builder = builder.with_retry(retry.to_object_store());
        }
        if let Some(provider) = &core.provider {
            builder = builder.with_credentials(Arc::new(PyCredentialProvider::new(
                provider.clone(),
                "GCS",
                convert_credential,
            )));
        }
        if !allow_http {
            if let Some(base) = builder.get_config_value(&GoogleConfigKey::BaseUrl) {
                if base.to_ascii_lowercase().starts_with("http://") {
                    return Err(http_not_allowed("The GCS base_url", &base).into());
                }
            }
        }
        Ok(builder.build()?)
    }

    /// The client of this process (built again after a fork).
    pub fn client(&self, py: Python<'_>) -> Result<Arc<GoogleCloudStorage>, ObstoreError> {
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
impl PyGCSStore {
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
        let core = CloudCore::new::<GcsFamily>(CoreArgs {
            positional: bucket.as_ref().map(|b| ("bucket", b)),
            prefix,
            config: config.as_ref(),
            client_options: client_options.as_ref(),
            retry_config: retry_config.as_ref(),
            credential_provider: credential_provider.as_ref(),
            kwargs: kwargs.as_ref(),
            provider_config: false,
            provider_prefix: false,
            default_refresh_threshold: Duration::from_secs(4 * 60),
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

    /// Builds a store from a `gs://bucket/prefix` URL.
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
        call_from_url::<GcsFamily>(cls, url, parse_gcs_url, args)
    }

    /// The key prefix prepended to every path, if any.
    #[getter]
    fn prefix(&self) -> Option<String> {
        self.core.prefix.clone()
    }

    /// The explicit settings (not environment ones), values as strings, secrets masked.
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.core.settings.public_dict::<GcsFamily>(py)
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
        match other.cast::<PyGCSStore>() {
            Ok(other) => self.core.equals(&other.get().core, other.py()),
            Err(_) => false,
        }
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let name = slf.get_type().name()?;
        let core = &slf.get().core;
        let bucket = core.effective("google_bucket").unwrap_or_default();
        Ok(format!("{name}(bucket=\"{bucket}\"{})", core.repr_prefix()))
    }
}
